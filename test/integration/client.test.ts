/**
 * The client against real ws servers on 127.0.0.1: real sockets, real timers,
 * short intervals so the suite stays fast.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createConnection, type ConnectionEventMap, type ConnectionOptions } from '../../src/index.node.js'
import { closedPort, echo, startProxy, startServer, until, type BlackHoleProxy, type TestServer } from '../helpers/servers.js'

const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const task of cleanup.splice(0).reverse()) await task()
})

async function server(onConnection?: Parameters<typeof startServer>[0], port?: number): Promise<TestServer> {
  const s = await startServer(onConnection, port)
  cleanup.push(() => s.close())
  return s
}

function connect(options: ConnectionOptions) {
  const conn = createConnection(options)
  cleanup.push(() => conn.dispose())
  const log: { type: keyof ConnectionEventMap; at: number; event: unknown }[] = []
  for (const type of ['state', 'open', 'message', 'close', 'error', 'heartbeat', 'reconnect', 'failed'] as const) {
    conn.on(type, (event) => log.push({ type, at: performance.now(), event }))
  }
  const of = <K extends keyof ConnectionEventMap>(type: K) => log.filter((e) => e.type === type).map((e) => e.event as ConnectionEventMap[K])
  return { conn, log, of }
}

const quick = { heartbeat: { interval: 100, timeout: 100 }, reconnect: { initialDelay: 50, maxDelay: 200 } }

describe('client on loopback', () => {
  it('echoes text and binary messages', async () => {
    const s = await server(echo)
    const { conn, of } = connect({ url: `ws://127.0.0.1:${s.port}/?name=a` })
    await until(() => conn.state === 'open')
    conn.send('hello')
    conn.send(new Uint8Array([1, 2, 3]))
    await until(() => of('message').length === 2)
    expect(of('message')[0]).toBe('hello')
    expect(new Uint8Array(of('message')[1] as ArrayBuffer)).toEqual(new Uint8Array([1, 2, 3]))
  })

  it('detects a server that stops answering heartbeats after 4 (seed 000) and reconnects', async () => {
    let answered = 0
    const s = await server((socket) => {
      socket.send('hello client!')
      socket.on('message', (data) => {
        if (data.toString() === 'Heartbeat 心跳检测' && answered < 4) {
          answered++
          socket.send('Heartbeat_ack')
        }
      })
    })
    const { of } = connect({
      url: `ws://127.0.0.1:${s.port}/?name=seed000`,
      heartbeat: { interval: 50, timeout: 100, ping: 'Heartbeat 心跳检测', isPong: (d) => d === 'Heartbeat_ack', proof: 'pong' },
      reconnect: quick.reconnect,
    })
    await until(() => s.accepted === 2, 5_000, 'a second connection')
    const beats = of('heartbeat').map((h) => h.type)
    expect(beats.filter((t) => t === 'proof')).toHaveLength(4)
    expect(beats.slice(0, 10)).toEqual(['ping', 'proof', 'ping', 'proof', 'ping', 'proof', 'ping', 'proof', 'ping', 'timeout'])
    expect(of('message')).toContain('hello client!')
    expect(of('message')).not.toContain('Heartbeat_ack')
    expect(s.maxLivePerClient).toBe(1)
  })

  it('reconnects after a server restart, never holding two sockets (S6)', async () => {
    const first = await startServer(echo)
    const port = first.port
    const { conn, of } = connect({ url: `ws://127.0.0.1:${port}/?name=restart`, ...quick })
    await until(() => conn.state === 'open')
    await first.close()
    await until(() => of('reconnect').length >= 2, 5_000, 'retries while the server is down')
    const second = await server(echo, port)
    await until(() => conn.state === 'open', 5_000, 'reopen')
    expect(first.maxLivePerClient).toBe(1)
    expect(second.maxLivePerClient).toBe(1)
    expect(second.accepted).toBe(1)
  })

  it('schedules one attempt per failure, and fails after exactly maxAttempts against a closed port (S5, S7)', async () => {
    const port = await closedPort()
    const { conn, of } = connect({ url: `ws://127.0.0.1:${port}/`, reconnect: { initialDelay: 10, maxDelay: 20, maxAttempts: 5 } })
    await until(() => conn.state === 'failed', 5_000, 'failed')
    expect(of('error')).toHaveLength(5)
    expect(of('close')).toHaveLength(5)
    expect(of('reconnect').map((r) => r.attempt)).toEqual([1, 2, 3, 4])
    expect(of('failed')).toEqual([{ reason: 'max-attempts', attempts: 5 }])
  })

  it('counts attempts the same against a server that accepts and closes with 1000 at once: exactly maxAttempts sockets', async () => {
    const s = await server((socket) => socket.close(1000, 'bye'))
    const { conn, of } = connect({ url: `ws://127.0.0.1:${s.port}/`, reconnect: { initialDelay: 10, maxDelay: 20, maxAttempts: 3 } })
    await until(() => conn.state === 'failed', 5_000, 'failed')
    expect(s.accepted).toBe(3)
    expect(of('close').map((c) => c.code)).toEqual([1000, 1000, 1000])
    expect(of('reconnect').map((r) => r.attempt)).toEqual([1, 2])
    expect(of('failed')).toEqual([{ reason: 'max-attempts', attempts: 3 }])
  })

  it('never reconnects after close() (S4)', async () => {
    const s = await server(echo)
    const { conn, of } = connect({ url: `ws://127.0.0.1:${s.port}/`, ...quick })
    await until(() => conn.state === 'open')
    conn.close(1000, 'done')
    await until(() => conn.state === 'idle')
    expect(of('close')).toEqual([{ code: 1000, reason: 'done', wasClean: true }])
    await new Promise((r) => setTimeout(r, 400)) // several backoff windows
    expect(s.accepted).toBe(1)
    expect(of('reconnect')).toEqual([])
  })

  it('finds a black-holed link within interval + timeout (and a loaded machine’s 150 ms) and starts a new attempt (S9)', async () => {
    const s = await server(echo)
    const proxy: BlackHoleProxy = await startProxy(s.port)
    cleanup.push(() => proxy.close())
    const heartbeat = { interval: 200, timeout: 200 }
    const { conn, log } = connect({ url: `ws://127.0.0.1:${proxy.port}/?name=bh`, heartbeat, reconnect: { initialDelay: 20, maxDelay: 20 } })
    await until(() => conn.state === 'open')
    await new Promise((r) => setTimeout(r, 250)) // at least one full heartbeat cycle
    const cut = performance.now()
    proxy.blackHole()
    const timeout = () => log.find((e) => e.type === 'heartbeat' && (e.event as { type: string }).type === 'timeout' && e.at > cut)
    await until(() => timeout() !== undefined, 2_000, 'detection')
    const detected = timeout()!.at
    expect(detected - cut).toBeLessThanOrEqual(heartbeat.interval + heartbeat.timeout + 150)
    proxy.restore()
    await until(() => s.accepted === 2 && conn.state === 'open', 2_000, 'a new connection')
    expect(s.maxLivePerClient).toBeLessThanOrEqual(2) // the black-holed socket is gone for the client, not yet for the server
  })

  it('finds a black-holed link in time even when the wall clock was set back an hour', async () => {
    const s = await server(echo)
    const proxy: BlackHoleProxy = await startProxy(s.port)
    cleanup.push(() => proxy.close())
    const heartbeat = { interval: 200, timeout: 200 }
    const { conn, log } = connect({ url: `ws://127.0.0.1:${proxy.port}/?name=stepped`, heartbeat, reconnect: { initialDelay: 20, maxDelay: 20 } })
    await until(() => conn.state === 'open')
    await new Promise((r) => setTimeout(r, 250))
    const wall = Date.now
    Date.now = () => wall() - 3_600_000 // an NTP step, a restored VM, a user fixing the time
    cleanup.push(() => void (Date.now = wall))
    const cut = performance.now()
    proxy.blackHole()
    await until(() => log.some((e) => e.type === 'heartbeat' && (e.event as { type: string }).type === 'timeout' && e.at > cut), 2_000, 'detection')
    Date.now = wall
  })

  it('delivers messages sent while disconnected, in order, after reconnecting', async () => {
    const first = await startServer(echo)
    const port = first.port
    const { conn } = connect({ url: `ws://127.0.0.1:${port}/`, ...quick })
    await until(() => conn.state === 'open')
    await first.close()
    await until(() => conn.state === 'backoff' || conn.state === 'connecting')
    const messages = Array.from({ length: 50 }, (_, i) => `message ${i}`)
    for (const m of messages) conn.send(m)
    expect(conn.buffered).toBe(50)
    const second = await server(echo, port)
    await until(() => second.received.filter((m) => m.startsWith('message')).length === 50, 5_000, 'delivery')
    expect(second.received.filter((m) => m.startsWith('message'))).toEqual(messages)
  })

  it('speaks the JSON heartbeat of seed 001 (server echoes the frame)', async () => {
    const s = await server((socket) => socket.on('message', (data) => socket.send(data.toString())))
    const isHeartbeat = (d: unknown) => typeof d === 'string' && d.startsWith('{') && JSON.parse(d).ModeCode === 'heart_beat'
    const { conn, of } = connect({
      url: `ws://127.0.0.1:${s.port}/ws/?name=test`,
      heartbeat: { interval: 50, timeout: 100, proof: 'pong', ping: () => JSON.stringify({ ModeCode: 'heart_beat', msg: new Date() }), isPong: isHeartbeat },
    })
    await until(() => of('heartbeat').filter((h) => h.type === 'proof').length >= 3)
    conn.send(JSON.stringify({ ModeCode: 'message', msg: 'hello' }))
    await until(() => of('message').length === 1)
    expect(JSON.parse(of('message')[0] as string)).toEqual({ ModeCode: 'message', msg: 'hello' })
    expect(conn.state).toBe('open')
  })

  it("speaks seed 003's heart_beat / ok", async () => {
    const s = await server((socket) => socket.on('message', (data) => data.toString() === 'heart_beat' && socket.send('ok')))
    const { conn, of } = connect({
      url: `ws://127.0.0.1:${s.port}/`,
      heartbeat: { interval: 50, timeout: 100, ping: 'heart_beat', isPong: (d) => d === 'ok', proof: 'pong' },
    })
    await until(() => of('heartbeat').filter((h) => h.type === 'proof').length >= 3)
    expect(of('message')).toEqual([])
    expect(conn.state).toBe('open')
    expect(of('heartbeat').map((h) => h.type)).not.toContain('timeout')
  })

  it('refreshes the url before every attempt with an async url function', async () => {
    const first = await startServer(echo)
    const port = first.port
    let token = 0
    const { conn } = connect({ url: async () => `ws://127.0.0.1:${port}/?token=${++token}`, ...quick })
    await until(() => conn.state === 'open')
    await first.close()
    const second = await server((socket) => echo(socket), port)
    await until(() => conn.state === 'open' && second.accepted === 1, 5_000, 'reopen')
    expect(token).toBeGreaterThanOrEqual(2)
  })
})


describe('WebSocket ping frames from the server (Node)', () => {
  it("prove life with proof 'any', so the client sends no pings of its own", async () => {
    const s = await server((socket) => {
      const timer = setInterval(() => socket.ping(), 40)
      socket.on('close', () => clearInterval(timer))
    })
    const { conn, of } = connect({ url: `ws://127.0.0.1:${s.port}/`, heartbeat: { interval: 100, timeout: 100 } })
    await until(() => conn.state === 'open')
    await new Promise((r) => setTimeout(r, 500))
    expect(of('heartbeat')).toEqual([])
    expect(conn.state).toBe('open')
  })

  it("do not count with proof 'pong'", async () => {
    const s = await server((socket) => {
      const timer = setInterval(() => socket.ping(), 40)
      socket.on('close', () => clearInterval(timer))
      echo(socket)
    })
    const { conn, of } = connect({ url: `ws://127.0.0.1:${s.port}/`, heartbeat: { interval: 100, timeout: 100, proof: 'pong' } })
    await until(() => of('heartbeat').filter((h) => h.type === 'proof').length >= 2)
    expect(conn.state).toBe('open')
  })
})

describe('client lifecycle on loopback', () => {
  it('leaves no socket open on the server after dispose() from a state or close listener (review 14)', async () => {
    let live = 0
    const s = await server((socket) => {
      live++
      socket.on('close', () => live--)
      echo(socket)
    })
    for (const type of ['state', 'close'] as const) {
      const { conn } = connect({ url: `ws://127.0.0.1:${s.port}/?name=${type}`, ...quick })
      await until(() => conn.state === 'open' && live === 1, 2_000, 'open')
      conn.on(type, () => conn.dispose())
      conn.reconnect()
      expect(conn.state).toBe('idle')
      await until(() => live === 0, 2_000, 'the server to see the socket go')
      await new Promise((r) => setTimeout(r, 200))
      expect(live).toBe(0)
    }
    expect(s.accepted).toBe(2)
  })

  it('reports a never-retried close from the server truthfully, even on the last attempt (review 29)', async () => {
    let n = 0
    const s = await server((socket) => {
      n++
      socket.close(n < 3 ? 1011 : 4409, n < 3 ? 'try again' : 'replaced by a newer connection')
    })
    const { conn, of } = connect({ url: `ws://127.0.0.1:${s.port}/`, reconnect: { initialDelay: 10, maxDelay: 10, maxAttempts: 3 } })
    await until(() => conn.state === 'failed', 3_000, 'failed')
    expect(of('close').map((c) => c.code)).toEqual([1011, 1011, 4409])
    expect(of('close').at(-1)).toEqual({ code: 4409, reason: 'replaced by a newer connection', wasClean: true })
    expect(of('failed')).toEqual([{ reason: 'not-retried', attempts: 3 }])
  })

  it('sends buffered bytes as they were at send() (review 15)', async () => {
    const got: number[][] = []
    const s = await server((socket) => socket.on('message', (data, isBinary) => isBinary && got.push([...(data as Buffer)])))
    const { conn } = connect({ url: `ws://127.0.0.1:${s.port}/`, ...quick })
    const bytes = new Uint8Array([1, 2, 3])
    conn.send(bytes) // connecting: buffered
    bytes[0] = 99 // the caller reuses its buffer
    await until(() => got.length === 1, 2_000, 'delivery')
    expect(got).toEqual([[1, 2, 3]])
  })
})
