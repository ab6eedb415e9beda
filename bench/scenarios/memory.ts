// 4. Memory: N idle connections in one fresh process (the server in another),
// heap and RSS per connection after GC. Per connection is the slope between
// N/2 and N connections: code compiled on first use and structures made once
// per process land in the first half and cancel out, so they are not charged
// to every connection (against a baseline before any, they were: 2.5 KB of
// compiled code "per connection" at 500 connections, 0.2 KB at 2,000).
import { pathToFileURL } from 'node:url'
import { BUILT } from '../build.js'
import { PEERS, type PeerName } from '../peers/catalog.js'
import { cell, ratioBar, type Cell, type Scenario } from '../results.js'
import { runWorker } from '../run-worker.js'
import { ServerProcess } from '../servers/client.js'
import { FULL, QUICK } from '../settings.js'
import { fmt, fmtRatio, median } from '../stats.js'
import { each, inBatches, sleep } from '../util.js'
import { chartActors } from './chart.js'
import { connectOpen, loadPeer, neutralServer } from './connect.js'
import type { PeerClient } from '../peers/types.js'

export interface MemoryParams {
  peer: PeerName
  connections: number
}

export interface MemoryTrial {
  heapBytesPerConnection: number
  rssBytesPerConnection: number
  externalBytesPerConnection: number
  /** The same from a baseline before any connection (includes one-time costs). */
  fromBaseline: { heapBytesPerConnection: number; rssBytesPerConnection: number }
}

/**
 * The floor under lifeline's figure: the connection statechart alone, run
 * by XState with the placeholder effects, spawned 64 to a hub actor on
 * lifeline's clock as connections are, each driven to open.waiting (its
 * heartbeat timer pending), with no adapter, socket or options. Heap per
 * actor as the slope from N/2 to N, like the peers'.
 */
export async function chartMemoryWorker(params: { connections: number }): Promise<{ heapBytesPerActor: number }> {
  const { LatenessClock } = (await import(pathToFileURL(BUILT.clock).href)) as typeof import('../../src/clock.js')
  const chart = await chartActors(new LatenessClock(undefined))
  const actors: unknown[] = []
  const grow = async (count: number): Promise<NodeJS.MemoryUsage> => {
    for (let i = 0; i < count; i++) actors.push(chart.add())
    return collect()
  }
  await grow(64) // compiled and warmed
  const half = Math.floor(params.connections / 2)
  const middle = await grow(half)
  const end = await grow(params.connections - half)
  chart.stop()
  return { heapBytesPerActor: (end.heapUsed - middle.heapUsed) / (params.connections - half) }
}

export async function collect(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('the memory worker needs --expose-gc')
  // Several rounds with a turn of the event loop between them: finalizers
  // and weak references let go only on a later collection. The reading comes
  // right after the last one: 2,000 heartbeating connections allocate
  // megabytes in 50 ms, which made readings taken after a pause swing by
  // ±4 MB (±4 KB per connection in the slope).
  for (let i = 0; i < 3; i++) {
    gc()
    await sleep(50)
  }
  gc()
  return process.memoryUsage()
}

export async function memoryWorker(params: MemoryParams): Promise<MemoryTrial> {
  const server = await ServerProcess.spawn(neutralServer(params.peer))
  const clients: PeerClient[] = []
  try {
    const port = await server.listen()
    const adapter = await loadPeer(params.peer)
    // One connection opened and closed first, so code loaded or compiled on
    // first use is in the baseline, not counted per connection.
    const warm = await connectOpen(adapter, port, 'common')
    await sleep(200)
    warm.close()
    await sleep(300)
    const baseline = await collect()
    const half = Math.floor(params.connections / 2)
    const grow = async (count: number): Promise<NodeJS.MemoryUsage> => {
      await inBatches(count, 100, async () => {
        clients.push(await connectOpen(adapter, port, 'common'))
      })
      // Past the handshakes and the first heartbeats: the steady idle state.
      await sleep(2_500)
      return collect()
    }
    const middle = await grow(half)
    const end = await grow(params.connections - half)
    const slope = (key: 'heapUsed' | 'rss' | 'external'): number => (end[key] - middle[key]) / (params.connections - half)
    const whole = (key: 'heapUsed' | 'rss'): number => (end[key] - baseline[key]) / params.connections
    return {
      heapBytesPerConnection: slope('heapUsed'),
      rssBytesPerConnection: slope('rss'),
      externalBytesPerConnection: slope('external'),
      fromBaseline: { heapBytesPerConnection: whole('heapUsed'), rssBytesPerConnection: whole('rss') },
    }
  } finally {
    for (const client of clients) client.close()
    server.kill()
  }
}

