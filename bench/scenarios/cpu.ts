// 5. Heartbeat CPU: N connections with a 1 s heartbeat for S seconds; CPU
// time of the client process (and of the server process) per connection-second.
// lifeline runs twice: against a plain ws server that answers its 'ping', and
// against its own helper, which also sends protocol pings every second.
import { CATALOG, PEERS, type PeerName, type ServerKind } from '../peers/catalog.js'
import type { PeerClient } from '../peers/types.js'
import { cell, type Cell, type Row, type Scenario } from '../results.js'
import { runWorker } from '../run-worker.js'
import { ServerProcess } from '../servers/client.js'
import { FULL, QUICK } from '../settings.js'
import { fmt, fmtRatio } from '../stats.js'
import { each, inBatches, now, sleep } from '../util.js'
import { connectOpen, loadPeer } from './connect.js'

export interface CpuParams {
  peer: PeerName
  server: ServerKind
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
  const server = await ServerProcess.spawn(params.server, 'common')
  const clients: PeerClient[] = []
  let drops = 0
  let measuring = false
  try {
    const port = await server.listen()
    const adapter = await loadPeer(params.peer)
    await inBatches(params.connections, 100, async () => {
      clients.push(await connectOpen(adapter, port, 'cpu', { down: () => void (measuring && drops++) }))
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

interface Run {
  peer: PeerName
  server: ServerKind
}

/** Every peer against its usual server, plus lifeline against the plain one. */
function runs(): Run[] {
  const list: Run[] = PEERS.map((peer) => ({ peer, server: CATALOG[peer].server }))
  list.splice(2, 0, { peer: 'lifeline', server: 'plain' })
  return list
}

export const cpu: Scenario = {
  name: 'cpu',
  title: 'Heartbeat CPU',
  async run({ quick, trials, log }) {
    const size = (quick ? QUICK : FULL).cpu
    const count = trials ?? 1
    const results: Array<Run & { trials: CpuTrial[] }> = runs().map((r) => ({ ...r, trials: [] }))
    const errors: string[] = []
    for (let t = 0; t < count; t++) {
      await each(results, quick, async (r) => {
        try {
          const trial = await runWorker<CpuTrial>({ scenario: 'cpu', params: { peer: r.peer, server: r.server, ...size } }, size.seconds * 1_000 + 120_000)
          r.trials.push(trial)
          log(`  cpu ${r.peer} vs ${r.server} server: client ${fmt(trial.clientMicrosPerConnectionSecond)} µs, server ${fmt(trial.serverMicrosPerConnectionSecond)} µs per connection-second${trial.drops ? `, ${trial.drops} drops` : ''}`)
        } catch (error) {
          errors.push(`${r.peer} vs ${r.server}: ${String(error)}`)
        }
      })
    }
    const medianOf = (r: { trials: CpuTrial[] }, key: keyof CpuTrial): number | null => {
      const values = r.trials.map((t) => t[key]).sort((a, b) => a - b)
      return values.length === 0 ? null : values[values.length >> 1]!
    }
    const find = (peer: PeerName, server: ServerKind): (Run & { trials: CpuTrial[] }) | undefined => results.find((r) => r.peer === peer && r.server === server)
    const floor = medianOf(find('ws', 'plain')!, 'clientMicrosPerConnectionSecond')
    const clientCell = (r: (Run & { trials: CpuTrial[] }) | undefined): Cell => {
      if (r === undefined) return cell(null, '—')
      const v = medianOf(r, 'clientMicrosPerConnectionSecond')
      if (v === null) return cell(null, 'failed')
      const ratio = floor === null ? null : v / floor
      const missing = CATALOG[r.peer].noHeartbeat
      const drops = r.trials.reduce((s, t) => s + t.drops, 0)
      const suffix = r.peer === 'ws' ? ' (setInterval heartbeat)' : missing !== null ? ` (${missing}: idle cost)` : ''
      return cell(v, `${fmt(v)} (${ratio === null ? '—' : fmtRatio(ratio)})${suffix}${drops > 0 ? `, ${drops} drops` : ''}`, { trials: r.trials.map((t) => t.clientMicrosPerConnectionSecond), ratio })
    }
    const serverCell = (r: (Run & { trials: CpuTrial[] }) | undefined): Cell => {
      if (r === undefined) return cell(null, '—')
      const v = medianOf(r, 'serverMicrosPerConnectionSecond')
      return v === null ? cell(null, 'failed') : cell(v, `${fmt(v)} (${r.server === 'plain' ? 'plain ws' : r.server === 'lifeline' ? 'lifeline helper' : 'socket.io'})`, { trials: r.trials.map((t) => t.serverMicrosPerConnectionSecond) })
    }
    const same = cell(null, 'same as above (plain ws server)')
    const plainRow: Partial<Record<PeerName, Cell>> = {}
    const ownRow: Partial<Record<PeerName, Cell>> = {}
    const serverPlain: Partial<Record<PeerName, Cell>> = {}
    const serverOwn: Partial<Record<PeerName, Cell>> = {}
    for (const peer of PEERS) {
      const plain = find(peer, 'plain')
      const own = CATALOG[peer].server === 'plain' ? undefined : find(peer, CATALOG[peer].server)
      plainRow[peer] = plain === undefined ? cell(null, 'n/a: needs its own server') : clientCell(plain)
      ownRow[peer] = own === undefined ? same : clientCell(own)
      serverPlain[peer] = plain === undefined ? cell(null, 'n/a') : serverCell(plain)
      serverOwn[peer] = own === undefined ? same : serverCell(own)
    }
    const bar = (c: Cell | undefined): { text: string; pass: boolean | null } => ({ text: '≤ 44 µs', pass: c?.value == null ? null : c.value <= 44 })
    const n = size.connections.toLocaleString('en-US')
    const rows: Row[] = [
      { metric: `client CPU µs per connection-second, against a plain ws server answering 'ping' (${n} connections, ${size.seconds} s; ratio to ws)`, cells: plainRow, bar: bar(plainRow.lifeline) },
      { metric: 'client CPU µs per connection-second, against the library\'s own server (lifeline helper: protocol pings every 1 s; socket.io server)', cells: ownRow, bar: bar(ownRow.lifeline) },
      { metric: 'server CPU µs per connection-second, plain ws server', cells: serverPlain },
      { metric: 'server CPU µs per connection-second, the library\'s own server', cells: serverOwn },
    ]
    return {
      rows,
      notes: [
        `CPU by process.cpuUsage() (user + system, all threads) over ${size.seconds} s after all connections opened and 2 s of settling; one fresh client process and one fresh server process per run.`,
        ...errors,
      ],
      raw: { size, results },
    }
  },
}
