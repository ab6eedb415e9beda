/**
 * Reliable delivery on loopback: the chaos run, a server restart, session
 * expiry, protocol errors, and the cost against plain mode.
 */
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createConnection, type CloseInfo, type ConnectionOptions, type LifelineError, type SessionLostEvent, type WebSocketConstructor } from '../../src/index.node.js'
import { encodeWelcome } from '../../src/reliable/protocol.js'
import { createHeartbeatServer, nameFromQuery, type HeartbeatServer, type SessionLostEvent as ServerSessionLost } from '../../src/server/index.js'
import { runChaos } from '../helpers/chaos.js'
import { onHello, startRawServer, welcoming, type RawServer } from '../helpers/raw-server.js'
import { echo, startProxy, startServer, until } from '../helpers/servers.js'

const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const task of cleanup.splice(0).reverse()) await task()
})

async function reliableServer(options: { port?: number; sessionTtl?: number } = {}): Promise<{ server: HeartbeatServer; port: number }> {
  const server = createHeartbeatServer({ port: options.port ?? 0, delivery: 'reliable', identify: nameFromQuery, sessionTtl: options.sessionTtl ?? 60_000, heartbeat: { interval: 100, timeout: 400 } })
  cleanup.push(() => server.close())
  const { port } = await server.listening
  return { server, port }
}

const quick = { heartbeat: { interval: 50, timeout: 100 }, reconnect: { initialDelay: 5, maxDelay: 20 } }

