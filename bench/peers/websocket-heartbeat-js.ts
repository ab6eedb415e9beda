// websocket-heartbeat-js is browser-only: it calls the global `WebSocket`.
// Node 20 has none, so its bench process gets ws as the global.
import WebSocket from 'ws'
import HeartbeatModule from 'websocket-heartbeat-js'
import { COMMON, HOST } from '../settings.js'
import type { PeerAdapter } from './types.js'

const global = globalThis as { WebSocket?: unknown }
global.WebSocket ??= WebSocket

// Its main file is a webpack UMD bundle: loaded from ESM, the class may sit under `.default`.
const WebsocketHeartbeatJs = ((HeartbeatModule as unknown as { default?: typeof HeartbeatModule }).default ?? HeartbeatModule)

export const adapter: PeerAdapter = {
  connect(port, handlers, mode) {
    const socket = new WebsocketHeartbeatJs({
      url: `ws://${HOST}:${port}/`,
      ...(mode !== 'defaults' && {
        pingTimeout: COMMON.heartbeatInterval,
        pongTimeout: COMMON.heartbeatTimeout,
        reconnectTimeout: COMMON.reconnectDelay,
        pingMsg: 'ping',
      }),
    })
    const { message, down } = handlers
    socket.onopen = () => handlers.open()
    if (message !== undefined) socket.onmessage = (event) => typeof event.data === 'string' && message(event.data)
    if (down !== undefined) socket.onclose = () => down('close')
    return {
      send: (data) => socket.send(data),
      close: () => socket.close(),
    }
  },
}
