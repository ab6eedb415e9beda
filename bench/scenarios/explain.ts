// Two measurements that explain bars lifeline misses or only just meets.
// `cycle`: CPU of lifeline's own machinery per client-driven heartbeat
// cycle, with scripted sockets and a batch clock, so no I/O and no real
// timers are counted, beside the same cycle on the bare statechart in XState
// (the floor of any adapter that runs this chart). `herd-model`: the busiest 250 ms bin that the
// backoff formula itself predicts for the herd scenario, by simulation.
import { pathToFileURL } from 'node:url'
import { backoffDelay } from '../../src/backoff.js'
import { FakeWebSocket } from '../../test/helpers/fake-websocket.js'
import { seededRandom } from '../../test/helpers/random.js'
import { BUILT } from '../build.js'
import { PEERS, type PeerName } from '../peers/catalog.js'
import { cell, type Cell, type Scenario } from '../results.js'
import { median } from '../stats.js'
import { chartActors } from './chart.js'

const only = (lifeline: Cell): Partial<Record<PeerName, Cell>> =>
  Object.fromEntries(PEERS.map((p) => [p, p === 'lifeline' ? lifeline : cell(null, 'n/a')]))

/** Fires every due timer at once: the same time for 2,000 connections, no scan per timer. */
class BatchClock {
  private time = 0
  private nextId = 0
  private readonly timers = new Map<number, { due: number; fn: () => void }>()
  now(): number {
    return this.time
  }
  setTimeout(fn: () => void, ms: number): number {
    this.timers.set(++this.nextId, { due: this.time + ms, fn })
    return this.nextId
  }
  clearTimeout(id: unknown): void {
    this.timers.delete(id as number)
  }
  advance(ms: number): void {
    this.time += ms
    for (const [id, timer] of [...this.timers]) if (timer.due <= this.time && this.timers.delete(id)) timer.fn()
  }
}

type Lifeline = typeof import('../../src/index.node.js')

/** Connections (scripted sockets) whose every heartbeat cycle `run` drives; lifeline as users run it (compiled). */
async function lifelineCycles(clock: BatchClock, connections: number): Promise<{ run(): void; end(): void }> {
  const { createConnection } = (await import(pathToFileURL(BUILT.client).href)) as Lifeline
  FakeWebSocket.reset()
  const conns = Array.from({ length: connections }, () => {
    const conn = createConnection({
      url: 'ws://bench.invalid/',
      WebSocket: FakeWebSocket,
      clock,
      network: false,
      environment: false,
      heartbeat: { interval: 1_000, timeout: 1_000 },
    })
    FakeWebSocket.last.serverOpen()
    return conn
  })
  const sockets = [...FakeWebSocket.instances]
  return {
    // The interval fires (waiting → ackPending, a ping goes out), the pong comes back (→ waiting).
    run: () => {
      clock.advance(1_000)
      for (const socket of sockets) socket.serverMessage('pong')
    },
    end: () => {
      for (const conn of conns) conn.dispose()
    },
  }
}

/** The same cycle on the bare statechart (see chart.ts), the proof sent as an event. */
async function chartCycles(clock: BatchClock, connections: number): Promise<{ run(): void; end(): void }> {
  const chart = await chartActors(clock)
  const actors = Array.from({ length: connections }, () => chart.add())
  const proof = { type: 'heartbeat.proof' } as const
  return {
    run: () => {
      clock.advance(1_000)
      for (const actor of actors) actor.send(proof)
    },
    end: () => chart.stop(),
  }
}

/** CPU µs per connection per cycle over `cycles` cycles, after 10 unmeasured ones. */
function perCycle(cycles: { run(): void }, connections: number, count: number): number {
  for (let i = 0; i < 10; i++) cycles.run()
  const start = process.cpuUsage()
  for (let i = 0; i < count; i++) cycles.run()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / (connections * count)
}

export const cycle: Scenario = {
  name: 'cycle',
  title: 'Heartbeat cycle, machinery only',
  async run({ quick, trials: trialsOverride }) {
    const connections = quick ? 50 : 2_000
    const cycles = quick ? 5 : 50
    const trials = trialsOverride ?? (quick ? 1 : 3)
    const lifeline: number[] = []
    const chart: number[] = []
    // Interleaved, each on a fresh clock and fresh connections.
    for (let t = 0; t < trials; t++) {
      for (const [figures, make] of [[lifeline, lifelineCycles], [chart, chartCycles]] as const) {
        const clock = new BatchClock()
        const set = await make(clock, connections)
        figures.push(perCycle(set, connections, cycles))
        set.end()
      }
    }
    const l = median(lifeline)
    const c = median(chart)
    const text = (v: number | null): string => (v === null ? 'failed' : `${v.toFixed(1)} µs`)
    const adapter = l !== null && c !== null ? `; the adapter adds ${(l - c).toFixed(1)} µs (${Math.round(((l - c) / l) * 100)}% of lifeline's figure)` : ''
    return {
      rows: [
        { metric: `CPU µs per heartbeat cycle, lifeline's machinery alone (${connections} connections × ${cycles} cycles, scripted sockets, no I/O; median of ${trials})`, cells: only(cell(l, text(l), { trials: lifeline })) },
        { metric: 'CPU µs per heartbeat cycle, the connection statechart alone in XState (placeholder effects, hub-spawned, the proof sent as an event; same cycles)', cells: only(cell(c, `${text(c)}${adapter}`, { trials: chart })) },
      ],
      notes: ['Cycle: the interval timer fires (open.waiting → open.ackPending, a ping goes out), the pong arrives (→ open.waiting): two XState macrosteps, two timers armed, one cancelled. The statechart alone is the floor any adapter of this chart pays per cycle; a bare ws client\'s whole heartbeat, I/O included, is the first row of Heartbeat CPU.'],
      raw: { connections, cycles, lifeline, chart },
    }
  },
}

/** Busiest 250 ms bin after a server that was down `downMs` listens again, for `clients` using the default backoff. */
function simulateHerd(clients: number, downMs: number, random: () => number): number {
  const settings = { initialDelay: 1_000, maxDelay: 30_000, factor: 2, jitter: 1 }
  const bins = new Map<number, number>()
  for (let c = 0; c < clients; c++) {
    let at = 0
    // Refused attempts fail at once: each retry starts when the previous one failed.
    for (let retry = 0; at < downMs; retry++) at += backoffDelay(retry, settings, random)
    const bin = Math.floor((at - downMs) / 250)
    bins.set(bin, (bins.get(bin) ?? 0) + 1)
  }
  return Math.max(...bins.values())
}

export const herdModel: Scenario = {
  name: 'herd-model',
  title: 'Herd, the formula alone',
  async run({ quick }) {
    const runs = quick ? 50 : 5_000
    const random = seededRandom(2026)
    const peaks = Array.from({ length: runs }, () => simulateHerd(300, 1_000, random)).sort((a, b) => a - b)
    const over = peaks.filter((p) => p > 50).length / runs
    const text = `median ${median(peaks)}, 90th percentile ${peaks[Math.floor(runs * 0.9)]}, over 50 in ${(over * 100).toFixed(0)}% of runs`
    return {
      rows: [{ metric: `busiest 250 ms bin predicted by the default backoff (full jitter, first retry within 1 s, doubling; 300 clients, 1 s outage; ${runs} simulated runs)`, cells: only(cell(median(peaks), text)) }],
      notes: ['Herd model: simulates src/backoff.ts itself; refused attempts are taken to fail at once.'],
      raw: { runs, peaks },
    }
  },
}
