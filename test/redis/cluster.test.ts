/**
 * Several server processes sharing one real redis-server: names across
 * nodes, send and broadcast from any node, nodes that die, and Redis itself
 * going away and coming back empty.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createConnection, type Connection } from '../../src/index.node.js'
import { startNode, stopNodes, type TestNode } from '../helpers/cluster.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { until } from '../helpers/servers.js'

let redis: TestRedis
let prefix = 0
const clients: Connection[] = []

beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis.stop()
})
afterEach(async () => {
  for (const conn of clients.splice(0)) conn.dispose()
  await stopNodes()
})

const fast = { beatInterval: 100, nodeTtl: 500 }

/** Two (or more) nodes on one Redis, under a prefix of their own. */
async function nodes(count: number, server: Record<string, unknown> = {}): Promise<TestNode[]> {
  const settings = { redis: { url: redis.url, prefix: `t${++prefix}`, ...fast }, server }
  return Promise.all(Array.from({ length: count }, () => startNode(settings)))
}

function client(url: string | (() => string), options: Record<string, unknown> = {}): { conn: Connection; received: unknown[]; closes: number[] } {
  const conn = createConnection({ url, heartbeat: { interval: 100, timeout: 400 }, reconnect: { initialDelay: 20, maxDelay: 50 }, ...options })
  clients.push(conn)
  const received: unknown[] = []
  const closes: number[] = []
  conn.on('message', (data) => received.push(data))
  conn.on('close', ({ code }) => closes.push(code))
  return { conn, received, closes }
}

describe('redis cluster: names and messages across nodes', () => {
  it('sends to a client on another node, and broadcasts to every client on every node exactly once', async () => {
    const [a, b] = await nodes(2)
    const alice = client(a!.url('alice'))
    const bob = client(b!.url('bob'))
    await until(() => alice.conn.state === 'open' && bob.conn.state === 'open', 3_000, 'both open')
    await until(() => a!.events.some((e) => e.type === 'connection') && b!.events.some((e) => e.type === 'connection'), 3_000, 'both registered')
    expect(await b!.send('alice', 'from b')).toBe(true)
    expect(await a!.send('bob', 'from a')).toBe(true)
    await until(() => alice.received.includes('from b') && bob.received.includes('from a'), 3_000, 'cross-node sends')
    expect(await a!.broadcast('to everyone')).toBe(1) // this node's own clients
    await until(() => alice.received.includes('to everyone') && bob.received.includes('to everyone'), 3_000, 'the broadcast')
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(alice.received).toEqual(['from b', 'to everyone'])
    expect(bob.received).toEqual(['from a', 'to everyone'])
  })

  it("replaces a name held on another node (4409 there) with duplicate: 'replace'", async () => {
    const [a, b] = await nodes(2)
    const first = client(a!.url('alice'))
    await until(() => a!.events.some((e) => e.type === 'connection'), 3_000, 'alice on a')
    const second = client(b!.url('alice'))
    await until(() => first.closes.includes(4409), 3_000, 'the older socket to be closed with 4409')
    expect(second.conn.state).toBe('open')
    expect(a!.events).toContainEqual(expect.objectContaining({ type: 'disconnect', name: 'alice', reason: 'replaced', code: 4409 }))
  })

  it("refuses a name connected on another node with duplicate: 'reject', and takes it once that node is dead", async () => {
    const [a, b] = await nodes(2, { duplicate: 'reject' })
    const first = client(a!.url('alice'))
    await until(() => first.conn.state === 'open' && a!.events.some((e) => e.type === 'connection'), 3_000, 'alice on a')
    const errors: unknown[] = []
    const second = client(b!.url('alice'), { reconnect: { initialDelay: 50, maxDelay: 100 } })
    second.conn.on('error', (error) => errors.push(error))
    await until(() => errors.length >= 1, 3_000, 'the refused upgrade')
    expect(second.conn.state).not.toBe('open')
    const killed = performance.now()
    await a!.kill()
    // Its beat lapses (nodeTtl 500 ms), a sweep forgets its names, the next attempt is admitted.
    await until(() => second.conn.state === 'open', 5_000, 'alice on b after a died')
    console.log(`name free again ${Math.round(performance.now() - killed)} ms after the holder was killed (nodeTtl 500 ms)`)
  })

  it('keeps serving its own clients while Redis is down, says so, and recovers when Redis comes back empty', async () => {
    const [a, b] = await nodes(2)
    const alice = client(a!.url('alice'))
    const bob = client(b!.url('bob'))
    await until(() => a!.events.some((e) => e.type === 'connection') && b!.events.some((e) => e.type === 'connection'), 3_000, 'both registered')
    await redis.kill()
    await until(() => a!.events.some((e) => e.type === 'error' && e.code === 'LIFELINE_CLUSTER_FAILED'), 3_000, 'the lost link reported')
    expect(await a!.send('bob', 'while down')).toBe(false)
    expect(await a!.send('alice', 'local')).toBe(true) // its own client, served alone
    await until(() => alice.received.includes('local'), 2_000, 'a local send while Redis is down')
    const carol = client(b!.url('carol'))
    await until(() => carol.conn.state === 'open', 3_000, 'a new client admitted while Redis is down')
    await redis.restart() // empty: every name must be claimed again
    await until(() => a!.events.some((e) => e.type === 'error' && String(e.message).includes('reached Redis again')), 5_000, 'the link back')
    await until(() => b!.events.some((e) => e.type === 'error' && String(e.message).includes('reached Redis again')), 5_000, 'the link back on b')
    expect(await a!.send('carol', 'after')).toBe(true)
    expect(await a!.send('bob', 'after')).toBe(true)
    await until(() => carol.received.includes('after') && bob.received.includes('after'), 3_000, 'cross-node sends after Redis came back')
    expect(bob.received).toEqual(['after'])
  })
})
