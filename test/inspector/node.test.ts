/**
 * inspector() from lifeline-ws/inspector/node, in child processes (a real
 * app: a heartbeat server and lifeline connections on 127.0.0.1): every
 * connection given it reaches the relay; without a relay the app runs as
 * before, is warned once, and still exits by itself.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { inspector } from '../../src/inspector/node.js'
import { PAGE_PATH, type RelayMessage } from '../../src/inspector/protocol.js'
import { startRelay, type Relay } from '../../src/inspector/relay.js'
import { closedPort, until } from '../helpers/servers.js'

const root = new URL('../..', import.meta.url)

// The app: two connections to its own heartbeat server, both inspected; the first closes after its first proof, then both are disposed.
const app = (relayPort: number) => `
import { createHeartbeatServer } from './src/server/index.ts'
import { createConnection } from './src/index.node.ts'
import { inspector } from './src/inspector/node.ts'
const server = createHeartbeatServer({ port: 0, path: '/live' })
const { port } = await server.listening
const inspect = inspector({ port: ${relayPort}, name: 'test-app' })
const url = (name) => 'ws://127.0.0.1:' + port + '/live?name=' + name
const a = createConnection({ url: url('a'), heartbeat: { interval: 100, timeout: 500 }, inspect })
const b = createConnection({ url: url('b'), heartbeat: { interval: 150, timeout: 500 }, inspect })
a.on('heartbeat', (beat) => { if (beat.type === 'proof') a.close() })
a.on('state', ({ state }) => { if (state === 'idle') setTimeout(() => { a.dispose(); b.dispose(); void server.close() }, 600) })
`

function run(script: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += String(chunk)))
  child.stderr.on('data', (chunk) => (stderr += String(chunk)))
  return once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, stdout, stderr }))
}

describe('inspector() in a Node process', () => {
  let relay: Relay | undefined

  afterEach(async () => {
    await relay?.close()
    relay = undefined
  })

  it('streams every connection given it to the relay, their steps as they go, and their end', async () => {
    relay = await startRelay({ port: 0 })
    const received: RelayMessage[] = []
    const page = new WebSocket(`ws://127.0.0.1:${relay.port}${PAGE_PATH}`, { headers: { origin: `http://127.0.0.1:${relay.port}` } })
    page.on('message', (data) => received.push(JSON.parse(String(data)) as RelayMessage))
    await once(page, 'open')
    const exited = await run(app(relay.port))
    expect(exited, exited.stderr).toMatchObject({ code: 0, signal: null })
    await until(() => received.filter((m) => m.type === 'lifeline.status').length === 2, 3_000, 'both connections stopped')
    const actors = received.filter((m) => m.type === 'lifeline.actor')
    expect(actors.map((m) => m.name)).toEqual([expect.stringMatching(/^test-app · pid \d+ · connection 1$/), expect.stringMatching(/connection 2$/)])
    // Steps before the link to the relay opened come with the connection's announcement; later ones one by one.
    const values = (id: string) => received.filter((m) => m.id === id).flatMap((m) => m.type === 'lifeline.actor' ? m.trace.steps : m.type === 'lifeline.step' ? [m.step] : []).map((s) => JSON.stringify(s.value))
    expect(values(actors[0]!.id)).toEqual(expect.arrayContaining(['"connecting"', '{"open":"waiting"}', '{"open":"ackPending"}', '"closing"', '"idle"']))
    expect(values(actors[1]!.id)).toEqual(expect.arrayContaining(['"connecting"', '{"open":"waiting"}']))
    expect(received.filter((m) => m.type === 'lifeline.status').map((m) => (m.type === 'lifeline.status' ? m.status : ''))).toEqual(['stopped', 'stopped'])
    page.terminate()
  })

  it('leaves an app without a relay working, warns once, and lets it exit by itself', async () => {
    const port = await closedPort()
    const exited = await run(app(port))
    expect(exited).toMatchObject({ code: 0, signal: null })
    expect(exited.stderr.match(/cannot reach the relay/g)).toHaveLength(1)
  })

  it('never holds the process open while its link waits for a relay that accepts and does not answer (suspended, or a black hole)', async () => {
    const held: Socket[] = []
    const hole = createServer((socket) => void held.push(socket))
    hole.listen(0, '127.0.0.1')
    await once(hole, 'listening')
    try {
      const port = (hole.address() as { port: number }).port
      const closed = await closedPort()
      // The only connection ends at once; the relay link is then still waiting for its upgrade's answer.
      const exited = await run(`
import { createConnection } from './src/index.node.ts'
import { inspector } from './src/inspector/node.ts'
const conn = createConnection({ url: 'ws://127.0.0.1:${closed}/', inspect: inspector({ port: ${port}, onError: () => {} }), reconnect: false })
conn.on('error', () => {})
await new Promise((resolve) => setTimeout(resolve, 300))
conn.dispose()
console.log(JSON.stringify(process.getActiveResourcesInfo()))
`)
      expect(exited, exited.stderr).toMatchObject({ code: 0, signal: null })
      expect(held.length).toBeGreaterThanOrEqual(1) // the link reached the hole
      expect(JSON.parse(exited.stdout.trim().split('\n').at(-1)!)).not.toContain('TCPSocketWrap')
    } finally {
      for (const socket of held) socket.destroy()
      hole.close()
    }
  })

  it('refuses a bad port, url or onError, naming the option', () => {
    for (const options of [{ port: 0 }, { port: 70_000 }, { port: 1.5 }, { url: 'http://127.0.0.1:1' }, { url: 42 }, { onError: 'log' }]) {
      expect(() => inspector(options as never), JSON.stringify(options)).toThrow(expect.objectContaining({ code: 'LIFELINE_INVALID_OPTION' }))
    }
  })
})
