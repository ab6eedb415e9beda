/**
 * The `inspect` option with @statelyai/inspect: its WebSocket inspector sends
 * the actor's definition, events and snapshots to a relay on 127.0.0.1.
 * It runs in a child process because the inspector keeps a reconnect loop
 * that its stop() does not end; the child's exit does.
 */
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'

const script = `
import { WebSocketServer } from 'ws'
import { createWebSocketInspector } from '@statelyai/inspect'
import { createConnection } from './src/index.node.ts'

const listen = (wss) => new Promise((resolve) => wss.once('listening', () => resolve(wss.address().port)))
const relay = new WebSocketServer({ host: '127.0.0.1', port: 0 })
const app = new WebSocketServer({ host: '127.0.0.1', port: 0 })
const [relayPort, appPort] = await Promise.all([listen(relay), listen(app)])
app.on('connection', (s) => s.on('message', (d) => s.send(String(d) === 'ping' ? 'pong' : String(d))))
const seen = []
relay.on('connection', (s) => s.on('message', (d) => seen.push(JSON.parse(String(d)))))

const inspector = createWebSocketInspector({ url: 'ws://127.0.0.1:' + relayPort })
const conn = createConnection({ url: 'ws://127.0.0.1:' + appPort, heartbeat: { interval: 50, timeout: 200 }, inspect: inspector.inspect })
const deadline = Date.now() + 8000
const has = (value) => seen.some((m) => m.type === '@xstate.snapshot' && JSON.stringify(m.snapshot?.value) === JSON.stringify(value))
const proved = () => seen.some((m) => m.type === '@xstate.event' && m.event.type === 'heartbeat.proof')
while (!(has({ open: 'ackPending' }) && proved()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
const actor = seen.find((m) => m.type === '@xstate.actor')
console.log(JSON.stringify({
  definitionId: actor && JSON.parse(actor.definition).id,
  events: [...new Set(seen.filter((m) => m.type === '@xstate.event').map((m) => m.event.type))],
  ackPending: has({ open: 'ackPending' }),
  waiting: has({ open: 'waiting' }),
}))
conn.dispose()
process.exit(0)
`

describe('inspect option', () => {
  it('streams the connection actor to @statelyai/inspect', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: new URL('..', import.meta.url),
      encoding: 'utf8',
      timeout: 20_000,
    })
    const result = JSON.parse(out.trim().split('\n').at(-1)!)
    expect(result.definitionId).toBe('connection')
    expect(result.events).toEqual(expect.arrayContaining(['open', 'socket.open', 'heartbeat.proof']))
    expect(result.ackPending).toBe(true)
    expect(result.waiting).toBe(true)
  })
})
