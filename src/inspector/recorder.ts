/**
 * Turns XState's inspection stream of one actor into trace steps. A step
 * closes at each `@xstate.snapshot` of the actor (XState reports one for
 * every event it processes, ignored ones too): the event is the snapshot's,
 * the actions and transitions are those reported since the previous one.
 * `@xstate.event` is not used: XState reports it when an event is sent, which
 * from inside an action is before the current step ends.
 */
import type { AnyActorRef, InspectionEvent } from 'xstate'
import { describeTransition } from '../../machines/labels.js'
import { describe, invalid } from '../errors.js'
import { contextJson, toJson, type Json } from './json.js'
import type { Trace, TraceAction, TraceEvent, TraceStep, TraceTimer, TraceTransition } from './trace.js'

/** Actions whose parameters say something (timers, the state named); the others are recorded by name. */
const WITH_PARAMS = new Set(['xstate.raise', 'xstate.cancel', 'notifyState'])

interface SnapshotLike {
  value?: unknown
  context?: unknown
  status?: string
}

/** What is read of a transition in a `@xstate.microstep`. */
interface TransitionLike {
  source: { id: string }
  target?: ReadonlyArray<{ id: string }> | undefined
  eventType: string
  guard?: unknown
}

/** The clock the actor's timers run on (`now()` of lifeline's clock), else the wall clock. */
export function clockOf(actor: AnyActorRef): () => number {
  const clock = (actor.system as { _clock?: { now?: unknown } })._clock
  return typeof clock?.now === 'function' ? () => (clock as { now(): number }).now() : () => Date.now()
}

export function eventJson(event: unknown): TraceEvent {
  const json = toJson(event)
  const type = typeof (event as { type?: unknown } | null)?.type === 'string' ? (event as { type: string }).type : 'unknown'
  return typeof json === 'object' && json !== null && !Array.isArray(json) ? { ...json, type } : { type }
}

export function stateJson(snapshot: SnapshotLike): { value: Json; context: { [key: string]: Json } } {
  return { value: toJson(snapshot.value), context: contextJson(snapshot.context) }
}

/** Timers `actor` has pending now, read from its system's scheduler, in the time of `now`. */
export function pendingTimers(actor: AnyActorRef, now: number): TraceTimer[] {
  let scheduled: Record<string, { id: string; delay: number; startedAt: number; source: unknown }>
  try {
    scheduled = actor.system.getSnapshot()._scheduledEvents as typeof scheduled
  } catch {
    return []
  }
  const wall = Date.now()
  return Object.values(scheduled)
    .filter((s) => s.source === actor && typeof s.delay === 'number')
    .map((s) => ({ id: String(s.id), delay: s.delay, due: now + (s.startedAt + s.delay - wall) }))
}

// A transition on any event (`*`: a shared connection's mirror of the leader's chart) is named after the event it was taken on.
function transitionsOf(transitions: readonly TransitionLike[], eventType: string): TraceTransition[] {
  return transitions.flatMap((t) => (t.target ?? []).map((target) => {
    const event = t.eventType === '*' ? eventType : t.eventType
    const guard = t.eventType === '*' ? undefined : describeTransition(t.eventType, t.guard).guard
    return guard === undefined ? { source: t.source.id, target: target.id, event } : { source: t.source.id, target: target.id, event, guard }
  }))
}

/** Assembles the steps of `actor` from inspection events of its system (others' events are skipped). */
export class StepAssembler {
  private actions: TraceAction[] = []
  private transitions: TraceTransition[] = []

  constructor(
    private readonly actor: AnyActorRef,
    private readonly at: () => number,
    private readonly onStep: (step: TraceStep) => void,
  ) {}

  observe(event: InspectionEvent): void {
    if (event.actorRef !== this.actor) return
    if (event.type === '@xstate.action') {
      const { type, params } = event.action
      const action: TraceAction = { type: String(type) }
      if (WITH_PARAMS.has(action.type) && params !== undefined) action.params = toJson(params)
      if (this.actions.length < 200) this.actions.push(action)
    } else if (event.type === '@xstate.microstep') {
      if (this.transitions.length < 200) this.transitions.push(...transitionsOf(event._transitions as unknown as TransitionLike[], String((event.event as { type?: unknown }).type)))
    } else if (event.type === '@xstate.snapshot') {
      const step: TraceStep = {
        at: this.at(),
        event: eventJson(event.event),
        transitions: this.transitions,
        actions: this.actions,
        ...stateJson(event.snapshot as SnapshotLike),
      }
      this.actions = []
      this.transitions = []
      this.onStep(step)
    }
  }
}

