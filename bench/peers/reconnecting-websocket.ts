import RwsModule from 'reconnecting-websocket'
import WebSocket from 'ws'
import { COMMON, HOST } from '../settings.js'
import type { PeerAdapter } from './types.js'

// A CommonJS file (`module.exports = Class`) typed as `export default class`:
// from ESM the class is the default export at run time, `.default` for the types.
type Rws = typeof RwsModule.default
const ReconnectingWebSocket = ((RwsModule as unknown as { default?: Rws }).default ?? RwsModule) as Rws

export const adapter: PeerAdapter = {
  connect(port, handlers, mode) {
    const socket = new ReconnectingWebSocket(`ws://${HOST}:${port}/`, [], {
      WebSocket,
      // Its default minReconnectionDelay is drawn once when the module loads:
      // one draw per browser page. Here hundreds of clients share a process,
      // so each gets its own draw, as separate pages would.
      ...(mode === 'defaults' && { minReconnectionDelay: 1_000 + Math.random() * 4_000 }),
      ...(mode !== 'defaults' && {
        minReconnectionDelay: COMMON.reconnectDelay,
        maxReconnectionDelay: COMMON.reconnectDelay,
        reconnectionDelayGrowFactor: 1,
      }),
    })
    const { message, down } = handlers
    socket.addEventListener('open', () => handlers.open())
    if (message !== undefined) socket.addEventListener('message', (event: MessageEvent) => {
      if (typeof event.data === 'string') message(event.data)
    })
    if (down !== undefined) socket.addEventListener('close', () => down('close'))
    socket.addEventListener('error', () => {})
    return {
      send: (data) => socket.send(data),
      close: () => socket.close(),
    }
  },
}
