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

/** The timers pending after step `index`, soonest first. */
export function timersAt(trace: Trace, index: number): PendingTimer[] {
  const timers = new Map<string, PendingTimer>()
  for (const t of trace.initial.timers) timers.set(t.id, timerOf(t.id, t.due, trace.machine))
  for (const step of trace.steps.slice(0, index + 1)) {
    timers.delete(step.event.type) // the timer that fired
    for (const action of step.actions) {
      const params = (action.params ?? {}) as { id?: unknown; delay?: unknown; sendId?: unknown }
      if (action.type === 'xstate.raise' && typeof params.id === 'string' && typeof params.delay === 'number') {
        timers.set(params.id, timerOf(params.id, step.at + params.delay, trace.machine))
      } else if (action.type === 'xstate.cancel' && typeof params.sendId === 'string') {
        timers.delete(params.sendId)
      }
    }
  }
  return [...timers.values()].sort((a, b) => a.due - b.due)
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

/** The timeline of steps `0..index`, oldest first; at most `limit` entries (the latest). */
export function timeline(trace: Trace, index = trace.steps.length - 1, limit = 400): TimelineEntry[] {
  const out: TimelineEntry[] = []
  let pingAt: number | undefined
  let previous = dotted(trace.initial.value)
  const steps = trace.steps.slice(0, index + 1)
  steps.forEach((step: TraceStep, i) => {
    const push = (kind: EntryKind, words: string) => out.push({ step: i, at: step.at, kind, text: words })
    const fromEvent = eventEntry(step.event)
    if (fromEvent !== undefined) push(fromEvent.kind, fromEvent.text)
    if (step.event.type === 'heartbeat.proof') {
      push('proof', pingAt === undefined ? 'proof of life' : `proof of life, round trip ${(step.at - pingAt).toFixed(1)} ms`)
      pingAt = undefined
    }
    if (step.event.type.startsWith(`${AFTER}connectTimeout`)) push('timeout', 'connect timeout: attempt abandoned')
    if (step.event.type.startsWith(`${AFTER}closeTimeout`)) push('timeout', 'close timeout: socket dropped')
    for (const action of step.actions) {
      if (action.type === 'sendPing') {
        pingAt = step.at
        push('ping', 'ping sent')
      } else if (action.type === 'sendProbe') {
        pingAt = step.at
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
    if (now !== previous) push('state', `${previous} → ${now}`)
    previous = now
  })
  return out.slice(-limit)
}
