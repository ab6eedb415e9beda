/**
 * What a trace says, in words and numbers: the state at a step, the timers
 * pending then, and a timeline (pings, proofs with their round trip,
 * timeouts, retries with their delay and reason, closes with code and
 * reason, offline/online, wake-ups, state changes). Everything is derived
 * from the trace alone, so a live connection, a loaded file and a Node
 * process seen through the relay read the same.
 */
import type { Json } from './json.js'
import type { Trace, TraceEvent, TraceStep } from './trace.js'

/** The kinds of timeline entries (a CSS class each). */
export type EntryKind = 'state' | 'call' | 'open' | 'close' | 'error' | 'ping' | 'proof' | 'timeout' | 'retry' | 'failed' | 'network' | 'timer'

/** One line of the timeline. */
export interface TimelineEntry {
  /** The step it comes from. */
  step: number
  /** Milliseconds since the trace started. */
  at: number
  kind: EntryKind
  text: string
}

/** A timer pending at some step. */
export interface PendingTimer {
  /** The scheduled event's id, e.g. `xstate.after.heartbeatInterval.connection.open.waiting`. */
  id: string
  /** The named delay: `heartbeatInterval`. */
  delay: string
  /** The state that armed it, dotted: `open.waiting`. */
  state: string
  /** When it fires, in trace time. */
  due: number
}

const AFTER = 'xstate.after.'

/** `open.waiting` for `{ open: 'waiting' }`, `idle` for `'idle'`. */
export function dotted(value: Json): string {
  if (typeof value === 'string') return value
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return String(value)
  return Object.entries(value).map(([key, child]) => {
    const rest = dotted(child)
    return rest === '' ? key : `${key}.${rest}`
  }).join(',')
}

/** The ids of every active state node for a state value: `connection.open`, `connection.open.waiting`. */
export function activeIds(machine: string, value: Json): string[] {
  if (typeof value === 'string') return [`${machine}.${value}`]
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return []
  return Object.entries(value).flatMap(([key, child]) => [`${machine}.${key}`, ...activeIds(`${machine}.${key}`, child)])
}

/** The state value after step `index` (-1: when the trace started). */
export function valueAt(trace: Trace, index: number): Json {
  return index < 0 ? trace.initial.value : trace.steps[index]?.value ?? trace.initial.value
}

/** The context after step `index` (-1: when the trace started). */
export function contextAt(trace: Trace, index: number): { [key: string]: Json } {
  return index < 0 ? trace.initial.context : trace.steps[index]?.context ?? trace.initial.context
}

function timerOf(id: string, due: number, machine: string): PendingTimer {
  const [delay = id, ...state] = id.startsWith(AFTER) ? id.slice(AFTER.length).split('.') : [id]
  const path = state[0] === machine ? state.slice(1) : state
  return { id, delay, state: path.join('.'), due }
}

/** Most timers a trace can have pending at once (a connection has one or two); further ones are left out. */
export const MAX_PENDING = 256
/** Steps between two saved states of the pending timers: stepping back starts from the nearest one. */
export const TIMER_CHECKPOINT = 256

type Pending = Map<string, PendingTimer>

function applyStep(timers: Pending, step: TraceStep, machine: string): void {
  timers.delete(step.event.type) // the timer that fired
  for (const action of step.actions) {
    const params = (action.params ?? {}) as { id?: unknown; delay?: unknown; sendId?: unknown }
    if (action.type === 'xstate.raise' && typeof params.id === 'string' && typeof params.delay === 'number') {
      if (timers.size < MAX_PENDING || timers.has(params.id)) timers.set(params.id, timerOf(params.id, step.at + params.delay, machine))
    } else if (action.type === 'xstate.cancel' && typeof params.sendId === 'string') {
      timers.delete(params.sendId)
    }
  }
}

/** The pending timers of one trace, worked out step by step as the panel moves, never again from step 0. */
interface TimerFold {
  /** What the fold was computed from: a trace that dropped steps from its front starts over. */
  dropped: number
  first: TraceStep | undefined
  /** `checkpoints[k]`: the timers pending before step `k * TIMER_CHECKPOINT`. */
  checkpoints: Pending[]
  /** The step `current` is after (-1: the start). */
  at: number
  current: Pending
  sorted: PendingTimer[] | undefined
}

