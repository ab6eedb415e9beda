// 4. Memory: N idle connections in one fresh process (the server in another),
// heap and RSS per connection after GC, against the same process before them.
import { PEERS, type PeerName } from '../peers/catalog.js'
import { cell, type Cell, type Scenario } from '../results.js'
import { runWorker } from '../run-worker.js'
import { ServerProcess } from '../servers/client.js'
import { FULL, QUICK } from '../settings.js'
import { fmt, fmtRatio, median } from '../stats.js'
import { each, inBatches, sleep } from '../util.js'
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
}

async function collect(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('the memory worker needs --expose-gc')
  // Several rounds with a turn of the event loop between them: finalizers
  // and weak references let go only on a later collection.
  for (let i = 0; i < 4; i++) {
    gc()
    await sleep(50)
  }
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
    const before = await collect()
    await inBatches(params.connections, 100, async () => {
      clients.push(await connectOpen(adapter, port, 'common'))
    })
    // Past the handshakes and the first heartbeats: the steady idle state.
    await sleep(2_500)
    const after = await collect()
    const per = (key: 'heapUsed' | 'rss' | 'external'): number => (after[key] - before[key]) / params.connections
    return { heapBytesPerConnection: per('heapUsed'), rssBytesPerConnection: per('rss'), externalBytesPerConnection: per('external') }
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
    const row = (key: keyof MemoryTrial): Partial<Record<PeerName, Cell>> => {
      const floor = median(all.ws.map((t) => t[key]))
      return Object.fromEntries(PEERS.map((peer) => {
        const trialsKb = all[peer].map((t) => t[key] / 1024)
        const m = median(trialsKb)
        const ratio = m !== null && floor !== null && floor > 0 ? (m * 1024) / floor : null
        return [peer, m === null ? cell(null, 'failed') : cell(m, `${fmt(m)} (${ratio === null ? '—' : fmtRatio(ratio)})`, { trials: trialsKb, ratio })]
      }))
    }
    const heap = row('heapBytesPerConnection')
    const heapKb = heap.lifeline?.value ?? null
    return {
      rows: [
        {
          metric: `heap KB per idle connection after GC (${size.connections.toLocaleString('en-US')} connections; ratio to ws)`,
          cells: heap,
          bar: { text: '≤ 10 KB', pass: heapKb === null ? null : heapKb <= 10 },
        },
        { metric: 'RSS KB per idle connection (ratio to ws)', cells: row('rssBytesPerConnection') },
      ],
      notes: [
        'Clients in a fresh process with --expose-gc, baseline after one warm-up connection; plain ws server for every ws-based peer (lifeline included), socket.io server for socket.io-client; heartbeat settings as in the comparable scenarios.',
        ...errors,
      ],
      raw: { size, trials: all },
    }
  },
}
