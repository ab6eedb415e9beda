import { createServer as createTcpServer, connect as connectTcp, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createConnection, type Connection, type ConnectionEventMap } from '../../src/index.node.js'
import { createHeartbeatServer, type HeartbeatServer } from '../../src/server/index.js'
import { cleanup, record, startServer, track, waitFor, within } from './helpers.js'

afterEach(cleanup)

const clientOptions = {
  heartbeat: { interval: 100, timeout: 100 },
  reconnect: { initialDelay: 20, maxDelay: 100 },
} as const

/** A lifeline client, disposed in cleanup. */
function lifeline(url: string): Connection {
  const conn = createConnection({ url, ...clientOptions })
  track(() => conn.dispose())
  return conn
}

function nextClientEvent<K extends keyof ConnectionEventMap>(
  conn: Connection,
  type: K,
  ms = 2_000,
  accept: (event: ConnectionEventMap[K]) => boolean = () => true,
): Promise<ConnectionEventMap[K]> {
  let stop = (): void => {}
  const event = new Promise<ConnectionEventMap[K]>((resolve) => {
    stop = conn.on(type, (e) => accept(e) && resolve(e))
  })
  return within(event, ms, `the client's '${type}'`).finally(() => stop())
}

/**
 * Samples the registry at every connection and disconnect: a client's name
 * must map to exactly one socket, the one just admitted, and a socket that
 * leaves (other than by close()) must never take its successor with it.
 */
function watchRegistry(server: HeartbeatServer, name: string): string[] {
  const violations: string[] = []
  server.on('connection', (e) => {
    if (e.name === name && (server.clients.size !== 1 || server.clients.get(name) !== e.socket)) {
      violations.push(`on connection: ${server.clients.size} entries, admitted socket registered: ${server.clients.get(name) === e.socket}`)
    }
  })
  server.on('disconnect', (e) => {
    if (e.name !== name || e.reason === 'server-close') return
    if (server.clients.size !== 1 || server.clients.get(name) === e.socket) {
      violations.push(`on disconnect (${e.reason}): ${server.clients.size} entries, departed socket still registered: ${server.clients.get(name) === e.socket}`)
    }
  })
  return violations
}

interface BlackHoleProxy {
  port: number
  /** Existing connections stop forwarding bytes, without FIN or RST; new ones forward normally. */
  blackHole(): void
}

/** A TCP proxy on 127.0.0.1 that can turn its open connections into a black hole, like a dead network path. */
async function startProxy(targetPort: number): Promise<BlackHoleProxy> {
  const pairs = new Set<{ downstream: Socket; upstream: Socket; dead: boolean }>()
  const proxy = createTcpServer((downstream) => {
    const upstream = connectTcp(targetPort, '127.0.0.1')
    const pair = { downstream, upstream, dead: false }
    pairs.add(pair)
    for (const [from, to] of [[downstream, upstream], [upstream, downstream]] as const) {
      from.on('error', () => {})
      from.on('data', (chunk: Buffer) => pair.dead || to.write(chunk))
      from.on('close', () => pair.dead || to.destroy())
    }
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  track(() => {
    for (const { downstream, upstream } of pairs) {
      downstream.destroy()
      upstream.destroy()
    }
    return new Promise((resolve) => proxy.close(resolve))
  })
  const address = proxy.address()
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    blackHole: () => pairs.forEach((pair) => (pair.dead = true)),
  }
}

describe('lifeline client against the heartbeat server', () => {
  it('reconnects after the server restarts on the same port', async () => {
    const first = await startServer()
    const violations = watchRegistry(first.server, 'zoe')
    const conn = lifeline(first.url('/', 'zoe'))
    await nextClientEvent(conn, 'open')
    expect([...first.server.clients.keys()]).toEqual(['zoe'])

    const closed = nextClientEvent(conn, 'close')
    await first.server.close()
    expect((await closed).code).toBe(1001)

    const second = createHeartbeatServer({ port: first.port })
    track(() => second.close())
    violations.push(...watchRegistry(second, 'zoe'))
    const messages = record(second, 'message')
    await second.listening
    await nextClientEvent(conn, 'open')
    expect([...second.clients.keys()]).toEqual(['zoe'])
    conn.send('after the restart')
    await waitFor(() => messages.length === 1, 1_000, 'the message on the new server')
    expect(messages[0]?.data).toBe('after the restart')
    expect(violations).toEqual([])
  })

  it('recovers from a black-holed link: the client finds it, reconnects, and the server keeps one entry', async () => {
    const { server, port } = await startServer()
    const violations = watchRegistry(server, 'yan')
    const disconnects = record(server, 'disconnect')
    const messages = record(server, 'message')
    const proxy = await startProxy(port)
    const conn = lifeline(`ws://127.0.0.1:${proxy.port}/?name=yan`)
    await nextClientEvent(conn, 'open')
    // Two client heartbeats go through before the link dies: their pings must never surface as messages.
    await new Promise((resolve) => setTimeout(resolve, 250))

    const timedOut = nextClientEvent(conn, 'heartbeat', 1_000, (e) => e.type === 'timeout')
    const reopened = nextClientEvent(conn, 'open', 2_000)
    proxy.blackHole()
    await timedOut
    await reopened

    await waitFor(() => disconnects.some((d) => d.reason === 'replaced'), 1_000, 'the replacement')
    expect(server.clients.size).toBe(1)
    conn.send('through the new link')
    await waitFor(() => messages.length === 1, 1_000, 'the message')
    expect(messages.map((m) => m.data)).toEqual(['through the new link'])
    expect(messages[0]?.socket).toBe(server.clients.get('yan'))
    expect(disconnects.map((d) => d.reason)).toEqual(['replaced'])
    expect(violations).toEqual([])
  })
})
