/**
 * The relay of `npx lifeline-ws inspect`, in this process, with real
 * sockets on 127.0.0.1: it serves the page and the package's modules and
 * nothing else, relays what apps send to its own page only, keeps recent
 * steps for late pages, and shrugs off apps that send garbage.
 */
import { once } from 'node:events'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { APP_PATH, PAGE_PATH, type ActorMessage, type RelayMessage } from '../../src/inspector/protocol.js'
import { startRelay, type Relay } from '../../src/inspector/relay.js'
import type { TraceStep } from '../../src/inspector/trace.js'
import { until } from '../helpers/servers.js'

const step = (at: number, value = 'connecting'): TraceStep => ({ at, event: { type: 'open' }, transitions: [], actions: [], value, context: {} })
const actor = (id: string, steps: TraceStep[] = []): ActorMessage => ({
  type: 'lifeline.actor',
  id,
  name: `app · ${id}`,
  now: 0,
  trace: { format: 'lifeline-trace', version: 1, machine: 'connection', startedAt: Date.now(), initial: { value: 'idle', context: {}, timers: [] }, steps, dropped: 0 },
})

describe('inspector relay', () => {
  let relay: Relay
  const sockets: WebSocket[] = []
  const origin = () => `http://127.0.0.1:${relay.port}`

  const connect = async (path: string, headers: Record<string, string> = {}, onMessage?: (data: WebSocket.RawData) => void): Promise<WebSocket> => {
    const socket = new WebSocket(`ws://127.0.0.1:${relay.port}${path}`, { headers })
    sockets.push(socket)
    if (onMessage) socket.on('message', onMessage) // before open: the relay greets at once
    await once(socket, 'open')
    return socket
  }
  const refused = async (path: string, headers: Record<string, string>): Promise<number> => {
    const socket = new WebSocket(`ws://127.0.0.1:${relay.port}${path}`, { headers })
    socket.on('error', () => {})
    const status = await new Promise<number>((resolve) => socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0)
      response.resume()
    }))
    return status
  }
  const page = async () => {
    const received: RelayMessage[] = []
    const socket = await connect(PAGE_PATH, { origin: origin() }, (data) => received.push(JSON.parse(String(data)) as RelayMessage))
    return { socket, received }
  }

  beforeEach(async () => {
    relay = await startRelay({ port: 0 })
  })

  afterEach(async () => {
    for (const socket of sockets.splice(0)) {
      socket.on('error', () => {}) // refused ones never opened
      if (socket.readyState !== WebSocket.CONNECTING) socket.terminate()
    }
    await relay.close()
  })

  it('serves the page and the modules it imports, and nothing else', async () => {
    const get = async (path: string) => {
      const response = await fetch(`${relay.url.replace(/\/$/, '')}${path}`)
      return { status: response.status, type: response.headers.get('content-type'), text: await response.text() }
    }
    const home = await get('/')
    expect(home.status).toBe(200)
    expect(home.text).toContain('/src/inspector/page.js')
    const module = await get('/src/inspector/page.js')
    expect(module).toMatchObject({ status: 200, type: 'text/javascript; charset=utf-8' })
    expect(module.text).toContain('followRelay')
    expect(module.text).not.toMatch(/from ['"](xstate|ws|esbuild)['"]/) // no bare specifier: the page has no import map
    for (const path of ['/package.json', '/src/../package.json', '/src/%2e%2e/package.json', '/etc/passwd', '/src/inspector/missing.js', '/test/inspector/relay.test.js', '/src/inspector/page.ts']) {
      expect((await get(path)).status, path).toBe(404)
    }
    expect((await fetch(relay.url, { method: 'POST' })).status).toBe(405)
  })

  it('relays an app\'s connections to its page, live, and their recent steps to a page that opens later', async () => {
    const early = await page()
    const app = await connect(APP_PATH)
    app.send(JSON.stringify(actor('1:a', [step(1)])))
    app.send(JSON.stringify({ type: 'lifeline.step', id: '1:a', step: step(2, 'open') }))
    await until(() => early.received.length === 2, 3_000, 'two messages on the page')
    expect(early.received.map((m) => m.type)).toEqual(['lifeline.actor', 'lifeline.step'])
    const late = await page()
    await until(() => late.received.length === 1, 3_000, 'the history on a late page')
    expect((late.received[0] as ActorMessage).trace.steps.map((s) => s.value)).toEqual(['connecting', 'open'])
    app.close()
    await until(() => late.received.some((m) => m.type === 'lifeline.status' && m.status === 'disconnected'), 3_000, 'disconnected')
  })

  it('keeps a bounded number of steps per connection', async () => {
    const watcher = await page()
    const app = await connect(APP_PATH)
    app.send(JSON.stringify(actor('1:a')))
    for (let i = 0; i < 700; i++) app.send(JSON.stringify({ type: 'lifeline.step', id: '1:a', step: step(i) }))
    app.send(JSON.stringify({ type: 'lifeline.status', id: '1:a', status: 'stopped' }))
    await until(() => watcher.received.some((m) => m.type === 'lifeline.status'), 5_000, 'all of it relayed')
    const late = await page()
    await until(() => late.received.length === 2, 3_000, 'history')
    const trace = (late.received[0] as ActorMessage).trace
    expect(trace.steps.length).toBe(500)
    expect(trace.steps.length + trace.dropped).toBe(700)
    expect(trace.steps.at(-1)!.at).toBe(699)
  })

  it('keeps a bounded number of bytes per connection, and refuses a step larger than any real one', async () => {
    const watcher = await page()
    const app = await connect(APP_PATH)
    const heavy = (at: number, size: number): TraceStep => ({ ...step(at), context: { padding: 'x'.repeat(size) } })
    app.send(JSON.stringify(actor('1:a', [heavy(0, 50_000), heavy(1, 50_000)])))
    for (let i = 2; i < 60; i++) app.send(JSON.stringify({ type: 'lifeline.step', id: '1:a', step: heavy(i, 50_000) }))
    app.send(JSON.stringify({ type: 'lifeline.step', id: '1:a', step: heavy(60, 70_000) }))
    app.send(JSON.stringify({ type: 'lifeline.status', id: '1:a', status: 'stopped' }))
    await until(() => watcher.received.some((m) => m.type === 'lifeline.status'), 5_000, 'all of it relayed')
    const late = await page()
    await until(() => late.received.length === 2, 3_000, 'history')
    const trace = (late.received[0] as ActorMessage).trace
    expect(JSON.stringify(trace.steps).length).toBeLessThanOrEqual(1024 * 1024)
    expect(trace.steps.length).toBeGreaterThan(10)
    expect(trace.steps.at(-1)!.at).toBe(59) // the 70 kB step was refused
  })

  it('accepts its own page only: another origin, a rebound host name or no origin is refused', async () => {
    expect(await refused(PAGE_PATH, { origin: 'https://evil.example' })).toBe(403)
    expect(await refused(PAGE_PATH, {})).toBe(403)
    expect(await refused(PAGE_PATH, { host: `evil.example:${relay.port}`, origin: `http://evil.example:${relay.port}` })).toBe(403)
    await connect(PAGE_PATH, { origin: `http://localhost:${relay.port}`, host: `localhost:${relay.port}` })
  })

  it('refuses browsers on the app path, and any other path', async () => {
    expect(await refused(APP_PATH, { origin: origin() })).toBe(403)
    expect(await refused('/elsewhere', {})).toBe(404)
  })

  it('drops invalid messages and steps of connections an app never announced, and closes an app that keeps sending garbage', async () => {
    const watcher = await page()
    const honest = await connect(APP_PATH)
    honest.send(JSON.stringify(actor('1:a')))
    const rogue = await connect(APP_PATH)
    rogue.send(JSON.stringify({ type: 'lifeline.step', id: '1:a', step: step(5, 'failed') })) // not its connection
    rogue.send(Buffer.from([1, 2, 3]))
    for (const junk of ['not json', '[]', '{"type":"lifeline.actor","id":""}', JSON.stringify({ ...actor('2:b'), trace: { format: 'nope' } })]) rogue.send(junk)
    await until(() => watcher.received.length >= 1, 3_000, 'the honest actor')
    const closed = once(rogue, 'close')
    for (let i = 0; i < 60; i++) rogue.send('garbage')
    const [code] = await closed
    expect(code).toBe(1008)
    honest.send(JSON.stringify({ type: 'lifeline.step', id: '1:a', step: step(6, 'open') }))
    await until(() => watcher.received.length >= 2, 3_000, 'the honest step')
    expect(watcher.received.map((m) => (m.type === 'lifeline.step' ? m.step.value : m.type))).toEqual(['lifeline.actor', 'open'])
  })
})
