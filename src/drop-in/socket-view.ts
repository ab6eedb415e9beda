import type { CloseInfo, Connection, ConnectionStateName, MessageData, StateChange, WebSocketConstructor, WebSocketLike } from '../types.js'
import { closeEvent } from './events.js'
import type { ReconnectingWebSocketBinaryType } from './types.js'

export const CONNECTING = 0 as const
export const OPEN = 1 as const
export const CLOSING = 2 as const
export const CLOSED = 3 as const

/**
 * What the application has been shown of the current socket. `between`: no
 * socket shown open, readyState follows the connection (CONNECTING while it
 * connects, waits to retry or is offline); `ended`: its close event is being
 * dispatched; `closed`: the application's close() completed, for good.
 */
type Phase = 'between' | 'open' | 'closing' | 'ended' | 'closed'

/** A socket's end, queued in order; whether it failed is known once the connection says where it went. */
interface Ending {
  info: CloseInfo
  failure: boolean | undefined
}

const ABORTED: CloseInfo = { code: 1006, reason: '', wasClean: false }

type RawSocket = WebSocketLike & { protocol?: unknown; extensions?: unknown; bufferedAmount?: unknown }

const text = (value: unknown): string => (typeof value === 'string' ? value : '')

function originOf(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return ''
  }
}

function readyStateOf(state: ConnectionStateName): 0 | 2 | 3 {
  if (state === 'idle' || state === 'failed') return CLOSED
  return state === 'closing' ? CLOSING : CONNECTING
}

const atRest = (state: ConnectionStateName): boolean => state === 'idle' || state === 'failed'

/** What the view needs from the drop-in it serves. */
export interface ViewHost {
  /** Where events are dispatched. */
  readonly target: EventTarget
  readonly binaryType: ReconnectingWebSocketBinaryType
  readonly connection: Connection
  /** The connection opened: what waited in its buffer has gone out. */
  opened(): void
  /** Closed for good: the connection may go. */
  rest(): void
}

/**
 * Turns a lifeline connection's events into a WebSocket's: open, message,
 * error and close in the standard's order and readyState, one socket after
 * another. Events are queued and dispatched on a microtask, after the call or
 * socket event that caused them (the standard's tasks), so that no
 * application code runs inside the connection's own transitions.
 */
export class SocketView {
  phase: Phase = 'between'
  url: string
  protocol = ''
  extensions = ''
  /** What the first socket's constructor threw, if it threw. */
  thrown: unknown
  private socket: RawSocket | undefined
  private origin = ''
  private queue: (() => void)[] = []
  private flushing = false
  private ending: Ending | undefined
  private pendingEndings = 0
  // The socket itself fired error (a protocol error: a reserved opcode, text that is not UTF-8), as a browser's does before its close.
  private socketErrored = false

  constructor(private readonly host: ViewHost, url: string) {
    this.url = url
  }

  /** Listens to `connection`'s events. */
  attach(connection: Connection): void {
    connection.on('state', (change) => this.changed(change))
    connection.on('close', (info) => this.closed(info))
    connection.on('message', (data) => this.received(data))
  }

  /** `Base`, with each socket it makes noted: its protocol, extensions and bufferedAmount are the drop-in's. */
  tracking(Base: WebSocketConstructor): WebSocketConstructor {
    const adopt = (url: string, socket: RawSocket): void => this.adopt(url, socket)
    const refused = (error: unknown): void => void (this.thrown = error)
    interface TrackedSocket extends WebSocketLike {}
    class TrackedSocket {
      constructor(url: string, protocols?: string | string[]) {
        let socket: WebSocketLike
        try {
          socket = new Base(url, protocols)
        } catch (error) {
          refused(error)
          throw error
        }
        adopt(url, socket)
        return socket
      }
    }
    return TrackedSocket
  }

  get readyState(): 0 | 1 | 2 | 3 {
    switch (this.phase) {
      case 'open':
        return OPEN
      case 'closing':
        return CLOSING
      case 'ended':
      case 'closed':
        return CLOSED
      case 'between':
        // A queued close event says the socket the application knows of has not ended yet.
        return this.pendingEndings > 0 ? CONNECTING : readyStateOf(this.host.connection.state)
    }
  }

  /** In the close event of a socket the connection goes on to replace: what is sent now goes out on the next one. */
  get replacing(): boolean {
    return this.phase === 'ended' && !atRest(this.host.connection.state)
  }

  /** The open socket's own bufferedAmount. */
  get socketBuffered(): number {
    return this.phase === 'open' && typeof this.socket?.bufferedAmount === 'number' ? this.socket.bufferedAmount : 0
  }

  /** close() when CLOSED: a retry the application was not told about yet never comes. */
  stopRetrying(): void {
    this.phase = 'closed'
    const connection = this.host.connection
    if (!atRest(connection.state)) connection.close()
    else this.restIfIdle()
  }

