// 3. Hot path: echo round trips with a window in flight, and one-way
// server → client messages; every peer in its own process, against the same
// server, rounds interleaved (ws, lifeline, ..., then lifeline, ws, ...).
import { CATALOG, PEERS, type PeerName } from '../peers/catalog.js'
import { cell, ratioBar, type Cell, type Row, type Scenario } from '../results.js'
import { runWorker } from '../run-worker.js'
import { pushRequest } from '../servers/behaviour.js'
import { ServerProcess } from '../servers/client.js'
import { FULL, PAYLOAD, QUICK } from '../settings.js'
import { fmt, fmtRatio, median, round } from '../stats.js'
import { deferred, each, now, within } from '../util.js'
import { connectOpen, loadPeer, neutralServer } from './connect.js'

export interface HotpathParams {
  peer: PeerName
  echo: number
  window: number
  oneway: number
  warmup: number
}

export interface HotpathTrial {
  echoPerSecond: number
  onewayPerSecond: number
  /** CPU time over wall time of each side during each phase: which one was the bottleneck. */
  load: { echo: { client: number; server: number }; oneway: { client: number; server: number } }
}

/** Runs `phase` and returns its result with the share of one core each process used meanwhile. */
async function withLoad<T>(server: ServerProcess, phase: () => Promise<T>): Promise<{ result: T; client: number; server: number }> {
  const server0 = (await server.stats()).cpuMicros
  const client0 = process.cpuUsage()
  const start = now()
  const result = await phase()
  const wall = (now() - start) * 1_000
  const client = process.cpuUsage(client0)
  const server1 = (await server.stats()).cpuMicros
  return { result, client: (client.user + client.system) / wall, server: (server1 - server0) / wall }
}

export async function hotpathWorker(params: HotpathParams): Promise<HotpathTrial> {
  // socket.io at its default heartbeat: at 1 s its server's pings queue behind
  // the data, and the client drops the busy link ('ping timeout') mid-run.
  const kind = neutralServer(params.peer)
  const server = await ServerProcess.spawn(kind, kind === 'socketio' ? 'defaults' : 'common')
  try {
    const port = await server.listen()
    const adapter = await loadPeer(params.peer)
    let onMessage = (_data: string): void => {}
    const client = await connectOpen(adapter, port, 'common', { message: (data) => onMessage(data) })

    // Only 64-byte payloads count: a library's own pong (websocket-heartbeat-js
    // passes them on) must not finish a run early.
    const echo = (count: number): Promise<number> => {
      const done = deferred<number>()
      let sent = 0
      let received = 0
      const start = now()
      onMessage = (data) => {
        if (data.length !== PAYLOAD.length) return
        received++
        if (sent < count) {
          client.send(PAYLOAD)
          sent++
        } else if (received === count) {
          done.resolve(now() - start)
        }
      }
      for (; sent < Math.min(params.window, count); sent++) client.send(PAYLOAD)
      return within(done.promise, 120_000, `${count} echoes`)
    }
    const oneway = (count: number): Promise<number> => {
      const done = deferred<number>()
      let received = 0
      const start = now()
      onMessage = (data) => {
        if (data.length === PAYLOAD.length && ++received === count) done.resolve(now() - start)
      }
      client.send(pushRequest(count))
      return within(done.promise, 120_000, `${count} one-way messages`)
    }

    await echo(params.warmup)
    await oneway(params.warmup)
    const e = await withLoad(server, () => echo(params.echo))
    const o = await withLoad(server, () => oneway(params.oneway))
    client.close()
    const share = (x: { client: number; server: number }): { client: number; server: number } => ({ client: round(x.client, 2), server: round(x.server, 2) })
    return {
      echoPerSecond: (params.echo / e.result) * 1_000,
      onewayPerSecond: (params.oneway / o.result) * 1_000,
      load: { echo: share(e), oneway: share(o) },
    }
  } finally {
    server.kill()
  }
}

/** Round r's order: ws and lifeline swap places every round (ABAB), the others follow in their rounds. */
function order(round: number, peerRounds: number): PeerName[] {
  const pair: PeerName[] = round % 2 === 0 ? ['ws', 'lifeline'] : ['lifeline', 'ws']
  return round < peerRounds ? [...pair, ...PEERS.filter((p) => p !== 'ws' && p !== 'lifeline')] : pair
}

