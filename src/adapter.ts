import type { ConnectionContext, ConnectionStateName } from '../machines/connection.types.js'
import { OutboundBuffer } from './buffer.js'
import { LATE_AFTER_MS, type LatenessClock } from './clock.js'
import { Emitter } from './emitter.js'
import { LifelineError, messageOf } from './errors.js'
import { parseCloseHint } from './hint.js'
import type { LiveActor } from './live-machine.js'
import { checkUrl, type ResolvedHeartbeat, type ResolvedOptions } from './options.js'
import { reasonOf, type MachineEvent } from './reasons.js'
import type { ProtocolError } from './reliable/protocol.js'
import { ReliableSession, type Discarded } from './reliable/session.js'
import { attemptStarted, planFor, type RetryMemory, type RetryPlan } from './retry.js'
import { closeSocket, listen, terminate, unlisten, type SocketOwner } from './socket.js'
import { fitCloseReason } from './utf8.js'
import type {
  CloseInfo,
  ConnectionEventMap,
  MessageData,
  SendData,
  UrlContext,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js'

// Node fires a timer by its loop clock, in whole milliseconds: up to one
// before the monotonic clock says it is due. Time left below this is none.
const TIMER_SLACK_MS = 1

const SOCKET_OPEN = { type: 'socket.open' } as const
const PROOF = { type: 'heartbeat.proof' } as const
const PING = { type: 'ping' } as const
const PROBE = { type: 'probe' } as const

// An upgrade refused with these statuses (seen where the platform shows
// them: ws in Node) reads as the close a browser-visible server would send.
const REFUSAL_CODES: Readonly<Record<number, number>> = { 401: 4401, 403: 4403 }

// One function for every connection's emitter: a closure each would cost every connection its own.
const listenerFailed = (thrown: unknown, type: keyof ConnectionEventMap): LifelineError =>
  new LifelineError('LIFELINE_LISTENER_FAILED', `A '${String(type)}' listener threw: ${messageOf(thrown)}`, { cause: thrown })

/**
 * Carries out the machine's effects for one connection: it owns the socket,
 * turns socket and heartbeat signals into machine events, and emits the
 * public events. It holds no state of its own beyond the current socket and
 * heartbeat time stamps; what the connection is doing is the machine's state.
 */
// What plain delivery keeps of the messages sent on a socket the server has
// not answered yet, to send them again if it turns the socket away unread.
const UNANSWERED_KEPT = 1_000

export class SocketAdapter implements SocketOwner, RetryMemory {
  readonly emitter = new Emitter<ConnectionEventMap>(listenerFailed)
  readonly buffer: OutboundBuffer | undefined
  readonly session: ReliableSession | undefined
  actor!: LiveActor
  state: ConnectionStateName = 'idle'
  url = ''
  pingSentAt = 0
  /** Set first thing by `dispose()`: every effect still queued in the machine's step does nothing. */
  disposed = false
  private socket: WebSocketLike | undefined
  // Each attempt gets a number; a late result (an async url, a socket event)
  // from an older attempt is dropped.
  private generation = 0
  // Where the quiet interval starts: the last proof of life, or the open.
  private lastProofAt = 0
  // Frames that proved life, and how many had when `open.waiting` began its
  // wait: a proof during the wait postpones the ping; the open proves nothing.
  private proofs = 0
  private proofsBeforeWait = 0
  // What the retry policy is told (see RetryMemory).
  attemptOpened = false
  attemptErrored = false
  startedAt = 0
  streakSince = 0
  planned: RetryMemory['planned']
  heldUntil = 0
  // Plain delivery: the messages flushed at this socket's open and sent on it
  // since, until the server says anything. A close before that whose hint
  // says the server read nothing (`unread`) means they were never seen: they
  // go back to the buffer for the next socket. At most UNANSWERED_KEPT of
  // them are kept (a silent server must not grow memory); the rest are counted
  // and reported, never dropped silently.
  private unanswered: SendData[] | undefined
  private unansweredUnkept = 0

  /**
   * @param maxPayload the largest frame the socket accepts, when known (announced to a reliable server)
   */
  constructor(
    private readonly options: ResolvedOptions,
    private readonly WebSocket: WebSocketConstructor,
    private readonly clock: LatenessClock,
    maxPayload?: number,
  ) {
    const { buffer } = options
    this.session = options.delivery === 'reliable' && buffer ? new ReliableSession(this.sessionTransport(), buffer.maxMessages, maxPayload) : undefined
    this.buffer = buffer && !this.session ? new OutboundBuffer(buffer.maxMessages, buffer.overflow) : undefined
  }

  /** Time for intervals: monotonic, so a wall clock set back cannot postpone the next ping (and the dead-link verdict). */
  now(): number {
    return this.clock.monotonic()
  }

  private sessionTransport(): ConstructorParameters<typeof ReliableSession>[0] {
    return {
      // A frame that cannot go out now goes out again after the next welcome: reported, never lost.
      send: (frame) => {
        try {
          if (this.socket?.readyState === 1) this.socket.send(frame)
        } catch (error) {
          this.report(error)
        }
      },
      fail: (error) => this.failProtocol(error),
      welcomed: () => this.usable(),
      deliver: (data) => this.emitter.emit('message', data),
      sessionLost: (event) => this.emitter.emit('session-lost', event),
      tooLarge: (messages, maxPayload) => this.emitter.report(new LifelineError(
        'LIFELINE_MESSAGE_TOO_LARGE',
        `The server accepts frames of at most ${maxPayload} bytes (its welcome said so); removed ${messages.length} queued message(s) whose frames would be larger, instead of sending them into a 1009 close again and again`,
        { messages },
      )),
      clock: this.clock,
    }
  }

  // The close frame carries only the error's fixed reason, never the peer's
  // bytes. The socket counts as closed at once, with the error's code: a link
  // that dies before the close handshake must not turn this into a
  // retryable 1006, and a socket that refused to close is not left open.
  private failProtocol(error: ProtocolError): void {
    const socket = this.socket
    if (socket === undefined) return
    const code = closeSocket(socket, error.code, error.reason)
    this.report(new LifelineError('LIFELINE_PROTOCOL_ERROR', `${error.message}; ${code === undefined ? 'terminated the socket' : `closed with ${code}`}`, { cause: error }))
    this.socketClosed(socket, { code: code ?? error.code, reason: error.reason, wasClean: false })
  }

  // The inspector serialises context, which holds this adapter.
  toJSON(): string {
    return '[lifeline adapter]'
  }

  /** Reports an error from the application's own code (a hook or option that threw). */
  report(error: unknown): void {
    this.emitter.report(error instanceof Error ? error : new Error(String(error)))
  }

  openSocket(attempt: number, reason: UrlContext['reason']): void {
    const generation = ++this.generation
    attemptStarted(this, attempt, this.now())
    const source = this.options.url
    if (typeof source !== 'function') return this.dial(source, generation)
    let target: ReturnType<typeof source>
    try {
      target = source({ attempt, reason })
    } catch (error) {
      return this.failAttempt(error, generation, 'LIFELINE_URL_FAILED')
    }
    if (isThenable(target)) {
      target.then(
        (url) => this.dial(url, generation),
        (error: unknown) => this.failAttempt(error, generation, 'LIFELINE_URL_FAILED'),
      )
    } else {
      this.dial(target, generation)
    }
  }

  private dial(target: unknown, generation: number): void {
    if (generation !== this.generation || this.disposed) return
    let socket: WebSocketLike
    try {
      this.url = checkUrl(target, 'url()')
    } catch (error) {
      return this.failAttempt(error, generation, 'LIFELINE_URL_FAILED')
    }
    try {
      socket = new this.WebSocket(this.url, this.options.protocols)
      socket.binaryType = 'arraybuffer'
    } catch (error) {
      return this.failAttempt(error, generation, 'LIFELINE_SOCKET_ERROR')
    }
    this.socket = socket
    listen(socket, this)
  }

  // In reliable mode the connection is usable only once the server welcomed
  // the session: until then the machine stays in `connecting`, so
  // `connectTimeout` is also the welcome's deadline.
  socketOpened(socket: WebSocketLike): void {
    if (this.socket !== socket) return
    this.attemptOpened = true
    if (this.session !== undefined) return this.session.start()
    this.usable()
  }

  private usable(): void {
    this.lastProofAt = this.now()
    this.actor.send(SOCKET_OPEN)
  }

  socketClosed(socket: WebSocketLike, info: CloseInfo): void {
    if (this.socket !== socket) return
    if (this.unanswered !== undefined && parseCloseHint(info.reason)?.unread === true) this.requeue(this.unanswered, this.unansweredUnkept)
    this.actor.send({ type: 'socket.close', ...info })
  }

  private requeue(messages: SendData[], unkept: number): void {
    this.unanswered = undefined
    const buffer = this.buffer
    if (buffer === undefined || unkept > 0) {
      const lost = buffer === undefined ? messages : []
      const count = lost.length + unkept
      this.emitter.report(new LifelineError(
        'LIFELINE_BUFFER_DISCARDED',
        `The server turned the socket away unread; ${count} message${count === 1 ? '' : 's'} sent on it ${buffer === undefined ? 'cannot be sent again (buffer is false)' : `were beyond the ${UNANSWERED_KEPT} kept for sending again`}`,
        { messages: lost },
      ))
      if (buffer === undefined) return
    }
    for (const data of [...messages, ...buffer.clear()]) {
      try {
        const dropped = buffer.push(data)
        if (dropped !== undefined) this.overflowed(dropped)
      } catch (error) {
        this.report(error) // LIFELINE_BUFFER_FULL, with the message
      }
    }
  }

  socketFailed(socket: WebSocketLike, error: Error): void {
    if (this.socket !== socket) return
    this.attemptErrored = true
    this.actor.send({ type: 'socket.error', error })
  }

  // The server answered the upgrade with an HTTP status (only ws shows it;
  // browsers report a bare error). 401 and 403 become the 4401 and 4403 a
  // browser would see from a server that refuses after the upgrade, so every
  // platform takes the same path; the status itself is the close reason.
  socketRefused(socket: WebSocketLike, status: number): void {
    if (this.socket !== socket) return
    this.attemptErrored = true
    const reason = `HTTP ${status}`
    this.actor.send({ type: 'socket.error', error: new LifelineError('LIFELINE_SOCKET_ERROR', `The server refused the upgrade: ${reason}`) })
    if (this.socket !== socket) return // an error listener started another attempt
    this.actor.send({ type: 'socket.close', code: REFUSAL_CODES[status] ?? 1006, reason, wasClean: false })
  }

  // The server's WebSocket ping: an inbound frame, so proof of life when any frame is.
  socketPinged(): void {
    this.unanswered = undefined
    if (this.options.heartbeat && this.options.heartbeat.proofAny) this.proveLife()
  }

  // An attempt that could not even create a socket fails like a socket that
  // closed at once: an error, then the close that decides what happens next.
  // Found inside the machine's own step (a url() that throws), its events
  // would queue behind whatever a listener sent meanwhile, a reconnect() say,
  // and then fail the newer attempt: so they are sent after the step, and
  // only while no newer attempt began (a superseded failure is still reported).
  private failAttempt(cause: unknown, generation: number, code: 'LIFELINE_URL_FAILED' | 'LIFELINE_SOCKET_ERROR'): void {
    if (generation !== this.generation) return
    const error = new LifelineError(code, `Could not start a connection attempt: ${messageOf(cause)}`, { cause })
    queueMicrotask(() => {
      if (this.disposed) return
      if (generation !== this.generation) return this.notifyError(error)
      this.attemptErrored = true
      this.actor.send({ type: 'socket.error', error })
      if (generation !== this.generation) return // an error listener started another attempt
      this.actor.send({ type: 'socket.close', code: 1006, reason: fitCloseReason(error.message), wasClean: false })
    })
  }

  // The hot path: one call per inbound frame, no machine event unless a ping awaits its proof.
  socketMessage(data: MessageData): void {
    this.unanswered = undefined
    const heartbeat = this.options.heartbeat
    if (heartbeat !== false) {
      if (this.matches(heartbeat.isPong, data)) return this.proveLife()
      if (this.matches(heartbeat.isPing, data)) return this.answerPing(heartbeat, data)
      if (heartbeat.proofAny) this.proveLife()
    }
    if (this.session !== undefined) return this.session.receive(data)
    this.emitter.emit('message', data)
  }

  private matches(predicate: (data: MessageData) => boolean, data: MessageData): boolean {
    try {
      return predicate(data) === true
    } catch (error) {
      this.report(error)
      return false
    }
  }

  // The server's ping (server-driven mode) proves life and is answered at once.
  private answerPing(heartbeat: ResolvedHeartbeat, ping: MessageData): void {
    this.proveLife()
    try {
      this.socket?.send(typeof heartbeat.pong === 'function' ? heartbeat.pong(ping) : heartbeat.pong)
    } catch (error) {
      this.report(error)
    }
  }

  private proveLife(): void {
    this.lastProofAt = this.clock.sinceTurn()
    this.proofs++
    const value = this.actor.getSnapshot().value
    if (typeof value === 'object' && 'open' in value && (value.open === 'ackPending' || value.open === 'probing')) this.actor.send(PROOF)
  }

  closeSocket(event: MachineEvent): void {
    const socket = this.socket
    if (socket === undefined) return
    closeSocket(socket, (event.type === 'close' ? event.code : undefined) ?? 1000, (event.type === 'close' ? event.reason : undefined) ?? '')
  }

  /** True while the `close` of a socket dropped by `reconnect()` is being emitted. */
  closingForReconnect = false

  /** Ends the current socket at once, detached first so it can never affect a later one, and reports its close. */
  dropSocket(event: MachineEvent, close?: CloseInfo): void {
    this.generation++
    this.unanswered = undefined
    const socket = this.socket
    if (socket === undefined) return
    // The socket opened, the hello went out, and connectTimeout passed without a welcome.
    const unanswered = this.session?.awaitingWelcome === true && reasonOf(event) === 'connect-timeout'
    this.socket = undefined
    this.session?.stop()
    unlisten(socket)
    terminate(socket)
    // A reconnect() from this close's own listeners asks for what is already happening.
    this.closingForReconnect = event.type === 'reconnect'
    try {
      this.emitter.emit('close', close ?? closeInfoOf(event))
    } finally {
      this.closingForReconnect = false
    }
    if (unanswered && !this.disposed) {
      this.report(new LifelineError(
        'LIFELINE_PROTOCOL_ERROR',
        `No welcome within connectTimeout (${this.options.connectTimeout} ms) after the hello: is the server in reliable mode (delivery: 'reliable')?`,
      ))
    }
  }

  /**
   * Ends everything the adapter holds, even from inside the machine's own
   * step (`dispose()` from a listener): from here on every effect does
   * nothing, so no socket is opened after this. Returns what it gave up on.
   */
  dispose(): Discarded {
    this.disposed = true
    this.state = 'idle'
    this.dropSocket({ type: 'close' }, { code: 1001, reason: 'disposed', wasClean: false })
    return this.session?.discard() ?? { unsent: this.buffer?.clear() ?? [], unacknowledged: [] }
  }

  sendPing(kind: 'ping' | 'probe'): void {
    const { ping } = this.options.heartbeat || {}
    this.session?.flushAck() // acknowledgements ride with the heartbeat
    this.pingSentAt = this.now()
    this.socket?.send(typeof ping === 'function' ? ping() : (ping as SendData))
    this.emitter.emit('heartbeat', kind === 'ping' ? PING : PROBE)
  }

  // A socket's own error goes only to error listeners (the close that follows
  // says the rest); a failing url() is the application's to hear about.
  notifyError(error: Error): void {
    this.emitter.report(error, error instanceof LifelineError && error.code === 'LIFELINE_URL_FAILED')
  }

  flushBuffer(): void {
    const socket = this.socket
    if (socket === undefined) return
    if (this.session !== undefined) return this.session.flush()
    const sent: SendData[] = []
    this.buffer?.flush(
      () => this.socket === socket && socket.readyState === 1,
      (data) => {
        socket.send(data)
        sent.push(data)
      },
      (data, error) => this.emitter.report(new LifelineError(
        'LIFELINE_SEND_FAILED',
        `A buffered message could not be sent (${messageOf(error)}); the messages after it still went out`,
        { cause: error, messages: [data] },
      )),
    )
    if (this.socket === socket) {
      this.unanswered = sent
      this.unansweredUnkept = 0
    }
  }

  /** Sends `data` now if open, else buffers a copy of it. */
  send(data: SendData): void {
    if (this.session !== undefined) return this.session.send(data)
    const socket = this.socket
    if (this.state === 'open' && socket?.readyState === 1) {
      socket.send(data)
      const unanswered = this.unanswered
      if (unanswered !== undefined) {
        if (unanswered.length < UNANSWERED_KEPT) unanswered.push(data)
        else this.unansweredUnkept++
      }
      return
    }
    if (this.buffer === undefined) {
      throw new LifelineError('LIFELINE_NOT_OPEN', `send() while the connection is ${this.state}: it sends only when open, and buffer is false`)
    }
    const dropped = this.buffer.push(data)
    if (dropped !== undefined) this.overflowed(dropped)
  }

  private overflowed(dropped: SendData): void {
    this.emitter.report(new LifelineError(
      'LIFELINE_BUFFER_OVERFLOW',
      `The buffer was full (buffer.maxMessages ${this.options.buffer ? this.options.buffer.maxMessages : 0}); dropped the oldest message`,
      { messages: [dropped] },
    ))
  }

  notifyState(state: ConnectionStateName, event: MachineEvent): void {
    const previous = this.state
    this.state = state
    if (previous !== state) this.emitter.emit('state', { state, previous, reason: reasonOf(event) })
  }

  notifyFailed(context: ConnectionContext): void {
    this.emitter.emit('failed', { reason: context.failure, attempts: context.attempt + 1 })
  }

  /** What to do after the failure `event` ended an attempt: the retry policy's answer, asked once per failure. */
  planFor(event: MachineEvent, context: ConnectionContext): RetryPlan {
    return planFor(this, this.options.reconnect, event, context.attempt, {
      now: this.now(),
      lastProofAt: this.lastProofAt,
      online: !this.isOffline(),
      visible: this.isVisible(),
      report: (error) => this.report(error),
    })
  }

  /** Plans the retry `backoff` waits for, and remembers until when the server holds it back. */
  scheduleRetry(event: MachineEvent, context: ConnectionContext): number | undefined {
    const plan = this.planFor(event, context)
    this.heldUntil = plan.hold === undefined ? 0 : this.now() + plan.hold
    return plan.delay
  }

  /** The server's `retryAfter` for the scheduled retry has not run out. */
  isHeldBack(): boolean {
    return this.heldUntil - this.now() > TIMER_SLACK_MS
  }

  /** `held`'s delay: what is left of the server's `retryAfter`, and the millisecond a timer may fire early. */
  serverHold(): number {
    return Math.max(0, this.heldUntil - this.now()) + TIMER_SLACK_MS
  }

  releaseHold(): void {
    this.heldUntil = 0
  }

  isFatalClose(close: CloseInfo): boolean {
    const reconnect = this.options.reconnect
    if (!reconnect) return false
    try {
      return !reconnect.shouldReconnect({ code: close.code, reason: close.reason, wasClean: close.wasClean })
    } catch (error) {
      this.report(error)
      return false
    }
  }

  /**
   * `open.ackPending`'s deadline. On time: `timeout`. A ping a late timer sent
   * late keeps the verdict where an on-time one had it, `timeout` after the
   * ping fell due, but gets at least `probeTimeout`: one long task does not
   * cut the server's time to answer, and after a long stop the link must still
   * answer as fast as after a wake-up.
   */
  pingDeadline(): number {
    const heartbeat = this.options.heartbeat
    if (heartbeat === false) return 0
    if (!this.wasSuspended()) return heartbeat.timeout
    return Math.max(Math.min(heartbeat.probeTimeout, heartbeat.timeout), heartbeat.timeout - this.clock.lateness)
  }

  /** `open.waiting`'s delay: its wait begins now, and lasts until the ping is due. */
  startWait(): number {
    this.proofsBeforeWait = this.proofs
    return this.untilPingDue()
  }

  /** A frame proved life during the wait (the open proves nothing), and the interval since it is not over. */
  hasRecentProof(): boolean {
    return this.proofs !== this.proofsBeforeWait && this.isPingPostponed()
  }

  /** The interval since the last proof of life (or the open) is not over: the page was hidden since the wait began. */
  isPingPostponed(): boolean {
    return this.untilPingDue() > TIMER_SLACK_MS
  }

  /** Time left in `open.waiting`: until the next ping is due, or (server-driven) until the server's ping is overdue. */
  untilPingDue(): number {
    const heartbeat = this.options.heartbeat
    if (heartbeat === false) return 0
    const interval = this.isVisible() ? heartbeat.interval : heartbeat.hiddenInterval
    const window = heartbeat.mode === 'server' ? interval + heartbeat.timeout : interval
    return Math.max(0, window - (this.now() - this.lastProofAt))
  }

  // The clock ran this late timer after one I/O turn, so what arrived meanwhile was read.
  wasSuspended(): boolean {
    return this.clock.lateness > LATE_AFTER_MS
  }

  private isVisible(): boolean {
    const environment = this.options.environment
    try {
      return !environment || environment.isVisible()
    } catch (error) {
      this.report(error)
      return true
    }
  }

  isOffline(): boolean {
    const network = this.options.network
    if (!network) return false
    try {
      return !network.isOnline()
    } catch (error) {
      this.report(error)
      return false
    }
  }
}

function closeInfoOf(event: MachineEvent): CloseInfo {
  if (event.type === 'socket.close') return { code: event.code, reason: event.reason, wasClean: event.wasClean }
  if (event.type === 'close') return { code: event.code ?? 1000, reason: event.reason ?? '', wasClean: false }
  return { code: 1006, reason: reasonOf(event), wasClean: false }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function'
}

