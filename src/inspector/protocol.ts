/**
 * What travels between a Node process (`inspector()`), the relay
 * (`npx lifeline-ws inspect`) and the inspector page: JSON text frames, one
 * message each. The relay checks what apps send before anything reaches a
 * page, and bounds what it keeps.
 */
import { checkStep, parseTrace, type Trace, type TraceStep } from './trace.js'

/** The port the relay listens on and `inspector()` connects to. */
export const DEFAULT_PORT = 9797
/** Where Node processes connect. */
export const APP_PATH = '/app'
/** Where inspector pages connect. */
export const PAGE_PATH = '/page'
/** Largest message the relay accepts from an app. */
export const MAX_MESSAGE_BYTES = 1024 * 1024

/** A connection (its actor) seen for the first time, or again after the relay restarted. */
export interface ActorMessage {
  type: 'lifeline.actor'
  /** Unique within the relay: the process id and the actor's session id. */
  id: string
  /** What the picker shows, e.g. `node app.js · pid 4242 · connection 1`. */
  name: string
  /** The trace so far: its start, the initial snapshot and the most recent steps. */
  trace: Trace
  /** The sender's trace time when it sent this, for countdowns on the page. */
  now: number
}

/** One step of a connection. */
export interface StepMessage {
  type: 'lifeline.step'
  id: string
  step: TraceStep
}

/** A connection whose actor stopped (disposed), or whose process went away (`disconnected`). */
export interface StatusMessage {
  type: 'lifeline.status'
  id: string
  status: 'stopped' | 'disconnected'
}

export type RelayMessage = ActorMessage | StepMessage | StatusMessage

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200

/** Parses and checks one message from an app; throws an Error saying what is wrong. */
export function parseMessage(text: string): RelayMessage {
  let message: unknown
  try {
    message = JSON.parse(text)
  } catch {
    throw new Error('not JSON')
  }
  if (!isObject(message)) throw new Error('not an object')
  if (!isId(message.id)) throw new Error('id must be a string of 1 to 200 characters')
  switch (message.type) {
    case 'lifeline.actor': {
      if (typeof message.name !== 'string' || message.name.length > 200) throw new Error('name must be a string of at most 200 characters')
      if (typeof message.now !== 'number' || !Number.isFinite(message.now)) throw new Error('now must be a number')
      parseTrace(message.trace)
      return message as unknown as ActorMessage
    }
    case 'lifeline.step':
      checkStep(message.step, 0)
      return message as unknown as StepMessage
    case 'lifeline.status':
      if (message.status !== 'stopped' && message.status !== 'disconnected') throw new Error('status must be "stopped" or "disconnected"')
      return message as unknown as StatusMessage
    default:
      throw new Error(`unknown type ${JSON.stringify(String(message.type)).slice(0, 60)}`)
  }
}

/** `JSON.stringify` of a message. */
export const encode = (message: RelayMessage): string => JSON.stringify(message)
