import WebSocket from 'ws'
import { COMMON, HOST } from '../settings.js'
import type { PeerAdapter } from './types.js'

/** The options and events reconnecting-websocket and its fork partysocket share. */
type RwsLike = new (
  url: string,
  protocols: string[],
  options: Record<string, unknown>,
) => {
  addEventListener(type: string, listener: (event: MessageEvent) => void): void
  send(data: string): void
  close(): void
}

/** An adapter for a reconnecting-websocket-style class; `defaults` adds options to its 'defaults' mode. */
export function rwsStyleAdapter(ReconnectingWebSocket: RwsLike, defaults: () => Record<string, unknown> = () => ({})): PeerAdapter {
  return {
    connect(port, handlers, mode) {
      const socket = new ReconnectingWebSocket(`ws://${HOST}:${port}/`, [], {
        WebSocket,
        ...(mode === 'defaults'
          ? defaults()
          : { minReconnectionDelay: COMMON.reconnectDelay, maxReconnectionDelay: COMMON.reconnectDelay, reconnectionDelayGrowFactor: 1 }),
      })
      const { message, down } = handlers
      socket.addEventListener('open', () => handlers.open())
      if (message !== undefined) socket.addEventListener('message', (event) => {
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
}
