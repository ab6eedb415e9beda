// The measurements of the cluster scenario, driven from the bench's main
// process: two server-node processes (A sends and broadcasts; B hosts the
// other node's clients) and two client-set processes, over one redis-server.
// Each phase starts its servers under a fresh Redis prefix and stops them
// when it ends, failed or not. Every wait has a deadline.
import { Child, type Message } from '../child.js'
import { deferred, orNull } from '../util.js'
import type { ClientsCommand } from './clients.js'
import type { NodeCommand } from './node.js'
import { ms, type ClockCommand, type ClusterSystem, type Dial, type FanOutReport } from './protocol.js'

export interface Topology {
  redis: string
  /** CPU seconds the redis-server has used so far. */
  redisCpu(): Promise<number>
  a: Child
  b: Child
  sets: [Child, Child]
  /** Added to a client set's clock reading to put it on node A's clock (0 once they are checked to be one clock). */
  correction: [bigint, bigint]
}

export interface LatencyResult {
  nodes: 1 | 2
  /** Milliseconds from send() to receipt of each probe measured (after the warm-up), and how many never arrived. */
  latencies: number[]
  lost: number
  /** send() calls that returned false. */
  refused: number
  drops: number
  errors: Record<string, number>
}

export interface FanOutResult {
  nodes: 1 | 2
  clients: number
  messages: number
  expected: number
  deliveries: number
  duplicates: number
  outOfOrder: number
  /** From the first broadcast to the last client's last message; null when not every client got it within the cap. */
  seconds: number | null
  perSecond: number | null
  /** CPU used during the run, in cores (CPU seconds per second): what limited it. */
  cpu: { nodeA: number; nodeB: number; clients: [number, number]; redis: number }
  drops: number
  errors: Record<string, number>
}

export interface LatencySize { sends: number; warmup: number; gapMs: number }
export interface FanOutSize { clients: number; messages: number; window: number; capMs: number }

const tell = (child: Child, command: NodeCommand | ClientsCommand): void => child.send(command)
const ask = <T extends Message>(child: Child, command: NodeCommand | ClientsCommand | ClockCommand, ev: string, ms: number): Promise<T> => child.request<T>(command, ev, ms)

let prefixes = 0

export async function spawnTopology(redis: { url: string; cpuSeconds(): Promise<number> }): Promise<Topology> {
  const spawned: Child[] = []
  const spawn = async (script: string): Promise<Child> => {
    const child = new Child(script, [], ['--expose-gc'])
    spawned.push(child)
    await child.next('ready', 30_000)
    return child
  }
  try {
    const [a, b, one, two] = await Promise.all([spawn('./cluster/node.ts'), spawn('./cluster/node.ts'), spawn('./cluster/clients.ts'), spawn('./cluster/clients.ts')])
    return { redis: redis.url, redisCpu: () => redis.cpuSeconds(), a: a!, b: b!, sets: [one!, two!], correction: [0n, 0n] }
  } catch (error) {
    for (const child of spawned) child.kill()
    throw error
  }
}

export function killTopology(topology: Topology): void {
  for (const child of [topology.a, topology.b, ...topology.sets]) child.kill()
}

/**
 * How far `child`'s clock is from this process's: the reading of the IPC
 * round trip that took least, against the midpoint of that trip, with half
 * the trip as the uncertainty (as NTP does).
 */
export async function clockOffset(child: Child, rounds = 30): Promise<{ offsetNs: bigint; uncertaintyNs: bigint }> {
  let best: { offsetNs: bigint; uncertaintyNs: bigint } | undefined
  for (let i = 0; i < rounds; i++) {
    const before = process.hrtime.bigint()
    const { at } = await ask<Message & { at: bigint }>(child, { cmd: 'clock' }, 'clock', 5_000)
    const after = process.hrtime.bigint()
    const half = (after - before) / 2n
    if (best === undefined || half < best.uncertaintyNs) best = { offsetNs: at - (before + half), uncertaintyNs: half }
  }
  return best!
}

