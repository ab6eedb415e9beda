import WebSocket from 'ws'
import { decodeFrame, encodeAck, encodeData, encodeWelcome, envelopeBytes, fitsPayload, ProtocolError, type Frame } from '../reliable/protocol.js'
import { ACK_DELAY_MS } from '../reliable/session.js'
import type { Client } from '../server/client.js'
import { CLOSE_REPLACED, CLOSE_SERVICE_RESTART, CLOSE_TRY_AGAIN_LATER } from '../server/codes.js'
import type { ReliableHook } from '../server/cluster.js'
import { HeartbeatServerError, messageOf } from '../server/errors.js'
import { Greetings } from '../server/greetings.js'
import type { Delivery, ReliableContext } from '../server/reliable.js'
import { sessionKey } from '../server/session-state.js'
import type { Outbound } from '../server/session.js'
import type { InboundData, SessionLostReason } from '../server/types.js'
import type { RedisCluster } from './cluster.js'
import type { ResolvedRedisOptions } from './options.js'
import { APPEND, CLAIM_SESSION, DROP_OVERSIZED, END_SESSION, PARK, READ, RECORD, SWEEP_SESSIONS } from './session-scripts.js'
import { decodeMessage, encodeMessage, type Envelope } from './wire.js'

type Hello = Extract<Frame, { type: 'hello' }>

