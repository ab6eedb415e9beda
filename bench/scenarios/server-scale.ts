// Server at scale: N idle clients on one server process; the server's heap
// per client (the slope from N/2 to N, after GC) and its heartbeat CPU per
// client-second at N, for a bare ws server running the ping/terminate loop of
// the ws README, lifeline's helper and socket.io's server, all at a 1 s sweep.
// The server runs in a process of its own (bench/servers/scale.ts), the
// clients in another (bench/scale-clients.ts); the server is killed first, so
// the closing side that waits in TIME_WAIT is the server's and the clients'
// thousands of ephemeral ports are free at once for the next run.
import { Child, type Message } from '../child.js'
import { PEERS, type PeerName } from '../peers/catalog.js'
import { cell, type Cell, type Row, type Scenario } from '../results.js'
import type { OpenCommand } from '../scale-clients.js'
import type { ScaleServerKind } from '../servers/scale.js'
import { FULL, HOST, QUICK } from '../settings.js'
import { fmt, fmtRatio, median } from '../stats.js'
import { each, now, sleep } from '../util.js'

/** The bar: lifeline's server costs at most this much more than the bare ws one. */
const BAR_RATIO = 1.2
const KINDS: readonly ScaleServerKind[] = ['ws', 'lifeline', 'socketio']
// The table's columns are clients; each server goes under its own library's.
const COLUMN: Record<ScaleServerKind, PeerName> = { ws: 'ws', lifeline: 'lifeline', socketio: 'socket.io-client' }
const NAME: Record<ScaleServerKind, string> = { ws: 'bare ws + README loop', lifeline: 'lifeline-ws/server', socketio: 'socket.io server' }

export interface ScaleTrial {
  heapBytesPerClient: number
  cpuMicrosPerClientSecond: number
  /** Clients closed by the server (or lost) from the first open to the end of the CPU window; the figures count only those it held. */
  closed: number
  clients: number
}

async function runOnce(kind: ScaleServerKind, clients: number, seconds: number, settleMs: number): Promise<ScaleTrial> {
  const server = new Child('./servers/scale.ts', [kind], ['--expose-gc'])
  const set = new Child('./scale-clients.ts')
  try {
    await Promise.all([server.next('ready', 30_000), set.next('ready', 30_000)])
    const { port } = await server.request<Message & { port: number }>({ cmd: 'listen' }, 'listening', 15_000)
    const open = (count: number): Promise<Message> =>
      set.request({ cmd: 'open', base: `ws://${HOST}:${port}`, count, protocol: kind === 'socketio' ? 'engine.io' : 'ws' } satisfies OpenCommand, 'opened', 300_000)
    // Figures per client the server holds (its own count): a server that let clients go is not credited for them.
    type Heap = Message & { heapUsed: number; clients: number }
    const heap = async (): Promise<Heap> => {
      // Past the handshakes and a few sweeps: the steady idle state.
      await sleep(settleMs)
      return server.request<Heap>({ cmd: 'heap' }, 'heap', 60_000)
    }
    const cpu = (): Promise<Message & { cpuMicros: number; clients: number }> => server.request({ cmd: 'cpu' }, 'cpu', 10_000)
    const half = Math.floor(clients / 2)
    await open(half)
    const middle = await heap()
    await open(clients - half)
    const end = await heap()
    await sleep(settleMs) // the collections' own pause out of the CPU window
    const cpu0 = await cpu()
    const t0 = now()
    await sleep(seconds * 1_000)
    const cpu1 = await cpu()
    const elapsed = (now() - t0) / 1_000
    const { closed } = await set.request<Message & { closed: number }>({ cmd: 'closed' }, 'closed', 10_000)
    return {
      heapBytesPerClient: (end.heapUsed - middle.heapUsed) / Math.max(1, end.clients - middle.clients),
      cpuMicrosPerClientSecond: (cpu1.cpuMicros - cpu0.cpuMicros) / (((cpu0.clients + cpu1.clients) / 2) * elapsed),
      closed,
      clients: cpu1.clients,
    }
  } finally {
    server.kill()
    await server.exited
    set.send({ cmd: 'end' })
    await set.next('ended', 30_000).catch(() => undefined)
    set.kill()
  }
}

