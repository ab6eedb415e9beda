import WebSocket from 'ws'
import { decodeFrame, encodeAck, encodeData, encodeWelcome, ProtocolError } from '../reliable/protocol.js'
import { Inbox, Outbox } from '../reliable/sequence.js'
import { ACK_DELAY_MS } from '../reliable/session.js'
import type { Client } from './client.js'
import type { ConnectionHook } from './hooks.js'
import type { InboundData, ServerSendData, SessionState, SessionStore } from './types.js'

type Outbound = string | Uint8Array

/** A client's reliable session on the server; it outlives its sockets for `sessionTtl`. */
class ServerSession {
  readonly outbox: Outbox<Outbound>
  readonly inbox = new Inbox()
  /** The socket the session speaks through; undefined while its client is away. */
  client: Client | undefined
  acknowledged = 0
  ackTimer: NodeJS.Timeout | undefined

  constructor(
    readonly id: string,
    readonly name: string,
    limit: number,
  ) {
    this.outbox = new Outbox(limit)
  }

  static from(state: SessionState, limit: number): ServerSession {
    const session = new ServerSession(state.id, state.name, limit)
    session.inbox.delivered = state.delivered
    session.outbox.restore(state.firstUnacknowledged, state.unacknowledged)
    return session
  }

  toState(): SessionState {
    const pending = this.outbox.unacknowledged()
    return {
      id: this.id,
      name: this.name,
      delivered: this.inbox.delivered,
      firstUnacknowledged: pending[0]?.seq ?? this.outbox.nextSeq,
      unacknowledged: pending.map((e) => e.data),
    }
  }

  /** Sends what has not gone out on the current socket, oldest first. */
  pump(): void {
    const socket = this.client?.socket
    if (socket?.readyState !== WebSocket.OPEN) return
    for (let entry = this.outbox.takeUnsent(); entry !== undefined; entry = this.outbox.takeUnsent()) {
      this.acknowledged = this.inbox.delivered
      clearTimeout(this.ackTimer)
      this.ackTimer = undefined
      socket.send(encodeData(entry.seq, this.acknowledged, entry.data))
    }
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
}

/**
 * Keeps detached sessions in this process's memory for their time to live.
 * A shared store (Redis, a database) implements the same three methods so
 * that a client can resume on another server process.
 */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, { state: SessionState; timer: NodeJS.Timeout }>()

  /** @param onExpire called with a session that expired before its client came back */
  constructor(private readonly onExpire: (state: SessionState) => void = () => {}) {}

  load(id: string): SessionState | undefined {
    return this.sessions.get(id)?.state
  }

  save(id: string, state: SessionState, ttl: number): void {
    this.delete(id)
    const timer = setTimeout(() => {
      this.sessions.delete(id)
      this.onExpire(state)
    }, ttl).unref()
    this.sessions.set(id, { state, timer })
  }

  delete(id: string): void {
    const entry = this.sessions.get(id)
    if (entry === undefined) return
    clearTimeout(entry.timer)
    this.sessions.delete(id)
  }

  /** Forgets every session (the server is closing). */
  clear(): void {
    for (const id of [...this.sessions.keys()]) this.delete(id)
  }
}

/** What the reliable hook needs from its server. */
export interface ReliableContext {
  ttl: number
  maxUnacknowledged: number
  store: SessionStore
  deliver(client: Client, data: InboundData): void
  fail(client: Client, error: ProtocolError): void
  report(error: unknown, client: string): void
  /** A session ended with messages its client never acknowledged. */
  lost(state: SessionState): void
}

function toOutbound(data: ServerSendData): Outbound {
  if (typeof data === 'string' || data instanceof Uint8Array) return data
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return new Uint8Array(data)
}

/**
 * Reliable delivery on the server: consumes the protocol frames of every
 * client, delivers each message once and in order, and numbers what the
 * application sends so that it can be sent again after a reconnect.
 */
export class ReliableDelivery implements ConnectionHook {
  private readonly linked = new WeakMap<Client, ServerSession>()
  private readonly byName = new Map<string, ServerSession>()
  private readonly greeting = new WeakSet<Client>()

  constructor(private readonly context: ReliableContext) {}

  attach(client: Client): void {
    this.greeting.add(client)
  }

