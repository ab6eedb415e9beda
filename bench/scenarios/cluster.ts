// Past one server process: cross-node send() latency (p50/p99) and
// broadcast fan-out throughput, 2 nodes against 1, for lifeline's
// redisCluster() (plain and reliable delivery) and socket.io with
// @socket.io/redis-adapter, side by side in one run over one real
// redis-server that the scenario starts and stops. Every server node and
// every set of clients is its own process (bench/cluster/).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../child.js'
import { clockOffset, killTopology, measureFanOut, measureLatency, spawnTopology, type FanOutResult, type LatencyResult, type Topology } from '../cluster/phases.js'
import { SYSTEMS, type ClusterSystem } from '../cluster/protocol.js'
import { startBenchRedis } from '../cluster/redis.js'
import { PEERS, type PeerName } from '../peers/catalog.js'
import { cell, type Cell, type Row, type Scenario } from '../results.js'
import { FULL, QUICK } from '../settings.js'
import { fmt, median, percentile } from '../stats.js'

const COLUMN: Record<ClusterSystem, PeerName> = { lifeline: 'lifeline', 'lifeline-reliable': 'lifeline', 'socket.io': 'socket.io-client' }
const NO_CLUSTER: Partial<Record<PeerName, string>> = { ws: 'n/a (one process: no cluster)', 'socket.io-client': 'n/a (no reliable delivery)' }
// A shared clock is trusted when the offsets agree within their uncertainty and this much.
const CLOCK_SLACK_NS = 20_000n

