// Create cost: what creating and disposing lifeline connections costs at
// scale, in a fresh worker process (--expose-gc), with the compiled client
// (bench/build.ts). Connections are created with autoConnect: false, so no
// socket is ever opened: only the library's own bookkeeping is measured.
// Time per connection for the first thousand against the last (creating N),
// the same for dispose(), heap per live connection, and whether connections
// that are close()d and dropped without dispose() are garbage-collected.
import { pathToFileURL } from 'node:url'
import { BUILT } from '../build.js'
import { PEERS, type PeerName } from '../peers/catalog.js'
import { cell, type Cell, type Row, type Scenario } from '../results.js'
import { runWorker } from '../run-worker.js'
import { FULL, QUICK } from '../settings.js'
import { fmt, median } from '../stats.js'
import { now } from '../util.js'
import { collect } from './memory.js'

type Lifeline = typeof import('../../src/index.node.js')
type Connection = ReturnType<Lifeline['createConnection']>

/** Never dialled: the connections are created with autoConnect false. */
const DIAL = 'ws://127.0.0.1:9/'
/** The bar: a connection costs the same whether it is the first thousand or the last. */
const BAR_RATIO = 1.2

export interface CreateCostParams {
  connections: number
  block: number
  warmup: number
  dropped: number
}

export interface CreateCostTrial {
  connections: number
  block: number
  /** µs per connection in each consecutive block of `block` connections. */
  createMicros: number[]
  /** The same for dispose(), in creation order: block 0 is disposed with every connection still live. */
  disposeMicros: number[]
  heapBytesPerConnection: number
  /** How many connections each GC check drops. */
  dropped: number
  /** Connections close()d and dropped without dispose(). */
  closedAndDropped: Collected
  /** The control: connections disposed and dropped. */
  disposedAndDropped: Collected
}

interface Collected {
  /** Of the dropped connections, how many a FinalizationRegistry saw collected: the objects createConnection() returned, and their actors. */
  connections: number
  actors: number
  /** Heap still held after GC, per dropped connection. */
  retainedBytes: number
}

/**
 * Creates `count` connections, ends each with `end` and drops it, then counts
 * what was collected. The returned object and its actor are counted apart:
 * the object can be collected while its actor is still held elsewhere.
 */
async function countCollected(create: () => Connection, count: number, end: (c: Connection) => void): Promise<Collected> {
  let connections = 0
  let actors = 0
  const registry = new FinalizationRegistry<'connection' | 'actor'>((kind) => void (kind === 'connection' ? connections++ : actors++))
  const before = await collect()
  const make = (): void => {
    for (let i = 0; i < count; i++) {
      const connection = create()
      registry.register(connection, 'connection')
      registry.register(connection.actor, 'actor')
      end(connection)
    }
  }
  make()
  // Finalization callbacks run on a later task: the second round of collections sees them all.
  await collect()
  const after = await collect()
  return { connections, actors, retainedBytes: (after.heapUsed - before.heapUsed) / count }
}

export async function createCostWorker(params: CreateCostParams): Promise<CreateCostTrial> {
  const { createConnection } = (await import(pathToFileURL(BUILT.client).href)) as Lifeline
  const create = (): Connection => createConnection({ url: DIAL, autoConnect: false })
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('the create-cost worker needs --expose-gc')

  // Compiled and warmed on a few connections that are gone before anything is measured.
  for (const c of Array.from({ length: params.warmup }, create)) c.dispose()
  const baseline = await collect()

  const live: Connection[] = []
  const createMicros: number[] = []
  for (let start = 0; start < params.connections; start += params.block) {
    // A collection between blocks, outside the timing: each block starts from a clean heap.
    gc()
    const t0 = now()
    for (let i = start; i < Math.min(start + params.block, params.connections); i++) live.push(create())
    createMicros.push(((now() - t0) * 1_000) / Math.min(params.block, params.connections - start))
  }
  const full = await collect()
  const heapBytesPerConnection = (full.heapUsed - baseline.heapUsed) / params.connections

  const disposeMicros: number[] = []
  for (let start = 0; start < live.length; start += params.block) {
    gc()
    const t0 = now()
    const end = Math.min(start + params.block, live.length)
    for (let i = start; i < end; i++) live[i]!.dispose()
    disposeMicros.push(((now() - t0) * 1_000) / (end - start))
  }
  live.length = 0
  await collect()

  const disposedAndDropped = await countCollected(create, params.dropped, (c) => c.dispose())
  const closedAndDropped = await countCollected(create, params.dropped, (c) => c.close())
  return {
    connections: params.connections,
    block: params.block,
    createMicros,
    disposeMicros,
    heapBytesPerConnection,
    dropped: params.dropped,
    closedAndDropped,
    disposedAndDropped,
  }
}

const ONLY = 'n/a (lifeline only)'
const only = (lifeline: Cell): Partial<Record<PeerName, Cell>> => Object.fromEntries(PEERS.map((p) => [p, p === 'lifeline' ? lifeline : cell(null, ONLY)]))
export const ordinal = (n: number): string => `${n}${n === 1 ? 'st' : n === 2 ? 'nd' : n === 3 ? 'rd' : 'th'}`

