// Opening at scale: N real connections opened by one client process, 100 in
// flight, each library with its own default settings (the heartbeats of the
// connections already open run meanwhile, as they would in an application),
// timed per block of a thousand. A library whose cost per connection grows
// with the number it already holds shows it as the last thousand against the
// first; bare ws is the floor of what the sockets, the server and the kernel
// add by themselves. The server is killed before the clients close, so the
// side left in TIME_WAIT is the server's, and the next peer has the
// ephemeral ports it needs.
import type { PeerName } from '../peers/catalog.js'
import { PEERS } from '../peers/catalog.js'
import type { PeerClient } from '../peers/types.js'
import { cell, type Cell, type Scenario } from '../results.js'
import { runWorker } from '../run-worker.js'
import { ServerProcess } from '../servers/client.js'
import { FULL, QUICK } from '../settings.js'
import { fmt, fmtRatio, median } from '../stats.js'
import { each, inBatches, now } from '../util.js'
import { connectOpen, loadPeer, neutralServer } from './connect.js'
import { ordinal } from './create-cost.js'

export interface OpenCostParams {
  peer: PeerName
  connections: number
  block: number
}

export interface OpenCostTrial {
  /** Milliseconds per block of `block` connections, each from its first dial to its open. */
  blockMs: number[]
  /** Connections that closed before the end (each would flatter the later blocks). */
  drops: number
}

export async function openCostWorker(params: OpenCostParams): Promise<OpenCostTrial> {
  const kind = neutralServer(params.peer)
  const server = await ServerProcess.spawn(kind, 'defaults')
  const clients: PeerClient[] = []
  let drops = 0
  try {
    const port = await server.listen()
    const adapter = await loadPeer(params.peer)
    // One connection first, so loading and compiling the library is in no block.
    clients.push(await connectOpen(adapter, port, 'defaults'))
    const blockMs: number[] = []
    for (let start = 0; start < params.connections; start += params.block) {
      const count = Math.min(params.block, params.connections - start)
      const t0 = now()
      await inBatches(count, 100, async () => {
        clients.push(await connectOpen(adapter, port, 'defaults', { down: () => void drops++ }, 30_000))
      })
      blockMs.push(now() - t0)
    }
    return { blockMs, drops }
  } finally {
    server.kill()
    await server.exited
    for (const client of clients) client.close()
  }
}

export const openCost: Scenario = {
  name: 'open-cost',
  title: 'Opening at scale',
  async run({ quick, trials: trialsOverride, log }) {
    const size = (quick ? QUICK : FULL).openCost
    const count = trialsOverride ?? 1
    const trials = Object.fromEntries(PEERS.map((p) => [p, [] as OpenCostTrial[]])) as Record<PeerName, OpenCostTrial[]>
    const errors: string[] = []
    for (let t = 0; t < count; t++) {
      await each(PEERS, false, async (peer) => {
        try {
          const trial = await runWorker<OpenCostTrial>({ scenario: 'open-cost', params: { peer, connections: size.connections, block: size.block } }, 600_000)
          trials[peer].push(trial)
          log(`  open-cost ${peer}: ${trial.blockMs.map((ms) => fmt(ms)).join(' ')} ms per ${size.block}${trial.drops > 0 ? `, ${trial.drops} drops` : ''}`)
        } catch (error) {
          errors.push(`${peer}: ${String(error)}`)
          log(`  open-cost ${peer} failed: ${String(error)}`)
        }
      })
    }
    const blocks = Math.ceil(size.connections / size.block)
    const total = (t: OpenCostTrial): number => t.blockMs.reduce((s, ms) => s + ms, 0)
    const growth = (t: OpenCostTrial): number | null => {
      const [first, last] = [t.blockMs[0], t.blockMs.at(-1)]
      return first === undefined || last === undefined || first <= 0 ? null : last / first
    }
    const floorTotal = median(trials.ws.map(total))
    const cells = (pick: (t: OpenCostTrial) => number | null, text: (v: number, peer: PeerName) => string): Partial<Record<PeerName, Cell>> =>
      Object.fromEntries(PEERS.map((peer) => {
        const values = trials[peer].map(pick)
        const v = median(values)
        const drops = trials[peer].reduce((s, t) => s + t.drops, 0)
        return [peer, v === null ? cell(null, 'failed') : cell(v, `${text(v, peer)}${drops > 0 ? `, ${drops} drops` : ''}`, { trials: values })]
      }))
    const n = size.connections.toLocaleString('en-US')
    const perBlock = `per ${size.block.toLocaleString('en-US')}`
    return {
      rows: [
        {
          metric: `ms to open ${n} connections, 100 in flight, each library's defaults (ratio to ws)`,
          cells: cells(total, (v, peer) => `${fmt(v)}${floorTotal === null || peer === 'ws' ? '' : ` (${fmtRatio(v / floorTotal)})`}`),
        },
        {
          metric: `growth: ms ${perBlock} of the last block (the ${ordinal(blocks)}) over the first`,
          cells: cells(growth, (v) => `${v.toFixed(2)}x`),
        },
      ],
      notes: [
        `Each peer in a fresh client process against a fresh server (plain ws; socket.io's for socket.io-client, at its defaults), one connection opened first and not timed; then ${n} in blocks of ${size.block.toLocaleString('en-US')}, 100 dials at a time, each counted from its dial to its open; the connections opened so far stay open, their heartbeats running at each library's defaults. Per block: results.json.`,
        ...errors,
      ],
      raw: { size, trials },
    }
  },
}
