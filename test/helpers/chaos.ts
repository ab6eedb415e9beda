/**
 * The chaos driver for reliable delivery: a lifeline client and
 * lifeline/server stream numbered messages to each other through a TCP proxy
 * while the driver breaks the link again and again — black hole, TCP reset,
 * server-side close, client reconnect(), offline/online — then checks that
 * every message arrived exactly once and in order, both ways. Every wait is
 * bounded; the run stops by itself.
 */
import { createConnection, createManualNetwork, type Connection } from '../../src/index.node.js'
import { createHeartbeatServer, MemorySessionStore, nameFromQuery, type HeartbeatServer, type SessionStore } from '../../src/server/index.js'
import { seededRandom } from './random.js'
import { startProxy, until } from './servers.js'

export type Disruption = 'black-hole' | 'reset' | 'server-close' | 'reconnect' | 'offline'
const DISRUPTIONS: Disruption[] = ['black-hole', 'reset', 'server-close', 'reconnect', 'offline']

export interface ChaosResult {
  disruptions: Record<Disruption, number>
  survived: number
  clientSent: number
  serverSent: number
  /** Both directions: received exactly once, in order. */
  exactlyOnceInOrder: boolean
  duplicates: number
  missing: number
  reconnects: number
  seconds: number
}


/** Checks a received stream against 0..n-1; counts duplicates and gaps. */
function audit(received: number[], sent: number): { ok: boolean; duplicates: number; missing: number } {
  const seen = new Set(received)
  const duplicates = received.length - seen.size
  let missing = 0
  for (let i = 0; i < sent; i++) if (!seen.has(i)) missing++
  const ordered = received.every((value, i) => value === i)
  return { ok: ordered && received.length === sent, duplicates, missing }
}

/** A store whose every call settles after a random lag (seeded): up to `load` ms for load and delete, `save` ms for save. */
function slowStore(rand: () => number, lag: { load: number; save: number }): SessionStore {
  const memory = new MemorySessionStore()
  const after = (ms: number) => new Promise((resolve) => setTimeout(resolve, rand() * ms))
  return {
    load: async (key) => (await after(lag.load), memory.load(key)),
    save: async (key, state, ttl) => (await after(lag.save), memory.save(key, state, ttl)),
    delete: async (key) => (await after(lag.load), memory.delete(key)),
  }
}

export interface ChaosOptions {
  disruptions: number
  seed?: number
  perTick?: number
  /** Sessions in a store whose calls take up to this long (ms), instead of in the server's memory. */
  slowStore?: { load: number; save: number }
  /** Which disruptions to draw from (all by default). */
  kinds?: Disruption[]
  /** The next disruption comes after a random 0–`rapid` ms, without waiting for the link to recover (most land mid-handshake). */
  rapid?: number
}

export async function runChaos({ disruptions, seed = 1, perTick = 4, slowStore: lag, kinds = DISRUPTIONS, rapid }: ChaosOptions): Promise<ChaosResult> {
  const rand = seededRandom(seed)
  const started = performance.now()
  const sessionStore = lag === undefined ? undefined : slowStore(seededRandom(seed + 1), lag)
  const server: HeartbeatServer = createHeartbeatServer({ port: 0, delivery: 'reliable', identify: nameFromQuery, heartbeat: { interval: 100, timeout: 400 }, sessionTtl: 60_000, sessionStore })
  const { port } = await server.listening
  const proxy = await startProxy(port)
  const network = createManualNetwork()
  const conn: Connection = createConnection({
    url: `ws://127.0.0.1:${proxy.port}/?name=chaos`,
    delivery: 'reliable',
    heartbeat: { interval: 40, timeout: 60, probeTimeout: 60 },
    reconnect: { initialDelay: 5, maxDelay: 20 },
    connectTimeout: 500,
    buffer: { maxMessages: 100_000 },
    network,
  })
  const atServer: number[] = []
  const atClient: number[] = []
  let clientSent = 0
  let serverSent = 0
  let reconnects = 0
  conn.on('message', (data) => atClient.push(Number(data)))
  conn.on('reconnect', () => reconnects++)
  const protocolErrors: Error[] = []
  conn.on('error', (error) => (error as { code?: string }).code === 'LIFELINE_PROTOCOL_ERROR' && protocolErrors.push(error))
  server.on('error', (error) => error.message.includes('protocol') && protocolErrors.push(error))
  server.on('message', ({ data }) => atServer.push(Number(data)))
  const lost: unknown[] = []
  conn.on('session-lost', (event) => lost.push(event))
  server.on('session-lost', (event) => lost.push({ atServer: event }))

  // Both sides keep sending, whatever the link is doing.
  const pump = setInterval(() => {
    for (let i = 0; i < perTick; i++) conn.send(String(clientSent++))
    for (let i = 0; i < perTick; i++) if (server.send('chaos', String(serverSent))) serverSent++
  }, 2)

  const counts: Record<Disruption, number> = { 'black-hole': 0, reset: 0, 'server-close': 0, reconnect: 0, offline: 0 }
  let survived = 0
  try {
    await until(() => conn.state === 'open', 5_000, 'the first open')
    for (let n = 0; n < disruptions; n++) {
      const disruption = kinds[Math.floor(rand() * kinds.length)]!
      counts[disruption]++
      const before = { client: atClient.length, server: atServer.length }
      switch (disruption) {
        case 'black-hole':
          proxy.blackHole()
          await until(() => conn.state !== 'open', 5_000, 'the black hole to be found')
          proxy.reset() // the black-holed connections go; new ones pass
          proxy.restore()
          break
        case 'reset':
          proxy.reset()
          break
        case 'server-close':
          server.clients.get('chaos')?.terminate()
          break
        case 'reconnect':
          conn.reconnect()
          break
        case 'offline':
          network.set(false)
          await new Promise((resolve) => setTimeout(resolve, 5))
          network.set(true)
          break
      }
      if (rapid !== undefined) {
        await new Promise((resolve) => setTimeout(resolve, rand() * rapid))
        survived++
        continue
      }
      // Survived: open again and messages flowing both ways again.
      await until(() => conn.state === 'open' && atClient.length > before.client && atServer.length > before.server, 10_000, `recovery from ${disruption} #${n + 1}`)
      survived++
    }
  } finally {
    clearInterval(pump)
  }
  try {
    await until(() => atServer.length >= clientSent && atClient.length >= serverSent && conn.buffered === 0, 15_000, 'everything to arrive').catch((error: Error) => {
      throw new Error(`${error.message}: server has ${atServer.length}/${clientSent}, client has ${atClient.length}/${serverSent}, ${conn.buffered} unacknowledged, state ${conn.state}`)
    })
  } finally {
    conn.dispose()
    await server.close()
    await proxy.close()
  }
  const up = audit(atServer, clientSent)
  const down = audit(atClient, serverSent)
  if (lost.length > 0) throw new Error(`session-lost while the server kept its sessions: ${JSON.stringify(lost)}`)
  if (protocolErrors.length > 0) throw new Error(`Protocol errors: ${protocolErrors.map((e) => e.message).join('; ')}`)
  return {
    disruptions: counts,
    survived,
    clientSent,
    serverSent,
    exactlyOnceInOrder: up.ok && down.ok,
    duplicates: up.duplicates + down.duplicates,
    missing: up.missing + down.missing,
    reconnects,
    seconds: (performance.now() - started) / 1000,
  }
}
