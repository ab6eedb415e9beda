// 2. Restart: the server process is killed (SIGKILL) and a new one listens on
// the same port 2 s later. Time until the client is open again, and the most
// sockets one client ever held on the server at once (a duplicate-connection
// bug shows up as 2). Peers run side by side, each with its own servers.
//
// The down time gets a random extra of up to one reconnect delay: refused
// attempts fail at once, so a fixed 500 ms retry cadence started by the kill
// would otherwise land exactly on a restart at 2,000 ms and look instant.
import { CATALOG, PEERS, type PeerName } from '../peers/catalog.js'
import { cell, type Cell, type Row, type Scenario } from '../results.js'
import { runWorker } from '../run-worker.js'
import { ServerProcess } from '../servers/client.js'
import { COMMON, FULL, QUICK } from '../settings.js'
import { fmt, median } from '../stats.js'
import { deferred, now, sleep, within } from '../util.js'
import { connectOpen, loadPeer } from './connect.js'

export interface RestartParams {
  peers: PeerName[]
  downMs: number
  watchMs: number
}

export interface RestartTrial {
  /** How long the port had no server. */
  downMs: number
  /** From the kill to the next open. */
  openAfterKillMs: number
  /** From the moment the new server listened to the next open. */
  openAfterListenMs: number
  /** Most sockets the client held at once on either server. */
  maxSockets: number
  /** Connections the new server accepted from the one client. */
  acceptedAfter: number
}

async function restartOnce(peer: PeerName, params: RestartParams): Promise<RestartTrial> {
  const kind = CATALOG[peer].server
  const [first, second] = await Promise.all([ServerProcess.spawn(kind), ServerProcess.spawn(kind)])
  try {
    const port = await first.listen()
    const adapter = await loadPeer(peer)
    let reopened = deferred<number>()
    const client = await connectOpen(adapter, port, 'common', { open: () => reopened.resolve(now()) })
    try {
      await sleep(1_000)
      const before = await first.stats()
      reopened = deferred<number>()
      const killedAt = now()
      first.kill()
      await first.exited
      await sleep(killedAt + params.downMs + Math.random() * COMMON.reconnectDelay - now())
      await second.listen(port)
      const listenedAt = now()
      const openAt = await within(reopened.promise, 20_000, `${peer} open after the restart`)
      await sleep(params.watchMs)
      const after = await second.stats()
      return {
        downMs: listenedAt - killedAt,
        openAfterKillMs: openAt - killedAt,
        openAfterListenMs: openAt - listenedAt,
        maxSockets: Math.max(before.maxOpen, after.maxOpen),
        acceptedAfter: after.total,
      }
    } finally {
      client.close()
    }
  } finally {
    first.kill()
    second.kill()
  }
}

export async function restartWorker(params: RestartParams): Promise<Record<string, RestartTrial | string>> {
  const results: Record<string, RestartTrial | string> = {}
  await Promise.all(params.peers.map(async (peer) => {
    try {
      results[peer] = await restartOnce(peer, params)
    } catch (error) {
      results[peer] = String(error)
    }
  }))
  return results
}

export const restart: Scenario = {
  name: 'restart',
  title: 'Restart',
  async run({ quick, trials, log }) {
    const size = (quick ? QUICK : FULL).restart
    const count = trials ?? size.trials
    const peers = PEERS.filter((p) => CATALOG[p].noReconnect === null)
    const all: Record<string, Array<RestartTrial | string>> = {}
    for (let t = 0; t < count; t++) {
      const results = await runWorker<Record<string, RestartTrial | string>>({ scenario: 'restart', params: { peers, downMs: size.downMs, watchMs: size.watchMs } }, 90_000)
      for (const [peer, r] of Object.entries(results)) (all[peer] ??= []).push(r)
      log(`  restart trial ${t + 1}/${count}: ${Object.entries(results).map(([p, r]) => `${p} ${typeof r === 'string' ? r : `${Math.round(r.openAfterKillMs)} ms/${r.maxSockets}`}`).join(', ')}`)
    }
    const openCells: Partial<Record<PeerName, Cell>> = {}
    const sockets: Partial<Record<PeerName, Cell>> = {}
    const notes: string[] = []
    for (const peer of PEERS) {
      const missing = CATALOG[peer].noReconnect
      if (missing !== null) {
        openCells[peer] = cell(null, missing)
        sockets[peer] = cell(null, missing)
        continue
      }
      const list = all[peer] ?? []
      const ok = list.filter((r): r is RestartTrial => typeof r !== 'string')
      for (const r of list) if (typeof r === 'string') notes.push(`${peer}: ${r}`)
      const kill = median(ok.map((r) => r.openAfterKillMs))
      const listen = median(ok.map((r) => r.openAfterListenMs))
      openCells[peer] = kill === null || listen === null
        ? cell(null, 'did not reopen', { trials: list.map(() => null) })
        : cell(listen, `${fmt(listen)} (${fmt(kill)} after the kill)`, { trials: ok.map((r) => r.openAfterListenMs) })
      const most = ok.length === 0 ? null : Math.max(...ok.map((r) => r.maxSockets))
      sockets[peer] = most === null ? cell(null, 'failed') : cell(most, String(most), { trials: ok.map((r) => r.maxSockets) })
    }
    const rows: Row[] = [
      { metric: `open again after the new server listens, ms (it listens ${fmt(size.downMs)}–${fmt(size.downMs + COMMON.reconnectDelay)} ms after the kill; median of ${count})`, cells: openCells },
      { metric: 'most simultaneous server-side sockets from one client', cells: sockets, bar: { text: '1', pass: sockets.lifeline?.value == null ? null : sockets.lifeline.value <= 1 } },
    ]
    return { rows, notes, raw: { size, trials: all } }
  },
}
