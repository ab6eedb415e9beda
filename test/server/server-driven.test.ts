/**
 * Server-driven heartbeat end to end: lifeline/server sends the application
 * ping, a lifeline client in `heartbeat.mode: 'server'` answers and watches it.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createConnection, type Connection, type HeartbeatEvent } from '../../src/index.node.js'
import { cleanup, delay, startServer, track, waitFor } from './helpers.js'

afterEach(cleanup)

function client(url: string): { conn: Connection; beats: HeartbeatEvent[]; messages: unknown[] } {
  const conn = createConnection({ url, heartbeat: { mode: 'server', interval: 100, timeout: 150 }, reconnect: { initialDelay: 20, maxDelay: 50 } })
  track(() => conn.dispose())
  const beats: HeartbeatEvent[] = []
  const messages: unknown[] = []
  conn.on('heartbeat', (beat) => beats.push(beat))
  conn.on('message', (data) => messages.push(data))
  return { conn, beats, messages }
}

describe('server-driven heartbeat', () => {
  it('keeps the link with pings from the server only, none delivered as messages on either side', async () => {
    const { server, url } = await startServer({ heartbeat: { mode: 'server', interval: 100, timeout: 300 } })
    const seen: unknown[] = []
    server.on('message', ({ data }) => seen.push(data))
    const { conn, beats, messages } = client(url('/', 'driven'))
    await waitFor(() => conn.state === 'open', 2_000, 'open')
    await delay(700) // about 7 server pings
    expect(conn.state).toBe('open')
    expect(beats.filter((b) => b.type === 'ping' || b.type === 'timeout')).toEqual([])
    expect(messages).toEqual([])
    expect(seen).toEqual([])
    expect(server.clients.size).toBe(1)
  })

  it('finds a server that stops pinging within interval + timeout, and reconnects', async () => {
    let pinging = true
    const { server, url } = await startServer({
      heartbeat: { mode: 'server', interval: 100, timeout: 5_000, ping: () => (pinging ? 'ping' : null) },
    })
    const { conn, beats } = client(url('/', 'silent'))
    await waitFor(() => conn.state === 'open', 2_000, 'open')
    await delay(250)
    const connections: number[] = []
    server.on('connection', () => connections.push(performance.now()))
    const stopped = performance.now()
    pinging = false
    await waitFor(() => beats.some((b) => b.type === 'timeout'), 2_000, 'the client noticing the silence')
    const noticed = performance.now() - stopped
    expect(noticed).toBeLessThan(100 + 150 + 100 + 150) // at most one interval since the last ping, plus interval + timeout, plus a loaded machine's delay
    pinging = true
    await waitFor(() => connections.length === 1 && conn.state === 'open', 2_000, 'a new connection')
    await delay(300)
    expect(conn.state).toBe('open')
    expect(beats.filter((b) => b.type === 'timeout')).toHaveLength(1)
  })
})
