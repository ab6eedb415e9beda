/**
 * The messages tabs sharing one connection exchange on their
 * BroadcastChannel, and their validation. Anything on the channel may come
 * from other code, a broken tab or another version: a message is used only
 * once every field has the type and size this version expects, else it is
 * ignored. Leaders stamp their messages with their term; a tab heeds only
 * the leader of the highest term it knows (see election.ts).
 *
 * Follower → leader: hello, probe, bye, visible, use, send, command.
 * Leader → all: lead, beat, step, event, message, taken, out, ack, session, refused, resign,
 * roll (a hidden leader asks which tabs are visible; they answer with visible).
 */
import type { CloseInfo, ConnectionStateName, FailureReason, HeartbeatEvent, MessageData, SendData, StateChangeReason } from '../types.js'
import type { Outbound } from '../reliable/session.js'
import { isSessionId } from '../reliable/protocol.js'
import { toJson, type Json } from '../inspector/json.js'

/** Bumped whenever a message changes meaning; it is part of the lock and channel names. */
export const SHARE_VERSION = 1

/** The most members a leader keeps anything for (messages queued, numbers taken). */
export const MAX_MEMBERS = 64

const MAX_TEXT = 240
/** The longest URL an announcement or an `open` event carries: Chromium's limit for any URL (2 MiB). */
export const MAX_URL = 2 * 1024 * 1024
const MAX_TRANSITIONS = 16

/** A state value as the statechart has it: `'backoff'`, `{ open: 'waiting' }`. */
export type StateValue = string | { [key: string]: StateValue }

/** A JSON object (bounded: see `toJson`). */
export type JsonObject = { [key: string]: Json }

/** What the leader's statechart did in one step, for the followers' mirrors. */
export interface Step {
  event: { type: string } & JsonObject
  transitions: [string, string][]
  /** The chart's own actions it ran (XState's timers left out), with the parameters of `notifyState`. */
  actions: StepAction[]
  value: StateValue
  context: JsonObject
}

/** An action of the chart, as a step names it. */
export interface StepAction {
  type: string
  params?: JsonObject
}

/** A shared reliable session, as tabs hand it to each other. */
export interface ReplicaState {
  id: string
  established: boolean
  /** The last message delivered to the tabs. */
  delivered: number
  /** The number of `messages[0]`. */
  first: number
  /** Numbered and not acknowledged, in order. */
  messages: Outbound[]
  /** The member that sent each of `messages` (null: not known). */
  origins: (string | null)[]
}

/** A connection event as the leader forwards it. */
export type ForwardedEvent =
  | { name: 'state'; state: ConnectionStateName; reason: StateChangeReason }
  | { name: 'open'; url: string }
  | ({ name: 'close' } & CloseInfo)
  | { name: 'heartbeat'; heartbeat: HeartbeatEvent }
  | { name: 'reconnect'; attempt: number; delay: number }
  | { name: 'failed'; reason: FailureReason; attempts: number }
  | { name: 'session-lost'; lost: number; messages: SendData[] }
  | { name: 'error'; code: string | undefined; message: string; messages: unknown[] }

/** The state a leader announces: everything a tab that just joined needs. */
export interface Announcement {
  term: number
  /** The lock manager's id of the leader's page (`navigator.locks.query()`), when known. */
  holder: string | undefined
  state: ConnectionStateName
  step: Step | undefined
  url: string
  session: ReplicaState | undefined
  /** Per member, the last of its messages the connection took. */
  taken: [string, number][]
}

type Bodies = {
  hello: { visible: boolean }
  probe: Record<never, never>
  bye: Record<never, never>
  visible: { visible: boolean }
  use: { wants: boolean; code: number | undefined; reason: string | undefined }
  send: { to: string; id: number; data: SendData }
  command: { to: string; name: 'reconnect' }
  lead: Announcement
  beat: { term: number }
  step: { term: number; step: Step }
  event: { term: number; event: ForwardedEvent }
  message: { term: number; data: MessageData; seq: number | undefined }
  taken: { term: number; member: string; id: number }
  out: { term: number; seq: number; data: Outbound; member: string | undefined; id: number | undefined }
  ack: { term: number; ack: number }
  session: { term: number; session: ReplicaState }
  refused: { term: number; member: string; id: number; code: string; text: string }
  resign: { term: number; to: string | undefined; session: ReplicaState | undefined; taken: [string, number][] }
  roll: { term: number }
}