// Most messages one read brings back while a client catches up.
const READ_BATCH = 256

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
  private readonly toPark = new Map<string, number>()
  private readonly pending = new Set<Promise<unknown>>()

  constructor(
    private readonly cluster: RedisCluster,
    private readonly options: ResolvedRedisOptions,
    private readonly context: ReliableContext,
  ) {
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
        this.track(this.welcome(client, frame).catch((error: unknown) => this.crashed(client, error)))
      } else if (session === undefined || session.ended) {
        throw new ProtocolError(`A ${frame.type} frame before the welcome`)
      } else if (frame.type === 'welcome') {
        throw new ProtocolError('A welcome frame came from a client')
      } else {
        if (frame.ack > session.sentUpTo) throw new ProtocolError(`Acknowledgement ${frame.ack} for a message never sent (last sent is ${session.sentUpTo})`)
        if (frame.ack > session.clientAck) session.clientAck = frame.ack
        if (frame.type === 'data') this.accept(session, frame.seq, frame.data)
        this.record(session)
      }
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error
      this.context.fail(client, error)
    }
    return true
  }

  detach(client: Client): void {
    this.lost(client.name, this.greetings.take(client), 'no-hello')
    const session = this.linked.get(client)
    if (session === undefined || session.ended) return
    this.forget(session)
    this.park(session.key, session.epoch)
  }

  async stop(): Promise<void> {
    for (const session of this.byKey.values()) clearTimeout(session.ackTimer)
    await Promise.allSettled([...this.pending])
  }

  send(name: string, data: Outbound, client: Client | undefined): Delivery {
    if (encodedSize(data) > this.context.limits.maxBytes) return 'oversized'
    const queued = this.greetings.queue(client, data)
    if (queued !== 'none') return queued === 'queued' ? 'sent' : 'full'
    const session = this.byName.get(name)
    if (session !== undefined && !fitsPayload(data, session.peerMaxPayload)) return 'too-large'
    if (!this.cluster.ready) {
      this.cluster.failed(`could not queue a message for "${name}": Redis is unreachable`, new Error('not connected'))
      return 'none'
    }
    this.append(name, data)
    return 'sent'
  }

  /** Every session in the cluster gets `data`, connected or away; returns how many are connected here. */
  broadcast(data: Outbound): number {
    let here = 0
    for (const name of this.byName.keys()) if (this.send(name, data, undefined) === 'sent') here++
    // Sessions of other nodes, and away ones: their names are Redis's to know.
    this.track(this.appendElsewhere(data))
    return here
  }

  limitOf(name: string): number | undefined {
    return this.byName.get(name)?.peerMaxPayload
  }

  names(): Iterable<string> {
    return this.byName.keys()
  }

  /** A message from another node about a session this node owns. */
  heard(header: Extract<Envelope, { t: 'pump' | 'drop' }>): void {
    const session = this.byKey.get(header.key)
    if (session === undefined) return
    if (header.t === 'pump') return void this.pump(session)
    // Claimed elsewhere: the client came back there, so this socket is a stale one.
    if (header.epoch > session.epoch) this.supersede(session, 'its session was claimed on another node', true)
  }

  /** Ends sessions that expired (and parks those of dead nodes); reports what they held. */
  async sweep(): Promise<void> {
    // What a failed write left unrecorded is tried again on every beat.
    for (const session of this.byKey.values()) this.record(session)
    const reply = (await SWEEP_SESSIONS.runBuffer(this.cluster.command, [], [this.options.prefix, this.options.nodeTtl])) as (Buffer | number)[]
    for (let i = 0; i < reply.length;) {
      const name = String(reply[i])
      const count = Number(reply[i + 1])
      const messages = reply.slice(i + 2, i + 2 + count).map(decode)
      i += 2 + count
      this.lost(name, messages, 'expired')
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
    for (const session of [...this.byKey.values()]) this.record(session, true)
  }

  private async welcome(client: Client, hello: Hello): Promise<void> {
    const { name } = client
    const key = sessionKey(name, hello.session)
    let claim = await this.claim(client, key, hello)
    if (claim === 'inconsistent') {
      this.context.report(new HeartbeatServerError('LIFELINE_SESSION_INVALID', `Session of client "${name}" cannot be resumed: the client acknowledges messages it was never sent; starting a new one`, { client: name }))
      this.lostFromReply(name, (await END_SESSION.runBuffer(this.cluster.command, [], [this.options.prefix, key])) as (Buffer | number)[], 1, 'invalid-state')
      claim = await this.claim(client, key, hello)
    }
    if (claim === 'inconsistent' || claim === undefined) return
    if (client.endedBy !== undefined) {
      // Gone while the claim was made: the session waits for it, as after any departure.
      this.park(key, claim.epoch)
      return
    }
    const session = new Attached(key, hello.session, claim.epoch, client, hello.maxPayload, claim.delivered, hello.ack)
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
      // Without Redis no session can be trusted: the client tries again later.
      this.cluster.failed(`could not claim the session of "${client.name}"; the client is asked to come back later`, error)
      this.context.drop(client, 'error', CLOSE_TRY_AGAIN_LATER, 'its session cannot be reached now')
      return undefined
    }
    const state = String(reply[0])
    if (state === 'inconsistent') return 'inconsistent'
    const expired = Number(reply[5])
    const restarted = Number(reply[6])
    const ended = reply.slice(7).map(decode)
    this.lost(client.name, ended.slice(0, expired), 'expired')
    this.lost(client.name, ended.slice(expired, expired + restarted), 'restarted')
    return { resumed: state === 'resumed', epoch: Number(reply[1]), delivered: Number(reply[2]) }
  }

  private append(name: string, data: Outbound): void {
    const message = encodeMessage(data)
    const { maxMessages, maxBytes } = this.context.limits
    const appending = APPEND.run(this.cluster.command, [], [
      this.options.prefix, this.cluster.node, name, message, maxMessages, maxBytes, envelopeBytes(data),
    ]).then((value) => {
      const [seq, key, third] = value as [number, string | undefined, string | number | undefined]
      if (seq > 0) {
        const session = key === undefined ? undefined : this.byKey.get(key)
        if (session !== undefined) this.sent(session, seq, data)
      } else if (seq === 0) {
        this.undelivered(name, 'no client or session of that name on any node')
      } else if (seq === -1 && key !== undefined) {
        this.full(name, key)
      } else if (seq === -3) {
        this.context.report(new HeartbeatServerError('LIFELINE_MESSAGE_TOO_LARGE', `send() to "${name}" refused: the message is larger than maxUnacknowledgedBytes (${maxBytes}): no session can hold it`, { client: name }))
      } else if (seq === -2) {
        this.context.report(new HeartbeatServerError('LIFELINE_MESSAGE_TOO_LARGE', `send() to "${name}" refused: the message makes a ${envelopeBytes(data)}-byte reliable-delivery frame, and the client accepts at most ${String(third)} bytes`, { client: name }))
      }
    }, (error: unknown) => this.undelivered(name, `Redis did not take it (${messageOf(error)})`))
    this.track(appending)
  }

  private async appendElsewhere(data: Outbound): Promise<void> {
    let names: string[]
    try {
      names = await this.cluster.command.hkeys(`${this.options.prefix}:session-of`)
    } catch (error) {
      return this.cluster.failed('could not broadcast to the sessions of other nodes', error)
    }
    for (const name of names) if (!this.byName.has(name)) this.append(name, data)
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
    const recording = RECORD.run(this.cluster.command, [], [this.options.prefix, session.key, session.epoch, ack, delivered]).then((result) => {
      session.recording = false
      if (result === -1) return this.supersede(session, 'its session is no longer this node’s: claimed elsewhere, or gone from Redis')
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

  private park(key: string, epoch: number): void {
    if (!this.cluster.ready) {
      this.toPark.set(key, epoch)
      return
    }
    this.track(PARK.run(this.cluster.command, [], [this.options.prefix, this.cluster.node, key, epoch]).catch((error: unknown) => {
      this.toPark.set(key, epoch)
      this.cluster.failed('could not set an away session to expire; it is tried again when Redis answers', error)
    }))
  }

  private full(name: string, key: string): void {
    const session = this.byKey.get(key)
    this.track(END_SESSION.runBuffer(this.cluster.command, [], [this.options.prefix, key]).then((reply) => {
      this.lostFromReply(name, reply as (Buffer | number)[], 1, 'full')
      if (session !== undefined && !session.ended) {
        this.forget(session)
        this.context.slow(session.client, 'it left maxUnacknowledged messages (or maxUnacknowledgedBytes) unacknowledged')
      }
    }, (error: unknown) => this.cluster.failed(`could not end the full session of "${name}"`, error)))
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

  private lostFromReply(name: string, reply: (Buffer | number)[], from: number, reason: SessionLostReason): void {
    this.lost(name, (reply.slice(from) as Buffer[]).map(decode), reason)
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

/** What a message takes in Redis, which is what `maxUnacknowledgedBytes` counts in a cluster. */
function encodedSize(data: Outbound): number {
  return 1 + (typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength)
}

function decode(raw: Buffer | number): Outbound {
  return Buffer.isBuffer(raw) ? decodeMessage(raw) ?? '' : String(raw)
}