const folds = new WeakMap<Trace, TimerFold>()

function timerFold(trace: Trace): TimerFold {
  const fold = folds.get(trace)
  if (fold !== undefined && fold.dropped === trace.dropped && fold.first === trace.steps[0]) return fold
  const start: Pending = new Map()
  for (const t of trace.initial.timers.slice(0, MAX_PENDING)) start.set(t.id, timerOf(t.id, t.due, trace.machine))
  const fresh: TimerFold = { dropped: trace.dropped, first: trace.steps[0], checkpoints: [new Map(start)], at: -1, current: start, sorted: undefined }
  folds.set(trace, fresh)
  return fresh
}

/**
 * The timers pending after step `index`, soonest first. Worked out
 * incrementally per trace: a step forward applies that step, a step back
 * starts from the nearest checkpoint. A trace may grow (steps appended) or
 * drop steps from its front (counted in `dropped`); its steps are never
 * changed in place.
 */
export function timersAt(trace: Trace, index: number): PendingTimer[] {
  const fold = timerFold(trace)
  const target = Math.max(-1, Math.min(index, trace.steps.length - 1))
  if (target < fold.at) {
    const k = Math.min(Math.floor((target + 1) / TIMER_CHECKPOINT), fold.checkpoints.length - 1)
    fold.current = new Map(fold.checkpoints[k])
    fold.at = k * TIMER_CHECKPOINT - 1
    fold.sorted = undefined
  }
  while (fold.at < target) {
    fold.at++
    applyStep(fold.current, trace.steps[fold.at]!, trace.machine)
    fold.sorted = undefined
    const next = fold.at + 1
    if (next % TIMER_CHECKPOINT === 0 && fold.checkpoints.length === next / TIMER_CHECKPOINT) fold.checkpoints.push(new Map(fold.current))
  }
  fold.sorted ??= [...fold.current.values()].sort((a, b) => a.due - b.due)
  return fold.sorted
}

const PHRASES: Record<string, string> = {
  heartbeatInterval: 'next ping',
  heartbeatTimeout: 'link declared dead',
  probeTimeout: 'probe deadline',
  connectTimeout: 'attempt abandoned',
  backoffDelay: 'next attempt',
  closeTimeout: 'socket dropped',
}

/** `heartbeatInterval (open.waiting): next ping in 3.2 s`. */
export function describeTimer(timer: PendingTimer, now: number): string {
  const seconds = Math.max(0, (timer.due - now) / 1000).toFixed(1)
  const phrase = PHRASES[timer.delay]
  return `${timer.delay}${timer.state === '' ? '' : ` (${timer.state})`}: ${phrase === undefined ? 'fires' : phrase} in ${seconds} s`
}

