// lifeline's client as compiled by bench/build.ts (plain tsc output, like dist/).
import { pathToFileURL } from 'node:url'
import { BUILT } from '../build.js'
import { COMMON, HOST } from '../settings.js'
import type { PeerAdapter } from './types.js'

type Lifeline = typeof import('../../src/index.node.js')
const { createConnection } = (await import(pathToFileURL(BUILT.client).href)) as Lifeline

export const adapter: PeerAdapter = {
  connect(port, handlers, mode) {
    const conn = createConnection({
      url: `ws://${HOST}:${port}/`,
      ...(mode !== 'defaults' && {
        heartbeat: {
          interval: COMMON.heartbeatInterval,
          timeout: COMMON.heartbeatTimeout,
          ...(mode === 'server-driven' && { mode: 'server' as const }),
        },
        reconnect: { initialDelay: COMMON.reconnectDelay, maxDelay: COMMON.reconnectDelay },
      }),
    })
    const { message, down } = handlers
    conn.on('open', () => handlers.open())
    // Listeners only for what the scenario asks: an unheard event costs less.
    if (message !== undefined) conn.on('message', (data) => typeof data === 'string' && message(data))
    if (down !== undefined) {
      conn.on('heartbeat', (beat) => beat.type === 'timeout' && down('heartbeat-timeout'))
      conn.on('state', ({ previous, state, reason }) => previous === 'open' && state !== 'open' && down(`${state} (${reason})`))
    }
    conn.on('error', () => {})
    return {
      send: (data) => conn.send(data),
      close: () => conn.dispose(),
    }
  },
}