export const serverScale: Scenario = {
  name: 'server-scale',
  title: 'Server at scale',
  async run({ quick, trials: trialsOverride, log }) {
    const size = (quick ? QUICK : FULL).serverScale
    const count = trialsOverride ?? size.pairTrials
    const trials = Object.fromEntries(KINDS.map((k) => [k, [] as ScaleTrial[]])) as Record<ScaleServerKind, ScaleTrial[]>
    const errors: string[] = []
    for (let t = 0; t < count; t++) {
      // Beyond the first trial only the pair the bars compare, first place alternating.
      const order: ScaleServerKind[] = t === 0 ? [...KINDS] : t % 2 === 1 ? ['lifeline', 'ws'] : ['ws', 'lifeline']
      await each(order, false, async (kind) => {
        try {
          const trial = await runOnce(kind, size.clients, size.seconds, size.settleMs)
          trials[kind].push(trial)
          log(`  server-scale ${kind}: heap ${fmt(trial.heapBytesPerClient / 1024)} KB per client, CPU ${fmt(trial.cpuMicrosPerClientSecond)} µs per client-second, ${trial.clients} clients at the end, ${trial.closed} closed`)
        } catch (error) {
          errors.push(`${kind}: ${String(error)}`)
          log(`  server-scale ${kind} failed: ${String(error)}`)
        }
      })
    }
    // A trial in which the server let more than 1% of its clients go (their
    // pongs came late: the client process did not get the CPU to answer
    // 10,000 pings a second) measured a smaller, busier server: left out.
    const held = (t: ScaleTrial): boolean => t.closed <= size.clients / 100
    const row = (metric: string, pick: (t: ScaleTrial) => number, unit: (v: number) => string, target: string): Row => {
      const floor = median(trials.ws.filter(held).map(pick))
      const cells: Partial<Record<PeerName, Cell>> = Object.fromEntries(PEERS.map((p) => [p, cell(null, 'n/a (no server of its own)')]))
      for (const kind of KINDS) {
        const values = trials[kind].filter(held).map(pick)
        const v = median(values)
        const ratio = v !== null && floor !== null && floor > 0 ? v / floor : null
        const dropped = trials[kind].filter((t) => !held(t)).length
        const left = dropped === 0 ? '' : `; ${dropped} of ${trials[kind].length} trials left out (clients closed by the server: ${trials[kind].filter((t) => !held(t)).map((t) => t.closed).join(', ')})`
        cells[COLUMN[kind]] = v === null
          ? cell(null, `no trial held its clients${left}`)
          : cell(v, `${unit(v)} (${ratio === null ? '—' : fmtRatio(ratio)}; ${NAME[kind]})${left}`, { trials: trials[kind].map(pick), ratio })
      }
      const ratio = cells.lifeline?.ratio ?? null
      return { metric, cells, bar: { text: `≤ ${BAR_RATIO}x the bare ws server`, pass: ratio === null ? null : ratio <= BAR_RATIO }, target }
    }
    const n = size.clients.toLocaleString('en-US')
    return {
      rows: [
        row(`server heap KB per idle client after GC (slope from ${(size.clients / 2).toLocaleString('en-US')} to ${n} clients, 1 s heartbeat sweep; ratio to the bare ws server)`, (t) => t.heapBytesPerClient / 1024, fmt, `server heap per connected client, ${n} idle clients`),
        row(`server heartbeat CPU µs per client-second, ${n} idle clients, 1 s sweep, ${size.seconds} s (ratio to the bare ws server)`, (t) => t.cpuMicrosPerClientSecond, fmt, `server heartbeat CPU per client-second, ${n} idle clients`),
      ],
      notes: [
        `Each server in a fresh process with --expose-gc, the ${n} clients in another (bare ws sockets, which answer WebSocket pings themselves; for socket.io the same sockets speak engine.io: '40' to join, '3' for each ping), opened 200 at a time. Bare ws: WebSocketServer with the ws README's loop (setInterval 1 s: terminate a client whose isAlive is false, else clear it and ping; 'pong' sets it). lifeline: createHeartbeatServer({ heartbeat: { interval: 1000, timeout: 1000 } }), clients named by ?name=. socket.io: Server({ transports: ['websocket'], pingInterval: 1000, pingTimeout: 1000 }). Heap after ${size.settleMs} ms idle and GC at N/2 and N; CPU by process.cpuUsage() of the server process over ${size.seconds} s at N; both per client the server held (its own count: a server that let clients go is not credited for them), and a trial in which the server let more than 1% of them go (late pongs from a starved client process) is left out; ws and lifeline: median of ${count} interleaved trials, socket.io one.`,
        ...errors,
      ],
      raw: { size, trials },
    }
  },
}
