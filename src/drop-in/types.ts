import type { ConnectionOptions } from '../types.js'

/**
 * Options of {@link ReconnectingWebSocket}: every {@link ConnectionOptions}
 * option but `url` and `protocols`, which are the constructor's first two
 * arguments as they are for `WebSocket`.
 */
export interface ReconnectingWebSocketOptions extends Omit<ConnectionOptions, 'url' | 'protocols' | 'heartbeat'> {
  /**
   * Heartbeat settings. Off unless given: a drop-in sends nothing the
   * application did not send, and takes no frame the server sent for its own,
   * so it works with any server. Pass `true` (or settings) to have lifeline
   * ping, find dead links and swallow the pongs, as `createConnection` does by default.
   * @default false
   */
  heartbeat?: ConnectionOptions['heartbeat']
}

/** `'blob'` or `'arraybuffer'`: how binary messages are delivered, as `WebSocket.binaryType` has it. */
export type ReconnectingWebSocketBinaryType = 'blob' | 'arraybuffer'

/**
 * The `close` event: what `CloseEvent` carries. Browsers dispatch their own
 * `CloseEvent`; where there is none (Node 20) an `Event` with these fields.
 */
export interface ReconnectingWebSocketCloseEvent extends Event {
  /** The close code; 1006 when the link failed without a close frame. */
  readonly code: number
  /** The peer's close reason, or why lifeline ended the socket (`heartbeat-timeout`, `connect-timeout`...). */
  readonly reason: string
  /** Whether the close handshake completed. */
  readonly wasClean: boolean
}

/** Events of a {@link ReconnectingWebSocket}, as `WebSocketEventMap` has them. */
export interface ReconnectingWebSocketEventMap {
  open: Event
  message: MessageEvent
  error: Event
  close: ReconnectingWebSocketCloseEvent
}

/**
 * The members every WebSocket has, as `this` in event handlers: typed so,
 * a ReconnectingWebSocket goes where a `WebSocket` is expected, and a handler
 * written for either fits the other. (The handlers themselves are left out,
 * so that the DOM's `WebSocket` of every TypeScript version fits it.)
 */
export interface WebSocketInterface extends EventTarget {
  readonly url: string
  readonly readyState: number
  readonly bufferedAmount: number
  readonly protocol: string
  readonly extensions: string
  binaryType: string
  send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void
  close(code?: number, reason?: string): void
  readonly CONNECTING: 0
  readonly OPEN: 1
  readonly CLOSING: 2
  readonly CLOSED: 3
}
