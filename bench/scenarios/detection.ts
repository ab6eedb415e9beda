// 1. Detection: the link between client and server is black-holed by a TCP
// proxy; how long until the library says the link is dead, and, once the path
// works again, until a new connection is open. Every peer and trial runs at
// once in one process (each with its own proxy): the measure is timer-bound,
// and one 30 s window for the peers that never notice keeps the run short.
import { CATALOG, PEERS, type PeerName, type ServerKind } from '../peers/catalog.js'
import { BlackHoleProxy } from '../proxy.js'
import { cell, type Cell, type Row, type Scenario } from '../results.js'
import { runWorker } from '../run-worker.js'
import { ServerProcess } from '../servers/client.js'
import { COMMON, FULL, QUICK } from '../settings.js'
import { censoredMedian, fmt } from '../stats.js'
import { deferred, now, orNull, sleep } from '../util.js'
import { connectOpen, loadPeer } from './connect.js'

export interface DetectionParams {
  peers: PeerName[]
  trials: number
  capMs: number
  reopenCapMs: number
}

export interface DetectionTrial {
  /** Set when the trial could not run (e.g. the first open failed). */
  error?: string
  /** From the black hole to the library's "dead" signal; null: not within the cap. */
  deadMs: number | null
  reason: string | null
  /** From the path's restoration (right at detection) to a new open; null: none within the cap. */
  reopenMs: number | null
  /** "Dead" signals before the black hole: a healthy link declared dead. */
  falseAlarms: number
}

async function detectOnce(peer: PeerName, port: number, params: DetectionParams): Promise<DetectionTrial> {
  const adapter = await loadPeer(peer)
  const proxy = await BlackHoleProxy.start(port)
  let blackHoledAt = Infinity
  let falseAlarms = 0
  const dead = deferred<{ at: number; reason: string }>()
  let reopened = deferred<number>()
  const client = await connectOpen(adapter, proxy.port, 'common', {
    open: () => reopened.resolve(now()),
    down: (reason) => {
      if (now() >= blackHoledAt) dead.resolve({ at: now(), reason })
      else falseAlarms++
    },
  })
  try {
    // A random moment within the heartbeat cycle, as a real outage would be.
    await sleep(2_000 + Math.random() * COMMON.heartbeatInterval)
    reopened = deferred<number>()
    blackHoledAt = now()
    proxy.blackHole()
    const signal = await orNull(dead.promise, params.capMs)
    if (signal === null) return { deadMs: null, reason: null, reopenMs: null, falseAlarms }
    proxy.restore()
    const restoredAt = now()
    const openAt = await orNull(reopened.promise, params.reopenCapMs)
    return {
      deadMs: signal.at - blackHoledAt,
      reason: signal.reason,
      reopenMs: openAt === null ? null : openAt - restoredAt,
      falseAlarms,
    }
  } finally {
    client.close()
    await proxy.close()
  }
}

export async function detectionWorker(params: DetectionParams): Promise<Record<string, DetectionTrial[]>> {
  const kinds = [...new Set(params.peers.map((p) => CATALOG[p].server))]
  const servers = new Map<ServerKind, ServerProcess>()
  try {
    await Promise.all(kinds.map(async (kind) => {
      const server = await ServerProcess.spawn(kind, 'common')
      servers.set(kind, server)
      await server.listen()
    }))
    const results: Record<string, DetectionTrial[]> = {}
    await Promise.all(params.peers.flatMap((peer) => Array.from({ length: params.trials }, async () => {
      const trial = await detectOnce(peer, servers.get(CATALOG[peer].server)!.port, params).catch(
        (error: unknown): DetectionTrial => ({ error: String(error), deadMs: null, reason: null, reopenMs: null, falseAlarms: 0 }),
      )
      ;(results[peer] ??= []).push(trial)
    })))
    return results
  } finally {
    for (const server of servers.values()) server.kill()
  }
}

export const detection: Scenario = {
  name: 'detection',
  title: 'Detection',
  async run({ quick, trials, log }) {
    const size = (quick ? QUICK : FULL).detection
    const params: DetectionParams = { peers: [...PEERS], trials: trials ?? size.trials, capMs: size.capMs, reopenCapMs: size.reopenCapMs }
    const results = await runWorker<Record<string, DetectionTrial[]>>({ scenario: 'detection', params }, params.capMs + params.reopenCapMs + 60_000)
    const capS = params.capMs / 1_000
    const dead: Partial<Record<PeerName, Cell>> = {}
    const reopen: Partial<Record<PeerName, Cell>> = {}
    const notes: string[] = []
    for (const peer of PEERS) {
      const failed = (results[peer] ?? []).filter((t) => t.error !== undefined)
      for (const t of failed) notes.push(`${peer}: a trial failed: ${t.error}`)
      const list = (results[peer] ?? []).filter((t) => t.error === undefined)
      if (list.length === 0) {
        dead[peer] = cell(null, 'failed')
        reopen[peer] = cell(null, 'failed')
        continue
      }
      const deadTrials = list.map((t) => t.deadMs)
      const reopenTrials = list.filter((t) => t.deadMs !== null).map((t) => t.reopenMs)
      const m = censoredMedian(deadTrials)
      const seen = deadTrials.filter((v): v is number => v !== null)
      const missing = CATALOG[peer].noHeartbeat
      dead[peer] = m === null
        ? cell(null, `never in ${capS} s${missing ? ` (${missing})` : ''}`, { trials: deadTrials })
        : cell(m, `${fmt(m)} (max ${seen.length === deadTrials.length ? fmt(Math.max(...seen)) : `>${capS} s`})`, { trials: deadTrials })
      const r = censoredMedian(reopenTrials)
      reopen[peer] = reopenTrials.length === 0
        ? cell(null, 'never noticed', { trials: reopenTrials })
        : cell(r, r === null ? `none in ${params.reopenCapMs / 1_000} s` : fmt(r), { trials: reopenTrials })
      const alarms = list.reduce((sum, t) => sum + t.falseAlarms, 0)
      if (alarms > 0) notes.push(`${peer}: ${alarms} "dead" signal(s) on a healthy link before the black hole.`)
      const reasons = [...new Set(list.map((t) => t.reason).filter((r) => r !== null))]
      if (reasons.length > 0) log(`  detection ${peer}: signals ${reasons.join(', ')}; dead ${JSON.stringify(deadTrials.map((v) => v && Math.round(v)))}`)
      else log(`  detection ${peer}: never noticed`)
    }
    const limit = COMMON.heartbeatInterval + COMMON.heartbeatTimeout + 50
    const lifeline = (results.lifeline ?? []).filter((t) => t.error === undefined)
    const worst = lifeline.some((t) => t.deadMs === null) ? null : Math.max(...lifeline.map((t) => t.deadMs ?? Infinity))
    const rows: Row[] = [
      {
        metric: `declared dead after the link is black-holed, ms (median of ${params.trials}, and max)`,
        cells: dead,
        bar: { text: `every trial ≤ interval + timeout + 50 = ${limit} ms`, pass: lifeline.length === 0 ? null : worst !== null && worst <= limit },
      },
      { metric: 'new connection open after the path is restored (at detection), ms (median)', cells: reopen },
    ]
    return {
      rows,
      notes: [
        'The proxy stops forwarding both ways without FIN or RST; it is restored the moment the library signals (lifeline: heartbeat timeout; socket.io-client: disconnect; others: close).',
        ...notes,
      ],
      raw: { params, results },
    }
  },
}