async function start(topology: Topology, system: ClusterSystem, nodes: readonly Child[]): Promise<number[]> {
  const prefix = `bench${++prefixes}`
  const replies = await Promise.allSettled(nodes.map((node) => ask<Message & { port: number }>(node, { cmd: 'start', system, redis: topology.redis, prefix }, 'listening', 20_000)))
  const failed = replies.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed !== undefined) throw failed.reason
  return replies.map((r) => (r as PromiseFulfilledResult<Message & { port: number }>).value.port)
}

/** Stops every server the phase started; the error codes they reported, added up. */
async function stop(nodes: readonly Child[]): Promise<Record<string, number>> {
  const errors: Record<string, number> = {}
  const replies = await Promise.all(nodes.map((node) => ask<Message & { errors: Record<string, number> }>(node, { cmd: 'stop' }, 'stopped', 20_000)))
  for (const reply of replies) for (const [code, n] of Object.entries(reply.errors)) errors[code] = (errors[code] ?? 0) + n
  return errors
}

/**
 * Starts the servers of a phase (node A, and B for 2 nodes), connects the
 * client sets `dials` names, runs `body`, then closes the clients and stops
 * the servers whether anything failed or not (clients first: a server
 * stopping under them would send them reconnecting). The first failure is
 * the one thrown. The result carries the error codes the servers reported.
 */
async function phase<T>(topology: Topology, system: ClusterSystem, nodes: 1 | 2, dials: (ports: number[]) => Array<[Child, Dial]>, body: () => Promise<T>): Promise<T & { errors: Record<string, number> }> {
  const servers = nodes === 2 ? [topology.a, topology.b] : [topology.a]
  const dialled: Child[] = []
  let failure: { error: unknown } | undefined
  let result: T | undefined
  let errors: Record<string, number> = {}
  try {
    const ports = await start(topology, system, servers)
    await Promise.all(dials(ports).map(([set, dial]) => {
      dialled.push(set)
      return ask(set, { cmd: 'connect', dial }, 'connected', 40_000)
    }))
    result = await body()
  } catch (error) {
    failure = { error }
  }
  const cleanups = [
    () => Promise.all(dialled.map((set) => ask(set, { cmd: 'close' }, 'closed', 20_000))),
    async () => void (errors = await stop(servers)),
  ]
  for (const cleanup of cleanups) {
    try {
      await cleanup()
    } catch (error) {
      failure ??= { error }
    }
  }
  if (failure !== undefined) throw failure.error
  return { ...result!, errors }
}

/**
 * One client, on node B (2 nodes) or on A itself (1 node); A sends it a
 * probe every `gapMs` stamped with the clock at send(); the client's process
 * subtracts that stamp from the clock at its receipt. Open loop: the next
 * probe does not wait for the last.
 */
export function measureLatency(topology: Topology, system: ClusterSystem, nodes: 1 | 2, size: LatencySize): Promise<LatencyResult> {
  const set = topology.sets[0]
  const count = size.warmup + size.sends
  return phase(topology, system, nodes, (ports) => [[set, { system, clients: [{ name: 'probe', port: ports[nodes - 1]! }] }]], async () => {
    const { refused } = await ask<Message & { refused: number }>(topology.a, { cmd: 'latency', name: 'probe', count, gapMs: size.gapMs }, 'sent', count * size.gapMs * 10 + 10_000)
    const reply = await ask<Message & { samples: number[]; drops: number }>(set, { cmd: 'latencies', count, warmup: size.warmup, waitMs: 5_000 }, 'latencies', 15_000)
    const correction = ms(topology.correction[0])
    const latencies = reply.samples.map((sample) => sample + correction)
    return {
      nodes,
      latencies,
      lost: size.sends - latencies.length,
      refused,
      drops: reply.drops,
    }
  })
}

let runs = 0

interface CpuSample { wallNs: bigint; micros: [number, number, number, number]; redisSeconds: number }

/** CPU used so far by node A, node B, the two client sets and redis-server, and when. */
async function cpuNow(topology: Topology): Promise<CpuSample> {
  const children = [topology.a, topology.b, ...topology.sets]
  const [replies, redisSeconds] = await Promise.all([Promise.all(children.map((child) => ask<Message & { cpuMicros: number }>(child, { cmd: 'clock' }, 'clock', 5_000))), topology.redisCpu()])
  return { wallNs: process.hrtime.bigint(), micros: replies.map((r) => r.cpuMicros) as CpuSample['micros'], redisSeconds }
}

