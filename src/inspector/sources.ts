/**
 * What the panel shows: a trace that may still be growing. A live
 * connection, a loaded file and a connection in a Node process (through the
 * relay) are all sources of the same shape.
 */
import type { StateNodeLike } from './graph.js'
import { actorOf, clockOf, traceActor, type Inspectable } from './recorder.js'
import type { Trace, TraceStep } from './trace.js'

/** A trace the panel can show, and whether it is still growing. */
export interface PanelSource {
  readonly id: string
  /** What the picker shows. */
  readonly name: string
  readonly kind: 'live' | 'trace' | 'remote'
  /** The steps so far (a live source keeps its most recent ones). */
  readonly trace: Trace
  /** Trace time now, for countdowns; undefined when nothing runs (a loaded trace). */
  now(): number | undefined
  /** `running`, `stopped`, `disconnected` or `recorded`. */
  status(): string
  /** Calls `listener` after each new step or status change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void
  /** The running machine's root state node (live only), to check the chart was laid out from it. */
  readonly machineRoot?: StateNodeLike
  /** The connection itself (live only), for recording. */
  readonly connection?: Inspectable
  /** Where a shared connection's socket is (live only): this tab's role and the leading tab. */
  readonly share?: () => ShareRole | undefined
  close(): void
}

let nextId = 0

/** A shared connection's place in its group, as the panel shows it. */
export interface ShareRole {
  role: string
  member: string
  leader: string | undefined
}

/** What `connection.share` says, if it says it plainly. */
export function shareOf(connection: unknown): ShareRole | undefined {
  const share = (connection as { share?: Partial<ShareRole> } | null)?.share
  if (typeof share !== 'object' || share === null || typeof share.role !== 'string' || typeof share.member !== 'string') return undefined
  return { role: share.role, member: share.member, leader: typeof share.leader === 'string' ? share.leader : undefined }
}

/** A small set of listeners that survives one of them throwing. */
export class Listeners {
  private readonly set = new Set<() => void>()
  add(listener: () => void): () => void {
    this.set.add(listener)
    return () => this.set.delete(listener)
  }
  notify(): void {
    for (const listener of [...this.set]) {
      try {
        listener()
      } catch (error) {
        // One broken listener must not stop the others (or the actor whose inspection called us).
        setTimeout(() => {
          throw error
        })
      }
    }
  }
  clear(): void {
    this.set.clear()
  }
}

/** Most steps a live panel keeps. */
export const LIVE_STEPS = 2_000

/** A connection in this page, followed from now on through its actor's system. */
export function liveSource(connection: Inspectable, name = 'this page'): PanelSource {
  const actor = actorOf(connection, 'mountInspector()')
  const listeners = new Listeners()
  const clock = clockOf(actor)
  const start = clock()
  const recording = traceActor(actor, LIVE_STEPS, () => listeners.notify())
  const root = (actor as { logic?: { root?: StateNodeLike } }).logic?.root
  const source: PanelSource = {
    id: `live-${nextId++}`,
    name,
    kind: 'live',
    trace: recording.trace,
    now: () => clock() - start,
    status: () => (actor.getSnapshot() as { status?: string }).status === 'active' ? 'running' : 'stopped',
    subscribe: (listener) => listeners.add(listener),
    connection,
    share: () => shareOf(connection),
    close() {
      recording.stop()
      listeners.clear()
    },
    ...(root === undefined ? {} : { machineRoot: root }),
  }
  return source
}

/** A recorded trace, to step through. */
export function traceSource(trace: Trace, name = `trace of ${new Date(trace.startedAt).toLocaleString()}`): PanelSource {
  return {
    id: `trace-${nextId++}`,
    name,
    kind: 'trace',
    trace,
    now: () => undefined,
    status: () => 'recorded',
    subscribe: () => () => {},
    close() {},
  }
}

/** A trace fed from elsewhere (the relay), step by step. */
export interface FedSource extends PanelSource {
  push(step: TraceStep): void
  setStatus(status: string): void
}

/** A source whose steps arrive from outside; keeps the most recent `maxSteps`. */
export function fedSource(id: string, name: string, trace: Trace, now: () => number, maxSteps = LIVE_STEPS): FedSource {
  const listeners = new Listeners()
  let status = 'running'
  return {
    id,
    name,
    kind: 'remote',
    trace,
    now: () => (status === 'running' ? now() : undefined),
    status: () => status,
    subscribe: (listener) => listeners.add(listener),
    push(step) {
      trace.steps.push(step)
      if (trace.steps.length > maxSteps + Math.ceil(maxSteps / 10)) {
        const excess = trace.steps.length - maxSteps
        trace.steps.splice(0, excess)
        trace.dropped += excess
      }
      listeners.notify()
    },
    setStatus(next) {
      status = next
      listeners.notify()
    },
    close() {
      listeners.clear()
    },
  }
}
