import type { SessionState } from './types.js'

/**
 * The store key of a session: the client's name and the session id
 * together, so that an id presented under another name is another session.
 */
export function sessionKey(name: string, id: string): string {
  return JSON.stringify([name, id])
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0

/**
 * Checks that `value`, as a store returned it, is a session `name` may
 * resume under `id` with at most `limit` messages; returns why not, or
 * undefined when it is valid.
 */
export function sessionStateProblem(value: unknown, name: string, id: string, limit: number): string | undefined {
  if (typeof value !== 'object' || value === null) return `expected an object, got ${value === null ? 'null' : typeof value}`
  const state = value as Partial<Record<keyof SessionState, unknown>>
  if (state.id !== id) return 'its id is not the one the client presented'
  if (state.name !== name) return 'it belongs to another client'
  if (!isCount(state.delivered)) return 'delivered is not a non-negative safe integer'
  if (!isCount(state.firstUnacknowledged) || state.firstUnacknowledged < 1) return 'firstUnacknowledged is not a positive safe integer'
  if (typeof state.revision !== 'string') return 'revision is not a string'
  if (typeof state.expiresAt !== 'number' || !Number.isFinite(state.expiresAt)) return 'expiresAt is not a number'
  const messages = state.unacknowledged
  if (!Array.isArray(messages)) return 'unacknowledged is not an array'
  if (messages.length > limit) return `it holds ${messages.length} messages, more than maxUnacknowledged (${limit})`
  if (!Number.isSafeInteger(state.firstUnacknowledged + messages.length)) return 'its sequence numbers run past 2^53'
  for (let i = 0; i < messages.length; i++) {
    const message: unknown = messages[i]
    if (typeof message !== 'string' && !(message instanceof Uint8Array)) {
      return `unacknowledged[${i}] is ${message === null ? 'null' : typeof message}, not a string or Uint8Array (a JSON store must encode binary messages: see serializeSessionState)`
    }
  }
  return undefined
}

/**
 * A session as JSON text, for stores that hold strings (Redis, a database
 * column): binary messages become `{ "base64": "..." }`.
 */
export function serializeSessionState(state: SessionState): string {
  return JSON.stringify({
    ...state,
    unacknowledged: state.unacknowledged.map((m) => (typeof m === 'string' ? m : { base64: Buffer.from(m.buffer, m.byteOffset, m.byteLength).toString('base64') })),
  })
}

/**
 * The session {@link serializeSessionState} wrote. Whatever else `text` holds
 * is returned as parsed and left to the server's validation.
 */
export function parseSessionState(text: string): SessionState {
  const state = JSON.parse(text) as { unacknowledged?: unknown }
  if (Array.isArray(state.unacknowledged)) {
    state.unacknowledged = state.unacknowledged.map((m: unknown) => {
      const base64 = (m as { base64?: unknown } | null)?.base64
      return typeof base64 === 'string' ? new Uint8Array(Buffer.from(base64, 'base64')) : m
    })
  }
  return state as SessionState
}