const text = (value: Json | undefined): string => (typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value))
const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`

/** Why a step happened, in a few words: `heartbeatTimeout` (a timer), `close 1006`, `reconnect()`. */
export function cause(event: TraceEvent): string {
  const type = event.type
  if (type.startsWith(AFTER)) return `${type.slice(AFTER.length).split('.')[0]}`
  if (type === 'socket.close') return `close ${text(event.code)}${text(event.reason) === '' ? '' : ` ${text(event.reason)}`}`
  if (type === 'open' || type === 'close' || type === 'reconnect') return `${type}()`
  return type
}

function eventEntry(event: TraceEvent): { kind: EntryKind; text: string } | undefined {
  switch (event.type) {
    case 'xstate.init':
      return undefined
    case 'open':
    case 'reconnect':
      return { kind: 'call', text: `${event.type}() called` }
    case 'close':
      return { kind: 'call', text: `close(${[event.code, event.reason].filter((v) => v !== undefined).map((v) => JSON.stringify(v)).join(', ')}) called` }
    case 'socket.open':
      return { kind: 'open', text: 'socket open' }
    case 'socket.close':
      return { kind: 'close', text: `closed: code ${text(event.code)}${text(event.reason) === '' ? '' : `, reason "${text(event.reason)}"`}${event.wasClean === false ? ' (not clean)' : ''}` }
    case 'socket.error': {
      const error = event.error as { message?: Json; code?: Json } | undefined
      return { kind: 'error', text: `socket error${error?.code === undefined ? '' : ` ${text(error.code)}`}: ${text(error?.message ?? null)}` }
    }
    case 'network.offline':
      return { kind: 'network', text: 'network offline' }
    case 'network.online':
      return { kind: 'network', text: 'network online' }
    case 'environment.wake':
      return { kind: 'network', text: 'woke up: page shown, restored or resumed' }
    default:
      return undefined
  }
}

/** What the timeline carries from one step to the next. */
interface Reading {
  pingAt: number | undefined
  previous: string
}

function readStep(step: TraceStep, i: number, reading: Reading, out: TimelineEntry[]): void {
  const push = (kind: EntryKind, words: string) => out.push({ step: i, at: step.at, kind, text: words })
  const fromEvent = eventEntry(step.event)
  if (fromEvent !== undefined) push(fromEvent.kind, fromEvent.text)
  if (step.event.type === 'heartbeat.proof') {
    push('proof', reading.pingAt === undefined ? 'proof of life' : `proof of life, round trip ${(step.at - reading.pingAt).toFixed(1)} ms`)
    reading.pingAt = undefined
  }
  if (step.event.type.startsWith(`${AFTER}connectTimeout`)) push('timeout', 'connect timeout: attempt abandoned')
  if (step.event.type.startsWith(`${AFTER}closeTimeout`)) push('timeout', 'close timeout: socket dropped')
  for (const action of step.actions) {
    if (action.type === 'sendPing') {
      reading.pingAt = step.at
      push('ping', 'ping sent')
    } else if (action.type === 'sendProbe') {
      reading.pingAt = step.at
      push('ping', 'probe sent: trust nothing after a pause')
    } else if (action.type === 'notifyHeartbeatTimeout') {
      push('timeout', step.event.type.startsWith(`${AFTER}probeTimeout`) ? 'probe timeout: link declared dead' : 'heartbeat timeout: link declared dead')
    } else if (action.type === 'notifyReconnect') {
      const { attempt, retryDelay } = step.context
      push('retry', `retry ${text(attempt)} in ${typeof retryDelay === 'number' ? seconds(retryDelay) : '?'} after ${cause(step.event)}`)
    } else if (action.type === 'notifyFailed') {
      const { failure, attempt } = step.context
      push('failed', `failed (${text(failure)}) after ${cause(step.event)}, ${typeof attempt === 'number' ? attempt + 1 : '?'} attempt(s)`)
    }
  }
  const now = dotted(step.value)
  if (now !== reading.previous) push('state', `${reading.previous} → ${now}`)
  reading.previous = now
}

/** The timeline of steps `0..index`, oldest first; at most `limit` entries (the latest). */
export function timeline(trace: Trace, index = trace.steps.length - 1, limit = 400): TimelineEntry[] {
  const out: TimelineEntry[] = []
  const reading: Reading = { pingAt: undefined, previous: dotted(trace.initial.value) }
  const last = Math.min(index, trace.steps.length - 1)
  for (let i = 0; i <= last; i++) readStep(trace.steps[i]!, i, reading, out)
  return out.slice(-limit)
}

/** The timeline of a whole trace so far, read once per trace and then only its new steps. */
interface TimelineFold {
  dropped: number
  first: TraceStep | undefined
  /** Steps read. */
  read: number
  reading: Reading
  /** The latest entries, at most twice the limit asked for. */
  entries: TimelineEntry[]
  limit: number
}

const timelines = new WeakMap<Trace, TimelineFold>()

/** {@link timeline} of every step of `trace` so far, incrementally: a trace that grew costs only its new steps. */
export function latestTimeline(trace: Trace, limit = 400): TimelineEntry[] {
  let fold = timelines.get(trace)
  if (fold === undefined || fold.dropped !== trace.dropped || fold.first !== trace.steps[0] || fold.limit !== limit || fold.read > trace.steps.length) {
    fold = { dropped: trace.dropped, first: trace.steps[0], read: 0, reading: { pingAt: undefined, previous: dotted(trace.initial.value) }, entries: [], limit }
    timelines.set(trace, fold)
  }
  for (; fold.read < trace.steps.length; fold.read++) {
    readStep(trace.steps[fold.read]!, fold.read, fold.reading, fold.entries)
    if (fold.entries.length > 2 * limit) fold.entries.splice(0, fold.entries.length - limit)
  }
  return fold.entries.slice(-limit)
}