function cores(before: CpuSample, after: CpuSample): FanOutResult['cpu'] {
  const wallSeconds = ms(after.wallNs - before.wallNs) / 1_000
  const share = (i: number): number => (after.micros[i]! - before.micros[i]!) / 1e6 / wallSeconds
  return { nodeA: share(0), nodeB: share(1), clients: [share(2), share(3)], redis: (after.redisSeconds - before.redisSeconds) / wallSeconds }
}

/**
 * `clients` clients, half in each client set: on A and B (2 nodes) or all
 * on A (1 node). A broadcasts `messages` numbered messages, never more than
 * `window` ahead of the slowest client (credit the scenario relays from the
 * client sets), so no system is judged by how much it can queue. The rate
 * is every delivery over the time from the first broadcast to the moment
 * the last client got the last message.
 */
export async function measureFanOut(topology: Topology, system: ClusterSystem, nodes: 1 | 2, size: FanOutSize): Promise<FanOutResult> {
  const half = Math.floor(size.clients / 2)
  const expected = half * 2 * size.messages
  const run = ++runs
  const progress = [0, 0]
  const reports: Array<FanOutReport | undefined> = [undefined, undefined]
  const done = deferred<void>()
  // Removed only once the sets have closed: IPC keeps order, so nothing of this run can come after.
  const listeners = topology.sets.flatMap((set, k) => [
    set.on('progress', (m) => {
      if (m.run !== run) return
      progress[k] = m.upTo as number
      tell(topology.a, { cmd: 'credit', upTo: Math.min(...progress) + size.window })
    }),
    set.on('fan-out', (m) => {
      if (m.run !== run) return
      reports[k] = m.report as FanOutReport
      if (reports.every((r) => r !== undefined)) done.resolve()
    }),
  ])
  const dial = (k: number, port: number): Dial => ({ system, clients: Array.from({ length: half }, (_, i) => ({ name: `c${k}-${i}`, port })) })
  try {
    return await phase(topology, system, nodes, (ports) => topology.sets.map((set, k) => [set, dial(k, ports[Math.min(k, nodes - 1)]!)]), async () => {
      await Promise.all(topology.sets.map((set) => ask(set, { cmd: 'fan-out', run, count: size.messages }, 'armed', 10_000)))
      const before = await cpuNow(topology)
      const { startedAt } = await ask<Message & { startedAt: bigint }>(topology.a, { cmd: 'broadcast', count: size.messages, credit: size.window }, 'broadcasting', 10_000)
      await orNull(done.promise, size.capMs)
      const after = await cpuNow(topology)
      // Past the cap: what each set got so far.
      for (const [k, set] of topology.sets.entries()) {
        reports[k] ??= (await ask<Message & { report: FanOutReport }>(set, { cmd: 'report', run }, 'report', 10_000)).report
      }
      const all = reports as FanOutReport[]
      const deliveries = all.reduce((sum, r) => sum + r.deliveries, 0)
      const complete = all.every((r) => r.finished === half && r.lastAt !== null)
      // On node A's clock: the last of the sets' last arrivals.
      const lastAt = complete ? all.reduce((last, r, k) => (r.lastAt! + topology.correction[k]! > last ? r.lastAt! + topology.correction[k]! : last), startedAt) : null
      const seconds = lastAt === null ? null : ms(lastAt - startedAt) / 1_000
      return {
        nodes,
        clients: half * 2,
        messages: size.messages,
        expected,
        deliveries,
        duplicates: all.reduce((sum, r) => sum + r.duplicates, 0),
        outOfOrder: all.reduce((sum, r) => sum + r.outOfOrder, 0),
        seconds,
        perSecond: seconds === null || seconds <= 0 ? null : deliveries / seconds,
        cpu: cores(before, after),
        drops: all.reduce((sum, r) => sum + r.drops, 0),
      }
    })
  } finally {
    for (const off of listeners) off()
  }
}
