import { randomUUID } from 'node:crypto'
import { encodeWelcome, fitsPayload, ProtocolError } from '../reliable/protocol.js'
import { ACK_DELAY_MS } from '../reliable/session.js'
import type { Client } from './client.js'
import { CLOSE_TRY_AGAIN_LATER } from './codes.js'
import { HeartbeatServerError, messageOf } from './errors.js'
import type { ConnectionHook } from './hooks.js'
import { Greetings, sendOn } from './greetings.js'
import { routeClientFrame, type FrameRoutes, type Hello } from './client-frames.js'
import { ServerSession, sizeOf, type Outbound, type SessionLimits } from './session.js'
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
  /** Lets go of a client for a reason of its session's (already reported): it moved, is gone, or cannot be loaded now. */
  drop(client: Client, reason: DisconnectReason, code: number, why: string): void
  report(error: HeartbeatServerError): void
  /** A session ended with messages its client may not have received. */
  lost(event: SessionLostEvent): void
}

/**
 * What became of a message handed to {@link ReliableDelivery.send}:
 * `'too-large'` for the client's frame limit, `'oversized'` for
 * `maxUnacknowledgedBytes` (a message no session could hold).
 */
export type Delivery = 'sent' | 'none' | 'full' | 'too-large' | 'oversized'


/** What a store held for a hello. */
type Loaded = { kind: 'none' } | { kind: 'found'; state: SessionState } | { kind: 'invalid' } | { kind: 'failed' }

/** `expiresAt` of a session connected to a server process: not resumable elsewhere. */
const ATTACHED = 0

// setTimeout wraps delays above 2^31 - 1 ms to 1 ms.
const MAX_DELAY = 2_147_483_647

