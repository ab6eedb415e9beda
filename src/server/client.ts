import type { IncomingMessage } from 'node:http'
import type WebSocket from 'ws'
import type { DisconnectReason } from './types.js'

/**
 * One admitted connection as the server tracks it. The heartbeat monitor
 * keeps its liveness fields here rather than in a map of its own: one object
 * per client, no lookup per frame.
 */
export class Client {
  /** `performance.now()` of the last answer to a probe (or of the handshake). */
  lastSeenAt = performance.now()
  /** A probe went out and no answer has come back since. */
  pingUnanswered = false
  /** The payload of the last ping frame: the pong that proves life echoes it. */
  pingNonce: Buffer | undefined
  /** Why the server let go of this client; `undefined` while it is registered. */
  endedBy: DisconnectReason | undefined

  constructor(
    readonly name: string,
    readonly socket: WebSocket,
    readonly request: IncomingMessage,
    /** Unique in this process: tells this connection from a later one under the same name. */
    readonly connection: string,
  ) {}

  /** Records an answer to a probe. */
  sawLife(): void {
    this.lastSeenAt = performance.now()
    this.pingUnanswered = false
  }

  /** A WebSocket pong: proof of life only when it echoes the last ping. An arrow, so it can be a socket listener as is. */
  readonly heardPong = (data: Buffer): void => {
    if (this.pingNonce !== undefined && data.equals(this.pingNonce)) this.sawLife()
  }
}