describe('reliable delivery', () => {
  it('delivers every message exactly once, in order, both ways, through 200 disruptions', async () => {
    const result = await runChaos({ disruptions: 200, seed: 1 })
    console.log(
      `chaos: ${result.survived} disruptions survived (${Object.entries(result.disruptions).map(([k, v]) => `${k} ${v}`).join(', ')}), ` +
        `${result.clientSent} client→server and ${result.serverSent} server→client messages, ` +
        `${result.duplicates} duplicates, ${result.missing} missing, ${result.reconnects} reconnects, ${result.seconds.toFixed(1)} s`,
    )
    expect(result.survived).toBe(200)
    expect(result.exactlyOnceInOrder).toBe(true)
    expect(result.duplicates + result.missing).toBe(0)
  }, 90_000)

  it('delivers every message exactly once, in order, both ways, through 60 disruptions in quick succession with sessions in a slow store', async () => {
    // Most disruptions land while a hello waits on the store: what the server sent meanwhile must reach the next connection.
    const result = await runChaos({ disruptions: 60, seed: 2, slowStore: { load: 50, save: 100 }, kinds: ['reset', 'server-close', 'reconnect', 'offline'], rapid: 120 })
    console.log(`chaos with a slow store: ${result.survived} disruptions survived, ${result.clientSent} + ${result.serverSent} messages, ${result.reconnects} reconnects, ${result.seconds.toFixed(1)} s`)
    expect(result.survived).toBe(60)
    expect(result.duplicates + result.missing).toBe(0)
    expect(result.exactlyOnceInOrder).toBe(true)
  }, 90_000)

  it('reports session-lost, with the unsure messages, when the server restarted and lost its sessions', async () => {
    const first = await reliableServer()
    const port = first.port
    const proxy = await startProxy(port)
    cleanup.push(() => proxy.close())
    const conn = createConnection({ url: `ws://127.0.0.1:${proxy.port}/?name=r`, delivery: 'reliable', ...quick })
    cleanup.push(() => conn.dispose())
    const lost: SessionLostEvent[] = []
    conn.on('session-lost', (event) => lost.push(event))
    const atFirst: string[] = []
    first.server.on('message', ({ data }) => atFirst.push(String(data)))
    await until(() => conn.state === 'open')
    for (let i = 0; i < 10; i++) conn.send(`before ${i}`)
    await until(() => conn.buffered === 0, 2_000, 'acknowledgements')
    proxy.blackHole()
    for (let i = 0; i < 5; i++) conn.send(`in the hole ${i}`)
    await first.server.close() // the process's memory is gone
    const second = await reliableServer({ port })
    const atSecond: string[] = []
    second.server.on('message', ({ data }) => atSecond.push(String(data)))
    proxy.reset()
    proxy.restore()
    await until(() => lost.length === 1, 5_000, 'session-lost')
    expect(lost[0]!.lost).toBe(5)
    expect(lost[0]!.messages).toEqual(['in the hole 0', 'in the hole 1', 'in the hole 2', 'in the hole 3', 'in the hole 4'])
    expect(atFirst).toEqual(Array.from({ length: 10 }, (_, i) => `before ${i}`))
    conn.send('after')
    await until(() => atSecond.includes('after') && conn.buffered === 0, 2_000, 'the new session')
    expect(atSecond).toEqual(['after']) // nothing twice, nothing silently
  })

  it('keeps messages for a client that is away, and reports them when its session expires', async () => {
    const { server, port } = await reliableServer({ sessionTtl: 150 })
    const expired: ServerSessionLost[] = []
    server.on('session-lost', (event) => expired.push(event))
    const conn = createConnection({ url: `ws://127.0.0.1:${port}/?name=away`, delivery: 'reliable', ...quick })
    await until(() => conn.state === 'open')
    conn.dispose()
    await until(() => server.clients.size === 0, 2_000, 'the disconnect')
    expect(server.send('away', 'while you were out')).toBe(true) // queued in the session
    await until(() => expired.length === 1, 2_000, 'the expiry')
    expect(expired[0]).toEqual({ name: 'away', lost: 1, messages: ['while you were out'], reason: 'expired' })
    expect(server.send('away', 'too late')).toBe(false)
  })

  it('closes with 1007 or 1002 on frames outside the protocol, on both sides, without crashing', async () => {
    const { server, port } = await reliableServer()
    const serverErrors: string[] = []
    server.on('error', (error) => serverErrors.push(error.message))
    const raw = new WebSocket(`ws://127.0.0.1:${port}/?name=raw`)
    await new Promise((resolve) => raw.once('open', resolve))
    const closed = new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)))
    raw.send('this is not a frame')
    expect(await closed).toBe(1007)
    expect(serverErrors.some((m) => m.includes('broke the reliable-delivery protocol'))).toBe(true)

    // A reliable client against a plain echo server gets its hello back: a protocol error, not retried.
    const plain = await startServer(echo)
    cleanup.push(() => plain.close())
    const conn = createConnection({ url: `ws://127.0.0.1:${plain.port}/`, delivery: 'reliable', ...quick })
    cleanup.push(() => conn.dispose())
    const errors: { code?: string }[] = []
    conn.on('error', (error) => errors.push(error as { code?: string }))
    await until(() => conn.state === 'failed', 3_000, 'failed')
    expect(errors.map((e) => e.code)).toContain('LIFELINE_PROTOCOL_ERROR')
  })

  it('measures one-way throughput against plain mode (printed, not asserted)', async () => {
    const N = 20_000
    async function run(delivery: 'plain' | 'reliable'): Promise<number> {
      const server = createHeartbeatServer({ port: 0, delivery, identify: nameFromQuery })
      const { port } = await server.listening
      let received = 0
      server.on('message', () => received++)
      const conn = createConnection({ url: `ws://127.0.0.1:${port}/?name=t`, delivery, buffer: { maxMessages: N } })
      await until(() => conn.state === 'open')
      const start = performance.now()
      for (let i = 0; i < N; i++) conn.send(`message ${i}`)
      await until(() => received === N, 20_000, `${delivery} delivery`)
      const rate = N / ((performance.now() - start) / 1000)
      await until(() => conn.buffered === 0, 5_000, 'the last acknowledgements')
      conn.dispose()
      await server.close()
      return rate
    }
    const plain = await run('plain')
    const reliable = await run('reliable')
    console.log(`throughput, ${N} messages one way: plain ${plain.toFixed(0)}/s, reliable ${reliable.toFixed(0)}/s, ratio ${(reliable / plain).toFixed(2)}x`)
    expect(reliable).toBeGreaterThan(0)
  })
})

