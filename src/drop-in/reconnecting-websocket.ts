import { createConnection } from '../connection.js'
import { LifelineError } from '../errors.js'
import type { CloseInfo, Connection, ConnectionStateName, MessageData, SendData, StateChange, UrlSource, WebSocketConstructor, WebSocketLike } from '../types.js'
import { closeEvent, EventHandlers } from './events.js'
import { dropInOptions } from './options.js'
import type { ReconnectingWebSocketBinaryType, ReconnectingWebSocketCloseEvent, ReconnectingWebSocketEventMap, ReconnectingWebSocketOptions, WebSocketInterface } from './types.js'
import { UnsentBytes } from './unsent.js'
import { byteLength, closeArguments, sendData, webSocketProtocols, webSocketUrl } from './webidl.js'

/** What the browser and the Node entry set differently. */
export interface DropInPlatform {
  /** Used when neither `options.WebSocket` nor a global `WebSocket` exists. */
  fallbackWebSocket: WebSocketConstructor | undefined
  binaryType: ReconnectingWebSocketBinaryType
}

/** Where a subclass puts its {@link DropInPlatform}. */
export const PLATFORM: unique symbol = Symbol('lifeline-ws drop-in platform')

const CONNECTING = 0 as const
const OPEN = 1 as const
const CLOSING = 2 as const
const CLOSED = 3 as const

/**
 * What the application has been shown of the current socket. `between`: no
 * socket shown open, readyState follows the connection (CONNECTING while it
 * connects, waits to retry or is offline); `ended`: its close event is being
 * dispatched; `closed`: the application's close() completed, for good.
 */
type View = 'between' | 'open' | 'closing' | 'reconnecting' | 'ended' | 'closed'

/** A socket's end, queued in order; whether it failed is known once the connection says where it went. */
interface Ending {
  info: CloseInfo
  failure: boolean | undefined
}

const ABORTED: CloseInfo = { code: 1006, reason: '', wasClean: false }

type RawSocket = WebSocketLike & { protocol?: unknown; extensions?: unknown; bufferedAmount?: unknown }

const text = (value: unknown): string => (typeof value === 'string' ? value : '')

/** The readyState constants, read-only on the class and its prototype, as WebIDL defines constants. */
export function defineConstants(target: { prototype: object }): void {
  for (const [name, value] of [['CONNECTING', CONNECTING], ['OPEN', OPEN], ['CLOSING', CLOSING], ['CLOSED', CLOSED]] as const) {
    Object.defineProperty(target, name, { value, enumerable: true })
    Object.defineProperty(target.prototype, name, { value, enumerable: true })
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return ''
  }
}

// Typed from EventTarget itself: the DOM library and Node's types name these differently.
type Listener = Parameters<EventTarget['addEventListener']>[1]
type AddOptions = Parameters<EventTarget['addEventListener']>[2]
type RemoveOptions = Parameters<EventTarget['removeEventListener']>[2]

function readyStateOf(state: ConnectionStateName): 0 | 2 | 3 {
  if (state === 'idle' || state === 'failed') return CLOSED
  return state === 'closing' ? CLOSING : CONNECTING
}

/**
 * A `WebSocket` that reconnects: the standard interface (an `EventTarget` with
 * `readyState`, `onmessage`, `send()`, `close()`...) over a lifeline
 * connection, so `new WebSocket(url)` becomes `new ReconnectingWebSocket(url)`.
 * Where reconnection forces a difference from the standard, the README says
 * which ("Drop-in WebSocket"). Events are dispatched after the call or socket
 * event that caused them, in order, as the standard's tasks are.
 */
export class ReconnectingWebSocket extends EventTarget {
  declare static readonly CONNECTING: 0
  declare static readonly OPEN: 1
  declare static readonly CLOSING: 2
  declare static readonly CLOSED: 3
  declare readonly CONNECTING: 0
  declare readonly OPEN: 1
  declare readonly CLOSING: 2
  declare readonly CLOSED: 3

  static {
    defineConstants(this)
  }

  /** The browser entry's platform: the global WebSocket, binary messages as `Blob`s. */
  static [PLATFORM]: DropInPlatform = { fallbackWebSocket: undefined, binaryType: 'blob' }

  readonly #url: UrlSource
  readonly #protocols: string[]
  readonly #options: ReconnectingWebSocketOptions
  readonly #platform: DropInPlatform
  readonly #handlers = new EventHandlers(this)
  readonly #unsent = new UnsentBytes()
  #connection: Connection
  #released = false
  #view: View = 'between'
  #binaryType: ReconnectingWebSocketBinaryType
  #socket: RawSocket | undefined
  #socketUrl: string
  #origin = ''
  #protocol = ''
  #extensions = ''
  #queue: (() => void)[] = []
  #flushing = false
  #ending: Ending | undefined
  #pendingEndings = 0
  #thrown: unknown

