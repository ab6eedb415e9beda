import { LifelineError } from './errors.js'
import type { CloseInfo, MessageData, WebSocketLike } from './types.js'

/** What the adapter wants to hear from one socket. */
export interface SocketHandlers {
  open(): void
  message(data: MessageData): void
  /** A WebSocket ping frame arrived (only `ws` shows them; browsers answer them unseen). */
  ping(): void
  close(info: CloseInfo): void
  error(error: Error): void
}

// `ws` sockets are also EventEmitters: listening with `on('message')` skips
// the MessageEvent that `addEventListener` builds for every frame.
interface NodeEmitterSocket {
  on(type: 'message', listener: (data: { toString(): string }, isBinary: boolean) => void): void
  on(type: 'error' | 'ping', listener: () => void): void
  off(type: 'message', listener: (data: { toString(): string }, isBinary: boolean) => void): void
  off(type: 'ping', listener: () => void): void
  terminate(): void
}

function isNodeEmitter(socket: WebSocketLike): socket is WebSocketLike & NodeEmitterSocket {
  const s = socket as Partial<NodeEmitterSocket>
  return typeof s.on === 'function' && typeof s.off === 'function' && typeof s.terminate === 'function'
}

const ignore = (): void => {}

function toError(event: { error?: unknown; message?: unknown }): Error {
  if (event.error instanceof Error) return event.error
  const detail = typeof event.message === 'string' && event.message !== '' ? `: ${event.message}` : ''
  return new LifelineError('LIFELINE_SOCKET_ERROR', `WebSocket error${detail}`)
}

/** Attaches `handlers` to `socket`; returns a function that detaches them all. */
export function listen(socket: WebSocketLike, handlers: SocketHandlers): () => void {
  const onOpen = (): void => handlers.open()
  const onClose = (event: { code: number; reason: string; wasClean: boolean }): void =>
    handlers.close({ code: event.code, reason: event.reason, wasClean: event.wasClean })
  const onError = (event: { error?: unknown; message?: unknown }): void => handlers.error(toError(event))
  socket.addEventListener('open', onOpen)
  socket.addEventListener('close', onClose)
  socket.addEventListener('error', onError)

  if (isNodeEmitter(socket)) {
    const onMessage = (data: { toString(): string }, isBinary: boolean): void =>
      handlers.message(isBinary ? (data as MessageData) : data.toString())
    const onPing = (): void => handlers.ping()
    socket.on('message', onMessage)
    socket.on('ping', onPing)
    return () => {
      socket.removeEventListener('open', onOpen)
      socket.removeEventListener('close', onClose)
      socket.removeEventListener('error', onError)
      socket.off('message', onMessage)
      socket.off('ping', onPing)
      // An EventEmitter throws on an 'error' nobody listens to; a dropped
      // socket may still emit one while it is torn down.
      socket.on('error', ignore)
    }
  }

  const onMessage = (event: { data: MessageData }): void => handlers.message(event.data)
  socket.addEventListener('message', onMessage)
  return () => {
    socket.removeEventListener('open', onOpen)
    socket.removeEventListener('close', onClose)
    socket.removeEventListener('error', onError)
    socket.removeEventListener('message', onMessage)
  }
}

/** Ends a socket now: `terminate()` where it exists (no close handshake on a dead link), else `close()`. */
export function terminate(socket: WebSocketLike): void {
  if (isNodeEmitter(socket)) socket.terminate()
  else if (socket.readyState < 2) socket.close()
}
