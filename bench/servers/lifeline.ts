// lifeline's own server helper (compiled, see bench/build.ts), with an echo on top.
import { pathToFileURL } from 'node:url'
import { BUILT } from '../build.js'
import { COMMON, HOST, type ServerSettings } from '../settings.js'
import { push, respond, type Tracker } from './behaviour.js'
import type { RunningServer } from './types.js'

type Helper = typeof import('../../src/server/index.js')

// Loaded with the process, before it says 'ready': a restart scenario's
// replacement server must bind as soon as it is told to listen.
const { createHeartbeatServer } = (await import(pathToFileURL(BUILT.server).href)) as Helper

export async function startLifeline(port: number, tracker: Tracker, settings: ServerSettings): Promise<RunningServer> {
  const server = createHeartbeatServer({
    port,
    host: HOST,
    ...(settings !== 'defaults' && {
      heartbeat: {
        interval: COMMON.heartbeatInterval,
        timeout: COMMON.heartbeatTimeout,
        ...(settings === 'server-driven' && { mode: 'server' as const }),
      },
    }),
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
  return { port: bound, closeWithHint: (within) => server.close({ reconnect: { within } }) }
}