/** A message's kind. */
export type Kind = keyof Bodies

/** A message on the channel: who sent it, what kind, and its fields. */
export type ShareMessage = { [K in Kind]: { lifeline: 'share'; v: typeof SHARE_VERSION; from: string; kind: K } & Bodies[K] }[Kind]

/** The message of `kind` from `from`. */
export function message<K extends Kind>(from: string, kind: K, body: Bodies[K]): Extract<ShareMessage, { kind: K }> {
  return { lifeline: 'share', v: SHARE_VERSION, from, kind, ...body } as unknown as Extract<ShareMessage, { kind: K }>
}

const MEMBER = /^[0-9a-f]{16}$/
const STATES = new Set<string>(['idle', 'connecting', 'reauthorizing', 'open', 'closing', 'backoff', 'offline', 'failed'])
const REASONS = new Set<string>(['open', 'close', 'reconnect', 'socket-open', 'socket-close', 'connect-timeout', 'heartbeat-timeout', 'backoff-elapsed', 'close-timeout', 'probe-timeout', 'wake', 'offline', 'online', 'handover'])
const FAILURES = new Set<string>(['max-attempts', 'not-retried', 'policy', 'server', 'unauthorized'])
const EVENT_TYPE = /^(open|close|reconnect|socket\.(open|close|error)|heartbeat\.proof|network\.(online|offline)|environment\.wake|xstate\.after\.[A-Za-z]{1,40}\.connection(\.[A-Za-z]{1,40}){0,3})$/
const NODE_ID = /^connection(\.[A-Za-z]{1,40}){0,3}$/
const ACTION = /^[a-z][A-Za-z]{0,40}$/

type Bag = Record<string, unknown>

export const isMember = (value: unknown): value is string => typeof value === 'string' && MEMBER.test(value)
const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0
const isPositive = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 1
// Terms start near the clock (about 2^41 today) and grow by one: 2^52 leaves room to add to any valid term.
export const MAX_TERM = 2 ** 52
const isTerm = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= MAX_TERM
const isText = (value: unknown, max = MAX_TEXT): value is string => typeof value === 'string' && value.length <= max
const isState = (value: unknown): value is ConnectionStateName => typeof value === 'string' && STATES.has(value)
const isShared = (value: unknown): boolean =>
  typeof SharedArrayBuffer !== 'undefined' && (value instanceof SharedArrayBuffer || (ArrayBuffer.isView(value) && value.buffer instanceof SharedArrayBuffer))
const isBinary = (value: unknown): boolean => (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) && !isShared(value)
const isSendData = (value: unknown): value is SendData =>
  typeof value === 'string' || isBinary(value) || (typeof Blob !== 'undefined' && value instanceof Blob)
const isOutbound = (value: unknown): value is Outbound => typeof value === 'string' || (value instanceof Uint8Array && !isShared(value))
const isMessageData = (value: unknown): value is MessageData => typeof value === 'string' || value instanceof ArrayBuffer

function isStateValue(value: unknown, depth = 0): value is StateValue {
  if (typeof value === 'string') return value.length <= 40
  if (typeof value !== 'object' || value === null || Array.isArray(value) || depth > 3) return false
  const entries = Object.entries(value)
  return entries.length === 1 && entries.every(([key, child]) => key.length <= 40 && isStateValue(child, depth + 1))
}

/** Bounded plain JSON of an object, or undefined. */
function jsonObject(value: unknown): JsonObject | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const json = toJson(value)
  return typeof json === 'object' && json !== null && !Array.isArray(json) ? json : undefined
}

