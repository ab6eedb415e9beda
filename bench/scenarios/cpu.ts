// 5. Heartbeat CPU: N connections with a 1 s heartbeat for S seconds; CPU
// time of the client process (and of the server process) per connection-second.
// lifeline runs three times: against a plain ws server that answers its
// 'ping'; against its own helper (which also sends protocol pings every
// second, answered inside ws and invisible to lifeline); and with the
// helper's server-driven heartbeat (heartbeat.mode 'server' on both sides),
// the way socket.io's heartbeat always works.
import { CATALOG, PEERS, type PeerName, type ServerKind } from '../peers/catalog.js'
import type { PeerClient } from '../peers/types.js'
import { cell, ratioBar, type Cell, type Row, type Scenario } from '../results.js'
import { runWorker } from '../run-worker.js'
import { ServerProcess } from '../servers/client.js'
import { FULL, QUICK } from '../settings.js'
import { fmt, fmtRatio, median } from '../stats.js'
import { each, inBatches, now, sleep } from '../util.js'
import { connectOpen, loadPeer } from './connect.js'

export interface CpuParams {
  peer: PeerName
  server: ServerKind
  serverDriven: boolean
  connections: number
  seconds: number
}

export interface CpuTrial {
  clientMicrosPerConnectionSecond: number
  serverMicrosPerConnectionSecond: number
  /** Connections that dropped during the window (each would make the figure flattering). */
  drops: number
}

export async function cpuWorker(params: CpuParams): Promise<CpuTrial> {
  const server = await ServerProcess.spawn(params.server, params.serverDriven ? 'server-driven' : 'common')
  const clients: PeerClient[] = []
  let drops = 0
  let measuring = false
  try {
    const port = await server.listen()
    const adapter = await loadPeer(params.peer)
    await inBatches(params.connections, 100, async () => {
      clients.push(await connectOpen(adapter, port, params.serverDriven ? 'server-driven' : 'cpu', { down: () => void (measuring && drops++) }))
    })
    // Let the heartbeats fall into their rhythm after the burst of opens.
    await sleep(2_000)
    measuring = true
    const server0 = (await server.stats()).cpuMicros
    const client0 = process.cpuUsage()
    const start = now()
    await sleep(params.seconds * 1_000)
    const client = process.cpuUsage(client0)
    const seconds = (now() - start) / 1_000
    const server1 = (await server.stats()).cpuMicros
    measuring = false
    const per = params.connections * seconds
    return {
      clientMicrosPerConnectionSecond: (client.user + client.system) / per,
      serverMicrosPerConnectionSecond: (server1 - server0) / per,
      drops,
    }
  } finally {
    for (const c of clients) c.close()
    server.kill()
  }
}

type Setup = 'plain' | 'own' | 'server-driven'

interface Run {
  peer: PeerName
  setup: Setup
  trials: CpuTrial[]
}

const serverOf = (run: Run): ServerKind => (run.setup === 'plain' ? 'plain' : CATALOG[run.peer].server)

/** Every peer against its usual server; lifeline also against the plain one and server-driven. */
function plan(): Run[] {
  const runs: Run[] = PEERS.map((peer) => ({ peer, setup: CATALOG[peer].server === 'plain' ? 'plain' : 'own', trials: [] }))
  runs.splice(2, 0, { peer: 'lifeline', setup: 'plain', trials: [] }, { peer: 'lifeline', setup: 'server-driven', trials: [] })
  return runs
}

const SERVER_NAMES: Record<ServerKind, string> = { plain: 'plain ws', lifeline: 'lifeline helper', socketio: 'socket.io' }