export const memory: Scenario = {
  name: 'memory',
  title: 'Memory',
  async run({ quick, trials, log }) {
    const size = (quick ? QUICK : FULL).memory
    const count = trials ?? 1
    const all = Object.fromEntries(PEERS.map((p) => [p, [] as MemoryTrial[]])) as Record<PeerName, MemoryTrial[]>
    const errors: string[] = []
    for (let t = 0; t < count; t++) {
      await each(PEERS, quick, async (peer) => {
        try {
          const trial = await runWorker<MemoryTrial>({ scenario: 'memory', params: { peer, connections: size.connections } }, 120_000)
          all[peer].push(trial)
          log(`  memory ${peer}: heap ${fmt(trial.heapBytesPerConnection / 1024)} KB, rss ${fmt(trial.rssBytesPerConnection / 1024)} KB per connection`)
        } catch (error) {
          errors.push(`${peer}: ${String(error)}`)
        }
      })
    }
    const row = (key: 'heapBytesPerConnection' | 'rssBytesPerConnection'): Partial<Record<PeerName, Cell>> => {
      const floor = median(all.ws.map((t) => t[key]))
      return Object.fromEntries(PEERS.map((peer) => {
        const trialsKb = all[peer].map((t) => t[key] / 1024)
        const m = median(trialsKb)
        const ratio = m !== null && floor !== null && floor > 0 ? (m * 1024) / floor : null
        return [peer, m === null ? cell(null, 'failed') : cell(m, `${fmt(m)} (${ratio === null ? '—' : fmtRatio(ratio)})`, { trials: trialsKb, ratio })]
      }))
    }
    const heap = row('heapBytesPerConnection')
    let chart: number | null = null
    try {
      chart = (await runWorker<{ heapBytesPerActor: number }>({ scenario: 'chart-memory', params: { connections: size.connections } }, 120_000)).heapBytesPerActor / 1024
      log(`  memory: the statechart alone ${fmt(chart)} KB per actor`)
    } catch (error) {
      errors.push(`the statechart alone: ${String(error)}`)
    }
    const wsKb = heap.ws?.value ?? null
    const floorText = chart === null
      ? 'failed'
      : `${fmt(chart)} KB per actor${wsKb === null ? '' : `; bare ws + the chart alone: ${fmt(wsKb + chart)} KB (${fmtRatio((wsKb + chart) / wsKb)} bare ws), the least a connection run by this chart can cost`}`
    const chartCells = Object.fromEntries(PEERS.map((p) => [p, p === 'lifeline' ? cell(chart, floorText) : cell(null, 'n/a')])) as Partial<Record<PeerName, Cell>>
    return {
      rows: [
        {
          metric: `heap KB per idle connection after GC (slope from ${(size.connections / 2).toLocaleString('en-US')} to ${size.connections.toLocaleString('en-US')} connections; ratio to ws)`,
          cells: heap,
          bar: ratioBar(heap.lifeline?.ratio, { atMost: 1.6 }),
          target: 'heap per idle connection',
        },
        { metric: 'RSS KB per idle connection (ratio to ws)', cells: row('rssBytesPerConnection') },
        { metric: 'reference: the connection statechart alone in XState (no adapter, socket or options; spawned 64 to a hub on lifeline\'s clock, in open.waiting with its heartbeat timer), heap KB per actor', cells: chartCells },
      ],
      notes: [
        'Clients in a fresh process with --expose-gc; per connection = (memory at N − memory at N/2) / (N/2), after 2.5 s idle and GC each time (from a baseline before any connection: in results.json); plain ws server for every ws-based peer (lifeline included), socket.io server for socket.io-client; heartbeat settings as in the comparable scenarios. The design\'s absolute bar, at most 10 KB per connection, is read off the figure itself.',
        ...errors,
      ],
      raw: { size, trials: all },
    }
  },
}
