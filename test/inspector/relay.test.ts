/**
 * The relay of `npx lifeline-ws inspect`, in this process, with real
 * sockets on 127.0.0.1: it serves the page and the package's modules and
 * nothing else, relays what apps send to its own page only, keeps recent
 * steps for late pages, and shrugs off apps that send garbage.
 */
import { once } from 'node:events'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import WebSocket from 'ws'
import { APP_PATH, PAGE_PATH, type ActorMessage, type RelayMessage } from '../../src/inspector/protocol.js'
import { isOwnHost, startRelay, type Relay } from '../../src/inspector/relay.js'
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

  const logged: string[] = []
  beforeEach(async () => {
    logged.length = 0
    relay = await startRelay({ port: 0, log: (line) => logged.push(line) })
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
    // Strings of a thousand characters, as many as make `size` bytes (no field holds more than 1024).
    const heavy = (at: number, size: number): TraceStep => ({ ...step(at), context: { padding: new Array(Math.ceil(size / 1_000)).fill('x'.repeat(1_000)) } })
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

  it('answers 400 to a request target no URL parser accepts, on a request and an upgrade, and stays up', async () => {
    const { connect: dial } = await import('node:net')
    for (const request of ['GET http://[ HTTP/1.1\r\nHost: x\r\n\r\n', 'GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n']) {
      const socket = dial(relay.port, '127.0.0.1')
      socket.end(request)
      let answer = ''
      socket.on('data', (chunk) => (answer += String(chunk)))
      await once(socket, 'close')
      expect(answer).toMatch(/^HTTP\/1\.1 400 /)
    }
    expect((await fetch(relay.url)).status).toBe(200)
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

  const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`
  // Each field of an announcement or a step an app fills with JSON of its own, holding `value` (JSON text).
  const hostileMessages = (value: string): string[] => {
    const trace = (steps: string, initial = '{"value":"idle","context":{},"timers":[]}') => `{"format":"lifeline-trace","version":1,"machine":"connection","startedAt":1,"initial":${initial},"steps":[${steps}],"dropped":0}`
    const stepWith = (field: string) => JSON.stringify({ ...step(1), [field]: '<value>' }).replace('"<value>"', field === 'event' ? `{"type":"x","p":${value}}` : field === 'context' ? `{"p":${value}}` : field === 'value' ? `{"open":${value}}` : `[{"type":"x","params":${value}}]`)
    return [
      ...['context', 'event', 'value', 'actions'].flatMap((field) => [
        `{"type":"lifeline.actor","id":"evil","name":"evil","now":0,"trace":${trace(stepWith(field))}}`,
        `{"type":"lifeline.step","id":"evil","step":${stepWith(field)}}`,
      ]),
      `{"type":"lifeline.actor","id":"evil","name":"evil","now":0,"trace":${trace('', `{"value":"idle","context":{"p":${value}},"timers":[]}`)}}`,
    ]
  }

  it('stays up when an app sends JSON nested 20,000 deep in any field, refuses it, and still relays honest apps', async () => {
    const watcher = await page()
    const evil = await connect(APP_PATH)
    evil.send(JSON.stringify(actor('evil')))
    for (const message of hostileMessages(deep(20_000))) evil.send(message)
    const honest = await connect(APP_PATH)
    honest.send(JSON.stringify(actor('1:a', [step(1)])))
    await until(() => watcher.received.some((m) => m.id === '1:a'), 3_000, 'the honest actor')
    expect(watcher.received.map((m) => [m.type, m.id])).toEqual([['lifeline.actor', 'evil'], ['lifeline.actor', '1:a']])
    expect(logged).toEqual([expect.stringMatching(/^app 1: dropped an invalid message: Not a lifeline trace: steps\[0\]\.context\.p.* must be JSON at most 32 deep/)])
  })

  it('survives hostile messages of every shape from an app, and answers the next page (fast-check, seeded)', async () => {
    const value = fc.oneof(
      fc.integer({ min: 1, max: 5_000 }).map(deep),
      fc.integer({ min: 1, max: 5_000 }).map((n) => `${'{"k":'.repeat(n)}1${'}'.repeat(n)}`),
      fc.integer({ min: 1_000, max: 100_000 }).map((n) => JSON.stringify('x'.repeat(n))),
      fc.integer({ min: 257, max: 5_000 }).map((n) => JSON.stringify(new Array(n).fill(0))),
      fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
    )
    await fc.assert(fc.asyncProperty(value, async (v) => {
      const app = await connect(APP_PATH)
      app.send(JSON.stringify(actor('evil')))
      for (const message of hostileMessages(v)) app.send(message)
      app.close()
      await once(app, 'close')
    }), { seed: 0x5e1a, numRuns: 40, interruptAfterTimeLimit: 8_000, markInterruptAsFailure: false })
    const late = await page()
    const app = await connect(APP_PATH)
    app.send(JSON.stringify(actor('after')))
    await until(() => late.received.some((m) => m.id === 'after'), 3_000, 'the relay still relaying')
  })

  it('reports an app whose message it could not handle, drops that app, and keeps serving the others', async () => {
    const watcher = await page()
    const honest = await connect(APP_PATH)
    const broken = await connect(APP_PATH)
    const stringify = JSON.stringify
    let thrown = false
    // Once, as a bug in the relay would: the message is valid, handling it fails.
    const spy = vi.spyOn(JSON, 'stringify').mockImplementation((...args: Parameters<typeof JSON.stringify>) => {
      if (!thrown && (args[0] as { id?: unknown } | undefined)?.id === 'unlucky') {
        thrown = true
        throw new RangeError('Maximum call stack size exceeded')
      }
      return stringify(...args)
    })
    try {
      const closed = once(broken, 'close')
      broken.send(stringify(actor('unlucky')))
      const [code] = await closed
      expect(code).toBe(1011)
    } finally {
      spy.mockRestore()
    }
    expect(logged).toEqual([expect.stringMatching(/^app 2: could not handle a message \(RangeError: Maximum call stack size exceeded\); dropped the app$/)])
    honest.send(JSON.stringify(actor('1:a')))
    await until(() => watcher.received.some((m) => m.id === '1:a'), 3_000, 'the honest actor')
  })

  it("refuses an announcement of a connection another app announced and still runs; a restarted app takes it over once the first is gone", async () => {
    const watcher = await page()
    const honest = await connect(APP_PATH)
    honest.send(JSON.stringify(actor('1:a', [step(1, 'connecting')])))
    await until(() => watcher.received.length === 1, 3_000, 'the honest actor')
    const rogue = await connect(APP_PATH)
    rogue.send(JSON.stringify(actor('1:a', [step(1, 'failed')])))
    rogue.send(JSON.stringify({ type: 'lifeline.step', id: '1:a', step: step(2, 'failed') }))
    honest.send(JSON.stringify({ type: 'lifeline.step', id: '1:a', step: step(2, 'open') }))
    await until(() => watcher.received.length === 2, 3_000, 'the honest step')
    const late = await page()
    await until(() => late.received.length === 1, 3_000, 'the history')
    expect((late.received[0] as ActorMessage).trace.steps.map((s) => s.value)).toEqual(['connecting', 'open'])
    for (let i = 0; i < 10; i++) rogue.send(JSON.stringify(actor('1:a')))
    rogue.send(JSON.stringify(actor('2:own'))) // after its tries: once this is relayed, they were handled
    await until(() => watcher.received.some((m) => m.id === '2:own'), 3_000, "the rogue's own connection")
    expect(watcher.received.filter((m) => m.type === 'lifeline.actor' && m.id === '1:a')).toHaveLength(1)
    expect(logged).toEqual([expect.stringMatching(/^app 2: refused to announce "1:a", a connection app 1 announced$/)]) // once, not once a try
    honest.close()
    await until(() => watcher.received.some((m) => m.type === 'lifeline.status'), 3_000, 'disconnected')
    const restarted = await connect(APP_PATH)
    restarted.send(JSON.stringify(actor('1:a', [step(5, 'idle')])))
    await until(() => watcher.received.filter((m) => m.type === 'lifeline.actor' && m.id === '1:a').length === 2, 3_000, 'the restarted app')
    expect((watcher.received.at(-1) as ActorMessage).trace.steps.map((s) => s.value)).toEqual(['idle'])
  })

  it('accepts its own page at whatever address of the machine it was reached by (127.0.0.2, another interface)', async () => {
    await connect(PAGE_PATH, { origin: `http://127.0.0.2:${relay.port}`, host: `127.0.0.2:${relay.port}` })
    await connect(PAGE_PATH, { origin: `http://[::1]:${relay.port}`, host: `[::1]:${relay.port}` })
    expect(await refused(PAGE_PATH, { origin: `http://127.0.0.2:${relay.port}`, host: `127.0.0.3:${relay.port}` })).toBe(403)
  })
})

describe('isOwnHost: the Host headers of the relay\'s own page', () => {
  it('accepts loopback names, the configured host and any IP address, on the relay\'s port; never another name', () => {
    for (const host of ['127.0.0.1', '0.0.0.0', '::', 'relay.internal']) {
      expect(isOwnHost('127.0.0.1:9797', host, 9797), host).toBe(true)
      expect(isOwnHost('localhost:9797', host, 9797), host).toBe(true)
      expect(isOwnHost('192.0.2.2:9797', host, 9797), host).toBe(true)
      expect(isOwnHost('[fd00::2]:9797', host, 9797), host).toBe(true)
      expect(isOwnHost('192.0.2.2:9798', host, 9797), host).toBe(false)
      expect(isOwnHost('evil.example:9797', host, 9797), host).toBe(false)
      expect(isOwnHost('192.0.2.2.evil.example:9797', host, 9797), host).toBe(false)
      expect(isOwnHost('', host, 9797), host).toBe(false)
    }
    expect(isOwnHost('relay.internal:9797', 'relay.internal', 9797)).toBe(true)
    expect(isOwnHost('[::1]:9797', '::1', 9797)).toBe(true)
  })
})