// How often a paused session looks whether its socket drained.
const DRAIN_CHECK_MS = 10

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
    this.greetings = new Greetings(context.limits, context.ttl, (name, messages, reason) => this.report(name, messages, reason))
    this.routes = {
      greetings: this.greetings,
      welcomed: (client) => this.linked.get(client)?.client === client,
      hello: (client, frame) => void this.welcome(client, frame).catch((error: unknown) => this.crashed(client, error)),
      traffic: (client, frame) => {
        const session = this.linked.get(client)!
        this.acknowledge(session, frame.ack)
        if (frame.type === 'data') this.accept(client, session, frame.seq, frame.data)
      },
      fail: (client, error) => this.context.fail(client, error),
    }
  }

  attach(client: Client): void {
    this.greetings.attach(client)
  }

  receive(client: Client, data: InboundData): boolean {
    return routeClientFrame(client, data, this.routes)
  }

  private readonly routes: FrameRoutes

  detach(client: Client): void {
    this.carry(client.name, this.greetings.leave(client))
    const session = this.linked.get(client)
    if (session === undefined || session.client !== client) return
    session.client = undefined
    session.stopTimers()
    if (session.ended) return
    session.expiresAt = Date.now() + this.context.ttl
    if (this.context.store === undefined) this.arm(session)
    else this.park(session, this.context.store)
  }

  /**
   * What a client that left before its welcome was sent goes on to its
   * name: into the session connected here, else to the name's next
   * connection (within `sessionTtl`).
   */
  private carry(name: string, messages: Outbound[]): void {
    if (messages.length === 0) return
    const session = this.byName.get(name)
    if (session === undefined || session.ended || session.client === undefined) return this.greetings.hold(name, messages)
    sendOn(name, messages, (data) => this.send(name, data, undefined), (n, data, reason) => this.report(n, data, reason))
  }

  /** Ends every timer; waits for saves in flight; sessions only this process held are reported lost. */
  async stop(): Promise<void> {
    this.greetings.stop('server-close')
    for (const session of this.byName.values()) {
      session.stopTimers()
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
    // Larger than a whole session may hold: refused, and nobody's fault but the message's.
    if (sizeOf(data) > this.context.limits.maxBytes) return 'oversized'
    // A client that has not said hello yet gets it after its welcome, whichever session that continues.
    const queued = this.greetings.queue(client, data)
    if (queued !== 'none') return queued === 'queued' ? 'sent' : 'full'
    const session = this.byName.get(name)
    if (session === undefined || session.ended || (session.client === undefined && this.context.store !== undefined)) return 'none'
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
    this.pump(session)
    return 'sent'
  }

  /**
   * Sends what waits, as fast as the client reads: past `maxBufferedBytes`
   * unsent, sending pauses until the socket drains (the outbox keeps the
   * rest, within its bounds). A client that stops reading is found by the
   * heartbeat, or fills its session.
   */
  private pump(session: ServerSession): void {
    if (session.draining !== undefined || session.pump(this.context.maxBufferedBytes)) return
    const wait = (): void => {
      session.draining = setTimeout(() => {
        session.draining = undefined
        const socket = session.client?.socket
        if (socket === undefined || session.ended) return
        if (socket.bufferedAmount > this.context.maxBufferedBytes / 2) return wait()
        if (!session.pump(this.context.maxBufferedBytes)) wait()
      }, DRAIN_CHECK_MS).unref()
    }
    wait()
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
    const held = this.byName.get(name)
    const same = held !== undefined && held.id === hello.session && !held.ended ? held : undefined
    let session: ServerSession | undefined = store === undefined ? same : undefined
    if (store !== undefined) {
      // With a store, the store decides what this process's memory may serve (after this process's own saves landed).
      await same?.saving
      const stored = await this.load(store, key, name, hello.session)
      if (client.endedBy !== undefined) return
      if (stored.kind === 'failed') {
        // Nothing is known: better come back later than start over on a session that may exist.
        return this.context.drop(client, 'error', CLOSE_TRY_AGAIN_LATER, 'its session could not be loaded from the sessionStore')
      }
      session = this.resumable(stored, same)
    }
    const current = this.byName.get(name)
    // The client started over (another id), or its session went on elsewhere (this copy is stale).
    if (current !== undefined && current !== session) this.end(current, current.id === hello.session ? 'moved' : 'restarted')
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
    const resumed = session !== undefined
    session ??= new ServerSession(hello.session, name, this.context.limits)
    clearTimeout(session.expiryTimer)
    session.client = client
    session.peerMaxPayload = hello.maxPayload
    this.linked.set(client, session)
    this.byName.set(name, session)
    // The store learns at once that the session is connected here: a late save by a process that still thinks it holds it is refused.
    if (store !== undefined) this.claim(session, store, key)
    // Right after the acknowledgement the client has delivered exactly that much: what is left may be renumbered.
    const tooLarge = session.outbox.drop((data) => !fitsPayload(data, hello.maxPayload))
    this.mergeEarly(client, session, tooLarge)
    client.socket.send(encodeWelcome(session.id, resumed, session.inbox.delivered, this.context.maxPayload))
    session.acknowledged = session.inbox.delivered
    session.outbox.rewind()
    this.pump(session)
  }

  /**
   * What a hello may resume, given the store's copy: this process's own
   * copy if it wrote the revision the store holds (or the store holds
   * nothing: its saves failed); else the store's, if it is away and not
   * expired; else nothing (connected elsewhere, expired, invalid).
   */
  private resumable(stored: Loaded, same: ServerSession | undefined): ServerSession | undefined {
    // The store never got this process's saves (they failed): its memory is the only copy.
    if (stored.kind === 'none') return same
    if (stored.kind !== 'found') return undefined
    if (same !== undefined && same.revision === stored.state.revision) return same
    const { expiresAt } = stored.state
    if (expiresAt === ATTACHED || expiresAt <= Date.now()) return undefined
    return ServerSession.from(stored.state, this.context.limits)
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

  /** Loads a stored session for `name`; what goes wrong is reported. */
  private async load(store: SessionStore, key: string, name: string, id: string): Promise<Loaded> {
    let value: unknown
    try {
      value = await callStore(() => store.load(key), this.context.storeTimeout, 'sessionStore.load()')
    } catch (error) {
      this.storeFailed(error, name, 'load', 'the client is asked to come back later')
      return { kind: 'failed' }
    }
    if (value === undefined || value === null) return { kind: 'none' }
    const problem = sessionStateProblem(value, name, id, this.context.limits.maxMessages)
    if (problem !== undefined) {
      this.context.report(new HeartbeatServerError('LIFELINE_SESSION_INVALID', `sessionStore.load() returned an invalid session for client "${name}": ${problem}; starting a new one`, { client: name }))
      const messages = (value as { unacknowledged?: unknown }).unacknowledged
      this.context.lost({ name, lost: Array.isArray(messages) ? messages.length : 0, messages: [], reason: 'invalid-state' })
      return { kind: 'invalid' }
    }
    return { kind: 'found', state: value as SessionState }
  }

  /** Marks the session connected here in the store (`expiresAt` 0), with a revision of this process's own. */
  private claim(session: ServerSession, store: SessionStore, key: string): void {
    const record = this.parked.get(key)
    clearTimeout(record?.timer)
    this.parked.delete(key)
    session.expiresAt = ATTACHED
    this.save(session, store, key, this.context.ttl, () => {})
  }

  /**
   * Saves a session whose client left, unless the store shows that the
   * session went on in another process since (then this copy is stale: what
   * it held is reported lost). Once saved, the store's copy is the only one.
   */
  private park(session: ServerSession, store: SessionStore): void {
    const key = sessionKey(session.name, session.id)
    const claimed = session.revision
    const parking: Promise<void> = (session.saving ?? Promise.resolve())
      .then(() => this.load(store, key, session.name, session.id))
      .then((stored) => {
        if (session.ended || session.client !== undefined) return
        if (stored.kind === 'found' && stored.state.revision !== claimed) return this.end(session, 'moved')
        return this.save(session, store, key, Math.max(1, session.expiresAt - Date.now()), () => {
          if (session.ended || session.client !== undefined) return
          if (this.byName.get(session.name) === session) this.byName.delete(session.name)
          this.track(key, session.revision!, session.name, session.expiresAt)
        }, Promise.resolve())
      })
      .finally(() => this.saves.delete(parking))
    session.saving = parking
    this.saves.add(parking)
  }

  /**
   * One save at a time per session (after `after`, the session's previous
   * one), so they land in order; a failure keeps the session in this
   * process's memory.
   */
  private save(session: ServerSession, store: SessionStore, key: string, ttl: number, saved: () => void, after = session.saving): Promise<void> {
    const revision = randomUUID()
    const state = session.toState(revision)
    session.revision = revision
    const saving: Promise<void> = (after ?? Promise.resolve())
      .then(() => callStore(() => store.save(key, state, Math.min(MAX_DELAY, ttl + this.storeGrace)), this.context.storeTimeout, 'sessionStore.save()'))
      .then(
        () => {
          if (session.revision === revision) saved() // a later save decides
        },
        (error: unknown) => {
          this.storeFailed(error, session.name, 'save', "its session is kept in this process's memory only")
          if (session.revision === revision && session.client === undefined && !session.ended) this.arm(session)
        },
      )
      .finally(() => this.saves.delete(saving))
    session.saving = saving
    this.saves.add(saving)
    return saving
  }

  private track(key: string, revision: string, name: string, expiresAt: number): void {
    clearTimeout(this.parked.get(key)?.timer)
    const timer = setTimeout(() => void this.expireParked(key, revision, name), Math.max(0, expiresAt - Date.now())).unref()
    this.parked.set(key, { revision, timer })
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
    session.stopTimers()
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