  /**
   * @param url as `WebSocket` takes it (`http(s):` becomes `ws(s):`), or a
   *   function called before every attempt, which may return a promise (`createConnection`'s `url`)
   * @param protocols subprotocols, as `WebSocket` takes them
   * @param options every `createConnection` option but `url` and `protocols`; the heartbeat is off unless given
   * @throws `SyntaxError` (a `DOMException`) for a bad URL or subprotocol, as `WebSocket` does;
   *   `TypeError` with `code: 'LIFELINE_INVALID_OPTION'` for a bad option
   */
  constructor(url: UrlSource, protocols?: string | string[], options?: ReconnectingWebSocketOptions) {
    super()
    if (arguments.length === 0) throw new TypeError("Failed to construct 'ReconnectingWebSocket': 1 argument required, but only 0 present.")
    this.#platform = (new.target as typeof ReconnectingWebSocket)[PLATFORM]
    this.#url = typeof url === 'function' ? url : webSocketUrl(url)
    this.#protocols = webSocketProtocols(protocols)
    this.#options = dropInOptions(options)
    this.#socketUrl = typeof this.#url === 'string' ? this.#url : ''
    this.#binaryType = this.#platform.binaryType
    this.#connection = this.#connect()
    if (this.#options.autoConnect === false) return
    this.#connection.open()
    // The first socket is created within open() for a URL given as it is: what
    // its constructor refuses (a blocked port...) the standard's constructor throws.
    if (this.#thrown !== undefined) {
      this.#queue = []
      this.#release()
      throw this.#thrown
    }
  }

  /** The underlying lifeline connection: its `state` events, `heartbeat`, `reconnect` and `failed` events, the inspector. A new one after `reconnect()` once closed. */
  get connection(): Connection {
    return this.#connection
  }

  /** The URL of the current (or last) socket; for a function URL, `''` until the first attempt. */
  get url(): string {
    return this.#socketUrl
  }

  /** CONNECTING while connecting, waiting to retry or offline; OPEN; CLOSING from `close()` until its close event; CLOSED. */
  get readyState(): 0 | 1 | 2 | 3 {
    switch (this.#view) {
      case 'open':
        return OPEN
      case 'closing':
      case 'reconnecting':
        return CLOSING
      case 'ended':
      case 'closed':
        return CLOSED
      case 'between':
        // A queued close event says the socket the application knows of has not ended yet.
        return this.#pendingEndings > 0 ? CONNECTING : readyStateOf(this.#connection.state)
    }
  }

  /** Bytes sent while not open and still waiting, plus what the open socket has not yet transmitted. */
  get bufferedAmount(): number {
    if (!this.#released) this.#unsent.keepNewest(this.#connection.buffered)
    const inSocket = this.#view === 'open' && typeof this.#socket?.bufferedAmount === 'number' ? this.#socket.bufferedAmount : 0
    return this.#unsent.bytes + inSocket
  }

  /** The subprotocol the server chose for the last socket that opened. */
  get protocol(): string {
    return this.#protocol
  }

  /** The extensions the server chose for the last socket that opened. */
  get extensions(): string {
    return this.#extensions
  }

  /** `'blob'` (browsers) or `'arraybuffer'` (Node): what binary messages are. Other values are ignored, as `WebSocket` ignores them. */
  get binaryType(): ReconnectingWebSocketBinaryType {
    return this.#binaryType
  }

  set binaryType(value: ReconnectingWebSocketBinaryType) {
    if (value === 'blob' || value === 'arraybuffer') this.#binaryType = value
  }

  get onopen(): ((this: WebSocketInterface, event: Event) => unknown) | null {
    return this.#handlers.get('open')
  }
  set onopen(handler: ((this: WebSocketInterface, event: Event) => unknown) | null) {
    this.#handlers.set('open', handler)
  }
  get onmessage(): ((this: WebSocketInterface, event: MessageEvent) => unknown) | null {
    return this.#handlers.get('message')
  }
  set onmessage(handler: ((this: WebSocketInterface, event: MessageEvent) => unknown) | null) {
    this.#handlers.set('message', handler)
  }
  get onerror(): ((this: WebSocketInterface, event: Event) => unknown) | null {
    return this.#handlers.get('error')
  }
  set onerror(handler: ((this: WebSocketInterface, event: Event) => unknown) | null) {
    this.#handlers.set('error', handler)
  }
  get onclose(): ((this: WebSocketInterface, event: ReconnectingWebSocketCloseEvent) => unknown) | null {
    return this.#handlers.get('close')
  }
  set onclose(handler: ((this: WebSocketInterface, event: ReconnectingWebSocketCloseEvent) => unknown) | null) {
    this.#handlers.set('close', handler)
  }

  /**
   * Sends now when open, buffers while connecting (the standard throws there),
   * or, with `buffer: false`, throws an `InvalidStateError` while not open.
   * After `close()` it throws an `InvalidStateError` (the standard drops the data).
   */
  send(data: SendData): void {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'send' on 'ReconnectingWebSocket': 1 argument required, but only 0 present.")
    const payload = sendData(data)
    const state = this.readyState
    if (state === CLOSING || state === CLOSED) {
      throw new DOMException(`send() while ${state === CLOSING ? 'CLOSING' : 'CLOSED'}: nothing would send it; reconnect() opens the socket again`, 'InvalidStateError')
    }
    try {
      this.#connection.send(payload)
    } catch (error) {
      if (error instanceof LifelineError && error.code === 'LIFELINE_NOT_OPEN') {
        throw new DOMException('send() while CONNECTING with buffer: false: it sends only while OPEN', 'InvalidStateError')
      }
      throw error
    }
    if (this.#connection.state !== 'open') this.#unsent.add(byteLength(payload), this.#connection.buffered)
  }

  /**
   * Closes with a handshake when open (`code` 1000 or 3000–4999, `reason` at
   * most 123 UTF-8 bytes), or stops connecting. Nothing reconnects afterwards,
   * unless `reconnect()` is called.
   */
  close(code?: number, reason?: string): void {
    const checked = closeArguments(code, reason)
    const state = this.readyState
    if (state === CLOSED) return this.#stopRetrying()
    if (state === CLOSING && this.#view === 'closing') return
    this.#view = 'closing'
    if (this.#connection.state === 'open') this.#connection.close(checked.code, checked.reason)
    else this.#connection.close()
  }

  /** Drops the current socket, if any (its close event says code 1006, reason `reconnect`), and connects again at once; also after `close()`. */
  reconnect(): void {
    if (this.#released) {
      this.#released = false
      this.#view = 'between'
      this.#connection = this.#connect()
      this.#connection.open()
      return
    }
    if (this.#view === 'open') this.#view = 'reconnecting'
    else if (this.#view !== 'reconnecting') this.#view = 'between'
    this.#connection.reconnect()
  }

  override addEventListener<K extends keyof ReconnectingWebSocketEventMap>(
    type: K,
    listener: ((this: WebSocketInterface, event: ReconnectingWebSocketEventMap[K]) => unknown) | null,
    options?: AddOptions,
  ): void
  override addEventListener(type: string, listener: Listener, options?: AddOptions): void
  override addEventListener(type: string, listener: Listener, options?: AddOptions): void {
    super.addEventListener(type, listener, options)
  }

  override removeEventListener<K extends keyof ReconnectingWebSocketEventMap>(
    type: K,
    listener: ((this: WebSocketInterface, event: ReconnectingWebSocketEventMap[K]) => unknown) | null,
    options?: RemoveOptions,
  ): void
  override removeEventListener(type: string, listener: Listener, options?: RemoveOptions): void
  override removeEventListener(type: string, listener: Listener, options?: RemoveOptions): void {
    super.removeEventListener(type, listener, options)
  }

  #connect(): Connection {
    const { WebSocket: given, heartbeat, ...rest } = this.#options
    const Base = given ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ?? this.#platform.fallbackWebSocket
    const connection = createConnection({
      ...rest,
      url: this.#url,
      ...(this.#protocols.length > 0 ? { protocols: this.#protocols } : {}),
      heartbeat: heartbeat ?? false,
      autoConnect: false,
      // A bad WebSocket option goes through as it is, for createConnection to refuse.
      ...(typeof Base === 'function' ? { WebSocket: this.#tracking(Base) } : given === undefined ? {} : { WebSocket: given }),
    }, this.#platform.fallbackWebSocket)
    connection.on('state', (change) => this.#changed(change))
    connection.on('close', (info) => this.#closed(info))
    connection.on('message', (data) => this.#received(data))
    return connection
  }

  /** `Base`, with each socket it makes noted: its protocol, extensions and bufferedAmount are the drop-in's. */
  #tracking(Base: WebSocketConstructor): WebSocketConstructor {
    const adopt = (url: string, socket: RawSocket): void => this.#adopt(url, socket)
    const refused = (error: unknown): void => void (this.#thrown = error)
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

  #adopt(url: string, socket: RawSocket): void {
    this.#socket = socket
    this.#socketUrl = url
    // A close the connection reported with no state change after it (reconnect() while connecting) was asked for.
    if (this.#ending !== undefined) {
      this.#ending.failure ??= false
      this.#ending = undefined
    }
  }

  #changed({ state: next, previous, reason }: StateChange): void {
    if (next === 'open') {
      this.#unsent.clear()
      return this.#enqueue(() => this.#dispatchOpen())
    }
    if (next === 'closing') return this.#enqueue(() => void (this.#view === 'open' && (this.#view = 'closing')))
    const live = previous === 'connecting' || previous === 'open' || previous === 'closing'
    const stopped = next === 'idle' && (previous === 'backoff' || previous === 'offline')
    if (!live && !stopped) return
    // No close reported: no socket existed (its URL was pending or failed, or the connection was waiting to retry).
    const ending = this.#ending ?? this.#enqueueEnding(ABORTED)
    this.#ending = undefined
    if (reason === 'close' && previous !== 'open' && previous !== 'closing') {
      // close() while CONNECTING fails the connection, as the standard has it.
      ending.info = ABORTED
      ending.failure = true
    } else {
      const asked = reason === 'close' || reason === 'reconnect' || reason === 'open' || previous === 'closing'
      ending.failure = !ending.info.wasClean && !asked
    }
  }

  #closed(info: CloseInfo): void {
    if (this.#ending !== undefined) this.#ending.failure ??= !this.#ending.info.wasClean
    this.#socket = undefined
    this.#ending = this.#enqueueEnding(info)
  }

  #received(data: MessageData): void {
    if (this.#queue.length > 0) this.#enqueue(() => this.#deliver(data))
    else this.#deliver(data)
  }

  #enqueueEnding(info: CloseInfo): Ending {
    const ending: Ending = { info, failure: undefined }
    this.#pendingEndings++
    this.#enqueue(() => this.#dispatchEnding(ending))
    return ending
  }

  #enqueue(task: () => void): void {
    this.#queue.push(task)
    if (this.#queue.length === 1 && !this.#flushing) queueMicrotask(this.#flush)
  }

  // Tasks queued while flushing (by listeners calling close() or reconnect()) run after the earlier ones, in order.
  readonly #flush = (): void => {
    this.#flushing = true
    try {
      for (let i = 0; i < this.#queue.length; i++) this.#queue[i]!()
    } finally {
      this.#queue = []
      this.#flushing = false
    }
  }

  #dispatchOpen(): void {
    // close() came before the application saw the socket open: it never does.
    if (this.#view !== 'between') return
    const socket = this.#socket
    this.#view = 'open'
    this.#protocol = text(socket?.protocol)
    this.#extensions = text(socket?.extensions)
    this.#origin = originOf(this.#socketUrl)
    this.dispatchEvent(new Event('open'))
  }

  #deliver(data: MessageData): void {
    // As the standard has it: a message that arrives once close() was called is not delivered.
    if (this.#view !== 'open') return
    const payload = typeof data === 'string' || this.#binaryType === 'arraybuffer' ? data : new Blob([data])
    this.dispatchEvent(new MessageEvent('message', { data: payload, origin: this.#origin }))
  }

  #dispatchEnding(ending: Ending): void {
    this.#pendingEndings--
    if (this.#ending === ending) this.#ending = undefined
    const before = this.#view
    if (before !== 'closed') {
      this.#view = 'ended'
      if (ending.failure ?? false) this.dispatchEvent(new Event('error'))
      this.dispatchEvent(closeEvent(ending.info))
      // A listener may have called close() or reconnect(), which decide the view themselves.
      if (this.#view === 'ended') this.#view = before === 'closing' ? 'closed' : 'between'
    }
    this.#releaseAtRest()
  }

  #stopRetrying(): void {
    this.#view = 'closed'
    if (this.#released) return
    const state = this.#connection.state
    if (state !== 'idle' && state !== 'failed') this.#connection.close()
    else this.#releaseAtRest()
  }

  // Closed for good (the application's close(), or the connection gave up):
  // nothing of it stays behind. reconnect() starts a new connection.
  #releaseAtRest(): void {
    if (this.#released || this.#pendingEndings > 0) return
    const state = this.#connection.state
    if (state !== 'idle' && state !== 'failed') return
    if (this.#view === 'between' || this.#view === 'closed') this.#release()
  }

  #release(): void {
    this.#released = true
    this.#view = 'closed'
    this.#unsent.clear()
    this.#connection.dispose()
  }
}

