/**
 * Slow consumers: a client that reads more slowly than the server sends
 * must not make the server buffer without bound, whether it sends frames of
 * its own or not. Real sockets on 127.0.0.1; the paused client stops reading
 * at the TCP level, so the server's socket fills up for real.
 */
import { afterEach, describe, expect, it } from 'vitest'
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
})
