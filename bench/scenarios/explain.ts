// Two measurements that explain bars lifeline misses or only just meets; run
// by name. `cycle`: CPU of lifeline's own machinery per client-driven
// heartbeat cycle, with scripted sockets and a batch clock, so no I/O and no
// real timers are counted. `herd-model`: the busiest 250 ms bin that the
// backoff formula itself predicts for the herd scenario, by simulation.
import { backoffDelay } from '../../src/backoff.js'
import { createConnection } from '../../src/index.node.js'
import { FakeWebSocket } from '../../test/helpers/fake-websocket.js'
import { seededRandom } from '../../test/helpers/random.js'
import { PEERS, type PeerName } from '../peers/catalog.js'
import { cell, type Cell, type Scenario } from '../results.js'
import { median } from '../stats.js'

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

export const cycle: Scenario = {
  name: 'cycle',
  title: 'Heartbeat cycle, machinery only',
  async run({ quick }) {
    const connections = quick ? 50 : 2_000
    const cycles = quick ? 5 : 100
    const clock = new BatchClock()
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
    // One cycle: the interval fires (waiting → ackPending, ping sent), the pong comes back (→ waiting).
    const run = (): void => {
      clock.advance(1_000)
      for (const socket of sockets) socket.serverMessage('pong')
    }
    for (let i = 0; i < 10; i++) run()
    const start = process.cpuUsage()
    for (let i = 0; i < cycles; i++) run()
    const used = process.cpuUsage(start)
    for (const conn of conns) conn.dispose()
    const perCycle = (used.user + used.system) / (connections * cycles)
    return {
      rows: [{ metric: `CPU µs per heartbeat cycle, lifeline's machinery alone (${connections} connections × ${cycles} cycles, scripted sockets, no I/O)`, cells: only(cell(perCycle, `${perCycle.toFixed(1)} µs`)) }],
      notes: ['Cycle: the interval timer fires (open.waiting → open.ackPending, a ping goes out), the pong arrives (→ open.waiting): two XState macrosteps, two timers armed, one cancelled.'],
      raw: { connections, cycles, perCycle },
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
