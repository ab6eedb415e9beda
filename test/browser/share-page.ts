/**
 * The page of the sharing tests, bundled with lifeline's browser build. It
 * opens `createConnection({ share })` to the `ws` query parameter (with
 * `delivery` from the query), mounts the inspector, and records in
 * `window.shareTest` what its connection shows: states, messages, roles.
 * `send(count, prefix, every)` sends numbered messages, one every `every` ms.
 */
import { createConnection } from '../../src/index.js'
import { mountInspector } from '../../src/inspector/index.js'

const params = new URL(location.href).searchParams
const delivery = params.get('delivery') === 'reliable' ? 'reliable' : 'plain'
const conn = createConnection({
  url: params.get('ws')!,
  share: params.get('key') ?? 'test',
  delivery,
  heartbeat: { interval: 1_000, timeout: 2_000 },
  reconnect: { initialDelay: 50, maxDelay: 200 },
})

const log = {
  shared: conn.shared,
  states: [] as { state: string; previous: string; reason: string; at: number }[],
  messages: [] as string[],
  roles: [] as { role: string; leader: string | undefined; at: number }[],
  errors: [] as string[],
  sent: 0,
}

conn.on('state', ({ state, previous, reason }) => log.states.push({ state, previous, reason, at: Date.now() }))
conn.on('message', (data) => log.messages.push(typeof data === 'string' ? data : `[${data.byteLength} bytes]`))
conn.on('share', ({ role, leader }) => log.roles.push({ role, leader, at: Date.now() }))
conn.on('error', (error) => log.errors.push(`${(error as { code?: string }).code ?? ''} ${error.message}`))
mountInspector(conn)

Object.assign(window, {
  shareTest: {
    log,
    state: () => conn.state,
    shared: () => conn.shared,
    role: () => conn.share?.role ?? 'none',
    member: () => conn.share?.member ?? '',
    buffered: () => conn.buffered,
    send(count: number, prefix: string, every: number): Promise<void> {
      return new Promise((resolve) => {
        const next = (): void => {
          if (log.sent >= count) return resolve()
          conn.send(`${prefix}${++log.sent}`)
          if (every === 0) next()
          else setTimeout(next, every)
        }
        next()
      })
    },
  },
})
