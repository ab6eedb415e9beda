import { randomUUID } from 'node:crypto'
import { decodeFrame, encodeWelcome, fitsPayload, ProtocolError, type Frame } from '../reliable/protocol.js'
import { ACK_DELAY_MS } from '../reliable/session.js'
import type { Client } from './client.js'
import { HeartbeatServerError, messageOf } from './errors.js'
import type { ConnectionHook } from './hooks.js'
import { Greetings } from './greetings.js'
import { ServerSession, type Outbound, type SessionLimits } from './session.js'
import { sessionKey, sessionStateProblem } from './session-state.js'
import { callStore } from './store.js'
import type { DisconnectReason, InboundData, SessionLostEvent, SessionLostReason, SessionState, SessionStore } from './types.js'

/** What the reliable hook needs from its server. */
export interface ReliableContext {
  ttl: number
  limits: SessionLimits
  maxBufferedBytes: number
  /** The largest frame this server accepts, announced in the welcome. */
  maxPayload: number
  store: SessionStore | undefined
  storeTimeout: number
  /** A message from the client, numbered `seq` in its session `session`. */
  deliver(client: Client, data: InboundData, seq: number, session: string): void
  /** The client broke the protocol: report it and close the socket. */
  fail(client: Client, error: ProtocolError): void
  /** The client cannot keep up: close it as a slow consumer. */
  slow(client: Client, why: string): void
  /** Lets go of a client for a reason of the session's (it moved to another node, or is gone). */
  drop(client: Client, reason: DisconnectReason, code: number, why: string): void
  report(error: HeartbeatServerError): void
  /** A session ended with messages its client may not have received. */
  lost(event: SessionLostEvent): void
}

/** What became of a message handed to {@link ReliableDelivery.send}. */
export type Delivery = 'sent' | 'none' | 'full' | 'too-large'

type Hello = Extract<Frame, { type: 'hello' }>

/**
 * Reliable delivery on the server: consumes the protocol frames of every
 * client, delivers each message once and in order, and numbers what the
 * application sends so that it can be sent again after a reconnect.
 *
 * Without a store, sessions whose client is away wait here until they
 * expire. With one, the rule of {@link SessionStore} holds: the process a
 * client is connected to owns its session, saves it once when the client
 * leaves, and forgets it once the save landed; the store's copy is then the
 * only one, so nothing stale can be resumed from this process's memory.
 */
export class ReliableDelivery implements ConnectionHook {
  // Sessions held here: connected, away (without a store), or away with their save in flight.
  private readonly byName = new Map<string, ServerSession>()
  private readonly linked = new WeakMap<Client, ServerSession>()
  private readonly greetings: Greetings
  // Sessions this process saved: expired at their deadline if the store still holds that revision.
  private readonly parked = new Map<string, { revision: string; timer: NodeJS.Timeout }>()
  private readonly saves = new Set<Promise<void>>()
  // How much longer than its expiry a store keeps a session, so its owner still finds it at the deadline.
  private readonly storeGrace: number

  constructor(private readonly context: ReliableContext) {
    this.storeGrace = context.storeTimeout * 2 + 1_000
    this.greetings = new Greetings(context.limits)
  }

  attach(client: Client): void {
    this.greetings.attach(client)
  }