  receive(client: Client, data: InboundData): boolean {
    try {
      const frame = decodeFrame(data)
      const session = this.linked.get(client)
      if (frame.type === 'hello') {
        if (!this.greeting.has(client)) throw new ProtocolError('A second hello on the same socket')
        this.greeting.delete(client)
        void this.welcome(client, frame.session, frame.ack)
      } else if (session?.client !== client) {
        throw new ProtocolError(`A ${frame.type} frame before the welcome`)
      } else if (frame.type === 'welcome') {
        throw new ProtocolError('A welcome frame came from a client')
      } else {
        this.acknowledge(session, frame.ack)
        if (frame.type === 'data') this.accept(client, session, frame.seq, frame.data)
      }
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error
      this.context.fail(client, error)
    }
    return true
  }

  detach(client: Client): void {
    this.greeting.delete(client)
    const session = this.linked.get(client)
    if (session === undefined || session.client !== client) return
    clearTimeout(session.ackTimer)
    session.client = undefined
    this.save(session, client)
  }

  private save(session: ServerSession, client?: Client): void {
    void Promise.resolve(this.context.store.save(session.id, session.toState(), this.context.ttl)).catch((error: unknown) =>
      this.context.report(error, client?.name ?? session.name),
    )
  }

  stop(): void {
    for (const session of this.byName.values()) clearTimeout(session.ackTimer)
  }

  /** Sends through `name`'s session, connected or waiting to resume; false when it has none. */
  send(name: string, data: ServerSendData): boolean {
    const session = this.byName.get(name)
    if (session === undefined) return false
    if (session.outbox.full) {
      throw new RangeError(`send() to "${name}" refused: ${session.outbox.size} messages await acknowledgement, the most a session holds`)
    }
    session.outbox.push(toOutbound(data))
    session.pump()
    // Waiting for its client: the store must hold what was queued since.
    if (session.client === undefined) this.save(session)
    return true
  }

  /** Names with a session (connected or resumable). */
  names(): IterableIterator<string> {
    return this.byName.keys()
  }

  /** A session whose time to live ran out is gone for good. */
  expired(state: SessionState): void {
    if (this.byName.get(state.name)?.id === state.id) this.byName.delete(state.name)
  }

  private async welcome(client: Client, id: string, clientDelivered: number): Promise<void> {
    let stored: SessionState | undefined
    try {
      if (this.byName.get(client.name)?.id !== id) stored = await this.context.store.load(id)
    } catch (error) {
      this.context.report(error, client.name)
    }
    if (client.endedBy !== undefined) return
    const current = this.byName.get(client.name)
    let session: ServerSession
    if (current?.id === id) {
      session = current
    } else {
      if (current !== undefined) this.abandon(current) // the client started over: the old session is over
      session = stored?.name === client.name
        ? ServerSession.from(stored, this.context.maxUnacknowledged)
        : new ServerSession(id, client.name, this.context.maxUnacknowledged)
    }
    const resumed = session === current || stored?.name === client.name
    if (resumed) {
      void Promise.resolve(this.context.store.delete(session.id)).catch((error: unknown) => this.context.report(error, client.name))
      try {
        session.outbox.acknowledge(clientDelivered)
      } catch (error) {
        return this.context.fail(client, new ProtocolError((error as Error).message))
      }
    }
    session.client = client
    this.linked.set(client, session)
    this.byName.set(client.name, session)
    client.socket.send(encodeWelcome(session.id, resumed, session.inbox.delivered))
    session.acknowledged = session.inbox.delivered
    session.outbox.rewind()
    session.pump()
  }

  /** Ends a session for good; what it still held unacknowledged is reported, never dropped silently. */
  private abandon(session: ServerSession): void {
    clearTimeout(session.ackTimer)
    void Promise.resolve(this.context.store.delete(session.id)).catch((error: unknown) => this.context.report(error, session.name))
    this.context.lost(session.toState())
  }

  private acknowledge(session: ServerSession, ack: number): void {
    try {
      session.outbox.acknowledge(ack)
    } catch (error) {
      throw new ProtocolError((error as Error).message)
    }
  }

  private accept(client: Client, session: ServerSession, seq: number, data: string | Uint8Array): void {
    try {
      if (session.inbox.accept(seq) === 'duplicate') return
    } catch (gap) {
      throw new ProtocolError((gap as Error).message)
    }
    session.ackTimer ??= setTimeout(() => session.flushAck(), ACK_DELAY_MS).unref()
    this.context.deliver(client, typeof data === 'string' ? data : Buffer.from(data))
  }
}