/** Options of {@link recordTrace}. */
export interface RecordOptions {
  /** Most steps kept; older ones are dropped from the front (the trace counts them in `dropped`). @default 10000 */
  maxSteps?: number
}

/** A recording under way. */
export interface Recording {
  /** Stops recording and returns the trace (plain JSON). Calling it again returns the same trace. */
  stop(): Trace
}

/** Anything with the actor of a connection: a lifeline `Connection`. */
export interface Inspectable {
  readonly actor: AnyActorRef
}

/** Throws a clear error unless `target` holds an XState actor that can be inspected. */
export function actorOf(target: unknown, caller: string): AnyActorRef {
  const actor = (target as { actor?: { system?: { inspect?: unknown }; getSnapshot?: unknown } } | null)?.actor
  if (typeof actor?.getSnapshot !== 'function' || typeof actor.system?.inspect !== 'function') {
    throw invalid('LIFELINE_INVALID_ARGUMENT', `${caller} expects a lifeline connection (an object with an XState actor at .actor), got ${describe(target)}`)
  }
  return actor as AnyActorRef
}

/** A trace of `actor` from now on, with `onStep` told of each step. Returns the trace (filled as it goes) and a stop function. */
export function traceActor(actor: AnyActorRef, maxSteps: number, onStep?: (step: TraceStep, trace: Trace) => void): { trace: Trace; stop(): void } {
  const now = clockOf(actor)
  const start = now()
  const snapshot = actor.getSnapshot() as SnapshotLike
  const trace: Trace = {
    format: 'lifeline-trace',
    version: 1,
    machine: String((actor as { logic?: { id?: unknown } }).logic?.id ?? 'connection'),
    startedAt: Date.now(),
    initial: { ...stateJson(snapshot), timers: pendingTimers(actor, 0) },
    steps: [],
    dropped: 0,
  }
  const assembler = new StepAssembler(actor, () => now() - start, (step) => {
    trace.steps.push(step)
    // Dropped in batches: one splice per tenth of the bound, not one per step.
    if (trace.steps.length > maxSteps + Math.ceil(maxSteps / 10)) {
      const excess = trace.steps.length - maxSteps
      trace.steps.splice(0, excess)
      trace.dropped += excess
    }
    onStep?.(step, trace)
  })
  // Inspection runs inside the actor's step: a failure here must not reach the connection.
  let failed = false
  const subscription = actor.system.inspect((event) => {
    try {
      assembler.observe(event)
    } catch (error) {
      if (failed) return
      failed = true
      setTimeout(() => {
        throw error
      })
    }
  })
  return { trace, stop: () => subscription.unsubscribe() }
}

/**
 * Starts recording the events `connection`'s actor processes, each with its
 * time, transitions, actions and the snapshot after it. Works with any
 * connection: recording attaches to the actor's system, no `inspect` option
 * needed. `stop()` returns the trace, plain JSON.
 */
export function recordTrace(connection: Inspectable, options: RecordOptions = {}): Recording {
  const actor = actorOf(connection, 'recordTrace()')
  const { maxSteps = 10_000 } = options
  if (!Number.isInteger(maxSteps) || maxSteps < 1) {
    throw invalid('LIFELINE_INVALID_OPTION', `recordTrace() option maxSteps must be a positive integer, got ${describe(maxSteps)}`)
  }
  const recording = traceActor(actor, maxSteps)
  let result: Trace | undefined
  return {
    stop() {
      if (result === undefined) {
        recording.stop()
        const { steps } = recording.trace
        const excess = Math.max(0, steps.length - maxSteps)
        result = structuredCloneJson({ ...recording.trace, steps: steps.slice(excess), dropped: recording.trace.dropped + excess })
      }
      return result
    },
  }
}

const structuredCloneJson = (trace: Trace): Trace => JSON.parse(JSON.stringify(trace)) as Trace
