/**
 * Reliable sessions in Redis: a client that moves between server processes,
 * nodes killed outright (SIGKILL) while it streams, sends by name from a node
 * it is not connected to, expiry, and a Redis that restarts empty.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createConnection, type Connection, type SessionLostEvent } from '../../src/index.node.js'
import type { RedisClusterOptions } from '../../src/redis/index.js'
import type { HeartbeatServerOptions } from '../../src/server/index.js'
import { startNode, stopNodes, type NodeEvent, type TestNode } from '../helpers/cluster.js'
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

function settings(server: Partial<HeartbeatServerOptions> = {}): { redis: RedisClusterOptions; server: Partial<HeartbeatServerOptions> } {
  return { redis: { url: redis.url, prefix: `s${++prefix}`, beatInterval: 100, nodeTtl: 500 }, server: { delivery: 'reliable', heartbeat: { interval: 100, timeout: 300 }, ...server } }
}

function reliableClient(url: () => string) {
  const conn = createConnection({
    url,
    delivery: 'reliable',
    heartbeat: { interval: 50, timeout: 150, probeTimeout: 150 },
    reconnect: { initialDelay: 10, maxDelay: 40 },
    connectTimeout: 2_000,
    buffer: { maxMessages: 10_000 },
  })
  clients.push(conn)
  const received: string[] = []
  const lost: SessionLostEvent[] = []
  conn.on('message', (data) => received.push(String(data)))
  conn.on('session-lost', (event) => lost.push(event))
  conn.on('error', () => {})
  return { conn, received, lost }
}

const messagesAt = (node: TestNode, name: string): NodeEvent[] => node.events.filter((e) => e.type === 'message' && e.name === name)

describe('redis cluster: reliable sessions', () => {
  it('resumes a session on another node: nothing lost, nothing twice, in order, both ways', async () => {
    const s = settings()
    const [a, b] = await Promise.all([startNode(s), startNode(s)])
    let target = a!
    const alice = reliableClient(() => target.url('alice'))
    await until(() => alice.conn.state === 'open', 3_000, 'open on a')
    const move = async (to: TestNode): Promise<void> => {
      target = to
      alice.conn.reconnect()
      await until(() => alice.conn.state === 'open' && to.events.some((e) => e.type === 'connection'), 3_000, 'the move')
    }
    for (let round = 0; round < 6; round++) {
      const here = round % 2 === 0 ? a! : b!
      const there = round % 2 === 0 ? b! : a!
      alice.conn.send(`c${round}`)
      expect(await here.send('alice', `s${round} local`)).toBe(true)
      expect(await there.send('alice', `s${round} remote`)).toBe(true)
      await until(() => alice.received.includes(`s${round} remote`) && alice.received.includes(`s${round} local`), 3_000, `round ${round}`)
      await until(() => alice.conn.buffered === 0, 3_000, `round ${round} acknowledged`)
      await move(there)
    }
    const up = [...messagesAt(a!, 'alice'), ...messagesAt(b!, 'alice')].map((e) => e.data).sort()
    expect(up).toEqual(Array.from({ length: 6 }, (_, i) => `c${i}`).sort())
    expect(alice.received.filter((m) => m.endsWith(' local')).length).toBe(6)
    expect(new Set(alice.received).size).toBe(alice.received.length) // nothing twice
    expect(alice.lost).toEqual([])
  })

  it('queues for a client that is away and delivers it on whichever node it comes back to', async () => {
    const s = settings()
    const [a, b, producer] = await Promise.all([startNode(s), startNode(s), startNode(s)])
    let target = a!
    const alice = reliableClient(() => target.url('alice'))
    await until(() => alice.conn.state === 'open', 3_000, 'open on a')
    alice.conn.close()
    await until(() => a!.events.some((e) => e.type === 'disconnect'), 3_000, 'alice away')
    for (let i = 0; i < 20; i++) expect(await producer!.send('alice', `while away ${i}`)).toBe(true)
    target = b!
    alice.conn.open()
    await until(() => alice.received.length === 20, 3_000, 'the backlog on b')
    expect(alice.received).toEqual(Array.from({ length: 20 }, (_, i) => `while away ${i}`))
    expect(alice.lost).toEqual([])
  })

  it('passes what a connection that left before its hello was sent on to the session of its name', async () => {
    const s = settings()
    const [a, b] = await Promise.all([startNode(s), startNode(s)])
    const alice = reliableClient(() => a!.url('alice'))
    await until(() => alice.conn.state === 'open', 3_000, 'open on a')
    alice.conn.close()
    await until(() => a!.events.some((e) => e.type === 'disconnect'), 3_000, 'alice away')
    const mute = new WebSocket(b!.url('alice')) // connects as alice, never says hello
    await new Promise((resolve, reject) => mute.once('open', resolve).once('error', reject))
    await until(() => b!.events.some((e) => e.type === 'connection'), 3_000, 'the mute connection on b')
    expect(await b!.send('alice', 'sent while a connection of hers had not said hello')).toBe(true) // queued on b for its welcome
    await new Promise((resolve) => setTimeout(resolve, 100))
    mute.close()
    await until(() => b!.events.some((e) => e.type === 'disconnect'), 3_000, 'the mute connection gone')
    alice.conn.open()
    await until(() => alice.received.length === 1, 3_000, 'the message on a')
    expect(alice.received).toEqual(['sent while a connection of hers had not said hello'])
    expect(alice.lost).toEqual([])
    expect([a!, b!].flatMap((node) => node.events.filter((e) => e.type === 'session-lost'))).toEqual([])
  })

  it('loses nothing it acknowledged when the node the client is on is killed outright', async () => {
    const s = settings()
    const [a, b, producer] = await Promise.all([startNode(s), startNode(s), startNode(s)])
    let target = a!
    const alice = reliableClient(() => (target.alive() ? target : b!).url('alice'))
    await until(() => alice.conn.state === 'open' && a!.events.some((e) => e.type === 'connection'), 3_000, 'open on a')
    let sent = 0
    for (; sent < 50; sent++) await producer!.send('alice', `m${sent}`)
    await until(() => alice.received.length >= 10, 3_000, 'some of the stream')
    await a!.kill()
    target = b!
    for (; sent < 100; sent++) await producer!.send('alice', `m${sent}`)
    await until(() => alice.received.length === 100, 5_000, 'the rest after the kill').catch((error: unknown) => {
      throw new Error(`${String(error)}; received ${alice.received.length}, state ${alice.conn.state}; b: ${JSON.stringify(b!.events.slice(0, 12))}; producer: ${JSON.stringify(producer!.events.slice(0, 6))}`)
    })
    expect(alice.received).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`))
    expect(alice.lost).toEqual([])
  })

  it('reports an expired session once, from one node, with what it held', async () => {
    const s = settings({ sessionTtl: 300 })
    const [a, b] = await Promise.all([startNode(s), startNode(s)])
    const alice = reliableClient(() => a!.url('alice'))
    await until(() => alice.conn.state === 'open', 3_000, 'open')
    alice.conn.dispose()
    await until(() => a!.events.some((e) => e.type === 'disconnect'), 3_000, 'alice away')
    await b!.send('alice', 'never read')
    await until(() => [...a!.events, ...b!.events].some((e) => e.type === 'session-lost'), 3_000, 'the expiry')
    await new Promise((resolve) => setTimeout(resolve, 400))
    const reports = [...a!.events, ...b!.events].filter((e) => e.type === 'session-lost')
    expect(reports).toEqual([expect.objectContaining({ name: 'alice', lost: 1, messages: ['never read'], reason: 'expired' })])
  })

  it('starts a client that comes back after its session expired on a new one, and it gets what is sent from then on', async () => {
    const s = settings({ sessionTtl: 200 })
    const [a] = await Promise.all([startNode(s)])
    const alice = reliableClient(() => a!.url('alice'))
    await until(() => alice.conn.state === 'open', 3_000, 'open')
    for (let i = 0; i < 3; i++) await a!.send('alice', `old ${i}`)
    await until(() => alice.received.length === 3, 3_000, 'the first messages')
    alice.conn.close()
    await new Promise((resolve) => setTimeout(resolve, 700)) // expired, and swept
    alice.conn.open() // the same session id, acknowledging 3 messages of a session that is gone
    await until(() => alice.conn.state === 'open', 3_000, 'open again')
    for (let i = 0; i < 3; i++) await a!.send('alice', `new ${i}`)
    await until(() => alice.received.length === 6, 3_000, 'the new messages')
    expect(alice.received).toEqual(['old 0', 'old 1', 'old 2', 'new 0', 'new 1', 'new 2'])
    expect(alice.conn.state).toBe('open')
  })

  it("takes a stalled node's names and sessions when it counts as dead, and lets it serve again when it wakes: nothing lost", async () => {
    const s = settings()
    const [a, b] = await Promise.all([startNode(s), startNode(s)])
    const alice = reliableClient(() => (a!.alive() ? a! : b!).url('alice'))
    await until(() => alice.conn.state === 'open' && a!.events.some((e) => e.type === 'connection'), 3_000, 'alice on a')
    await b!.send('alice', 'before')
    await until(() => alice.received.includes('before'), 3_000, 'before')
    const stalled = a!.stall(1_500) // three times nodeTtl: a is swept
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    for (let i = 0; i < 5; i++) await b!.send('alice', `during ${i}`)
    await stalled
    await b!.send('alice', 'after')
    await until(() => alice.received.includes('after'), 8_000, 'everything after the stall')
    expect(alice.received).toEqual(['before', 'during 0', 'during 1', 'during 2', 'during 3', 'during 4', 'after'])
    expect(alice.lost).toEqual([])
    expect(a!.events).toContainEqual(expect.objectContaining({ type: 'error', code: 'LIFELINE_CLUSTER_FAILED', message: expect.stringMatching(/stalled longer than nodeTtl/) }))
  })

  it('never resumes a session wrongly after Redis restarts empty: the client is told it was lost', async () => {
    const s = settings()
    const [a] = await Promise.all([startNode(s)])
    const alice = reliableClient(() => a!.url('alice'))
    await until(() => alice.conn.state === 'open', 3_000, 'open')
    await a!.send('alice', 'before')
    await until(() => alice.received.includes('before'), 3_000, 'before')
    await redis.kill()
    alice.conn.send('in the dark')
    await redis.restart()
    await until(() => alice.lost.length === 1, 8_000, 'session-lost on the client')
    expect(alice.lost[0]!.messages).toEqual(['in the dark'])
    await until(() => alice.conn.state === 'open', 5_000, 'open again')
    alice.conn.send('after')
    await until(() => messagesAt(a!, 'alice').some((e) => e.data === 'after'), 3_000, 'a new session works')
    await a!.send('alice', 'fresh')
    await until(() => alice.received.includes('fresh'), 3_000, 'the server reaching the client in the new session')
  })
})

describe('redis cluster: chaos', () => {
  it('delivers a stream exactly once and in order while the nodes the client uses are killed again and again', async () => {
    const kills = Number(process.env.LIFELINE_CHAOS_KILLS ?? 20)
    const s = settings()
    const producer = await startNode(s)
    const pool: TestNode[] = await Promise.all([startNode(s), startNode(s)])
    const dead: TestNode[] = []
    const pick = (): TestNode => pool.find((n) => n.alive()) ?? producer
    const alice = reliableClient(() => pick().url('alice'))
    let reconnects = 0
    alice.conn.on('open', () => reconnects++)
    await until(() => alice.conn.state === 'open', 5_000, 'open')
    let up = 0
    let down = 0
    let streaming = true
    const stream = (async () => {
      while (streaming) {
        alice.conn.send(`c${up++}`)
        // Sends by name and broadcasts, from one producer: one stream, in its order.
        if (await (down % 4 === 3 ? producer.broadcast(`s${down}`).then(() => true) : producer.send('alice', `s${down}`))) down++
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    })()
    const started = performance.now()
    for (let k = 0; k < kills; k++) {
      await new Promise((resolve) => setTimeout(resolve, 150))
      const victim = pool.shift()!
      await victim.kill()
      dead.push(victim)
      pool.push(await startNode(s))
    }
    streaming = false
    await stream
    await until(() => alice.received.length === down && alice.conn.buffered === 0, 15_000, 'everything to arrive and be acknowledged')
    // Server → client: exactly once, in order.
    expect(alice.received).toEqual(Array.from({ length: down }, (_, i) => `s${i}`))
    expect(alice.lost).toEqual([])
    // Client → server: at least once; by (session, seq), exactly once and in order.
    const everywhere = [producer, ...pool, ...dead].flatMap((n) => messagesAt(n, 'alice'))
    const bySeq = new Map<number, string>()
    for (const e of everywhere) {
      const seen = bySeq.get(e.seq!)
      if (seen !== undefined) expect(seen).toBe(e.data)
      bySeq.set(e.seq!, e.data!)
    }
    const seqs = [...bySeq.keys()].sort((x, y) => x - y)
    expect(seqs).toEqual(Array.from({ length: up }, (_, i) => i + 1))
    expect(seqs.map((seq) => bySeq.get(seq))).toEqual(Array.from({ length: up }, (_, i) => `c${i}`))
    expect(reconnects).toBeGreaterThanOrEqual(kills / 2)
    console.log(`chaos: ${kills} kills in ${((performance.now() - started) / 1000).toFixed(1)} s, ${reconnects} reconnects; ${down} messages down exactly once, ${up} up (${everywhere.length - up} delivered again by a node after another died)`)
  }, 120_000)
})
