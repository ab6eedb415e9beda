import { io } from 'socket.io-client'
import { COMMON, HOST } from '../settings.js'
import type { PeerAdapter } from './types.js'

export const adapter: PeerAdapter = {
  connect(port, handlers, mode) {
    // forceNew: one engine per connection, as separate clients would have
    // (the default multiplexes every socket to one host over one connection).
    const socket = io(`http://${HOST}:${port}`, {
      transports: ['websocket'],
      forceNew: true,
      ...(mode !== 'defaults' && { reconnectionDelay: COMMON.reconnectDelay, reconnectionDelayMax: COMMON.reconnectDelay }),
    })
    const { message, down } = handlers
    socket.on('connect', () => handlers.open())
    if (message !== undefined) socket.on('message', (data: unknown) => typeof data === 'string' && message(data))
    if (down !== undefined) socket.on('disconnect', (reason) => down(reason))
    return {
      send: (data) => void socket.send(data),
      close: () => void socket.disconnect(),
    }
  },
}
