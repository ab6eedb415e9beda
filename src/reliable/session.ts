import { invalid, LifelineError } from '../errors.js'
import type { Clock, MessageData, SendData } from '../types.js'
import { decodeFrame, encodeAck, encodeData, encodeHello, envelopeBytes, fitsPayload, newSessionId, ProtocolError } from './protocol.js'
import { Inbox, Outbox } from './sequence.js'

/** How long a received message may wait for a frame to carry its acknowledgement. */
export const ACK_DELAY_MS = 50

/** What a session needs from the connection around it. */
export interface SessionTransport {
  /** Sends a frame on the current socket. */
  send(frame: string | Uint8Array): void
  /** The frame broke the protocol: report it and close the socket. */
  fail(error: ProtocolError): void
  /** The server welcomed the session: the connection is usable. */
  welcomed(): void
  deliver(data: MessageData): void
  sessionLost(event: { lost: number; messages: SendData[] }): void
  /** Messages removed because their frames would exceed the server's `maxPayload`. */
  tooLarge(messages: SendData[], maxPayload: number): void
  clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>
}

/** A message as the session keeps it: text, or a copy of the bytes. */
export type Outbound = string | Uint8Array

/**
 * The session's numbering as it happens, for a copy kept elsewhere: the tabs
 * that share one connection (lifeline's `share`) each hold one, so that the
 * tab that takes over resumes the same session.
 */
export interface SessionJournal {
  /** A message was numbered `seq`; called before it goes out on any socket. */
  sent(seq: number, data: Outbound): void
  /** The server acknowledged every message up to `ack`. */
  acknowledged(ack: number): void
  /** Message `seq` arrived in order; called before it is delivered. */
  delivered(seq: number, data: MessageData): void
  /** The outbox was numbered anew: the session was lost, or messages too large were taken out (the others keep their order). */
  renumbered(): void
  /** The highest received message the session may acknowledge: acknowledged ones must be safe elsewhere too. */
  replicated(): number
}

/** What a session is, as one tab hands it to another. */
export interface SessionState {
  id: string
  /** Whether the server ever welcomed it. */
  established: boolean
  /** The last message received in order. */
  delivered: number
  /** The number of `messages[0]`. */
  first: number
  /** Sent (or about to be) and not acknowledged, in order. */
  messages: Outbound[]
}

/** Messages a session gave up on at `dispose()`, told apart by what is known of them. */
export interface Discarded {
  /** Never sent on any socket: safe to send again. */
  unsent: SendData[]
  /** Sent without an acknowledgement: they may or may not have arrived. */
  unacknowledged: SendData[]
}

// A copy, taken at send(): what goes out (and what a resend repeats) is what
// the caller passed, even if it reuses its buffer afterwards.
function toOutbound(data: SendData): Outbound {
  if (typeof data === 'string') return data
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0))
  throw invalid('LIFELINE_INVALID_ARGUMENT', 'send() with delivery: reliable takes a string, ArrayBuffer or typed array, not a Blob (read it with blob.arrayBuffer() first)')
}

/**
 * The client's half of reliable delivery. Every message is numbered and kept
 * until the server acknowledges it; on each new socket the session greets the
 * server with its id and the last message it received, and after the welcome
 * sends again what the server has not acknowledged. Received messages are
 * delivered once, in order; duplicates of a resend are dropped.
 */
export class ReliableSession {
  // Chosen here, so that a hello repeated after a lost welcome names the same session.
  /** @internal (shared connections read and set these: see share/session-state.ts) */
  id = newSessionId()
  // Whether the server ever welcomed this session: only then can it be lost.
  /** @internal */
  established = false
  // closed: no socket; greeting: hello sent, waiting for the welcome; ready: both sides in step.
  private phase: 'closed' | 'greeting' | 'ready' = 'closed'
  /** @internal */
  readonly outbox: Outbox<Outbound>
  /** @internal */
  readonly inbox = new Inbox()
  private acknowledged = 0
  private ackTimer: unknown
  // The largest frame the server accepts, as its last welcome said; undefined: not known.
  private peerMaxPayload: number | undefined
  /** Told of every numbering change (shared connections). */
  journal: SessionJournal | undefined

  /**
   * @param maxUnacknowledged most messages held until acknowledged
   * @param maxPayload the largest frame this side accepts, announced in the hello when known
   */
  constructor(
    private readonly transport: SessionTransport,
    maxUnacknowledged: number,
    private readonly maxPayload?: number,
  ) {
    this.outbox = new Outbox(maxUnacknowledged)
  }

  /** Messages sent and not yet acknowledged by the server. */
  get pending(): number {
    return this.outbox.size
  }

  /** Whether the hello went out and the welcome has not come. */
  get awaitingWelcome(): boolean {
    return this.phase === 'greeting'
  }

  /** A socket opened: greet the server. */
  start(): void {
    this.phase = 'greeting'
    this.acknowledged = this.ackable()
    this.transport.send(encodeHello(this.id, this.acknowledged, this.maxPayload))
  }

  // What may be acknowledged: what was received, unless a journal says less of it is safe elsewhere.
  private ackable(): number {
    return this.journal === undefined ? this.inbox.delivered : Math.min(this.inbox.delivered, this.journal.replicated())
  }

