import { createConnection } from '../connection.js'
import { LifelineError } from '../errors.js'
import type { Connection, SendData, UrlSource, WebSocketConstructor } from '../types.js'
import { EventHandlers } from './events.js'
import { dropInOptions } from './options.js'
import { CLOSED, CLOSING, CONNECTING, OPEN, SocketView } from './socket-view.js'
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

/** The readyState constants, read-only on the class and its prototype, as WebIDL defines constants. */
export function defineConstants(target: { prototype: object }): void {
  for (const [name, value] of [['CONNECTING', CONNECTING], ['OPEN', OPEN], ['CLOSING', CLOSING], ['CLOSED', CLOSED]] as const) {
    Object.defineProperty(target, name, { value, enumerable: true })
    Object.defineProperty(target.prototype, name, { value, enumerable: true })
  }
}

// Typed from EventTarget itself: the DOM library and Node's types name these differently.
type Listener = Parameters<EventTarget['addEventListener']>[1]
type AddOptions = Parameters<EventTarget['addEventListener']>[2]
type RemoveOptions = Parameters<EventTarget['removeEventListener']>[2]

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
  readonly #view: SocketView
  #connection: Connection
  #released = false
  #binaryType: ReconnectingWebSocketBinaryType

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
    this.#binaryType = this.#platform.binaryType
    const self = this
    this.#view = new SocketView({
      target: this,
      get binaryType() {
        return self.#binaryType
      },
      get connection() {
        return self.#connection
      },
      opened: () => this.#unsent.clear(),
      rest: () => this.#release(),
    }, typeof this.#url === 'string' ? this.#url : '')
    this.#connection = this.#connect()
    if (this.#options.autoConnect === false) return
    this.#connection.open()
    // The first socket is created within open() for a URL given as it is: what
    // its constructor refuses (a blocked port...) the standard's constructor throws.
    if (this.#view.thrown !== undefined) {
      this.#view.discard()
      this.#release()
      throw this.#view.thrown
    }
  }

  /** The underlying lifeline connection: its `state` events, `heartbeat`, `reconnect` and `failed` events, the inspector. A new one after `reconnect()` once closed. */
  get connection(): Connection {
    return this.#connection
  }

  /** The URL of the current (or last) socket; for a function URL, `''` until the first attempt. */
  get url(): string {
    return this.#view.url
  }

  /** CONNECTING while connecting, waiting to retry or offline, and from `reconnect()` on; OPEN; CLOSING from `close()` until its close event; CLOSED. */
  get readyState(): 0 | 1 | 2 | 3 {
    return this.#view.readyState
  }

  /** Bytes sent while not open and still waiting, plus what the open socket has not yet transmitted. */
  get bufferedAmount(): number {
    if (!this.#released) this.#unsent.keepNewest(this.#connection.buffered)
    return this.#unsent.bytes + this.#view.socketBuffered
  }

  /** The subprotocol the server chose for the last socket that opened. */
  get protocol(): string {
    return this.#view.protocol
  }

  /** The extensions the server chose for the last socket that opened. */
  get extensions(): string {
    return this.#view.extensions
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
   * Sends now when open, buffers while connecting, `reconnect()` included
   * (the standard throws there), or, with `buffer: false`, throws an
   * `InvalidStateError` while not open. In the close event of a socket that
   * is to be replaced it buffers too, for the next one. After `close()`, or
   * once the connection gave up, it throws an `InvalidStateError` (the
   * standard drops the data).
   */
  send(data: SendData): void {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'send' on 'ReconnectingWebSocket': 1 argument required, but only 0 present.")
    const payload = sendData(data)
    const state = this.readyState
    if ((state === CLOSING || state === CLOSED) && !this.#view.replacing) {
      throw new DOMException(`send() while ${state === CLOSING ? 'CLOSING' : 'CLOSED'}: nothing would send it; reconnect() opens the socket again`, 'InvalidStateError')
    }
    try {
      this.#connection.send(payload)
    } catch (error) {
      if (error instanceof LifelineError && error.code === 'LIFELINE_NOT_OPEN') {
        throw new DOMException(`send() with buffer: false while the connection is ${this.#connection.state}: it sends only while OPEN`, 'InvalidStateError')
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
    if (state === CLOSED) return this.#view.stopRetrying()
    if (state === CLOSING && this.#view.phase === 'closing') return
    this.#view.phase = 'closing'
    if (this.#connection.state === 'open') this.#connection.close(checked.code, checked.reason)
    else this.#connection.close()
  }

  /**
   * Drops the current socket, if any (its close event says code 1006, reason
   * `reconnect`), and connects again at once; also after `close()`. From here
   * on readyState is CONNECTING (CLOSED during that close event) and `send()`
   * buffers for the next socket.
   */
  reconnect(): void {
    const view = this.#view
    if (this.#released) {
      this.#released = false
      view.phase = 'between'
      this.#connection = this.#connect()
      this.#connection.open()
      return
    }
    view.phase = 'between'
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
      ...(typeof Base === 'function' ? { WebSocket: this.#view.tracking(Base) } : given === undefined ? {} : { WebSocket: given }),
    }, this.#platform.fallbackWebSocket)
    this.#view.attach(connection)
    return connection
  }

  #release(): void {
    if (this.#released) return
    this.#released = true
    this.#view.phase = 'closed'
    this.#unsent.clear()
    this.#connection.dispose()
  }
}
