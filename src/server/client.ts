import type WebSocket from 'ws'
import type { DisconnectReason } from './types.js'

const CLIENT = Symbol('lifeline.client')
type Tagged = WebSocket & { [CLIENT]?: Client }

/** The client `socket` was admitted as: socket listeners are shared by every client and find theirs here. */
export function clientOf(socket: WebSocket): Client | undefined {
  return (socket as Tagged)[CLIENT]
}

/**
 * One admitted connection as the server tracks it. The heartbeat monitor
 * keeps its liveness fields here rather than in a map of its own: one object
 * per client, no lookup per frame. It holds no closure and not the upgrade
 * request: at 10,000 clients every field is paid 10,000 times.
 */
export class Client {
  /** `performance.now()` of the last answer to a probe (or of the handshake). */
  lastSeenAt = performance.now()
  /** A probe went out and no answer has come back since. */
  pingUnanswered = false
  /** The random bytes the last ping frame carried: 8 of them at `pingOffset`. The pong that proves life echoes them. */
  pingNonce: Buffer | undefined
  pingOffset = 0
  /** Why the server let go of this client; `undefined` while it is registered. */
  endedBy: DisconnectReason | undefined

  constructor(
    readonly name: string,
    readonly socket: WebSocket,
    /** Unique in this process: tells this connection from a later one under the same name. */
    readonly connection: string,
  ) {
    ;(socket as Tagged)[CLIENT] = this
  }

  /** Records an answer to a probe. */
  sawLife(): void {
    this.lastSeenAt = performance.now()
    this.pingUnanswered = false
  }

  /** A WebSocket pong: proof of life only when it echoes the last ping. */
  heardPong(data: Buffer): void {
    const nonce = this.pingNonce
    if (nonce !== undefined && data.length === 8 && nonce.compare(data, 0, 8, this.pingOffset, this.pingOffset + 8) === 0) this.sawLife()
  }
}

/** The `pong` listener of every client's socket. */
export function heardPong(this: WebSocket, data: Buffer): void {
  clientOf(this)?.heardPong(data)
}
