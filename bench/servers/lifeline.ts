// lifeline's own server helper, with an echo on top.
import { createHeartbeatServer } from '../../src/server/index.js'
import { COMMON, HOST, type ServerSettings } from '../settings.js'
import { push, respond, type Tracker } from './behaviour.js'
import type { RunningServer } from './types.js'

export async function startLifeline(port: number, tracker: Tracker, settings: ServerSettings): Promise<RunningServer> {
  const server = createHeartbeatServer({
    port,
    host: HOST,
    ...(settings === 'common' && { heartbeat: { interval: COMMON.heartbeatInterval, timeout: COMMON.heartbeatTimeout } }),
  })
  server.on('error', () => {})
  server.on('connection', ({ socket }) => {
    socket.once('close', tracker.connected())
  })
  server.on('message', ({ socket, data }) => {
    if (typeof data !== 'string') return socket.send(data)
    const send = (text: string): void => socket.send(text)
    const count = respond(data, send)
    if (count > 0) push(count, send, (last, written) => socket.send(last, () => written()))
  })
  const { port: bound } = await server.listening
  return { port: bound }
}