  /** Drops what is queued (the constructor throws: nobody will hear it). */
  discard(): void {
    this.queue = []
    this.pendingEndings = 0
    this.ending = undefined
  }

  private adopt(url: string, socket: RawSocket): void {
    this.socket = socket
    this.url = url
    this.socketErrored = false
    socket.addEventListener('error', () => void (this.socket === socket && (this.socketErrored = true)))
    // A close the connection reported with no state change after it (reconnect() while connecting) was asked for.
    if (this.ending !== undefined) {
      this.ending.failure ??= false
      this.ending = undefined
    }
  }

  private changed({ state: next, previous, reason }: StateChange): void {
    if (next === 'open') {
      this.host.opened()
      return this.enqueue(() => this.dispatchOpen())
    }
    if (next === 'closing') return this.enqueue(() => void (this.phase === 'open' && (this.phase = 'closing')))
    const live = previous === 'connecting' || previous === 'open' || previous === 'closing'
    const stopped = next === 'idle' && (previous === 'backoff' || previous === 'offline')
    if (!live && !stopped) return
    // No close reported: no socket existed (its URL was pending or failed, or the connection was waiting to retry).
    const ending = this.ending ?? this.enqueueEnding(ABORTED)
    this.ending = undefined
    if (reason === 'close' && previous !== 'open' && previous !== 'closing') {
      // close() while CONNECTING fails the connection, as the standard has it.
      ending.info = ABORTED
      ending.failure = true
    } else {
      const asked = reason === 'close' || reason === 'reconnect' || reason === 'open' || previous === 'closing'
      // An open link that ended without a close frame, by no decision of lifeline's (no timeout,
      // no offline, no protocol error): browsers fire close alone, and so does the drop-in.
      const dropped = previous === 'open' && ending.info.code === 1006 && ending.info.reason === '' && !this.socketErrored
      ending.failure = !ending.info.wasClean && !asked && !dropped
    }
  }

  private closed(info: CloseInfo): void {
    if (this.ending !== undefined) this.ending.failure ??= !this.ending.info.wasClean
    this.socket = undefined
    this.ending = this.enqueueEnding(info)
  }

  private received(data: MessageData): void {
    if (this.queue.length > 0) this.enqueue(() => this.deliver(data))
    else this.deliver(data)
  }

  private enqueueEnding(info: CloseInfo): Ending {
    const ending: Ending = { info, failure: undefined }
    this.pendingEndings++
    this.enqueue(() => this.dispatchEnding(ending))
    return ending
  }

  private enqueue(task: () => void): void {
    this.queue.push(task)
    if (this.queue.length === 1 && !this.flushing) queueMicrotask(this.flush)
  }

  // Tasks queued while flushing (by listeners calling close() or reconnect()) run after the earlier ones, in order.
  private readonly flush = (): void => {
    this.flushing = true
    try {
      for (let i = 0; i < this.queue.length; i++) this.queue[i]!()
    } finally {
      this.queue = []
      this.flushing = false
    }
  }

  private dispatchOpen(): void {
    // close() came before the application saw the socket open: it never does.
    if (this.phase !== 'between') return
    const socket = this.socket
    this.phase = 'open'
    this.protocol = text(socket?.protocol)
    this.extensions = text(socket?.extensions)
    this.origin = originOf(this.url)
    this.host.target.dispatchEvent(new Event('open'))
  }

  private deliver(data: MessageData): void {
    // As the standard has it: a message that arrives once close() was called is not delivered.
    if (this.phase !== 'open') return
    const payload = typeof data === 'string' || this.host.binaryType === 'arraybuffer' ? data : new Blob([data])
    this.host.target.dispatchEvent(new MessageEvent('message', { data: payload, origin: this.origin }))
  }

  private dispatchEnding(ending: Ending): void {
    this.pendingEndings--
    if (this.ending === ending) this.ending = undefined
    const before = this.phase
    if (before !== 'closed') {
      this.phase = 'ended'
      if (ending.failure ?? false) this.host.target.dispatchEvent(new Event('error'))
      this.host.target.dispatchEvent(closeEvent(ending.info))
      // A listener may have called close() or reconnect(), which set the phase themselves.
      if (this.phase === 'ended') this.phase = before === 'closing' ? 'closed' : 'between'
    }
    this.restIfIdle()
  }

  // Closed for good (the application's close(), or the connection gave up):
  // nothing of it stays behind. reconnect() starts a new connection.
  private restIfIdle(): void {
    if (this.pendingEndings > 0 || !atRest(this.host.connection.state)) return
    if (this.phase === 'between' || this.phase === 'closed') {
      this.phase = 'closed'
      this.host.rest()
    }
  }
}