function step(value: unknown): Step | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const s = value as Bag
  const event = jsonObject(s.event)
  const context = jsonObject(s.context)
  if (event === undefined || context === undefined || typeof event.type !== 'string' || !EVENT_TYPE.test(event.type)) return undefined
  if (!isStateValue(s.value) || !Array.isArray(s.transitions) || s.transitions.length > MAX_TRANSITIONS) return undefined
  const transitions = s.transitions as unknown[]
  if (!transitions.every((t) => Array.isArray(t) && t.length === 2 && t.every((id) => typeof id === 'string' && NODE_ID.test(id)))) return undefined
  if (!Array.isArray(s.actions) || s.actions.length > MAX_TRANSITIONS * 2) return undefined
  const actions: StepAction[] = []
  for (const raw of s.actions as unknown[]) {
    const action = jsonObject(raw)
    if (action === undefined || typeof action.type !== 'string' || !ACTION.test(action.type)) return undefined
    const params = action.params === undefined ? undefined : jsonObject(action.params)
    if (action.params !== undefined && params === undefined) return undefined
    actions.push(params === undefined ? { type: action.type } : { type: action.type, params })
  }
  return { event: event as Step['event'], transitions: transitions as [string, string][], actions, value: s.value, context }
}

function taken(value: unknown): [string, number][] | undefined {
  if (!Array.isArray(value) || value.length > MAX_MEMBERS * 4) return undefined
  return value.every((pair) => Array.isArray(pair) && pair.length === 2 && isMember(pair[0]) && isPositive(pair[1])) ? (value as [string, number][]) : undefined
}

function replica(value: unknown, maxMessages: number): ReplicaState | undefined | null {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null) return null
  const r = value as Bag
  const { messages, origins } = r
  if (!isSessionId(r.id) || typeof r.established !== 'boolean' || !isCount(r.delivered) || !isPositive(r.first)) return null
  if (!Array.isArray(messages) || !Array.isArray(origins) || messages.length > maxMessages || origins.length !== messages.length) return null
  if (!messages.every(isOutbound) || !origins.every((o) => o === null || isMember(o))) return null
  if (!Number.isSafeInteger(r.first + messages.length)) return null
  return { id: r.id, established: r.established, delivered: r.delivered, first: r.first, messages: messages as Outbound[], origins: origins as (string | null)[] }
}

function heartbeat(value: unknown): HeartbeatEvent | undefined {
  const h = (typeof value === 'object' && value !== null ? value : {}) as Bag
  if (h.type === 'ping' || h.type === 'probe' || h.type === 'timeout') return { type: h.type }
  if (h.type === 'proof' && typeof h.roundTrip === 'number' && Number.isFinite(h.roundTrip) && h.roundTrip >= 0) return { type: 'proof', roundTrip: h.roundTrip }
  return undefined
}

function forwarded(value: unknown, maxMessages: number): ForwardedEvent | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const e = value as Bag
  switch (e.name) {
    case 'state':
      return isState(e.state) && typeof e.reason === 'string' && REASONS.has(e.reason) ? { name: 'state', state: e.state, reason: e.reason as StateChangeReason } : undefined
    case 'open':
      return isText(e.url, MAX_URL) ? { name: 'open', url: e.url } : undefined
    case 'close':
      return Number.isInteger(e.code) && (e.code as number) >= 0 && (e.code as number) <= 4999 && isText(e.reason, 123) && typeof e.wasClean === 'boolean'
        ? { name: 'close', code: e.code as number, reason: e.reason, wasClean: e.wasClean }
        : undefined
    case 'heartbeat': {
      const beat = heartbeat(e.heartbeat)
      return beat === undefined ? undefined : { name: 'heartbeat', heartbeat: beat }
    }
    case 'reconnect':
      return isPositive(e.attempt) && typeof e.delay === 'number' && Number.isFinite(e.delay) && e.delay >= 0 ? { name: 'reconnect', attempt: e.attempt, delay: e.delay } : undefined
    case 'failed':
      return typeof e.reason === 'string' && FAILURES.has(e.reason) && isPositive(e.attempts) ? { name: 'failed', reason: e.reason as FailureReason, attempts: e.attempts } : undefined
    case 'session-lost':
      return isCount(e.lost) && Array.isArray(e.messages) && e.messages.length <= maxMessages && e.messages.every(isSendData)
        ? { name: 'session-lost', lost: e.lost, messages: e.messages as SendData[] }
        : undefined
    case 'error':
      return (e.code === undefined || (isText(e.code, 64) && /^LIFELINE_[A-Z_]+$/.test(e.code))) && isText(e.message, 4096) && Array.isArray(e.messages) && e.messages.length <= maxMessages
        ? { name: 'error', code: e.code, message: e.message, messages: e.messages as unknown[] }
        : undefined
    default:
      return undefined
  }
}

