import WebSocket from 'ws'
import { encodeAck, encodeData, encodeWelcome, envelopeBytes, fitsPayload, ProtocolError } from '../reliable/protocol.js'
import { ACK_DELAY_MS } from '../reliable/session.js'
import type { Client } from '../server/client.js'
import { CLOSE_REPLACED, CLOSE_SERVICE_RESTART, CLOSE_TRY_AGAIN_LATER } from '../server/codes.js'
import type { ReliableHook } from '../server/cluster.js'
import { HeartbeatServerError, messageOf } from '../server/errors.js'
import { Greetings, sendOn } from '../server/greetings.js'
import { routeClientFrame, type FrameRoutes, type Hello } from '../server/client-frames.js'
import type { Delivery, ReliableContext } from '../server/reliable.js'
import { sessionKey } from '../server/session-state.js'
import type { Outbound } from '../server/session.js'
import type { InboundData, SessionLostReason } from '../server/types.js'
import type { RedisCluster } from './cluster.js'
import type { ResolvedRedisOptions } from './options.js'
import { APPEND, BROADCAST, CLAIM_SESSION, DROP_OVERSIZED, END_SESSION, PARK, READ, RECORD, SWEEP_SESSIONS } from './session-scripts.js'
import { decodeMessage, encodeMessage, payloadBytes, type Envelope } from './wire.js'


// Most messages one read brings back while a client catches up.
const READ_BATCH = 256
// Most sweeps of ended sessions per beat (4 sessions each): a backlog is worked off within a few beats.
const SWEEPS_PER_BEAT = 32

/** A session whose client is connected to this node: the node owns it for as long as its epoch is the session's. */
class Attached {
  /** The last message sent on this socket. */
  sentUpTo: number
  /** The last of the client's messages delivered to the application here... */
  delivered: number
  /** ...and the last Redis has recorded, which is all an acknowledgement may say. */
  recorded: number
  /** The last acknowledgement the client gave, and the last Redis has recorded. */
  clientAck: number
  recordedAck: number
  acknowledged = 0
  ackTimer: NodeJS.Timeout | undefined
  pumping = false
  pumpAgain = false
  recording = false
  ended = false

  constructor(
    readonly key: string,
    readonly id: string,
    readonly epoch: number,
    readonly client: Client,
    readonly peerMaxPayload: number | undefined,
    delivered: number,
    clientAck: number,
  ) {
    this.sentUpTo = clientAck
    this.delivered = delivered
    this.recorded = delivered
    this.clientAck = clientAck
    this.recordedAck = clientAck
  }
}

/**
 * Reliable delivery with the sessions in Redis, written as they change: a
 * message sent to a client is appended to its session's list before it goes
 * out (so any node can send it again), what the client acknowledges and
 * what the application received are recorded as they happen, and the
 * client's acknowledgements say only what Redis holds. A node owns a session
 * while its client is connected there, fenced by an epoch: a hello on
 * another node claims it with a new epoch, this node is told to let go, and
 * its writes carrying the old epoch are refused.
 */
export class RedisSessions implements ReliableHook {
  private readonly byKey = new Map<string, Attached>()
  private readonly byName = new Map<string, Attached>()
  private readonly linked = new WeakMap<Client, Attached>()
  private readonly greetings: Greetings
  // Sessions whose client left while Redis could not be told: parked when it is back.
  private readonly toPark = new Map<string, string>()
  // A write's answer was lost: sessions served here are pumped on the next beat.
  private pumpLater = false
  private readonly pending = new Set<Promise<unknown>>()

