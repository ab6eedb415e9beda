import WebSocket from 'ws'
import { createConnection as create } from './connection.js'
import type { Connection, ConnectionOptions } from './types.js'

export * from './index.js'

/**
 * Creates a managed connection (see the browser entry). In Node without a
 * global WebSocket (Node 20) it uses the `ws` package unless `options.WebSocket` is given.
 */
export function createConnection(options: ConnectionOptions): Connection {
  return create(options, WebSocket)
}