function rateRow(metric: string, trials: Record<PeerName, number[]>, bar: number, target: string): Row {
  const floor = median(trials.ws)
  const cells: Partial<Record<PeerName, Cell>> = {}
  for (const peer of PEERS) {
    const value = median(trials[peer])
    const ratio = value !== null && floor !== null ? value / floor : null
    cells[peer] = value === null
      ? cell(null, 'failed', { trials: trials[peer] })
      : cell(value, peer === 'ws' ? `${fmt(value)} (1.00x)` : `${fmt(value)} (${fmtRatio(ratio ?? 0)})`, { trials: trials[peer], ratio })
  }
  return { metric, cells, bar: ratioBar(cells.lifeline?.ratio, { atLeast: bar }), target }
}

export const hotpath: Scenario = {
  name: 'hotpath',
  title: 'Hot path',
  async run({ quick, trials, log }) {
    const size = (quick ? QUICK : FULL).hotpath
    const rounds = trials ?? size.rounds
    const peerRounds = Math.min(rounds, trials ?? size.peerRounds)
    const echo = Object.fromEntries(PEERS.map((p) => [p, [] as number[]])) as Record<PeerName, number[]>
    const oneway = Object.fromEntries(PEERS.map((p) => [p, [] as number[]])) as Record<PeerName, number[]>
    const load = Object.fromEntries(PEERS.map((p) => [p, [] as HotpathTrial['load'][]])) as Record<PeerName, HotpathTrial['load'][]>
    const errors: string[] = []
    for (let round = 0; round < rounds; round++) {
      await each(order(round, peerRounds), quick, async (peer) => {
        try {
          const params: HotpathParams = { peer, echo: size.echo, window: size.window, oneway: size.oneway, warmup: size.warmup }
          const trial = await runWorker<HotpathTrial>({ scenario: 'hotpath', params }, 300_000)
          echo[peer].push(trial.echoPerSecond)
          oneway[peer].push(trial.onewayPerSecond)
          load[peer].push(trial.load)
          log(`  hotpath round ${round + 1}/${rounds} ${peer}: echo ${fmt(trial.echoPerSecond)}/s, one-way ${fmt(trial.onewayPerSecond)}/s`)
        } catch (error) {
          errors.push(`${peer}: ${String(error)}`)
          log(`  hotpath ${peer} failed: ${String(error)}`)
        }
      })
    }
    // A figure bounded by the server measures the server: say so (busier than
    // 85% of a core, and busier than the client).
    const share = (peer: PeerName, phase: 'echo' | 'oneway', side: 'client' | 'server'): number => median(load[peer].map((l) => l[phase][side])) ?? 0
    const serverBound = PEERS.flatMap((peer) => (['echo', 'oneway'] as const)
      .filter((phase) => share(peer, phase, 'server') > 0.85 && share(peer, phase, 'server') >= share(peer, phase, 'client'))
      .map((phase) => `${peer}'s ${phase === 'echo' ? 'echo' : 'one-way'} figure is bounded by its server (the server process used ${fmt((median(load[peer].map((l) => l[phase].server)) ?? 0) * 100)}% of a core).`))
    const n = (v: number): string => v.toLocaleString('en-US')
    return {
      rows: [
        rateRow(`echo round trips/s (${n(size.echo)} × 64 B, ${n(size.window)} in flight; median of ${rounds} rounds for ws and lifeline, ${peerRounds} for the others; ratio to ws)`, echo, 0.95, 'echo round trips/s'),
        rateRow(`one-way messages/s (${n(size.oneway)} × 64 B, server → client; ratio to ws)`, oneway, 0.95, 'server→client one-way messages/s'),
      ],
      notes: [
        'Same plain ws server for every ws-based peer (socket.io-client: a socket.io server at its default 25 s heartbeat: at 1 s its pings queue behind the data and the client drops the busy link with \'ping timeout\'), each client in a fresh process; ws and lifeline alternate first place every round. The plain server writes pre-framed replies in batches so that it never bounds a client (client and server CPU share per phase: results.json).',
        ...serverBound,
        ...errors,
      ],
      raw: { size, rounds, peerRounds, echo, oneway, load, servers: Object.fromEntries(PEERS.map((p) => [p, CATALOG[p].server === 'socketio' ? 'socketio' : 'plain'])) },
    }
  },
}