export const createCost: Scenario = {
  name: 'create-cost',
  title: 'Create and dispose',
  async run({ quick, trials: trialsOverride, log }) {
    const size = (quick ? QUICK : FULL).createCost
    const count = trialsOverride ?? size.trials
    const trials: CreateCostTrial[] = []
    const errors: string[] = []
    for (let t = 0; t < count; t++) {
      try {
        const params: CreateCostParams = { connections: size.connections, block: size.block, warmup: size.warmup, dropped: size.dropped }
        const trial = await runWorker<CreateCostTrial>({ scenario: 'create-cost', params }, 300_000)
        trials.push(trial)
        log(`  create-cost: create ${trial.createMicros.map((m) => fmt(m)).join(' ')} µs, dispose ${trial.disposeMicros.map((m) => fmt(m)).join(' ')} µs per connection by thousand; heap ${fmt(trial.heapBytesPerConnection / 1024)} KB; close()d and dropped: ${JSON.stringify(trial.closedAndDropped)}, disposed and dropped: ${JSON.stringify(trial.disposedAndDropped)}`)
      } catch (error) {
        errors.push(String(error))
      }
    }
    const blocks = Math.ceil(size.connections / size.block)
    const last = ordinal(blocks)
    const rows: Row[] = []
    const notes: string[] = []
    // Creation: the last thousand (made with up to N live) over the first. dispose() runs in creation
    // order, so its first thousand goes with all N live and its last with few: a cost that grows with
    // the live count shows as 1st ÷ last, one that grows with the disposals done as last ÷ 1st; the
    // larger of the two is judged.
    const timing = (label: string, pick: (t: CreateCostTrial) => number[], eitherWay: boolean, target?: string): void => {
      const series = trials.map(pick)
      const first = median(series.map((s) => s[0] ?? null))
      const final = median(series.map((s) => s[s.length - 1] ?? null))
      const ratios = series.map((s) => {
        const [a, b] = [s[0], s[s.length - 1]]
        if (a === undefined || b === undefined || a <= 0 || b <= 0) return null
        return eitherWay ? Math.max(b / a, a / b) : b / a
      })
      const ratio = median(ratios)
      const which = !eitherWay || (final ?? 0) >= (first ?? 0) ? `${last} ÷ 1st` : `1st ÷ ${last}`
      const perBlock = `by thousand: ${series.map((s) => s.map((m) => fmt(m)).join(', ')).join('; ')} µs`
      const text = first === null || final === null || ratio === null ? 'failed' : `1st ${fmt(first)} µs, ${last} ${fmt(final)} µs: ${ratio.toFixed(2)}x (${which})`
      rows.push({
        metric: `${label}: µs per connection, 1st thousand vs ${last} (median of ${trials.length})`,
        cells: only(cell(ratio, text, { trials: ratios })),
        bar: { text: `${last} ≤ ${BAR_RATIO}x the 1st${eitherWay ? ', either way' : ''}`, pass: ratio === null ? null : ratio <= BAR_RATIO },
        ...(target === undefined ? {} : { target }),
      })
      notes.push(`${label}, ${perBlock}.`)
    }
    timing(`createConnection() of ${size.connections.toLocaleString('en-US')}`, (t) => t.createMicros, false, `time to create the ${last} thousand connections vs the 1st`)
    timing('dispose() of them, in creation order', (t) => t.disposeMicros, true)
    const heap = median(trials.map((t) => t.heapBytesPerConnection / 1024))
    rows.push({ metric: `heap KB per live connection (autoConnect: false, after GC)`, cells: only(heap === null ? cell(null, 'failed') : cell(heap, fmt(heap))) })
    const gcRow = (label: string, pick: (t: CreateCostTrial) => Collected): void => {
      const connections = median(trials.map((t) => pick(t).connections))
      const actors = median(trials.map((t) => pick(t).actors))
      const retained = median(trials.map((t) => pick(t).retainedBytes / 1024))
      const n = size.dropped.toLocaleString('en-US')
      rows.push({
        metric: `${label}: garbage-collected, the connections and their actors; heap KB still held per connection after GC`,
        cells: only(connections === null || actors === null || retained === null
          ? cell(null, 'failed')
          : cell(actors, `collected ${connections.toLocaleString('en-US')} of ${n}, actors ${actors.toLocaleString('en-US')} of ${n}; ${fmt(retained)} KB held`)),
      })
    }
    gcRow('close()d and dropped without dispose()', (t) => t.closedAndDropped)
    gcRow('control: dispose()d and dropped', (t) => t.disposedAndDropped)
    return {
      rows,
      notes: [
        `createConnection({ url: '${DIAL}', autoConnect: false }) from the compiled client in a fresh process with --expose-gc, ${size.connections.toLocaleString('en-US')} connections timed per block of ${size.block.toLocaleString('en-US')} after ${size.warmup} warm-up connections (created and disposed first), a GC before each block outside its timing; then dispose() of all in creation order, timed the same way (its 1st thousand goes while all are live, its ${last} while ${size.block.toLocaleString('en-US')} are, so either thousand may be the slow one: the larger ratio is judged). The GC check creates ${size.dropped.toLocaleString('en-US')} connections, calls close() on each and drops it, and counts FinalizationRegistry callbacks after repeated GC, for the object createConnection() returned and for its actor (conn.actor) apart, since the object can be collected while its actor is still held; the control does the same with dispose().`,
        ...notes,
        ...errors,
      ],
      raw: { size, trials },
    }
  },
}