function announcement(m: Bag, maxMessages: number): Announcement | undefined {
  const session = replica(m.session, maxMessages)
  const pairs = taken(m.taken)
  const at = m.step === undefined ? undefined : step(m.step)
  if (!isTerm(m.term) || !isState(m.state) || !isText(m.url, MAX_URL) || session === null || pairs === undefined) return undefined
  if (m.step !== undefined && at === undefined) return undefined
  if (!(m.holder === undefined || isText(m.holder, 128))) return undefined
  return { term: m.term, holder: m.holder, state: m.state, step: at, url: m.url, session, taken: pairs }
}

/**
 * The message `raw` is, if it is a valid one of this version; undefined for
 * anything else. `maxMessages` bounds the messages one may carry.
 */
export function parseMessage(raw: unknown, maxMessages: number): ShareMessage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const m = raw as Bag
  if (m.lifeline !== 'share' || m.v !== SHARE_VERSION || !isMember(m.from)) return undefined
  const from = m.from
  switch (m.kind) {
    case 'hello':
    case 'visible':
      return typeof m.visible === 'boolean' ? message(from, m.kind, { visible: m.visible }) : undefined
    case 'probe':
    case 'bye':
      return message(from, m.kind, {})
    case 'use':
      if (typeof m.wants !== 'boolean' || !(m.code === undefined || Number.isInteger(m.code)) || !(m.reason === undefined || isText(m.reason, 123))) return undefined
      return message(from, 'use', { wants: m.wants, code: m.code as number | undefined, reason: m.reason })
    case 'send':
      return isMember(m.to) && isPositive(m.id) && isSendData(m.data) ? message(from, 'send', { to: m.to, id: m.id, data: m.data }) : undefined
    case 'command':
      return isMember(m.to) && m.name === 'reconnect' ? message(from, 'command', { to: m.to, name: m.name }) : undefined
    case 'lead': {
      const body = announcement(m, maxMessages)
      return body === undefined ? undefined : message(from, 'lead', body)
    }
    case 'resign': {
      const session = replica(m.session, maxMessages)
      const pairs = taken(m.taken)
      if (!isTerm(m.term) || !(m.to === undefined || isMember(m.to)) || session === null || pairs === undefined) return undefined
      return message(from, 'resign', { term: m.term, to: m.to, session, taken: pairs })
    }
    default:
      return leaderMessage(from, m, maxMessages)
  }
}

function leaderMessage(from: string, m: Bag, maxMessages: number): ShareMessage | undefined {
  if (!isTerm(m.term)) return undefined
  const term = m.term
  switch (m.kind) {
    case 'beat':
    case 'roll':
      return message(from, m.kind, { term })
    case 'step': {
      const at = step(m.step)
      return at === undefined ? undefined : message(from, 'step', { term, step: at })
    }
    case 'event': {
      const event = forwarded(m.event, maxMessages)
      return event === undefined ? undefined : message(from, 'event', { term, event })
    }
    case 'message':
      return isMessageData(m.data) && (m.seq === undefined || isPositive(m.seq)) ? message(from, 'message', { term, data: m.data, seq: m.seq as number | undefined }) : undefined
    case 'taken':
      return isMember(m.member) && isPositive(m.id) ? message(from, 'taken', { term, member: m.member, id: m.id }) : undefined
    case 'out':
      if (!isPositive(m.seq) || !isOutbound(m.data) || !(m.member === undefined || isMember(m.member)) || !(m.id === undefined || isPositive(m.id))) return undefined
      return message(from, 'out', { term, seq: m.seq, data: m.data, member: m.member, id: m.id as number | undefined })
    case 'ack':
      return isCount(m.ack) ? message(from, 'ack', { term, ack: m.ack }) : undefined
    case 'session': {
      const session = replica(m.session, maxMessages)
      return session === undefined || session === null ? undefined : message(from, 'session', { term, session })
    }
    case 'refused':
      return isMember(m.member) && isPositive(m.id) && isText(m.code, 64) && isText(m.text, 4096)
        ? message(from, 'refused', { term, member: m.member, id: m.id, code: m.code, text: m.text })
        : undefined
    default:
      return undefined
  }
}
