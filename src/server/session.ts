import WebSocket from 'ws'
import { encodeAck, encodeData } from '../reliable/protocol.js'
import { Inbox, Outbox } from '../reliable/sequence.js'
import type { Client } from './client.js'
import type { SessionState } from './types.js'

export type Outbound = string | Uint8Array

/** What a message counts against `maxUnacknowledgedBytes`: a string its length, binary data its byte length. */
export const sizeOf = (data: Outbound): number => (typeof data === 'string' ? data.length : data.byteLength)

/** How much one session may hold unacknowledged. */
export interface SessionLimits {
  maxMessages: number
  maxBytes: number
}

/** A client's reliable session on the server; it outlives its sockets for `sessionTtl`. */
export class ServerSession {
  readonly outbox: Outbox<Outbound>
  readonly inbox = new Inbox()
  /** The client the session speaks through; undefined while its client is away. */
  client: Client | undefined
  acknowledged = 0
  ackTimer: NodeJS.Timeout | undefined
  /** Sending paused until the socket drains. */
  draining: NodeJS.Timeout | undefined
  /** While the client is away: when the session expires (`Date.now()` ms), fixed when it left. */
  expiresAt = 0
  expiryTimer: NodeJS.Timeout | undefined
  /** The largest frame the client accepts, from its hello. */
  peerMaxPayload: number | undefined
  /** Over for good: reported lost or expired; nothing may revive it. */
  ended = false
  /** With a store: the revision of the latest save, and that save while it is in flight. */
  revision: string | undefined
  saving: Promise<void> | undefined

  constructor(
    readonly id: string,
    readonly name: string,
    limits: SessionLimits,
  ) {
    this.outbox = new Outbox(limits.maxMessages, limits.maxBytes, sizeOf)
  }

  static from(state: SessionState, limits: SessionLimits): ServerSession {
    const session = new ServerSession(state.id, state.name, limits)
    session.inbox.delivered = state.delivered
    session.outbox.restore(state.firstUnacknowledged, state.unacknowledged)
    return session
  }

  toState(revision: string): SessionState {
    const pending = this.outbox.unacknowledged()
    return {
      id: this.id,
      name: this.name,
      delivered: this.inbox.delivered,
      firstUnacknowledged: pending[0]?.seq ?? this.outbox.nextSeq,
      unacknowledged: pending.map((e) => e.data),
      revision,
      expiresAt: this.expiresAt,
    }
  }

  /** The messages it holds unacknowledged, for a `session-lost` report. */
  messages(): Outbound[] {
    return this.outbox.unacknowledged().map((e) => e.data)
  }

  /**
   * Sends what has not gone out on the current socket, oldest first. Returns
   * false as soon as the socket holds more than `maxBuffered` bytes unsent:
   * what is left stays in the outbox for when it drained.
   */
  pump(maxBuffered: number): boolean {
    const socket = this.client?.socket
    if (socket?.readyState !== WebSocket.OPEN) return true
    for (let entry = this.outbox.takeUnsent(); entry !== undefined; entry = this.outbox.takeUnsent()) {
      // Every data frame carries the acknowledgement.
      clearTimeout(this.ackTimer)
      this.ackTimer = undefined
      this.acknowledged = this.inbox.delivered
      socket.send(encodeData(entry.seq, this.acknowledged, entry.data))
      if (socket.bufferedAmount > maxBuffered) return false
    }
    return true
  }

  flushAck(): void {
    clearTimeout(this.ackTimer)
    this.ackTimer = undefined
    const socket = this.client?.socket
    if (this.inbox.delivered > this.acknowledged && socket?.readyState === WebSocket.OPEN) {
      this.acknowledged = this.inbox.delivered
      socket.send(encodeAck(this.acknowledged))
    }
  }

  /** The client is gone (or the session over): no acknowledgement or paused send waits any more. */
  stopTimers(): void {
    clearTimeout(this.ackTimer)
    this.ackTimer = undefined
    clearTimeout(this.draining)
    this.draining = undefined
  }
}
