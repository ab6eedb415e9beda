// A socket.io server: socket.io-client cannot talk to anything else.
import { createServer } from 'node:http'
import { Server } from 'socket.io'
import { COMMON, HOST, type ServerSettings } from '../settings.js'
import { push, respond, type Tracker } from './behaviour.js'
import type { RunningServer } from './types.js'

export function startSocketIo(port: number, tracker: Tracker, settings: ServerSettings): Promise<RunningServer> {
  const http = createServer()
  const io = new Server(http, {
    transports: ['websocket'],
    serveClient: false,
    ...(settings === 'common' && { pingInterval: COMMON.heartbeatInterval, pingTimeout: COMMON.heartbeatTimeout }),
  })
  io.on('connection', (socket) => {
    socket.once('disconnect', tracker.connected())
    const send = (text: string): void => void socket.send(text)
    socket.on('message', (data: unknown) => {
      if (typeof data !== 'string') return
      const count = respond(data, send)
      // The websocket transport says 'drain' after ws wrote what it was given;
      // the engine's own 'drain' can fire inside send(), before a listener is added.
      if (count > 0) push(count, send, (last, written) => {
        socket.send(last)
        socket.conn.transport.once('drain', written)
      })
    })
  })
  return new Promise((resolve, reject) => {
    http.once('error', reject)
    http.listen(port, HOST, () => {
      const address = http.address()
      resolve({ port: typeof address === 'object' && address !== null ? address.port : port })
    })
  })
}
