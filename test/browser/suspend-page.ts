/**
 * The page of the browser suspension test, bundled with lifeline's browser
 * build (the native WebSocket). It connects to the `ws` query parameter,
 * records every state and heartbeat event with the wall clock in
 * `window.lifelineTest.log`, and at the heartbeat phase it is told (after the
 * second event `stopAfter`, `stopDelay` ms later) halts its own JavaScript
 * with a `debugger` statement, which the test's DevTools session turns into a
 * pause as long as it likes: timers and socket events queue up meanwhile.
 */
import { createConnection } from '../../src/index.js'

/** One line of the page's log. */
export interface Entry {
  ev: 'state' | 'heartbeat' | 'paused'
  state?: string
  previous?: string
  reason?: string
  type?: string
  at: number
}

const params = new URL(location.href).searchParams
const stopAfter = params.get('stopAfter')
const stopDelay = Number(params.get('stopDelay') ?? 0)
const log: Entry[] = []
;(window as unknown as { lifelineTest: { log: Entry[] } }).lifelineTest = { log }

const conn = createConnection({
  url: params.get('ws')!,
  heartbeat: { interval: 100, timeout: 1_500, probeTimeout: 1_000 },
  reconnect: { initialDelay: 50, maxDelay: 100 },
})
let seen = 0
conn.on('state', ({ state, previous, reason }) => log.push({ ev: 'state', state, previous, reason, at: Date.now() }))
conn.on('heartbeat', ({ type }) => {
  log.push({ ev: 'heartbeat', type, at: Date.now() })
  if (type !== stopAfter || ++seen !== 2) return
  setTimeout(() => {
    log.push({ ev: 'paused', at: Date.now() })
    // eslint-disable-next-line no-debugger
    debugger
  }, stopDelay)
})
conn.on('error', () => {})
