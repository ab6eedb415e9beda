import { LifelineError } from './errors.js'
import type { CloseInfo, MessageData, SocketEventType, WebSocketLike } from './types.js'
import { fitCloseReason } from './utf8.js'

/** What the adapter hears from a socket; `socket` says which one, so a replaced socket can be told apart. */
export interface SocketOwner {
  socketOpened(socket: WebSocketLike): void
  socketMessage(data: MessageData): void
  socketClosed(socket: WebSocketLike, info: CloseInfo): void
  socketFailed(socket: WebSocketLike, error: Error): void
  /** A WebSocket ping frame arrived (only `ws` shows them; browsers answer them unseen). */
  socketPinged(): void
  /** The server answered the upgrade with an HTTP status instead (only `ws` shows it; browsers report an error). */
  socketRefused(socket: WebSocketLike, status: number): void
}

// `ws` sockets are also EventEmitters: `on()` skips the Event objects and the
// wrapper per listener that its `addEventListener` builds.
interface NodeEmitterSocket {
  on(type: string, listener: (...args: never[]) => void): void
  off(type: string, listener: (...args: never[]) => void): void
  terminate(): void
}

function isNodeEmitter(socket: WebSocketLike): socket is WebSocketLike & NodeEmitterSocket {
  const s = socket as Partial<NodeEmitterSocket>
  return typeof s.on === 'function' && typeof s.off === 'function' && typeof s.terminate === 'function'
}

const ignore = (): void => {}

/**
 * Every socket failure is `LIFELINE_SOCKET_ERROR`, whatever the platform, so
 * that applications branch on one code. What the platform gave is the `cause`:
 * `ws`'s `Error` (its errno `code`, e.g. `ECONNREFUSED`, stays reachable), the
 * `error` of an `ErrorEvent` (ws's `addEventListener`, Node 22), or a
 * browser's bare `Event`.
 */
function socketError(failure: unknown): LifelineError {
  if (failure instanceof Error) return new LifelineError('LIFELINE_SOCKET_ERROR', `WebSocket error: ${failure.message}`, { cause: failure })
  const event = typeof failure === 'object' && failure !== null ? failure : {}
  const error = 'error' in event ? event.error : undefined
  if (error instanceof Error) return socketError(error)
  const message = 'message' in event && typeof event.message === 'string' && event.message !== '' ? `: ${event.message}` : ''
  return new LifelineError('LIFELINE_SOCKET_ERROR', `WebSocket error${message}`, { cause: failure })
}

// The fields the WebSocket standard (and ws) put on these events. `WebSocketLike`
// types listener arguments as `unknown` so that every implementation's class fits.
interface MessageEventFields {
  data: MessageData
}
interface CloseEventFields {
  code: number
  reason: string
  wasClean: boolean
}

// The listeners are shared by every socket: a socket carries its owner, and
// a listener finds it through `this` (the socket, for EventEmitter and
// EventTarget alike). Six closures per connection were 0.4 KB of its heap.
const OWNER = Symbol('lifeline.owner')
type Owned = WebSocketLike & { [OWNER]?: SocketOwner | undefined }

function onOpen(this: Owned): void {
  this[OWNER]?.socketOpened(this)
}
// ws reports 1006 exactly when no close frame came: the handshake did not complete.
function onCloseNode(this: Owned, code: number, reason: { toString(): string }): void {
  this[OWNER]?.socketClosed(this, { code, reason: reason.toString(), wasClean: code !== 1006 })
}
function onErrorNode(this: Owned, error: Error): void {
  this[OWNER]?.socketFailed(this, socketError(error))
}
// binaryType 'arraybuffer' (set by the adapter) makes binary data an ArrayBuffer.
function onMessageNode(this: Owned, data: { toString(): string }, isBinary: boolean): void {
  this[OWNER]?.socketMessage(isBinary ? (data as ArrayBuffer) : data.toString())
}
function onPing(this: Owned): void {
  this[OWNER]?.socketPinged()
}
// Listened to, ws leaves the handshake to us: the owner ends the socket.
function onRefused(this: Owned, _request: unknown, response: { statusCode?: number }): void {
  this[OWNER]?.socketRefused(this, response.statusCode ?? 0)
}
function onMessageEvent(this: Owned, event: unknown): void {
  this[OWNER]?.socketMessage((event as MessageEventFields).data)
}
function onCloseEvent(this: Owned, event: unknown): void {
  const { code, reason, wasClean } = event as CloseEventFields
  this[OWNER]?.socketClosed(this, { code, reason, wasClean })
}
function onErrorEvent(this: Owned, event: unknown): void {
  this[OWNER]?.socketFailed(this, socketError(event))
}

// What listen() attaches, by kind of socket.
const NODE_LISTENERS: ReadonlyArray<readonly [string, (this: Owned, ...args: never[]) => void]> = [
  ['open', onOpen],
  ['message', onMessageNode],
  ['close', onCloseNode],
  ['error', onErrorNode],
  ['ping', onPing],
  ['unexpected-response', onRefused],
]
const EVENT_LISTENERS: ReadonlyArray<readonly [SocketEventType, (this: Owned, event: unknown) => void]> = [
  ['open', onOpen],
  ['message', onMessageEvent],
  ['close', onCloseEvent],
  ['error', onErrorEvent],
]

/** Attaches `owner` to `socket`, until {@link unlisten}. */
export function listen(socket: WebSocketLike, owner: SocketOwner): void {
  ;(socket as Owned)[OWNER] = owner
  if (isNodeEmitter(socket)) {
    for (const [type, listener] of NODE_LISTENERS) socket.on(type, listener)
    return
  }
  for (const [type, listener] of EVENT_LISTENERS) socket.addEventListener(type, listener)
}

/** Detaches every listener {@link listen} attached: nothing the socket does later reaches its owner. */
export function unlisten(socket: WebSocketLike): void {
  ;(socket as Owned)[OWNER] = undefined
  if (isNodeEmitter(socket)) {
    for (const [type, listener] of NODE_LISTENERS) socket.off(type, listener)
    // An EventEmitter throws on an 'error' nobody listens to; a dropped
    // socket may still emit one while it is torn down.
    socket.on('error', ignore)
    return
  }
  for (const [type, listener] of EVENT_LISTENERS) socket.removeEventListener(type, listener)
}

/** Ends a socket now: `terminate()` where it exists (no close handshake on a dead link), else `close()`. */
export function terminate(socket: WebSocketLike): void {
  if (isNodeEmitter(socket)) socket.terminate()
  else if (socket.readyState < 2) socket.close()
}

/**
 * Closes `socket` with a close frame, and never throws. Every close lifeline
 * makes goes through here. The reason is cut to 123 UTF-8 bytes on a
 * character boundary. Browsers refuse to send codes other than 1000 and
 * 3000–4999 (1002 and 1007 among them), so a refused code below 3000 is sent
 * as code + 3000 (4002, 4007); if that fails too, the socket is terminated.
 * Returns the code sent, or undefined when the socket had to be terminated.
 */
export function closeSocket(socket: WebSocketLike, code: number, reason: string): number | undefined {
  const fitted = fitCloseReason(reason)
  try {
    socket.close(code, fitted)
    return code
  } catch {
    // Refused: try the browser's stand-in, else end it without a handshake.
  }
  if (code !== 1000 && code < 3000) {
    try {
      socket.close(code + 3000, fitted)
      return code + 3000
    } catch {
      // Refused again: nothing is left but terminating it.
    }
  }
  terminate(socket)
  return undefined
}
