/**
 * Slow consumers: a client that reads more slowly than the server sends
 * must not make the server buffer without bound, whether it sends frames of
 * its own or not. Real sockets on 127.0.0.1; the paused client stops reading
 * at the TCP level, so the server's socket fills up for real.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Client } from '../../src/server/client.js'
import { answerPings, PLAIN_PINGS } from '../../src/server/heartbeat.js'
import { nameFromQuery } from '../../src/server/index.js'
import { cleanup, closeOf, connect, nextEvent, record, startServer, waitFor } from './helpers.js'

afterEach(cleanup)

const chunk = 'x'.repeat(64 * 1024)

describe('heartbeat server: slow consumers', () => {
  it.each(['plain', 'reliable'] as const)('closes a client that stops reading with 4008 once it holds maxBufferedBytes (%s)', async (delivery) => {
    const maxBufferedBytes = 1024 * 1024
    const { server, url } = await startServer({ delivery, identify: nameFromQuery, maxBufferedBytes, heartbeat: false })
    const errors = record(server, 'error')
    const socket = await connect(url('/', 'stalled'))
    if (delivery === 'reliable') {
      socket.send(JSON.stringify(['hello', 1, '0123456789abcdef0123456789abcdef', 0]))
      await new Promise((resolve) => socket.once('message', resolve)) // the welcome
    }
    const closed = closeOf(socket, 5_000)
    const gone = nextEvent(server, 'disconnect', () => true, 5_000)
    ;(socket as unknown as { _socket: { pause(): void } })._socket.pause()
    let peak = 0
    for (let i = 0; i < 400 && server.clients.has('stalled'); i++) {
      server.send('stalled', chunk)
      peak = Math.max(peak, server.clients.get('stalled')?.bufferedAmount ?? 0)
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(await gone).toMatchObject({ name: 'stalled', reason: 'slow-consumer', code: 4008 })
    expect(peak).toBeLessThan(maxBufferedBytes + 2 * chunk.length)
    expect(errors.map((e) => e.code)).toContain('LIFELINE_SLOW_CONSUMER')
    ;(socket as unknown as { _socket: { resume(): void } })._socket.resume()
    expect((await closed).code).toBeGreaterThan(0) // let go: closed or terminated after closeTimeout
  })

  it('finds a client that never reads although it keeps sending', async () => {
    const { server, url } = await startServer({ heartbeat: { interval: 40, timeout: 80 } })
    const socket = await connect(url('/', 'talker'), { autoPong: false })
    const ticking = setInterval(() => socket.send('still here'), 10)
    try {
      const gone = await nextEvent(server, 'disconnect', () => true, 2_000)
      expect(gone).toMatchObject({ name: 'talker', reason: 'heartbeat-timeout' })
    } finally {
      clearInterval(ticking)
    }
    await waitFor(() => !server.clients.has('talker'), 1_000, 'the registry')
  })

  it.each([
    { what: 'with the heartbeat on', options: { heartbeat: { interval: 100, timeout: 300 } } },
    { what: 'in reliable mode', options: { delivery: 'reliable' as const, identify: nameFromQuery, heartbeat: { interval: 100, timeout: 300 } } },
  ])('lets go of a client that never reads, floods pings and sends pongs nobody asked for ($what)', async ({ options }) => {
    const maxBufferedBytes = 256 * 1024
    const { server, url } = await startServer({ maxBufferedBytes, ...options })
    server.on('error', () => {})
    const socket = await connect(url('/', 'flooder'))
    const gone = nextEvent(server, 'disconnect', () => true, 10_000)
    ;(socket as unknown as { _socket: { pause(): void } })._socket.pause()
    const pongs = setInterval(() => socket.pong(), 20)
    let peak = 0
    try {
      for (let round = 0; round < 200 && server.clients.has('flooder'); round++) {
        for (let i = 0; i < 2_000; i++) socket.send('ping')
        peak = Math.max(peak, server.clients.get('flooder')?.bufferedAmount ?? 0)
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      expect(['heartbeat-timeout', 'slow-consumer']).toContain((await gone).reason)
      expect(peak).toBeLessThanOrEqual(maxBufferedBytes + 64)
    } finally {
      clearInterval(pongs)
    }
  })

  it('answers pings through the bounded write, like every other frame it sends', () => {
    const writes: unknown[] = []
    const hook = answerPings(PLAIN_PINGS, () => {}, (_client, data) => (writes.push(data), true))
    const client = { name: 'x', socket: { readyState: 1 } } as unknown as Client
    expect(hook.receive?.(client, 'ping', false)).toBe(true)
    expect(writes).toEqual(['pong'])
  })
})
