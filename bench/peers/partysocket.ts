import ReconnectingWebSocket from 'partysocket/ws'
import WebSocket from 'ws'
import { COMMON, HOST } from '../settings.js'
import type { PeerAdapter } from './types.js'

export const adapter: PeerAdapter = {
  connect(port, handlers, mode) {
    const socket = new ReconnectingWebSocket(`ws://${HOST}:${port}/`, [], {
      WebSocket,
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