export const cpu: Scenario = {
  name: 'cpu',
  title: 'Heartbeat CPU',
  async run({ quick, trials, log }) {
    const size = (quick ? QUICK : FULL).cpu
    const count = trials ?? size.pairTrials
    const runs = plan()
    // Beyond the first trial, only the runs the bar compares: bare ws and lifeline in its two client-driven setups.
    const isPair = (run: Run): boolean => run.peer === 'ws' || (run.peer === 'lifeline' && run.setup !== 'server-driven')
    const errors: string[] = []
    for (let t = 0; t < count; t++) {
      await each(runs.filter((run) => t === 0 || trials !== undefined || isPair(run)), quick, async (run) => {
        const params: CpuParams = { peer: run.peer, server: serverOf(run), serverDriven: run.setup === 'server-driven', connections: size.connections, seconds: size.seconds }
        try {
          const trial = await runWorker<CpuTrial>({ scenario: 'cpu', params }, size.seconds * 1_000 + 120_000)
          run.trials.push(trial)
          log(`  cpu ${run.peer} (${run.setup}, ${SERVER_NAMES[params.server]} server): client ${fmt(trial.clientMicrosPerConnectionSecond)} µs, server ${fmt(trial.serverMicrosPerConnectionSecond)} µs per connection-second${trial.drops ? `, ${trial.drops} drops` : ''}`)
        } catch (error) {
          errors.push(`${run.peer} (${run.setup}): ${String(error)}`)
        }
      })
    }
    const find = (peer: PeerName, setup: Setup): Run | undefined => runs.find((r) => r.peer === peer && r.setup === setup)
    const floor = median(find('ws', 'plain')?.trials.map((t) => t.clientMicrosPerConnectionSecond) ?? [])
    const clientCell = (run: Run): Cell => {
      const values = run.trials.map((t) => t.clientMicrosPerConnectionSecond)
      const v = median(values)
      if (v === null) return cell(null, 'failed')
      const ratio = floor === null ? null : v / floor
      const missing = CATALOG[run.peer].noHeartbeat
      const drops = run.trials.reduce((s, t) => s + t.drops, 0)
      const suffix = run.peer === 'ws' ? ' (setInterval heartbeat)' : missing !== null ? ` (${missing}: idle cost)` : ''
      return cell(v, `${fmt(v)} (${ratio === null ? '—' : fmtRatio(ratio)})${suffix}${drops > 0 ? `, ${drops} drops` : ''}`, { trials: values, ratio })
    }
    const serverCell = (run: Run): Cell => {
      const values = run.trials.map((t) => t.serverMicrosPerConnectionSecond)
      const v = median(values)
      return v === null ? cell(null, 'failed') : cell(v, `${fmt(v)} (${SERVER_NAMES[serverOf(run)]})`, { trials: values })
    }
    const rowOf = (setup: Setup, value: (run: Run) => Cell, otherwise: (peer: PeerName) => Cell): Partial<Record<PeerName, Cell>> =>
      Object.fromEntries(PEERS.map((peer) => {
        const run = find(peer, setup)
        return [peer, run === undefined ? otherwise(peer) : value(run)]
      }))
    const sameAsPlain = cell(null, 'same as above (its own server is plain ws)')
    const plainMissing = (peer: PeerName): Cell => cell(null, `n/a (needs the ${SERVER_NAMES[CATALOG[peer].server]} server)`)
    const ownMissing = (): Cell => sameAsPlain
    const drivenMissing = (peer: PeerName): Cell => cell(null, peer === 'socket.io-client' ? 'server-driven always: see the row above' : 'n/a (no server-driven heartbeat)')
    // The design's absolute bar: against lifeline's own server, the client needs no pings of its own.
    const bar = (c: Cell | undefined): { text: string; pass: boolean | null } => ({ text: '≤ 44 µs', pass: c?.value == null ? null : c.value <= 44 })
    const plainRow = rowOf('plain', clientCell, plainMissing)
    const ownRow = rowOf('own', clientCell, ownMissing)
    const n = size.connections.toLocaleString('en-US')
    const rows: Row[] = [
      {
        metric: `client CPU µs per connection-second, against a plain ws server answering 'ping' (${n} connections, ${size.seconds} s; ratio to ws)`,
        cells: plainRow,
        bar: ratioBar(plainRow.lifeline?.ratio, { atMost: 1.5, stretch: 1.2 }),
        target: 'idle heartbeat CPU per connection-second (2,000 connections, 1 s, plain echo server)',
      },
      { metric: 'client CPU µs per connection-second, against the library\'s own server (lifeline: helper, which also sends protocol pings every 1 s)', cells: ownRow, bar: bar(ownRow.lifeline) },
      { metric: 'client CPU µs per connection-second, server-driven heartbeat (lifeline: heartbeat.mode \'server\' on client and helper)', cells: rowOf('server-driven', clientCell, drivenMissing) },
      { metric: 'server CPU µs per connection-second, plain ws server', cells: rowOf('plain', serverCell, () => cell(null, 'n/a')) },
      { metric: 'server CPU µs per connection-second, the library\'s own server', cells: rowOf('own', serverCell, ownMissing) },
      { metric: 'server CPU µs per connection-second, server-driven heartbeat', cells: rowOf('server-driven', serverCell, () => cell(null, 'n/a')) },
    ]
    return {
      rows,
      notes: [
        `CPU by process.cpuUsage() (user + system, all threads) over ${size.seconds} s, after all connections opened and 2 s of settling; a fresh client process and a fresh server process per run; ws and lifeline (plain, own server): median of ${count} interleaved trials, the others one.`,
        ...errors,
      ],
      raw: { size, runs: runs.map((r) => ({ ...r, server: serverOf(r) })) },
    }
  },
}
