/**
 * A trace: what a connection's actor went through, as plain JSON. Each step
 * is one event the actor processed, with the transitions it took, the
 * actions it ran (timers armed and cancelled among them) and the snapshot
 * after it. Save one with `JSON.stringify(trace)`; load it back with
 * {@link parseTrace}, which checks every field (a trace file is input).
 */
import { invalid, describe } from '../errors.js'
import { checkJson, MAX_MEMBERS, MAX_TEXT, newBudget, type Budget } from './bounds.js'
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

const isText = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_TEXT

function shown(got: unknown): string {
  const text = got === 'more' ? 'more' : describe(got)
  return text.length > 60 ? `${text.slice(0, 59)}…` : text
}

function fail(path: string, expected: string, got: unknown): never {
  throw invalid('LIFELINE_INVALID_ARGUMENT', `Not a lifeline trace: ${path} must be ${expected}, got ${shown(got)}`)
}

function checkValue(path: string, value: unknown, depth = 0): void {
  if (typeof value === 'string') return
  if (!isObject(value) || depth > 32) fail(path, 'a state value (a string or an object of them, at most 32 deep)', value)
  for (const [key, child] of Object.entries(value)) checkValue(`${path}.${key.slice(0, 40)}`, child, depth + 1)
}

/** An array of at most MAX_MEMBERS `what`, each passing `check` and bounded as JSON. */
function checkList(path: string, list: unknown, what: string, budget: Budget, check: (item: unknown) => boolean, shape: string): void {
  if (!Array.isArray(list) || list.length > MAX_MEMBERS) fail(path, `an array of at most ${MAX_MEMBERS} ${what}`, list)
  list.forEach((item, j) => {
    if (!check(item)) fail(`${path}[${j}]`, shape, item)
    checkJson(`${path}[${j}]`, item, budget, fail)
  })
}

const isTransition = (t: unknown): boolean => isObject(t) && isText(t.source) && isText(t.target) && isText(t.event)
const isAction = (a: unknown): boolean => isObject(a) && isText(a.type)
const isTimer = (t: unknown): boolean => isObject(t) && isText(t.id) && isNumber(t.delay) && isNumber(t.due)

/** Throws unless `step` is a trace step (`i` names it in the message), every field of it bounded JSON. */
export function checkStep(step: unknown, i: number): void {
  const at = `steps[${i}]`
  const budget = newBudget(at)
  if (!isObject(step)) fail(at, 'an object', step)
  if (!isNumber(step.at)) fail(`${at}.at`, 'a number of milliseconds', step.at)
  if (!isObject(step.event) || !isText(step.event.type)) fail(`${at}.event`, `an event with a string type of at most ${MAX_TEXT} characters`, step.event)
  checkJson(`${at}.event`, step.event, budget, fail)
  checkList(`${at}.transitions`, step.transitions, 'transitions', budget, isTransition, 'a transition { source, target, event }')
  checkList(`${at}.actions`, step.actions, 'actions', budget, isAction, 'an action { type }')
  checkValue(`${at}.value`, step.value)
  checkJson(`${at}.value`, step.value, budget, fail)
  if (!isObject(step.context)) fail(`${at}.context`, 'an object', step.context)
  checkJson(`${at}.context`, step.context, budget, fail)
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
  if (!isText(trace.machine)) fail('machine', `a string of at most ${MAX_TEXT} characters`, trace.machine)
  if (!isNumber(trace.startedAt)) fail('startedAt', 'a time in milliseconds', trace.startedAt)
  if (!isNumber(trace.dropped) || trace.dropped < 0) fail('dropped', 'a count', trace.dropped)
  const initial = trace.initial
  if (!isObject(initial)) fail('initial', 'an object', initial)
  const budget = newBudget('initial')
  checkValue('initial.value', initial.value)
  checkJson('initial.value', initial.value, budget, fail)
  if (!isObject(initial.context)) fail('initial.context', 'an object', initial.context)
  checkJson('initial.context', initial.context, budget, fail)
  checkList('initial.timers', initial.timers, 'timers', budget, isTimer, 'a timer { id, delay, due }')
  if (!Array.isArray(trace.steps)) fail('steps', 'an array', trace.steps)
  trace.steps.forEach(checkStep)
  return trace as unknown as Trace
}

/** Whether `value` looks like a trace (without checking every step). */
export function isTrace(value: unknown): value is Trace {
  return isObject(value) && value.format === 'lifeline-trace'
}