describe('reliable client against servers that misbehave', () => {
  async function raw(...args: Parameters<typeof startRawServer>): Promise<RawServer> {
    const s = await startRawServer(...args)
    cleanup.push(() => s.close())
    return s
  }

  function client(url: string, options: Partial<ConnectionOptions> = {}) {
    const conn = createConnection({ url, delivery: 'reliable', ...quick, ...options })
    cleanup.push(() => conn.dispose())
    const errors: LifelineError[] = []
    const closes: CloseInfo[] = []
    const failed: unknown[] = []
    const reconnects: unknown[] = []
    conn.on('error', (error) => errors.push(error as LifelineError))
    conn.on('close', (close) => closes.push(close))
    conn.on('failed', (event) => failed.push(event))
    conn.on('reconnect', (event) => reconnects.push(event))
    return { conn, errors, closes, failed, reconnects }
  }

  it('survives a server that answers the hello with multi-byte garbage, and closes with a fixed reason (review 2)', async () => {
    const s = await raw((socket) => onHello(socket, () => socket.send('ü'.repeat(40))))
    const { conn, errors, closes, failed } = client(s.url)
    await until(() => conn.state === 'failed', 3_000, 'failed')
    expect(errors.map((e) => e.code)).toEqual(['LIFELINE_PROTOCOL_ERROR'])
    expect(closes).toEqual([{ code: 1007, reason: 'not a reliable-delivery frame', wasClean: false }])
    expect(failed).toEqual([{ reason: 'not-retried', attempts: 1 }])
    await until(() => s.closes.length === 1, 2_000, 'the server to see the close')
    expect(s.closes).toEqual([{ code: 1007, reason: 'not a reliable-delivery frame' }])
  })

  it('reports a server that never answers the hello within connectTimeout, and retries (review 25)', async () => {
    const plain = createHeartbeatServer({ port: 0 })
    cleanup.push(() => plain.close())
    const { port } = await plain.listening
    const seen: unknown[] = []
    plain.on('message', ({ data }) => seen.push(data))
    const { conn, errors, reconnects } = client(`ws://127.0.0.1:${port}/?name=r`, { connectTimeout: 300 })
    conn.send('waiting for a welcome')
    await until(() => reconnects.length >= 1, 3_000, 'a retry')
    expect(conn.state).not.toBe('open')
    expect(errors[0]).toMatchObject({ code: 'LIFELINE_PROTOCOL_ERROR', message: expect.stringMatching(/No welcome within connectTimeout \(300 ms\).*reliable mode/) })
    expect(seen.every((frame) => String(frame).startsWith('["hello"'))).toBe(true)
    expect(conn.buffered).toBe(1)
  })

  it('learns the server\'s maxPayload from the welcome: a poison message is reported once, never resent into 1009 (review 10)', async () => {
    const received: (string | Uint8Array)[] = []
    const s = await raw(welcoming(received, 1_024), { maxPayload: 1_024 })
    const { conn, errors, reconnects } = client(s.url)
    const poison = '"'.repeat(600) // 600 bytes as text, over 1,200 as a frame
    conn.send(poison)
    conn.send('small message after it')
    await until(() => received.length === 1, 3_000, 'delivery')
    expect(received).toEqual(['small message after it'])
    expect(errors).toEqual([expect.objectContaining({ code: 'LIFELINE_MESSAGE_TOO_LARGE', messages: [poison] })])
    expect(() => conn.send(poison)).toThrow(expect.objectContaining({ code: 'LIFELINE_MESSAGE_TOO_LARGE' }))
    await new Promise((r) => setTimeout(r, 200))
    expect(s.closes).toEqual([])
    expect(reconnects).toEqual([])
  })

  it("announces ws's 100 MiB limit in the hello when it created the ws socket itself, and none for a given WebSocket", async () => {
    const hellos: (number | undefined)[] = []
    const s = await raw((socket) => onHello(socket, (hello) => hellos.push(hello.maxPayload)))
    client(s.url)
    await until(() => hellos.length === 1, 2_000, 'the first hello')
    client(s.url, { WebSocket: class extends WebSocket {} as unknown as WebSocketConstructor })
    await until(() => hellos.length === 2, 2_000, 'the second hello')
    expect(hellos).toEqual([104_857_600, undefined])
  })

  it('reports unacknowledged and never-sent messages apart at dispose() (review 22)', async () => {
    const got: string[] = []
    const s = await raw((socket) => onHello(socket, (hello) => {
      socket.send(encodeWelcome(hello.session, false, 0))
      socket.on('message', (data) => got.push(data.toString())) // never acknowledges
    }))
    const { conn, errors } = client(s.url)
    await until(() => conn.state === 'open', 2_000, 'open')
    conn.send('order #1')
    await until(() => got.some((f) => f.includes('order #1')), 2_000, 'the server to receive it')
    conn.dispose()
    expect(errors).toEqual([
      expect.objectContaining({ code: 'LIFELINE_UNACKNOWLEDGED_DISCARDED', messages: ['order #1'], message: expect.stringMatching(/may or may not have arrived/) }),
    ])
  })
})