  /** The socket is gone. */
  stop(): void {
    this.phase = 'closed'
    this.cancelAck()
  }

  send(data: SendData): void {
    const outbound = toOutbound(data)
    if (!fitsPayload(outbound, this.peerMaxPayload)) {
      throw new LifelineError(
        'LIFELINE_MESSAGE_TOO_LARGE',
        `send() refused the message: its reliable-delivery frame would take ${envelopeBytes(outbound)} bytes, over the server's maxPayload of ${this.peerMaxPayload}`,
        { messages: [data] },
      )
    }
    if (!this.outbox.accepts(outbound)) {
      throw new LifelineError('LIFELINE_BUFFER_FULL', `send() refused the message: ${this.outbox.size} messages await acknowledgement, the most buffer.maxMessages allows`, { messages: [data] })
    }
    const seq = this.outbox.push(outbound)
    this.journal?.sent(seq, outbound)
    if (this.phase === 'ready') this.pump()
  }

  /** Sends what waits, if the session is ready. */
  flush(): void {
    if (this.phase === 'ready') this.pump()
  }

  receive(raw: MessageData): void {
    try {
      this.handle(decodeFrame(typeof raw === 'string' ? raw : new Uint8Array(raw as ArrayBuffer)))
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error
      this.stop()
      this.transport.fail(error)
    }
  }

  /** Sends a pending acknowledgement now (before a heartbeat ping, say). */
  flushAck(): void {
    this.cancelAck()
    if (this.phase === 'ready' && this.ackable() > this.acknowledged) {
      this.acknowledged = this.ackable()
      this.transport.send(encodeAck(this.acknowledged))
    }
  }

  /** Empties the session for `dispose()`: what never went out, and what went out unacknowledged. */
  discard(): Discarded {
    this.stop()
    const { sent, unsent } = this.outbox.clear()
    return { unsent, unacknowledged: sent }
  }

  private handle(frame: ReturnType<typeof decodeFrame>): void {
    switch (frame.type) {
      case 'welcome':
        if (this.phase !== 'greeting') throw new ProtocolError('Unexpected welcome frame')
        return this.welcome(frame.session, frame.resumed, frame.ack, frame.maxPayload)
      case 'data':
        if (this.phase !== 'ready') throw new ProtocolError('Data frame before the welcome')
        this.acknowledge(frame.ack)
        try {
          if (this.inbox.accept(frame.seq) === 'duplicate') return
        } catch (gap) {
          throw new ProtocolError((gap as Error).message)
        }
        {
          const data = typeof frame.data === 'string' ? frame.data : frame.data.slice().buffer
          this.journal?.delivered(frame.seq, data)
          this.transport.deliver(data)
        }
        if (this.phase !== 'ready') return // a listener dropped the socket
        this.ackTimer ??= this.transport.clock.setTimeout(() => this.flushAck(), ACK_DELAY_MS)
        return
      case 'ack':
        if (this.phase !== 'ready') throw new ProtocolError('Acknowledgement before the welcome')
        return this.acknowledge(frame.ack)
      case 'hello':
        throw new ProtocolError('A hello frame came from the server')
    }
  }

  private welcome(session: string, resumed: boolean, ack: number, maxPayload: number | undefined): void {
    // Both ids are 16–64 printable ASCII characters (checked when decoded): safe to quote.
    if (session !== this.id) throw new ProtocolError(`The server welcomed session ${session}, not ${this.id}`)
    if (resumed) {
      this.acknowledge(ack)
      this.outbox.rewind()
    } else if (this.established) {
      // The server no longer holds the session (expired, or the server restarted).
      const unsure = this.outbox.restart()
      this.journal?.renumbered()
      this.inbox.reset()
      this.acknowledged = 0
      this.transport.sessionLost({ lost: unsure.length, messages: unsure })
      if (this.phase !== 'greeting') return // a listener dropped the socket
    }
    this.established = true
    this.peerMaxPayload = maxPayload
    // Right after a welcome the server holds exactly what it acknowledged, so
    // what remains may be renumbered: a message queued before the limit was
    // known that cannot fit is taken out, never sent into a 1009 again and again.
    if (maxPayload !== undefined) {
      const removed = this.outbox.drop((data) => !fitsPayload(data, maxPayload))
      if (removed.length > 0) this.journal?.renumbered()
      if (removed.length > 0) this.transport.tooLarge(removed, maxPayload)
      if (this.phase !== 'greeting') return
    }
    this.phase = 'ready'
    this.pump()
    this.transport.welcomed()
  }

  private acknowledge(ack: number): void {
    try {
      this.outbox.acknowledge(ack)
    } catch (error) {
      throw new ProtocolError((error as Error).message)
    }
    this.journal?.acknowledged(ack)
  }

  private pump(): void {
    for (let entry = this.outbox.takeUnsent(); entry !== undefined; entry = this.outbox.takeUnsent()) {
      this.acknowledged = this.ackable()
      this.cancelAck()
      this.transport.send(encodeData(entry.seq, this.acknowledged, entry.data))
    }
  }

  private cancelAck(): void {
    if (this.ackTimer === undefined) return
    this.transport.clock.clearTimeout(this.ackTimer)
    this.ackTimer = undefined
  }
}