  constructor(
    private readonly cluster: RedisCluster,
    private readonly options: ResolvedRedisOptions,
    private readonly context: ReliableContext,
  ) {
    this.greetings = new Greetings(context.limits, context.ttl, (name, messages, reason) => this.lost(name, messages, reason))
    this.routes = {
      greetings: this.greetings,
      welcomed: (client) => this.linked.get(client)?.ended === false,
      hello: (client, frame) => this.track(this.welcome(client, frame).catch((error: unknown) => this.crashed(client, error))),
      traffic: (client, frame) => {
        const session = this.linked.get(client)!
        if (frame.ack > session.sentUpTo) throw new ProtocolError(`Acknowledgement ${frame.ack} for a message never sent (last sent is ${session.sentUpTo})`)
        if (frame.ack > session.clientAck) session.clientAck = frame.ack
        if (frame.type === 'data') this.accept(session, frame.seq, frame.data)
        this.record(session)
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
    // What it was sent before its welcome goes on to its name's session, wherever that is.
    sendOn(client.name, this.greetings.leave(client), (data) => this.send(client.name, data, undefined), (name, data, reason) => this.lost(name, data, reason))
    const session = this.linked.get(client)
    if (session === undefined || session.ended) return
    this.forget(session)
    this.park(session.key, String(session.epoch))
  }

  async stop(): Promise<void> {
    for (const session of this.byKey.values()) clearTimeout(session.ackTimer)
    await Promise.allSettled([...this.pending])
  }

  send(name: string, data: Outbound, client: Client | undefined, forwarded = false): Delivery {
    if (payloadBytes(data) > this.context.limits.maxBytes) return 'oversized'
    const queued = this.greetings.queue(client, data)
    if (queued !== 'none') return queued === 'queued' ? 'sent' : 'full'
    const session = this.byName.get(name)
    if (session !== undefined && !fitsPayload(data, session.peerMaxPayload)) return 'too-large'
    if (!this.cluster.ready) {
      this.cluster.failed(`could not queue a message for "${name}": Redis is unreachable`, new Error('not connected'))
      return 'none'
    }
    this.append(name, data, forwarded)
    return 'sent'
  }

  /**
   * Every session in the cluster gets `data` once, connected or away, in one
   * step; so do this node's clients that have not said hello yet (after
   * their welcome). Returns how many of this node's clients it reached.
   */
  broadcast(data: Outbound, clients: Iterable<Client> = []): number {
    let here = 0
    // A client here that has not said hello gets it at its welcome, whatever session it continues, and only so.
    const waiting: string[] = []
    for (const client of clients) {
      if (!this.greetings.waiting(client) || this.greetings.queue(client, data) !== 'queued') continue
      waiting.push(client.name)
      here++
    }
    if (!this.cluster.ready) {
      this.cluster.failed('could not broadcast to the sessions of the cluster: Redis is unreachable', new Error('not connected'))
      return here
    }
    here += this.byName.size
    const { maxMessages, maxBytes } = this.context.limits
    this.track(BROADCAST.runBuffer(this.cluster.command, [], [this.options.prefix, this.cluster.node, encodeMessage(data), maxMessages, maxBytes, ...waiting]).then((value) => {
      const reply = value as (Buffer | number)[]
      const fullAt = reply.findIndex((v) => Buffer.isBuffer(v) && v.toString() === 'full')
      for (let i = 0; i + 1 < fullAt; i += 2) {
        const session = this.byKey.get(String(reply[i]))
        if (session !== undefined) this.sent(session, Number(reply[i + 1]), data)
      }
      for (const key of reply.slice(fullAt + 1)) this.full(String(key))
    }, (error: unknown) => this.unknown('a broadcast', error)))
    return here
  }

  limitOf(name: string): number | undefined {
    return this.byName.get(name)?.peerMaxPayload
  }

  names(): Iterable<string> {
    return this.byName.keys()
  }

  /** A message from another node about a session this node owns. */
  heard(header: Extract<Envelope, { t: 'pump' | 'drop' | 'end' }>): void {
    const session = this.byKey.get(header.key)
    if (session === undefined) return
    if (header.t === 'pump') return void this.pump(session)
    if (header.t === 'end') return this.endFull(session)
    // Claimed elsewhere: the client came back there, so this socket is a stale one.
    if (header.epoch > session.epoch) this.supersede(session, 'its session was claimed on another node', true)
  }

  /**
   * Reports the sessions that ended (expired, restarted, full): each comes
   * out of Redis once, to one node, which reports what it held.
   */
  async sweep(): Promise<void> {
    // What a failed write left undone is tried again on every beat.
    for (const [key, epoch] of [...this.toPark]) {
      this.toPark.delete(key)
      this.park(key, epoch)
    }
    for (const session of this.byKey.values()) this.record(session)
    if (this.pumpLater) {
      this.pumpLater = false
      for (const session of this.byKey.values()) void this.pump(session)
    }
    for (let round = 0; round < SWEEPS_PER_BEAT; round++) {
      const reply = (await SWEEP_SESSIONS.runBuffer(this.cluster.command, [], [this.options.prefix])) as (Buffer | number)[]
      let ended = 0
      for (let i = 0; i < reply.length; ended++) {
        const name = String(reply[i])
        const reason = String(reply[i + 1]) as SessionLostReason
        const count = Number(reply[i + 2])
        this.lost(name, reply.slice(i + 3, i + 3 + count).map(decode), reason)
        i += 3 + count
      }
      if (ended < 4) return
    }
  }

  /**
   * Redis is reachable again: park what left meanwhile, and write down what
   * the connected sessions did, which also finds out whether Redis still
   * knows them (after a restart it may not: their clients must start over).
   */
  async arrived(): Promise<void> {
    for (const [key, epoch] of [...this.toPark]) {
      this.toPark.delete(key)
      this.park(key, epoch)
    }
    for (const session of [...this.byKey.values()]) {
      this.record(session, true)
      // A wake-up sent while this node could not hear is lost: look for what waits.
      void this.pump(session)
    }
  }

  private async welcome(client: Client, hello: Hello): Promise<void> {
    const { name } = client
    const key = sessionKey(name, hello.session)
    let claim = await this.claim(client, key, hello)
    if (claim === 'inconsistent') {
      this.context.report(new HeartbeatServerError('LIFELINE_SESSION_INVALID', `Session of client "${name}" cannot be resumed: the client acknowledges messages it was never sent; starting a new one`, { client: name }))
      await END_SESSION.run(this.cluster.command, [], [this.options.prefix, key, 'invalid-state'])
      claim = await this.claim(client, key, hello)
    }
    if (claim === 'inconsistent' || claim === undefined) return
    if (client.endedBy !== undefined) {
      // Gone while the claim was made: the session waits for it, as after any departure.
      this.park(key, String(claim.epoch))
      return
    }
    // A new session starts at 1, whatever the client acknowledged of the one it lost.
    const ack = claim.resumed ? hello.ack : 0
    const session = new Attached(key, hello.session, claim.epoch, client, hello.maxPayload, claim.delivered, ack)
    this.byKey.set(key, session)
    this.byName.set(name, session)
    this.linked.set(client, session)
    if (hello.maxPayload !== undefined) {
      // What waited while the client was away may be too large for what it accepts now; renumbered away right after its acknowledgement.
      const dropped = (await DROP_OVERSIZED.runBuffer(this.cluster.command, [], [this.options.prefix, key, hello.maxPayload])) as Buffer[]
      this.lost(name, dropped.map(decode), 'too-large')
    }
    client.socket.send(encodeWelcome(hello.session, claim.resumed, claim.delivered, this.context.maxPayload))
    session.acknowledged = claim.delivered
    const tooLarge: Outbound[] = []
    for (const data of this.greetings.take(client)) {
      if (fitsPayload(data, hello.maxPayload)) this.append(name, data)
      else tooLarge.push(data)
    }
    this.lost(name, tooLarge, 'too-large')
    void this.pump(session)
  }

  private async claim(client: Client, key: string, hello: Hello): Promise<{ resumed: boolean; epoch: number; delivered: number } | 'inconsistent' | undefined> {
    let reply: (Buffer | number)[]
    try {
      reply = (await CLAIM_SESSION.runBuffer(this.cluster.command, [], [
        this.options.prefix, this.cluster.node, key, client.name, hello.session, hello.ack, this.context.ttl, hello.maxPayload ?? 0,
      ])) as (Buffer | number)[]
    } catch (error) {
      // Without Redis no session can be trusted: the client tries again later. Redis may still run
      // the claim (a timeout): once it answers again, the session is set to expire if this node holds it.
      this.toPark.set(key, '')
      this.cluster.failed(`could not claim the session of "${client.name}"; the client is asked to come back later`, error)
      this.context.drop(client, 'error', CLOSE_TRY_AGAIN_LATER, 'its session cannot be reached now')
      return undefined
    }
    const state = String(reply[0])
    if (state === 'inconsistent') return 'inconsistent'
    return { resumed: state === 'resumed', epoch: Number(reply[1]), delivered: Number(reply[2]) }
  }

  private append(name: string, data: Outbound, forwarded = false): void {
    const message = encodeMessage(data)
    const { maxMessages, maxBytes } = this.context.limits
    const appending = APPEND.run(this.cluster.command, [], [
      this.options.prefix, this.cluster.node, name, message, maxMessages, maxBytes,
    ]).then((value) => {
      const [seq, key, third] = value as [number, string | undefined, string | number | undefined]
      if (seq > 0) {
        const session = key === undefined ? undefined : this.byKey.get(key)
        if (session !== undefined) this.sent(session, seq, data)
      } else if (seq === 0) {
        // No session yet: perhaps a client connected elsewhere that has not said hello. Its node queues it.
        if (forwarded || !this.cluster.send(name, data)) this.undelivered(name, 'no client or session of that name on any node')
      } else if (seq === -1 && key !== undefined) {
        this.full(key)
      } else if (seq === -3) {
        this.context.report(new HeartbeatServerError('LIFELINE_MESSAGE_TOO_LARGE', `send() to "${name}" refused: the message is larger than maxUnacknowledgedBytes (${maxBytes}): no session can hold it`, { client: name }))
      } else if (seq === -2) {
        this.context.report(new HeartbeatServerError('LIFELINE_MESSAGE_TOO_LARGE', `send() to "${name}" refused: the message makes a ${envelopeBytes(data)}-byte reliable-delivery frame, and the client accepts at most ${String(third)} bytes`, { client: name }))
      }
    }, (error: unknown) => this.unknown(`a message for "${name}"`, error))
    this.track(appending)
  }

  /**
   * A write whose answer did not come: Redis may have taken it or not. Said
   * so (never "dropped": it may arrive), and whatever it may have added to a
   * session this node serves is looked for once Redis answers again.
   */
  private unknown(what: string, error: unknown): void {
    this.context.report(new HeartbeatServerError('LIFELINE_NOT_DELIVERED', `${what} may or may not have reached Redis (${messageOf(error)}); if it did, it is delivered`))
    this.pumpLater = true
  }

  /** A message appended to a session this node owns: out at once when it is next, else through a read. */
  private sent(session: Attached, seq: number, data: Outbound): void {
    if (session.ended) return
    if (seq === session.sentUpTo + 1 && !session.pumping) this.transmit(session, seq, data)
    else if (seq > session.sentUpTo) void this.pump(session)
  }

  private transmit(session: Attached, seq: number, data: Outbound): boolean {
    const socket = session.client.socket
    if (socket.readyState !== WebSocket.OPEN) return false
    clearTimeout(session.ackTimer)
    session.ackTimer = undefined
    session.acknowledged = session.recorded
    socket.send(encodeData(seq, session.acknowledged, data))
    session.sentUpTo = seq
    if (socket.bufferedAmount > this.context.maxBufferedBytes) {
      this.context.slow(session.client, `its socket holds more than maxBufferedBytes (${this.context.maxBufferedBytes}) unsent`)
      return false
    }
    return true
  }

  /** Sends what the session holds past what went out on this socket, a batch at a time. */
  private async pump(session: Attached): Promise<void> {
    if (session.pumping) {
      session.pumpAgain = true
      return
    }
    session.pumping = true
    try {
      do {
        session.pumpAgain = false
        const reply = (await READ.runBuffer(this.cluster.command, [], [this.options.prefix, session.key, session.sentUpTo + 1, READ_BATCH])) as (Buffer | number)[]
        if (session.ended) return
        if (reply.length === 0) return this.supersede(session, 'its session is gone from Redis')
        const first = Number(reply[0])
        const from = Math.max(first, session.sentUpTo + 1)
        const messages = reply.slice(2) as Buffer[]
        for (let i = 0; i < messages.length; i++) {
          const data = decode(messages[i]!)
          if (!this.transmit(session, from + i, data)) return
        }
        if (messages.length === READ_BATCH) session.pumpAgain = true
      } while (session.pumpAgain)
    } catch (error) {
      this.cluster.failed(`could not read the session of "${session.client.name}"`, error)
    } finally {
      session.pumping = false
    }
  }

  private accept(session: Attached, seq: number, data: string | Uint8Array): void {
    if (seq <= session.delivered) return // a resend after a reconnect
    if (seq !== session.delivered + 1) throw new ProtocolError(`Message ${seq} arrived before ${session.delivered + 1}`)
    session.delivered = seq
    this.context.deliver(session.client, typeof data === 'string' ? data : Buffer.from(data), seq, session.id)
  }

  /** Writes what changed (the client's acknowledgement, what was delivered), one write in flight per session. */
  private record(session: Attached, always = false): void {
    if (session.recording || session.ended) return
    if (!always && session.clientAck === session.recordedAck && session.delivered === session.recorded) return
    session.recording = true
    const ack = session.clientAck
    const delivered = session.delivered
    const recording = RECORD.run(this.cluster.command, [], [this.options.prefix, this.cluster.node, session.key, session.epoch, ack, delivered]).then((result) => {
      session.recording = false
      if (result === -1) return this.supersede(session, 'its session is no longer this node’s: claimed elsewhere, taken while this node was stalled, or gone from Redis')
      if (result === -2) return this.supersede(session, 'its session in Redis holds fewer messages than this node sent (Redis lost them)')
      session.recordedAck = ack
      session.recorded = delivered
      if (session.recorded > session.acknowledged) session.ackTimer ??= setTimeout(() => this.flushAck(session), ACK_DELAY_MS).unref()
      this.record(session)
    }, (error: unknown) => {
      session.recording = false
      // Not recorded, so not acknowledged: the client keeps its messages, and the next frame tries again.
      this.cluster.failed(`could not record the session of "${session.client.name}"`, error)
    })
    this.track(recording)
  }

  private flushAck(session: Attached): void {
    clearTimeout(session.ackTimer)
    session.ackTimer = undefined
    const socket = session.client.socket
    if (session.ended || session.recorded <= session.acknowledged || socket.readyState !== WebSocket.OPEN) return
    session.acknowledged = session.recorded
    socket.send(encodeAck(session.acknowledged))
  }

  /** Sets a session this node owned to expire; `epoch` '' when the claim's answer was lost. */
  private park(key: string, epoch: string): void {
    if (!this.cluster.ready) {
      this.toPark.set(key, epoch)
      return
    }
    this.track(PARK.run(this.cluster.command, [], [this.options.prefix, this.cluster.node, key, epoch]).catch((error: unknown) => {
      this.toPark.set(key, epoch)
      this.cluster.failed('could not set an away session to expire; it is tried again when Redis answers', error)
    }))
  }

  /** A session that would hold more than its bounds ends (reported by the sweeper); its owner lets its client go as slow. */
  private full(key: string): void {
    this.track(END_SESSION.run(this.cluster.command, [], [this.options.prefix, key, 'full']).then((owner) => {
      const session = this.byKey.get(key)
      if (session !== undefined) this.endFull(session)
      else if (typeof owner === 'string' && owner !== '') this.cluster.tell(owner, { t: 'end', key })
    }, (error: unknown) => this.cluster.failed('could not end a full session', error)))
  }

  private endFull(session: Attached): void {
    if (session.ended) return
    this.forget(session)
    this.context.slow(session.client, 'it left maxUnacknowledged messages (or maxUnacknowledgedBytes) unacknowledged')
  }

  /**
   * This node no longer owns the session. Claimed elsewhere: the client is
   * connected there, and this socket is a stale one (4409). Gone from Redis
   * (it restarted empty): the client must come back and start over (1012).
   */
  private supersede(session: Attached, why: string, claimed = false): void {
    if (session.ended) return
    this.forget(session)
    this.context.report(new HeartbeatServerError('LIFELINE_CLUSTER_FAILED', `Client "${session.client.name}" was let go by node ${this.cluster.node}: ${why}`, { client: session.client.name }))
    if (claimed) this.context.drop(session.client, 'replaced', CLOSE_REPLACED, why)
    else this.context.drop(session.client, 'error', CLOSE_SERVICE_RESTART, why)
  }

  private forget(session: Attached): void {
    session.ended = true
    clearTimeout(session.ackTimer)
    if (this.byKey.get(session.key) === session) this.byKey.delete(session.key)
    if (this.byName.get(session.client.name) === session) this.byName.delete(session.client.name)
  }

  private undelivered(name: string, why: string): void {
    this.context.report(new HeartbeatServerError('LIFELINE_NOT_DELIVERED', `A message for "${name}" was dropped: ${why}`, { client: name }))
  }

  private lost(name: string, messages: Outbound[], reason: SessionLostReason): void {
    if (messages.length > 0) this.context.lost({ name, lost: messages.length, messages, reason })
  }

  private crashed(client: Client, error: unknown): void {
    this.context.report(new HeartbeatServerError('LIFELINE_PROTOCOL_ERROR', `The welcome of client "${client.name}" failed: ${messageOf(error)}`, { cause: error, client: client.name }))
    client.socket.terminate()
  }

  private track(promise: Promise<unknown>): void {
    this.pending.add(promise)
    void promise.finally(() => this.pending.delete(promise))
  }
}

function decode(raw: Buffer | number): Outbound {
  return Buffer.isBuffer(raw) ? decodeMessage(raw) ?? '' : String(raw)
}