const versionOf = (pkg: string): string => (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version
const msText = (value: number): string => (value < 10 ? value.toFixed(2) : fmt(value))
const count = (value: number): string => value.toLocaleString('en-US')
const key = (system: ClusterSystem, nodes: 1 | 2): string => `${system}, ${nodes} node${nodes === 2 ? 's' : ''}`
const cpuText = (cpu: FanOutResult['cpu']): string => [cpu.nodeA, cpu.nodeB, ...cpu.clients, cpu.redis].map((c) => c.toFixed(2)).join('/')

/** A row with a cell for every peer: the systems measured, and why the others have none. */
function rowOf(metric: string, systems: readonly ClusterSystem[], make: (system: ClusterSystem) => Cell): Row {
  const cells: Partial<Record<PeerName, Cell>> = {}
  for (const system of systems) cells[COLUMN[system]] = make(system)
  for (const peer of PEERS) cells[peer] ??= cell(null, NO_CLUSTER[peer] ?? 'n/a (client only)')
  return { metric, cells }
}

/** The probes of every block of one system and topology, pooled. */
interface LatencySummary {
  probes: number
  lost: number
  refused: number
  drops: number
  p50: number | null
  p90: number | null
  p99: number | null
  max: number | null
  /** The median of each block, in the order run. */
  blockMedians: Array<number | null>
  errors: Record<string, number>
}

function summarize(blocks: readonly LatencyResult[]): LatencySummary {
  const all = blocks.flatMap((b) => b.latencies)
  const sum = (pick: (b: LatencyResult) => number): number => blocks.reduce((total, b) => total + pick(b), 0)
  const errors: Record<string, number> = {}
  for (const block of blocks) for (const [code, n] of Object.entries(block.errors)) errors[code] = (errors[code] ?? 0) + n
  return {
    probes: all.length,
    lost: sum((b) => b.lost),
    refused: sum((b) => b.refused),
    drops: sum((b) => b.drops),
    p50: percentile(all, 0.5),
    p90: percentile(all, 0.9),
    p99: percentile(all, 0.99),
    max: percentile(all, 1),
    blockMedians: blocks.map((b) => percentile(b.latencies, 0.5)),
    errors,
  }
}

function latencyCell(summary: LatencySummary): Cell {
  const { p50, p99, lost } = summary
  if (p50 === null || p99 === null) return cell(null, `no probe arrived (${lost} lost)`)
  return cell(p50, `${msText(p50)} / ${msText(p99)}${lost > 0 ? ` (${count(lost)} lost)` : ''}`, { trials: summary.blockMedians })
}

function fanOutCell(results: readonly FanOutResult[], oneNode: readonly FanOutResult[] | undefined, capMs: number): Cell {
  const rate = median(results.map((r) => r.perSecond))
  if (rate === null) {
    const last = results.at(-1)!
    return cell(null, `incomplete: ${count(last.deliveries)} of ${count(last.expected)} deliveries within ${capMs / 1_000} s`)
  }
  const base = oneNode === undefined ? null : median(oneNode.map((r) => r.perSecond))
  const seconds = median(results.map((r) => r.seconds)) ?? 0
  const versus = base === null ? '' : `, ${(rate / base).toFixed(2)}x 1 node`
  return cell(rate, `${count(Math.round(rate))}/s (${seconds.toFixed(2)} s${versus})`, { trials: results.map((r) => r.perSecond) })
}

/** Every broadcast to every client once and in order, over all of a column's fan-out runs. */
function integrityCell(results: readonly FanOutResult[]): Cell {
  const sum = (pick: (r: FanOutResult) => number): number => results.reduce((total, r) => total + pick(r), 0)
  const [got, expected, duplicates, outOfOrder] = [sum((r) => r.deliveries), sum((r) => r.expected), sum((r) => r.duplicates), sum((r) => r.outOfOrder)]
  const wrong = Math.max(0, expected - (got - duplicates)) + duplicates + outOfOrder
  return cell(wrong, `${count(got)} of ${count(expected)}; ${duplicates} duplicates; ${outOfOrder} out of order`)
}

/** Checks that the client sets read node A's clock (CLOCK_MONOTONIC); sets a correction where they do not. */
async function checkClock(topology: Topology): Promise<{ shared: boolean; text: string; raw: unknown }> {
  const a = await clockOffset(topology.a)
  const sets = [await clockOffset(topology.sets[0]), await clockOffset(topology.sets[1])]
  const parts: string[] = []
  let shared = true
  for (const [k, set] of sets.entries()) {
    const diff = set.offsetNs - a.offsetNs
    const bound = set.uncertaintyNs + a.uncertaintyNs
    const agrees = (diff < 0n ? -diff : diff) <= bound + CLOCK_SLACK_NS
    shared &&= agrees
    topology.correction[k] = agrees ? 0n : -diff
    parts.push(`${(Number(diff) / 1_000).toFixed(1)} µs ± ${(Number(bound) / 1_000).toFixed(1)} µs`)
  }
  const µs = (o: { offsetNs: bigint; uncertaintyNs: bigint }): { offsetMicros: number; uncertaintyMicros: number } => ({ offsetMicros: Number(o.offsetNs) / 1_000, uncertaintyMicros: Number(o.uncertaintyNs) / 1_000 })
  return { shared, text: parts.join(' and '), raw: { nodeA: µs(a), clientSets: sets.map(µs) } }
}

export const cluster: Scenario = {
  name: 'cluster',
  title: 'Cluster (Redis)',
  async run({ quick, trials, log }) {
    const size = (quick ? QUICK : FULL).cluster
    const rounds = trials ?? 1
    const redis = await startBenchRedis()
    let topology: Topology | undefined
    try {
      topology = await spawnTopology(redis)
      const clock = await checkClock(topology)
      log(`  cluster: client clocks against node A's: ${clock.text}${clock.shared ? ' (one clock)' : ' (corrected)'}`)
      const blocks: Record<string, LatencyResult[]> = {}
      const fanOut: Record<string, FanOutResult[]> = {}
      // Blocks interleaved across systems and topologies, so a burst of load from elsewhere on the machine hits them alike.
      const block = { ...size, sends: Math.ceil(size.sends / size.blocks) }
      for (let b = 0; b < size.blocks; b++) {
        for (const nodes of [2, 1] as const) {
          for (const system of SYSTEMS) {
            const r = await measureLatency(topology, system, nodes, block)
            ;(blocks[key(system, nodes)] ??= []).push(r)
            log(`  cluster latency ${key(system, nodes)}, block ${b + 1}/${size.blocks}: p50 ${percentile(r.latencies, 0.5)?.toFixed(3)} ms, p99 ${percentile(r.latencies, 0.99)?.toFixed(3)} ms, ${r.lost} lost, ${r.refused} refused, errors ${JSON.stringify(r.errors)}`)
          }
        }
      }
      const latency = Object.fromEntries(Object.entries(blocks).map(([k, list]) => [k, summarize(list)]))
      for (let round = 0; round < rounds; round++) {
        for (const nodes of [2, 1] as const) {
          for (const system of SYSTEMS) {
            const r = await measureFanOut(topology, system, nodes, size)
            ;(fanOut[key(system, nodes)] ??= []).push(r)
            log(`  cluster fan-out ${key(system, nodes)}: ${r.perSecond === null ? 'incomplete' : `${Math.round(r.perSecond)}/s in ${r.seconds?.toFixed(2)} s`}, ${r.deliveries}/${r.expected}, ${r.duplicates} dup, ${r.outOfOrder} ooo, ${r.drops} drops, cpu ${cpuText(r.cpu)}, errors ${JSON.stringify(r.errors)}`)
          }
        }
      }

      const plain: ClusterSystem[] = ['lifeline', 'socket.io']
      const reliable: ClusterSystem[] = ['lifeline-reliable']
      const lat = (system: ClusterSystem, nodes: 1 | 2): Cell => latencyCell(latency[key(system, nodes)]!)
      const fan = (nodes: 1 | 2) => (system: ClusterSystem): Cell => fanOutCell(fanOut[key(system, nodes)]!, nodes === 2 ? fanOut[key(system, 1)] : undefined, size.capMs)
      const probes = `${count(size.sends)} probes, one every ${size.gapMs} ms`
      const fanSize = `${count(size.clients)} clients, ${count(size.messages)} broadcasts`
      // One cell per column: lifeline's counts its plain and its reliable runs together.
      const runsOf = (column: PeerName): FanOutResult[] => SYSTEMS.filter((s) => COLUMN[s] === column).flatMap((s) => [...(fanOut[key(s, 2)] ?? []), ...(fanOut[key(s, 1)] ?? [])])
      const integrity = rowOf('broadcast fan-out: every message reached every client (all runs of the rows above)', SYSTEMS, (system) => integrityCell(runsOf(COLUMN[system])))
      const lifelineWrong = integrity.cells.lifeline?.value ?? null
      integrity.bar = { text: 'all, once, in order', pass: lifelineWrong === null ? null : lifelineWrong === 0 }
      const rows: Row[] = [
        rowOf(`send() latency, client on the other node: p50 / p99 ms (${probes})`, plain, (s) => lat(s, 2)),
        rowOf('send() latency, client on the sending node (1 node): p50 / p99 ms', plain, (s) => lat(s, 1)),
        rowOf('send() latency, reliable delivery, client on the other node: p50 / p99 ms', reliable, (s) => lat(s, 2)),
        rowOf('send() latency, reliable delivery, 1 node: p50 / p99 ms', reliable, (s) => lat(s, 1)),
        rowOf(`broadcast fan-out, ${fanSize}, clients split over 2 nodes: deliveries/s`, plain, fan(2)),
        rowOf('broadcast fan-out, every client on the broadcasting node (1 node): deliveries/s', plain, fan(1)),
        rowOf('broadcast fan-out, reliable delivery, 2 nodes: deliveries/s', reliable, fan(2)),
        rowOf('broadcast fan-out, reliable delivery, 1 node: deliveries/s', reliable, fan(1)),
        integrity,
      ]

      const troubles = [
        ...Object.entries(latency).map(([k, r]) => [`${k} latency`, r] as const),
        ...Object.entries(fanOut).flatMap(([k, list]) => list.map((r) => [`${k} fan-out`, { ...r, refused: 0 }] as const)),
      ].flatMap(([k, r]) => [
        ...Object.entries(r.errors).map(([code, n]) => `${code} ×${n}`),
        ...(r.refused > 0 ? [`${r.refused} send() refused`] : []),
        ...(r.drops > 0 ? [`${r.drops} client disconnects`] : []),
      ].map((t) => `${k}: ${t}`))
      const cpu = Object.entries(fanOut).map(([k, list]) => `${k} ${cpuText(list.at(-1)!.cpu)}`).join('; ')
      const notes = [
        `Setup: two server-node processes (A sends and broadcasts; B holds the other node's clients), two client processes holding half the clients each, one redis-server ${redis.version} on loopback started by the scenario; each measurement starts its servers under a fresh Redis prefix. "1 node" is node A alone, still clustered through Redis.`,
        `lifeline: createHeartbeatServer({ identify: nameFromQuery, delivery, cluster: redisCluster({ url, prefix }) }) with createConnection clients (delivery: 'reliable' on both ends for the reliable rows); node A calls send(name) and broadcast(). socket.io ${versionOf('socket.io')} with @socket.io/redis-adapter ${versionOf('@socket.io/redis-adapter')} over ioredis ${versionOf('ioredis')} (pub and sub clients), websocket transport only; each socket joins a room named by its ?name=, node A calls io.to(name).emit('message', …) and io.emit('message', …). Heartbeats at each library's defaults (not what is measured).`,
        `Latency: node A stamps each probe with process.hrtime.bigint() (CLOCK_MONOTONIC, one clock for every process on Linux) right before send(); the client's process subtracts it at receipt; open loop; in ${size.blocks} block${size.blocks === 1 ? '' : 's'} of ${count(block.sends)} interleaved across the systems, each a fresh server start whose first ${count(size.warmup)} probes go unmeasured; p50/p99 over all blocks' probes. Clock check by IPC round trips, client processes against node A: ${clock.text}${clock.shared ? ', the same clock (no correction applied)' : ', corrected by the measured offset'}.`,
        `Fan-out: node A broadcasts numbered 64-byte messages, never more than ${size.window} ahead of the slowest client (credit relayed from the client processes), so no system is judged by how much it can queue; the time runs from the first broadcast to the last client's last message; a run is capped at ${size.capMs / 1_000} s. Medians of ${rounds} run${rounds === 1 ? '' : 's'}.`,
        `CPU during each fan-out run, in cores (node A, node B, the two client processes, redis-server; 2 cores in all, shared with whatever else runs): ${cpu}.`,
        ...(troubles.length > 0 ? [`Reported during the runs: ${troubles.join('; ')}.`] : []),
      ]
      return { rows, notes, raw: { size, rounds, redis: redis.version, clock: clock.raw, latency, fanOut } }
    } finally {
      if (topology !== undefined) killTopology(topology)
      await redis.stop()
    }
  },
}
