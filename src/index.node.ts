import WebSocket from 'ws'
import { createConnection as create } from './connection.js'
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
