import WebSocket from 'ws'
import { createConnection as create } from './connection.js'
import { defineConstants, PLATFORM, ReconnectingWebSocket as DropIn, type DropInPlatform } from './drop-in/reconnecting-websocket.js'
import type { Connection, ConnectionOptions } from './types.js'

export * from './index.js'

/**
 * Creates a managed connection (see the browser entry). In Node it uses the
 * `ws` package unless `options.WebSocket` is given, even where a global
 * WebSocket exists (Node 22+): `ws` can end a dead link at once, without
 * waiting for a close handshake that will never come, and shows the server's
 * ping frames, which prove the link alive.
 */
export function createConnection(options: ConnectionOptions): Connection {
  return create(options, WebSocket)
}

/**
 * The drop-in `WebSocket` (see the browser entry). In Node without a global
 * WebSocket (Node 20) it uses the `ws` package unless `options.WebSocket` is
 * given, and binary messages are `ArrayBuffer`s unless `binaryType` is set to `'blob'`.
 */
export class ReconnectingWebSocket extends DropIn {
  static override [PLATFORM]: DropInPlatform = { fallbackWebSocket: WebSocket, binaryType: 'arraybuffer' }
  static {
    defineConstants(this)
  }
}
