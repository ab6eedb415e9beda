/**
 * A trace: what a connection's actor went through, as plain JSON. Each step
 * is one event the actor processed, with the transitions it took, the
 * actions it ran (timers armed and cancelled among them) and the snapshot
 * after it. Save one with `JSON.stringify(trace)`; load it back with
 * {@link parseTrace}, which checks every field (a trace file is input).
 */
import { invalid, describe } from '../errors.js'
import type { Json } from './json.js'

/** An event as recorded: its type and its payload, as bounded JSON. */
export interface TraceEvent {
  type: string
  [key: string]: Json
}

/** An action the actor ran: `sendPing`, `notifyState`, `xstate.raise` (a timer armed), `xstate.cancel`... */
export interface TraceAction {
  type: string
  params?: Json
}

/** A transition taken: from a state node to another, on an event, with the guard that chose it. */
export interface TraceTransition {
  source: string
  target: string
  /** The event type that triggered it. */
  event: string
  /** The guard's label (`canRetry`, `else`), if any. */
  guard?: string
}

/** A timer pending at the start of a trace. */
export interface TraceTimer {
  /** The scheduled event, e.g. `xstate.after.heartbeatInterval.connection.open.waiting`. */
  id: string
  /** Its full delay in milliseconds. */
  delay: number
  /** When it fires, in the trace's time (milliseconds since `startedAt`; may be negative when late). */
  due: number
}

/** One event the actor processed and what followed. */
export interface TraceStep {
  /** Milliseconds since the trace's `startedAt`. */
  at: number
  event: TraceEvent
  transitions: TraceTransition[]
  actions: TraceAction[]
  /** The state value after the step, e.g. `{ "open": "waiting" }`. */
  value: Json
  /** The context after the step (the adapter's handle left out). */
  context: { [key: string]: Json }
}

/** A recording of one connection. Plain JSON. */
export interface Trace {
  format: 'lifeline-trace'
  version: 1
  /** The machine's id (`connection`). */
  machine: string
  /** When recording started: milliseconds since 1970 (`Date.now()`). */
  startedAt: number
  /** The snapshot when recording started, and the timers pending then. */
  initial: { value: Json; context: { [key: string]: Json }; timers: TraceTimer[] }
  steps: TraceStep[]
  /** Steps left out at the front because the recording held its maximum. */
  dropped: number
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

function fail(path: string, expected: string, got: unknown): never {
  throw invalid('LIFELINE_INVALID_ARGUMENT', `Not a lifeline trace: ${path} must be ${expected}, got ${describe(got)}`)
}

function checkValue(path: string, value: unknown, depth = 0): void {
  if (typeof value === 'string') return
  if (!isObject(value) || depth > 32) fail(path, 'a state value (a string or an object of them, at most 32 deep)', value)
  for (const [key, child] of Object.entries(value)) checkValue(`${path}.${key.slice(0, 40)}`, child, depth + 1)
}

/** Throws unless `step` is a trace step (`i` names it in the message). */
export function checkStep(step: unknown, i: number): void {
  const at = `steps[${i}]`
  if (!isObject(step)) fail(at, 'an object', step)
  if (!isNumber(step.at)) fail(`${at}.at`, 'a number of milliseconds', step.at)
  if (!isObject(step.event) || typeof step.event.type !== 'string') fail(`${at}.event`, 'an event with a string type', step.event)
  if (!Array.isArray(step.transitions)) fail(`${at}.transitions`, 'an array', step.transitions)
  step.transitions.forEach((t, j) => {
    if (!isObject(t) || typeof t.source !== 'string' || typeof t.target !== 'string' || typeof t.event !== 'string') {
      fail(`${at}.transitions[${j}]`, 'a transition { source, target, event }', t)
    }
  })
  if (!Array.isArray(step.actions)) fail(`${at}.actions`, 'an array', step.actions)
  step.actions.forEach((a, j) => {
    if (!isObject(a) || typeof a.type !== 'string') fail(`${at}.actions[${j}]`, 'an action { type }', a)
  })
  checkValue(`${at}.value`, step.value)
  if (!isObject(step.context)) fail(`${at}.context`, 'an object', step.context)
}

/**
 * Checks that `input` (a parsed JSON value, or the JSON text) is a trace and
 * returns it. Throws a `TypeError` (`code: 'LIFELINE_INVALID_ARGUMENT'`) naming
 * the first field that is wrong.
 */
export function parseTrace(input: unknown): Trace {
  let trace = input
  if (typeof input === 'string') {
    try {
      trace = JSON.parse(input)
    } catch (error) {
      throw invalid('LIFELINE_INVALID_ARGUMENT', `Not a lifeline trace: not JSON (${(error as Error).message.slice(0, 120)})`)
    }
  }
  if (!isObject(trace)) fail('the trace', 'an object', trace)
  if (trace.format !== 'lifeline-trace') fail('format', '"lifeline-trace"', trace.format)
  if (trace.version !== 1) fail('version', '1 (this inspector reads version 1)', trace.version)
  if (typeof trace.machine !== 'string') fail('machine', 'a string', trace.machine)
  if (!isNumber(trace.startedAt)) fail('startedAt', 'a time in milliseconds', trace.startedAt)
  if (!isNumber(trace.dropped) || trace.dropped < 0) fail('dropped', 'a count', trace.dropped)
  const initial = trace.initial
  if (!isObject(initial)) fail('initial', 'an object', initial)
  checkValue('initial.value', initial.value)
  if (!isObject(initial.context)) fail('initial.context', 'an object', initial.context)
  if (!Array.isArray(initial.timers)) fail('initial.timers', 'an array', initial.timers)
  initial.timers.forEach((t, j) => {
    if (!isObject(t) || typeof t.id !== 'string' || !isNumber(t.delay) || !isNumber(t.due)) fail(`initial.timers[${j}]`, 'a timer { id, delay, due }', t)
  })
  if (!Array.isArray(trace.steps)) fail('steps', 'an array', trace.steps)
  trace.steps.forEach(checkStep)
  return trace as unknown as Trace
}

/** Whether `value` looks like a trace (without checking every step). */
export function isTrace(value: unknown): value is Trace {
  return isObject(value) && value.format === 'lifeline-trace'
}
