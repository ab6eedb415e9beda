// 6. Herd: N clients in one process, server killed and a new one listening
// on the same port after 1 s; when do they arrive at the new server? Each
// library at its default reconnect settings (lifeline: full jitter). Then
// lifeline once more with its server's hint: instead of dying, the server
// closes every client with 1012 and "come back within 5 s"
// (`close({ reconnect: { within } })`), as a deploy would, and its
// replacement listens as long after that as after the kill.
import { CATALOG, PEERS, type PeerName } from '../peers/catalog.js'
import type { PeerClient } from '../peers/types.js'
import { cell, type Cell, type Scenario } from '../results.js'
import { runWorker } from '../run-worker.js'
import { ServerProcess } from '../servers/client.js'
import { FULL, QUICK } from '../settings.js'
import { fmt, histogram } from '../stats.js'
import { each, inBatches, now, sleep } from '../util.js'
import { connectOpen, loadPeer } from './connect.js'

export const BIN_MS = 250

/** The restart window of the hinted trial: `close({ reconnect: { within } })`. */
export const HINT_WITHIN_MS = 5_000

export interface HerdParams {
  peer: PeerName
  clients: number
  downMs: number
  capMs: number
  /** lifeline only: close with the restart hint and this window instead of being killed. */
  within?: number
}

export interface HerdTrial {
  /** Arrival times at the new server, ms after it started listening. */
  arrivals: number[]
  bins: number[]
  peak: number
}

export async function herdWorker(params: HerdParams): Promise<HerdTrial> {
  const kind = CATALOG[params.peer].server
  const [first, second] = await Promise.all([ServerProcess.spawn(kind, 'defaults'), ServerProcess.spawn(kind, 'defaults')])
  const clients: PeerClient[] = []
  try {
    const port = await first.listen()
    const adapter = await loadPeer(params.peer)
    await inBatches(params.clients, 50, async () => {
      clients.push(await connectOpen(adapter, port, 'defaults'))
    })
    await sleep(500)
    const killedAt = now()
    if (params.within !== undefined) await first.closeWithHint(params.within)
    first.kill()
    await first.exited
    await sleep(killedAt + params.downMs - now())
    await second.listen(port)
    const deadline = now() + params.capMs
    let stats = await second.stats()
    while (stats.total < params.clients && now() < deadline) {
      await sleep(250)
      stats = await second.stats()
    }
    const arrivals = stats.arrivals.map((t) => Math.round(t))
    const bins = histogram(arrivals, BIN_MS)
    return { arrivals, bins, peak: Math.max(0, ...bins) }
  } finally {
    for (const c of clients) c.close()
    first.kill()
    second.kill()
  }
}

export const herd: Scenario = {
  name: 'herd',
  title: 'Herd',
  async run({ quick, trials, log }) {
    const size = (quick ? QUICK : FULL).herd
    const count = trials ?? size.trials
    const all: Partial<Record<PeerName, HerdTrial[]>> = {}
    const hinted: HerdTrial[] = []
    const errors: string[] = []
    const peers = PEERS.filter((p) => CATALOG[p].noReconnect === null)
    const base = { clients: size.clients, downMs: size.downMs, capMs: size.capMs }
    for (let t = 0; t < count; t++) {
      await each(peers, quick, async (peer) => {
        try {
          const trial = await runWorker<HerdTrial>({ scenario: 'herd', params: { peer, ...base } }, size.capMs + 90_000)
          ;(all[peer] ??= []).push(trial)
          log(`  herd ${peer}: ${trial.arrivals.length}/${size.clients} back, peak ${trial.peak}, bins ${trial.bins.join(' ')}`)
        } catch (error) {
          errors.push(`${peer}: ${String(error)}`)
        }
      })
      try {
        const trial = await runWorker<HerdTrial>({ scenario: 'herd', params: { peer: 'lifeline', ...base, within: HINT_WITHIN_MS } }, size.capMs + 90_000)
        hinted.push(trial)
        log(`  herd lifeline with the server's hint: ${trial.arrivals.length}/${size.clients} back, peak ${trial.peak}, bins ${trial.bins.join(' ')}`)
      } catch (error) {
        errors.push(`lifeline with the server's hint: ${String(error)}`)
      }
    }
    const peak: Partial<Record<PeerName, Cell>> = {}
    const spread: Partial<Record<PeerName, Cell>> = {}
    for (const peer of PEERS) {
      const missing = CATALOG[peer].noReconnect
      const list = all[peer]
      if (missing !== null) {
        peak[peer] = cell(null, missing)
        spread[peer] = cell(null, missing)
      } else if (list === undefined || list.length === 0) {
        peak[peer] = cell(null, 'failed')
        spread[peer] = cell(null, 'failed')
      } else {
        // The worst trial: the bar is about any bin.
        const peaks = list.map((t) => t.peak)
        const worst = Math.max(...peaks)
        peak[peer] = cell(worst, peaks.length === 1 ? `${worst}` : `${worst} (trials: ${peaks.join(', ')})`, { trials: peaks })
        const back = Math.min(...list.map((t) => t.arrivals.length))
        const last = Math.max(...list.map((t) => Math.max(0, ...t.arrivals)))
        spread[peer] = cell(last, `${back}/${size.clients} back, last at ${fmt(last)}`, { trials: list.map((t) => Math.max(0, ...t.arrivals)) })
      }
    }
    const lifelinePeak = peak.lifeline?.value ?? null
    const noHint = (peer: PeerName): Cell => cell(null, CATALOG[peer].noReconnect ?? (peer === 'lifeline' ? 'failed' : 'no server hint'))
    const hintPeak: Partial<Record<PeerName, Cell>> = Object.fromEntries(PEERS.map((p) => [p, noHint(p)]))
    const hintSpread: Partial<Record<PeerName, Cell>> = { ...hintPeak }
    if (hinted.length > 0) {
      const peaks = hinted.map((t) => t.peak)
      const worst = Math.max(...peaks)
      hintPeak.lifeline = cell(worst, peaks.length === 1 ? `${worst}` : `${worst} (trials: ${peaks.join(', ')})`, { trials: peaks })
      const back = Math.min(...hinted.map((t) => t.arrivals.length))
      const last = Math.max(...hinted.map((t) => Math.max(0, ...t.arrivals)))
      hintSpread.lifeline = cell(last, `${back}/${size.clients} back, last at ${fmt(last)}`, { trials: hinted.map((t) => Math.max(0, ...t.arrivals)) })
    }
    return {
      rows: [
        {
          metric: `busiest ${BIN_MS} ms bin of arrivals at the restarted server, worst of ${count} (${size.clients} clients, server down ${size.downMs} ms; default settings)`,
          cells: peak,
          bar: { text: '≤ 50', pass: lifelinePeak === null ? null : lifelinePeak <= 50 },
        },
        { metric: `clients back within ${size.capMs / 1_000} s, and the last arrival (ms after the new server listened)`, cells: spread },
        {
          metric: `the same with the server's hint: closed with 1012 and close({ reconnect: { within: ${fmt(HINT_WITHIN_MS)} } }) instead of killed, replacement listening ${size.downMs} ms later; busiest ${BIN_MS} ms bin, worst of ${count}`,
          cells: hintPeak,
        },
        { metric: `with the server's hint: clients back within ${size.capMs / 1_000} s, and the last arrival`, cells: hintSpread },
      ],
      notes: [
        `Bins of ${BIN_MS} ms from the moment the new server listened; the histograms are in results.json.`,
        ...errors,
      ],
      raw: { size, trials: all, hinted: { within: HINT_WITHIN_MS, trials: hinted } },
    }
  },
}
