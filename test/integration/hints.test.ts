/**
 * The server steering its clients, on loopback: lifeline clients against
 * lifeline-ws/server with real sockets and real timers. A restart spreads
 * the herd over its window, a full server sends clients away for a while,
 * an application sends one away for good, and refused credentials are asked
 * for anew once, whichever way the refusal travels.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createConnection, createManualEnvironment, createManualNetwork, type ConnectionEventMap, type ConnectionOptions, type RetryContext, type UrlContext } from '../../src/index.node.js'
import { createHeartbeatServer, parseCloseHint, type HeartbeatServer, type HeartbeatServerOptions } from '../../src/server/index.js'
import { until } from '../helpers/servers.js'

const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const task of cleanup.splice(0).reverse()) await task()
})

async function serve(options: Partial<HeartbeatServerOptions> = {}, port = 0): Promise<{ server: HeartbeatServer; port: number }> {
  const server = createHeartbeatServer({ port, ...options })
  cleanup.push(() => server.close())
  return { server, port: (await server.listening).port }
}

function connect(options: ConnectionOptions) {
  const conn = createConnection(options)
  cleanup.push(() => conn.dispose())
  const events: { type: keyof ConnectionEventMap; at: number; event: unknown }[] = []
  for (const type of ['state', 'open', 'close', 'error', 'heartbeat', 'reconnect', 'failed'] as const) {
    conn.on(type, (event) => events.push({ type, at: performance.now(), event }))
  }
  const of = <K extends keyof ConnectionEventMap>(type: K) => events.filter((e) => e.type === type).map((e) => e.event as ConnectionEventMap[K])
  return { conn, events, of }
}

const heartbeat = { interval: 200, timeout: 200 }

describe('a restart with close({ reconnect: { within } })', () => {
  it('spreads the clients over the window: each plans its return within it, and every one comes back', async () => {
    const WITHIN = 1_500
    const CLIENTS = 30
    const reconnect = { initialDelay: 200, maxDelay: 400 }
    const first = await serve()
    const clients = Array.from({ length: CLIENTS }, (_, i) => connect({ url: `ws://127.0.0.1:${first.port}/?name=c${i}`, heartbeat, reconnect }))
    await until(() => first.server.clients.size === CLIENTS, 5_000, 'every client open')
    const closes: { code: number; reason: string }[] = []
    for (const { conn } of clients) conn.on('close', (close) => closes.push(close))

    await first.server.close({ reconnect: { within: WITHIN } })
    const second = await serve({}, first.port)
    let arrivals = 0
    second.server.on('connection', () => arrivals++)
    // When each comes back is the client's plan (its reconnect event), not a wall-clock reading a loaded machine could bunch up.
    await until(() => arrivals === CLIENTS, WITHIN + 10_000, 'every client back')

    expect(closes).toHaveLength(CLIENTS)
    expect(new Set(closes.map((c) => c.code))).toEqual(new Set([1012]))
    expect(parseCloseHint(closes[0]!.reason)).toEqual({ within: WITHIN, message: 'restarting' })
    const planned = clients.map(({ of }) => of('reconnect')[0]!)
    expect(planned.every((r) => r.attempt === 1 && r.delay >= 0 && r.delay <= WITHIN)).toBe(true)
    // Spread: 30 uniform draws over 1.5 s put 20 in one 250 ms bin, or all within half the window, fewer than once in ten million runs.
    const bins = new Map<number, number>()
    for (const { delay } of planned) bins.set(Math.floor(delay / 250), (bins.get(Math.floor(delay / 250)) ?? 0) + 1)
    expect(Math.max(...bins.values())).toBeLessThan(20)
    const delays = planned.map((r) => r.delay)
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(WITHIN / 2)
  })
})

describe('maxClients', () => {
  it('turns the one client too many away with 1013 and retryAfter, which a lifeline client honours', async () => {
    const { server, port } = await serve({ maxClients: 1, maxClientsRetryAfter: 400 })
    const connections: string[] = []
    server.on('connection', ({ name }) => connections.push(name))
    connect({ url: `ws://127.0.0.1:${port}/?name=first`, heartbeat })
    await until(() => server.clients.size === 1, 2_000, 'the first client')
    const contexts: RetryContext[] = []
    const second = connect({ url: `ws://127.0.0.1:${port}/?name=second`, heartbeat, reconnect: { initialDelay: 50, maxDelay: 50, policy: (c) => void contexts.push(c) } })
    await until(() => second.of('reconnect').length === 1, 2_000, 'the retry')
    expect(second.of('close')[0]).toMatchObject({ code: 1013 })
    expect(contexts[0]).toMatchObject({ cause: 'close', opened: true, hint: { retryAfter: 400, unread: true, message: 'over capacity' } })
    expect(second.of('reconnect')[0]!.delay).toBeGreaterThanOrEqual(400)
    expect(second.of('reconnect')[0]!.delay).toBeLessThanOrEqual(450)
    expect(connections).toEqual(['first']) // never admitted
    expect(server.clients.size).toBe(1)
  })

  it('keeps a client woken up, or back online, away until retryAfter is over', async () => {
    const { server, port } = await serve({ maxClients: 1, maxClientsRetryAfter: 300 })
    connect({ url: `ws://127.0.0.1:${port}/?name=first`, heartbeat })
    await until(() => server.clients.size === 1, 2_000, 'the first client')
    for (const wake of ['wake-up', 'network blip'] as const) {
      const environment = createManualEnvironment(true)
      const network = createManualNetwork(true)
      const late = connect({ url: `ws://127.0.0.1:${port}/?name=${wake === 'wake-up' ? 'woken' : 'online'}`, heartbeat, environment, network, reconnect: { initialDelay: 50, maxDelay: 50 } })
      await until(() => late.of('reconnect').length === 1, 2_000, 'turned away')
      const closedAt = late.events.find((e) => e.type === 'close')!.at
      if (wake === 'wake-up') environment.wake()
      else network.set(false), network.set(true)
      expect(late.conn.state).toBe('backoff')
      await until(() => late.of('close').length === 2, 2_000, 'turned away again')
      const attemptAt = late.events.filter((e) => e.type === 'state' && (e.event as { state: string }).state === 'connecting').at(-1)!.at
      expect(attemptAt - closedAt, wake).toBeGreaterThanOrEqual(300)
      late.conn.dispose()
    }
  })

  // A server with room for one, taken by `first`; `second` is turned away unread (1013 over capacity)
  // until `first` goes. `prepare` runs before its first socket exists.
  async function turnedAway(options: Partial<ConnectionOptions>, prepare: (second: ReturnType<typeof connect>) => void) {
    const { server, port } = await serve({ maxClients: 1, maxClientsRetryAfter: 100, heartbeat: false })
    const received: string[] = []
    server.on('message', ({ name, data }) => received.push(`${name}:${String(data)}`))
    const first = connect({ url: `ws://127.0.0.1:${port}/?name=first`, heartbeat: false })
    await until(() => server.clients.size === 1, 2_000, 'the first client')
    const second = connect({ url: `ws://127.0.0.1:${port}/?name=second`, heartbeat: false, reconnect: { initialDelay: 20, maxDelay: 20 }, ...options })
    prepare(second)
    await until(() => second.of('reconnect').length === 1, 2_000, 'turned away')
    expect(second.of('close')[0]).toMatchObject({ code: 1013 })
    return { received, second, letIn: () => first.conn.dispose() }
  }

  // Sends `data` from the first open listener call only: straight into the socket the server turns away.
  const sendAtFirstOpen = (second: ReturnType<typeof connect>, data: string) => {
    let opened = false
    second.conn.on('open', () => void (!opened && (opened = true) && second.conn.send(data)))
  }

  it('sends what the client flushed into the turned-away socket once it is let in, once', async () => {
    // Buffered, then flushed into the socket the server turns away unread.
    const { received, second, letIn } = await turnedAway({}, (c) => c.conn.send('hello'))
    letIn()
    await until(() => received.length === 1, 3_000, 'the message, once let in')
    await new Promise((r) => setTimeout(r, 100))
    expect(received).toEqual(['second:hello'])
    expect(second.conn.buffered).toBe(0)
  })

  it('sends what the client sent on the turned-away socket from its open listener once it is let in, after what it flushed', async () => {
    const { received, second, letIn } = await turnedAway({}, (c) => {
      c.conn.send('buffered')
      sendAtFirstOpen(c, 'from the open listener')
    })
    letIn()
    await until(() => received.length === 2, 3_000, 'both messages, once let in')
    await new Promise((r) => setTimeout(r, 100))
    expect(received).toEqual(['second:buffered', 'second:from the open listener'])
    expect(second.of('error')).toEqual([])
  })

  it('reports what it sent on a turned-away socket with buffer: false, since it cannot send it again', async () => {
    const { second, letIn } = await turnedAway({ buffer: false }, (c) => sendAtFirstOpen(c, 'unread'))
    expect(second.of('error')).toEqual([expect.objectContaining({ code: 'LIFELINE_BUFFER_DISCARDED', messages: ['unread'] })])
    letIn()
  })

  it('lets a connection that replaces its own name in', async () => {
    const { server, port } = await serve({ maxClients: 1 })
    const first = new WebSocket(`ws://127.0.0.1:${port}/?name=same`)
    cleanup.push(() => first.terminate())
    await until(() => server.clients.size === 1, 2_000, 'the first socket')
    const { conn } = connect({ url: `ws://127.0.0.1:${port}/?name=same`, heartbeat })
    await until(() => conn.state === 'open', 2_000, 'the replacement open')
    expect(server.clients.size).toBe(1)
  })
})

describe('server options', () => {
  it('refuses a bad refusal, maxClients or maxClientsRetryAfter with a TypeError naming it', () => {
    const bad: [Partial<HeartbeatServerOptions>, RegExp][] = [
      [{ refusal: 'http' as never }, /^refusal must be 'close' or 'status', got "http"/],
      [{ maxClients: 0 }, /^maxClients must be a positive integer, got 0/],
      [{ maxClients: 1.5 }, /^maxClients must be a positive integer/],
      [{ maxClientsRetryAfter: -1 }, /^maxClientsRetryAfter must be a number of milliseconds from 0 to 3600000/],
      [{ maxClientsRetryAfter: 7_200_000 }, /^maxClientsRetryAfter must be/],
    ]
    for (const [options, message] of bad) {
      expect(() => createHeartbeatServer({ port: 0, ...options })).toThrow(expect.objectContaining({ code: 'LIFELINE_INVALID_OPTION', message: expect.stringMatching(message) }))
    }
  })
})

describe('disconnect(name, options)', () => {
  it("with reconnect: false stops a lifeline client: failed, reason 'server'", async () => {
    const { server, port } = await serve()
    const { conn, of } = connect({ url: `ws://127.0.0.1:${port}/?name=banned`, heartbeat })
    await until(() => conn.state === 'open', 2_000, 'open')
    const disconnects: unknown[] = []
    server.on('disconnect', (event) => disconnects.push({ name: event.name, code: event.code, reason: event.reason }))
    expect(server.disconnect('banned', { reconnect: false, message: 'account closed' })).toBe(true)
    await until(() => conn.state === 'failed', 2_000, 'failed')
    expect(of('failed')).toEqual([{ reason: 'server', attempts: 1 }])
    expect(of('close')[0]).toEqual({ code: 1000, reason: '{"lifeline":1,"reconnect":false,"message":"account closed"}', wasClean: true })
    expect(disconnects).toEqual([{ name: 'banned', code: 1000, reason: 'disconnected' }])
    expect(server.disconnect('banned')).toBe(false)
  })

  it('with retryAfter keeps a client away at least that long', async () => {
    const { server, port } = await serve()
    const { conn, of } = connect({ url: `ws://127.0.0.1:${port}/?name=later`, heartbeat, reconnect: { initialDelay: 50, maxDelay: 50 } })
    await until(() => conn.state === 'open', 2_000, 'open')
    const at = performance.now()
    server.disconnect('later', { retryAfter: 300 })
    await until(() => server.clients.size === 1 && conn.state === 'open' && of('open').length === 2, 3_000, 'back')
    expect(of('close')[0]).toMatchObject({ code: 1013 })
    expect(performance.now() - at).toBeGreaterThanOrEqual(300)
  })

  it('with retryAfter after the server read the messages flushed at the open, gets each of them once', async () => {
    const { server, port } = await serve({ heartbeat: false })
    const received: string[] = []
    server.on('message', ({ name, data }) => {
      received.push(String(data))
      if (received.length === 3) server.disconnect(name, { retryAfter: 50, message: 'slow down' }) // a rate limiter
    })
    const { conn, of } = connect({ url: `ws://127.0.0.1:${port}/?name=chatty`, heartbeat: false, reconnect: { initialDelay: 20, maxDelay: 20 } })
    for (const message of ['m1', 'm2', 'm3']) conn.send(message) // buffered, flushed at the open
    await until(() => of('open').length === 2, 3_000, 'back after the disconnect')
    await new Promise((r) => setTimeout(r, 100))
    expect(of('close')[0]).toMatchObject({ code: 1013 })
    expect(received).toEqual(['m1', 'm2', 'm3'])
    expect(conn.buffered).toBe(0)
  })

  it('refuses bad options with a TypeError naming them, and never anything else', async () => {
    const { server } = await serve()
    fc.assert(fc.property(fc.anything(), (options) => {
      try {
        server.disconnect('nobody', options as never)
      } catch (error) {
        expect(error).toBeInstanceOf(TypeError)
        expect((error as { code?: string }).code).toBe('LIFELINE_INVALID_ARGUMENT')
      }
    }), { seed: 0xd15c0, numRuns: 300 })
    for (const options of [{ retryAfter: -1 }, { retryAfter: 4e6 }, { reconnect: 'no' }, { message: 5 }, { wait: 1 }, 'soon']) {
      expect(() => server.disconnect('x', options as never)).toThrow(expect.objectContaining({ code: 'LIFELINE_INVALID_ARGUMENT' }))
    }
    for (const options of [{ reconnect: {} }, { reconnect: { within: 0 } }, { reconnect: { within: NaN } }, { restart: true }]) {
      expect(() => server.close(options as never)).toThrow(expect.objectContaining({ code: 'LIFELINE_INVALID_ARGUMENT' }))
    }
  })
})

describe('reconnect.policy against a real server', () => {
  it('sees the close code and sets the delay, or stops', async () => {
    const { server, port } = await serve()
    const seen: number[] = []
    const { conn, of } = connect({
      url: `ws://127.0.0.1:${port}/?name=p`,
      heartbeat,
      reconnect: { policy: ({ close }) => (seen.push(close?.code ?? 0), close?.code === 1001 ? false : 30) },
    })
    await until(() => conn.state === 'open', 2_000, 'open')
    server.disconnect('p')
    await until(() => of('open').length === 2, 2_000, 'back after the policy delay')
    expect(of('reconnect')).toEqual([{ attempt: 1, delay: 30 }])
    await until(() => of('heartbeat').some((h) => h.type === 'proof'), 2_000, 'healthy again')
    await server.close()
    await until(() => conn.state === 'failed', 2_000, 'stopped')
    expect(seen).toEqual([1000, 1001])
    expect(of('failed')).toEqual([{ reason: 'policy', attempts: 1 }])
  })
})

describe('refused credentials', () => {
  // Tokens are good once they are fresh: the first url() call hands out a stale one.
  function tokens() {
    const asked: UrlContext[] = []
    return {
      asked,
      url: (port: number, fresh: (context: UrlContext) => boolean) => (context: UrlContext) => {
        asked.push(context)
        return `ws://127.0.0.1:${port}/?name=u&token=${fresh(context) ? 'fresh' : 'stale'}`
      },
    }
  }
  const identify = (_request: unknown, url: URL) => (url.searchParams.get('token') === 'fresh' ? 'u' : null)

  for (const refusal of ['close', 'status'] as const) {
    it(`refreshes once and connects (refusal: '${refusal}')`, async () => {
      const { port } = await serve({ identify, refusal })
      const t = tokens()
      const { conn, of } = connect({ url: t.url(port, (c) => c.reason === 'unauthorized'), heartbeat })
      await until(() => conn.state === 'open' && t.asked.length === 2, 2_000, 'open with the fresh token')
      expect(t.asked).toEqual([{ attempt: 0, reason: 'attempt' }, { attempt: 1, reason: 'unauthorized' }])
      expect(of('close')[0]).toMatchObject({ code: 4401, reason: refusal === 'close' ? '{"lifeline":1,"unread":true,"message":"unauthorized"}' : 'HTTP 401' })
      // (The first attempt began inside createConnection, before the listener.)
      expect(of('state').map((s) => s.state)).toEqual(refusal === 'close'
        ? ['open', 'reauthorizing', 'open'] // a browser-visible refusal comes after the upgrade
        : ['reauthorizing', 'open'])
      expect(of('reconnect')).toEqual([])
    })

    it(`fails with 'unauthorized' after exactly two attempts when refused twice (refusal: '${refusal}')`, async () => {
      const { server, port } = await serve({ identify, refusal })
      const admitted: string[] = []
      server.on('connection', ({ name }) => admitted.push(name))
      const t = tokens()
      const { conn, of } = connect({ url: t.url(port, () => false), heartbeat })
      await until(() => conn.state === 'failed', 2_000, 'failed')
      expect(of('failed')).toEqual([{ reason: 'unauthorized', attempts: 2 }])
      await new Promise((r) => setTimeout(r, 300))
      expect(t.asked).toHaveLength(2)
      expect(admitted).toEqual([])
    })
  }

  it('delivers a message sent before the refused attempt once, on the socket with fresh credentials', async () => {
    const { server, port } = await serve({ identify })
    const received: string[] = []
    server.on('message', ({ data }) => received.push(String(data)))
    const t = tokens()
    const { conn } = connect({ url: t.url(port, (c) => c.reason === 'unauthorized'), heartbeat })
    conn.send('subscribe')
    await until(() => received.length === 1, 2_000, 'the message')
    await new Promise((r) => setTimeout(r, 200))
    expect(received).toEqual(['subscribe'])
  })

  it('reads any other HTTP answer to the upgrade as a failed handshake, retried with backoff (Node)', async () => {
    const http = createServer((_request, response) => response.end())
    http.on('upgrade', (_request, socket) => socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'))
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    cleanup.push(() => new Promise((resolve) => http.close(resolve)))
    const contexts: RetryContext[] = []
    const { conn, of } = connect({ url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/`, reconnect: { initialDelay: 20, maxDelay: 20, policy: (c) => void contexts.push(c) } })
    await until(() => contexts.length >= 2, 5_000, 'two retries planned')
    conn.close()
    expect(contexts[0]).toMatchObject({ cause: 'error', opened: false, close: { code: 1006, reason: 'HTTP 503', wasClean: false } })
    expect(of('error')[0]).toMatchObject({ code: 'LIFELINE_SOCKET_ERROR', message: 'The server refused the upgrade: HTTP 503' })
    expect(of('state').map((s) => s.state)).not.toContain('reauthorizing')
  })

  it('sends 4403 for a verify refusal, after the upgrade, to any WebSocket client', async () => {
    const { server, port } = await serve({ verify: () => false })
    const admitted: string[] = []
    server.on('connection', ({ name }) => admitted.push(name))
    const socket = new WebSocket(`ws://127.0.0.1:${port}/?name=x`)
    cleanup.push(() => socket.terminate())
    const close = await new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })))
    expect(close).toEqual({ code: 4403, reason: '{"lifeline":1,"unread":true,"message":"forbidden"}' })
    expect(admitted).toEqual([])
  })

  it('refreshes a reliable client, which stays connecting until the welcome', async () => {
    const { port } = await serve({ identify, delivery: 'reliable' })
    const t = tokens()
    const { conn, of } = connect({ url: t.url(port, (c) => c.reason === 'unauthorized'), heartbeat, delivery: 'reliable' })
    await until(() => conn.state === 'open', 2_000, 'open')
    expect(of('state').map((s) => s.state)).toEqual(['reauthorizing', 'open']) // no open before the welcome
    expect(of('open')).toHaveLength(1)
  })
})
