import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { dialects, type ServerHeartbeatOptions } from '../../src/server/index.js'
import { cleanup, closeOf, connect, delay, inbox, nextEvent, record, startServer, waitFor } from './helpers.js'

afterEach(async () => {
  vi.restoreAllMocks()
  await cleanup()
})

describe('heartbeat server: dead clients', () => {
  it('terminates a client that stops answering ping frames within interval + timeout', async () => {
    const interval = 50
    const timeout = 100
    const { server, url } = await startServer({ heartbeat: { interval, timeout } })
    const connected = nextEvent(server, 'connection')
    const client = await connect(url('/', 'mute'), { autoPong: false })
    const since = performance.now()
    await connected
    const closed = closeOf(client)
    const gone = await nextEvent(server, 'disconnect', () => true, 1_000)
    const elapsed = performance.now() - since
    expect(gone).toMatchObject({ name: 'mute', reason: 'heartbeat-timeout', code: 1006 })
    // The last sign of life was the handshake; one more interval of check granularity, plus slack.
    expect(elapsed).toBeLessThan(interval + timeout + interval + 150)
    expect(elapsed).toBeGreaterThanOrEqual(timeout - 5)
    expect(server.clients.has('mute')).toBe(false)
    expect((await closed).code).toBe(1006)
  })

  it('keeps a client that answers pings, even when timeout is shorter than interval', async () => {
    const { server, url } = await startServer({ heartbeat: { interval: 60, timeout: 15 } })
    const disconnects = record(server, 'disconnect')
    const client = await connect(url('/', 'healthy'))
    let pings = 0
    client.on('ping', () => pings++)
    await waitFor(() => pings >= 5, 1_000, 'five ping frames')
    expect(disconnects).toEqual([])
    expect(server.clients.has('healthy')).toBe(true)
  })

  it('finds a client that sends but never answers ping frames: only the answer proves it reads', async () => {
    const { server, url } = await startServer({ heartbeat: { interval: 30, timeout: 60 } })
    const client = await connect(url('/', 'chatty'), { autoPong: false })
    const ticking = setInterval(() => client.send('tick'), 10)
    try {
      const gone = await nextEvent(server, 'disconnect', () => true, 1_000)
      expect(gone).toMatchObject({ name: 'chatty', reason: 'heartbeat-timeout' })
    } finally {
      clearInterval(ticking)
    }
  })

  it('gives every client\'s ping a payload of its own, and takes no other client\'s as an answer', async () => {
    const { server, url } = await startServer({ heartbeat: { interval: 30, timeout: 60 } })
    const honest = await connect(url('/', 'honest'))
    const mimic = await connect(url('/', 'mimic'), { autoPong: false })
    const payloads: { honest: string[]; mimic: string[] } = { honest: [], mimic: [] }
    honest.on('ping', (data: Buffer) => payloads.honest.push(data.toString('hex')))
    // It answers with what the other client was asked, never with its own.
    mimic.on('ping', (data: Buffer) => {
      payloads.mimic.push(data.toString('hex'))
      const stolen = payloads.honest.at(-1)
      if (stolen !== undefined) mimic.pong(Buffer.from(stolen, 'hex'))
    })
    const gone = await nextEvent(server, 'disconnect', () => true, 1_000)
    expect(gone).toMatchObject({ name: 'mimic', reason: 'heartbeat-timeout' })
    expect(server.clients.has('honest')).toBe(true)
    const all = [...payloads.honest, ...payloads.mimic]
    expect(all.length).toBeGreaterThan(2)
    expect(new Set(all).size).toBe(all.length)
    for (const payload of all) expect(payload).toHaveLength(16)
  })

  it('keeps no upgrade request once a client is admitted', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const { server, url } = await startServer({ heartbeat: { interval: 1_000 } })
    let collected = 0
    const registry = new FinalizationRegistry(() => collected++)
    server.on('connection', ({ request }) => registry.register(request, 0))
    for (let i = 0; i < 5; i++) await connect(url('/', `kept-${i}`))
    for (let i = 0; i < 20 && collected < 5; i++) {
      await delay(10)
      gc()
    }
    expect(collected).toBe(5)
    expect(server.clients.size).toBe(5)
  })

  it('runs one shared timer for all clients, not one per client', async () => {
    const setIntervalSpy = vi.spyOn(globalThis, 'setInterval')
    const { url } = await startServer({ heartbeat: { interval: 1_000 } })
    for (let i = 0; i < 5; i++) await connect(url('/', `c${i}`))
    expect(setIntervalSpy).toHaveBeenCalledTimes(1)
  })

  it('sends no ping frames with heartbeat: false and delivers "ping" as a message', async () => {
    const { server, url } = await startServer({ heartbeat: false })
    const client = await connect(url('/', 'plain'))
    let pings = 0
    client.on('ping', () => pings++)
    const message = nextEvent(server, 'message')
    client.send('ping')
    expect((await message).data).toBe('ping')
    expect(pings).toBe(0)
  })
})

describe('heartbeat server: application-level pings', () => {
  const cases: [string, ServerHeartbeatOptions, string, string][] = [
    ['lifeline (the default)', {}, 'ping', 'pong'],
    ['seed 000', { ...dialects.seed000 }, 'Heartbeat 心跳检测', 'Heartbeat_ack'],
    ['seed 001', { ...dialects.seed001 }, '{"ModeCode":"heart_beat","msg":"2021-03-09T12:00:00.000Z"}', '{"ModeCode":"heart_beat","msg":"2021-03-09T12:00:00.000Z"}'],
    ['seed 003', { ...dialects.seed003 }, 'heart_beat', 'ok'],
  ]

  it.each(cases)('answers the %s ping and keeps it from message listeners', async (_name, heartbeat, ping, pong) => {
    const { server, url } = await startServer({ heartbeat })
    const messages = record(server, 'message')
    const client = await connect(url('/', 'app'))
    const received = inbox(client)
    client.send(ping)
    client.send('{"ModeCode":"message","msg":"hello"}')
    await waitFor(() => received.length === 1 && messages.length === 1, 1_000, 'the pong and the message')
    expect(received).toEqual([pong])
    expect(messages.map((m) => m.data)).toEqual(['{"ModeCode":"message","msg":"hello"}'])
  })

  it('leaves a ping unanswered when pong returns null, and still keeps it from the app', async () => {
    let answered = 0
    const { server, url } = await startServer({ heartbeat: { pong: () => (++answered <= 1 ? 'pong' : null) } })
    const messages = record(server, 'message')
    // The answer to 'done' comes after every pong the pings got, on the same socket.
    server.on('message', ({ name }) => server.send(name, 'done too'))
    const client = await connect(url('/', 'demo'))
    const received = inbox(client)
    for (let i = 0; i < 3; i++) client.send('ping')
    client.send('done')
    await waitFor(() => messages.length === 1 && received.includes('done too'), 1_000, 'the last message')
    expect(received).toEqual(['pong', 'done too'])
    expect(answered).toBe(3)
  })

  it('reports a throwing isPing and delivers the frame as a message', async () => {
    const { server, url } = await startServer({ heartbeat: { isPing: () => { throw new Error('parser bug') } } })
    const error = nextEvent(server, 'error')
    const message = nextEvent(server, 'message')
    const client = await connect(url('/', 'x'))
    client.send('ping')
    expect(await error).toMatchObject({ code: 'LIFELINE_HOOK_FAILED', client: 'x', message: 'heartbeat.isPing failed for client "x": parser bug' })
    expect((await message).data).toBe('ping')
  })
})