  receive(client: Client, data: InboundData): boolean {
    try {
      const frame = decodeFrame(data)
      const session = this.linked.get(client)
      if (frame.type === 'hello') {
        if (!this.greetings.hello(client)) throw new ProtocolError('A second hello on the same socket')
        this.welcome(client, frame).catch((error: unknown) => this.crashed(client, error))
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
    this.report(client.name, this.greetings.take(client), 'no-hello')
    const session = this.linked.get(client)
    if (session === undefined || session.client !== client) return
    session.client = undefined
    session.cancelAck()
    if (session.ended) return
    session.expiresAt = Date.now() + this.context.ttl
    if (this.context.store === undefined) this.arm(session)
    else this.park(session, this.context.store)
  }

  /** Ends every timer; waits for saves in flight; sessions only this process held are reported lost. */
  async stop(): Promise<void> {
    for (const session of this.byName.values()) {
      session.cancelAck()
      clearTimeout(session.expiryTimer)
    }
    await Promise.allSettled([...this.saves])
    for (const { timer } of this.parked.values()) clearTimeout(timer)
    this.parked.clear()
    for (const session of [...this.byName.values()]) this.end(session, 'server-close')
  }

  /**
   * Queues `data` for `name` and sends it if its client is connected. A
   * client that has not said hello yet (`client`) gets it after its welcome.
   */
  send(name: string, data: Outbound, client: Client | undefined): Delivery {
    const session = this.byName.get(name)
    if (session === undefined || session.ended || (session.client === undefined && this.context.store !== undefined)) {
      const queued = this.greetings.queue(client, data)
      return queued === 'queued' ? 'sent' : queued
    }
    if (!fitsPayload(data, session.peerMaxPayload)) return 'too-large'
    if (!session.outbox.accepts(data)) {
      const connected = session.client
      this.end(session, 'full')
      if (connected !== undefined) {
        this.context.slow(connected, `it left ${session.outbox.size} messages (${session.outbox.bytes} bytes) unacknowledged, the most maxUnacknowledged and maxUnacknowledgedBytes allow`)
      }
      return 'full'
    }
    session.outbox.push(data)
    const connected = session.client
    if (connected !== undefined && !session.pump(this.context.maxBufferedBytes)) {
      this.context.slow(connected, `its socket holds more than maxBufferedBytes (${this.context.maxBufferedBytes}) unsent`)
    }
    return 'sent'
  }

  /** The largest frame `name`'s client accepts, when it said so. */
  limitOf(name: string): number | undefined {
    return this.byName.get(name)?.peerMaxPayload
  }

  /** Names with a session held here, connected or away. */
  names(): IterableIterator<string> {
    return this.byName.keys()
  }

  private async welcome(client: Client, hello: Hello): Promise<void> {
    const { name } = client
    const key = sessionKey(name, hello.session)
    const store = this.context.store
    let stored: ServerSession | undefined
    if (store !== undefined && this.byName.get(name)?.id !== hello.session) {
      stored = await this.load(store, key, name, hello.session)
      // Gone meanwhile: the stored copy stays where it is, for a later resume.
      if (client.endedBy !== undefined) return
    }
    const current = this.byName.get(name)
    let session = current !== undefined && current.id === hello.session && !current.ended ? current : stored
    // The client started over: its old session is over.
    if (current !== undefined && current !== session) this.end(current, 'restarted')
    if (session !== undefined) {
      try {
        session.outbox.acknowledge(hello.ack)
      } catch (error) {
        // A copy that never sent what the client acknowledges cannot serve it.
        this.context.report(new HeartbeatServerError('LIFELINE_SESSION_INVALID', `Session of client "${name}" cannot be resumed: ${messageOf(error)}; starting a new one`, { client: name }))
        this.end(session, 'invalid-state')
        session = undefined
      }
    }
    if (session === stored && stored !== undefined && store !== undefined) this.unpark(store, key, name)
    const resumed = session !== undefined
    session ??= new ServerSession(hello.session, name, this.context.limits)
    clearTimeout(session.expiryTimer)
    session.client = client
    session.peerMaxPayload = hello.maxPayload
    this.linked.set(client, session)
    this.byName.set(name, session)
    // Right after the acknowledgement the client has delivered exactly that much: what is left may be renumbered.
    const tooLarge = session.outbox.drop((data) => !fitsPayload(data, hello.maxPayload))
    this.mergeEarly(client, session, tooLarge)
    client.socket.send(encodeWelcome(session.id, resumed, session.inbox.delivered, this.context.maxPayload))
    session.acknowledged = session.inbox.delivered
    session.outbox.rewind()
    if (!session.pump(this.context.maxBufferedBytes)) {
      this.context.slow(client, `its socket holds more than maxBufferedBytes (${this.context.maxBufferedBytes}) unsent`)
    }
  }

  private mergeEarly(client: Client, session: ServerSession, tooLarge: Outbound[]): void {
    const early = this.greetings.take(client)
    const full: Outbound[] = []
    for (const data of early) {
      if (!fitsPayload(data, session.peerMaxPayload)) tooLarge.push(data)
      else if (session.outbox.accepts(data)) session.outbox.push(data)
      else full.push(data)
    }
    this.report(session.name, tooLarge, 'too-large')
    this.report(session.name, full, 'full')
  }

  /** Loads a stored session for `name`; whatever goes wrong is reported and means "none". */
  private async load(store: SessionStore, key: string, name: string, id: string): Promise<ServerSession | undefined> {
    let value: unknown
    try {
      value = await callStore(() => store.load(key), this.context.storeTimeout, 'sessionStore.load()')
    } catch (error) {
      this.storeFailed(error, name, 'load', 'its session cannot be resumed')
      this.report(name, [], 'store-failed')
      return undefined
    }
    if (value === undefined || value === null) return undefined
    const problem = sessionStateProblem(value, name, id, this.context.limits.maxMessages)
    if (problem !== undefined) {
      this.context.report(new HeartbeatServerError('LIFELINE_SESSION_INVALID', `sessionStore.load() returned an invalid session for client "${name}": ${problem}; starting a new one`, { client: name }))
      const held = (value as { unacknowledged?: unknown }).unacknowledged
      this.context.lost({ name, lost: Array.isArray(held) ? held.length : 0, messages: [], reason: 'invalid-state' })
      this.forget(store, key, name)
      return undefined
    }
    const state = value as SessionState
    // Past its expiry: its owner reports it.
    if (state.expiresAt <= Date.now()) return undefined
    return ServerSession.from(state, this.context.limits)
  }

  /** Saves a session whose client left; once saved, the store's copy is the only one. */
  private park(session: ServerSession, store: SessionStore): void {
    const key = sessionKey(session.name, session.id)
    const revision = randomUUID()
    const state = session.toState(revision)
    session.revision = revision
    const ttl = Math.max(1, session.expiresAt - Date.now()) + this.storeGrace
    // One save at a time per session, so they land in order.
    const saving: Promise<void> = (session.saving ?? Promise.resolve())
      .then(() => callStore(() => store.save(key, state, ttl), this.context.storeTimeout, 'sessionStore.save()'))
      .then(
        () => {
          if (session.revision !== revision) return // a later save decides
          if (session.ended || session.client !== undefined) {
            // Resumed (or ended) here while the save was in flight: the stored copy is stale.
            this.forget(store, key, session.name)
            return
          }
          if (this.byName.get(session.name) === session) this.byName.delete(session.name)
          this.track(key, revision, session.name, session.expiresAt)
        },
        (error: unknown) => {
          this.storeFailed(error, session.name, 'save', "its session is kept in this process's memory only")
          if (session.revision === revision && session.client === undefined && !session.ended) this.arm(session)
        },
      )
      .finally(() => this.saves.delete(saving))
    session.saving = saving
    this.saves.add(saving)
  }

  private track(key: string, revision: string, name: string, expiresAt: number): void {
    clearTimeout(this.parked.get(key)?.timer)
    const timer = setTimeout(() => void this.expireParked(key, revision, name), Math.max(0, expiresAt - Date.now())).unref()
    this.parked.set(key, { revision, timer })
  }

  /** A stored session is resumed here: the store no longer holds it, nor does this process expire it. */
  private unpark(store: SessionStore, key: string, name: string): void {
    const record = this.parked.get(key)
    if (record !== undefined) {
      clearTimeout(record.timer)
      this.parked.delete(key)
    }
    this.forget(store, key, name)
  }

  private async expireParked(key: string, revision: string, name: string): Promise<void> {
    if (this.parked.get(key)?.revision !== revision) return
    this.parked.delete(key)
    const store = this.context.store
    if (store === undefined) return
    let value: unknown
    try {
      value = await callStore(() => store.load(key), this.context.storeTimeout, 'sessionStore.load()')
    } catch (error) {
      this.storeFailed(error, name, 'load', 'its expiry cannot be checked')
      return
    }
    // Resumed elsewhere since (and perhaps saved again by another process).
    if ((value as Partial<SessionState> | undefined)?.revision !== revision) return
    this.forget(store, key, name)
    const held = (value as { unacknowledged?: unknown }).unacknowledged
    const messages = Array.isArray(held) ? held.filter((m): m is Outbound => typeof m === 'string' || m instanceof Uint8Array) : []
    this.report(name, messages, 'expired')
  }

  private forget(store: SessionStore, key: string, name: string): void {
    callStore(() => store.delete(key), this.context.storeTimeout, 'sessionStore.delete()').catch((error: unknown) =>
      this.storeFailed(error, name, 'delete', 'a stale copy may stay in the store until its time to live ends'),
    )
  }

  /** Without a store: the session waits here until its client comes back or it expires. */
  private arm(session: ServerSession): void {
    clearTimeout(session.expiryTimer)
    session.expiryTimer = setTimeout(() => {
      if (session.client === undefined) this.end(session, 'expired')
    }, Math.max(0, session.expiresAt - Date.now())).unref()
  }

  /** Ends a session for good; what it still held unacknowledged is reported, never dropped silently. */
  private end(session: ServerSession, reason: SessionLostReason): void {
    if (session.ended) return
    session.ended = true
    session.cancelAck()
    clearTimeout(session.expiryTimer)
    if (this.byName.get(session.name) === session) this.byName.delete(session.name)
    this.report(session.name, session.messages(), reason)
  }

  private report(name: string, messages: Outbound[], reason: SessionLostReason): void {
    if (messages.length > 0 || reason === 'store-failed') this.context.lost({ name, lost: messages.length, messages, reason })
  }

  private storeFailed(error: unknown, name: string, call: 'load' | 'save' | 'delete', consequence: string): void {
    this.context.report(new HeartbeatServerError(
      'LIFELINE_STORE_FAILED',
      `sessionStore.${call}() failed for client "${name}": ${messageOf(error)}; ${consequence}`,
      { cause: error, client: name },
    ))
  }

  private crashed(client: Client, error: unknown): void {
    this.context.report(new HeartbeatServerError('LIFELINE_PROTOCOL_ERROR', `The welcome of client "${client.name}" failed: ${messageOf(error)}`, { cause: error, client: client.name }))
    client.socket.terminate()
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
    this.context.deliver(client, typeof data === 'string' ? data : Buffer.from(data), seq, session.id)
  }
}
