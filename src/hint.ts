import { MAX_CLOSE_REASON_BYTES, utf8Length, utf8Prefix } from './utf8.js'

/**
 * What a server tells its clients about coming back, carried in the reason
 * of its close frame (browsers hide the HTTP status of a refused upgrade, so
 * a close frame is the one signal every client can read). lifeline-ws/server
 * sends it; any server may, in the format of {@link formatCloseHint}.
 */
export interface ServerHint {
  /**
   * Come back at a random moment within this many milliseconds (a restart or
   * a deploy: the clients spread over the window instead of arriving at once).
   */
  within?: number
  /** Come back no sooner than this many milliseconds from now (over capacity). */
  retryAfter?: number
  /** `false`: do not come back at all. */
  reconnect?: boolean
  /**
   * `true`: the server read nothing this socket sent; it turned the
   * connection away at once (over capacity, credentials refused). What the
   * client flushed into the socket was never seen: it goes out again on the
   * next one. Said of a connection the server did read, it would get those
   * messages twice, so only a server that knows sends it.
   */
  unread?: boolean
  /** Text for people reading logs; clients do not act on it. */
  message?: string
}

/** The version a hint must carry (`"lifeline": 1`); a hint of another version is not read. */
export const HINT_VERSION = 1

/**
 * The longest wait a hint can impose, in milliseconds (one hour). A hint may
 * hold a client back longer than `reconnect.maxDelay`, but no server, nor a
 * unit mix-up in one (seconds sent as milliseconds sent as microseconds),
 * parks a client for days.
 */
export const MAX_HINT_DELAY = 3_600_000

// A close reason is at most 123 bytes on the wire; anything longer did not come from one.
const MAX_HINT_CHARS = 256

function delay(value: unknown): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return undefined
  return Math.min(value, MAX_HINT_DELAY)
}

/**
 * Reads the hint in a close reason: a JSON object with `"lifeline": 1` and
 * any of `within`, `retryAfter` (milliseconds, numbers ≥ 0), `reconnect`,
 * `unread` (booleans) and `message` (string). Returns `undefined` for any other reason
 * (plain text, malformed JSON, another version): an unknown or malformed hint
 * is ignored, never an error. A field of the wrong type is dropped on its own;
 * unknown fields are ignored; delays above {@link MAX_HINT_DELAY} are cut to it.
 */
export function parseCloseHint(reason: string): ServerHint | undefined {
  if (typeof reason !== 'string' || reason.length > MAX_HINT_CHARS || reason.charCodeAt(0) !== 0x7b /* { */) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(reason)
  } catch {
    return undefined
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined
  const fields = parsed as Record<string, unknown>
  if (fields.lifeline !== HINT_VERSION) return undefined
  const hint: ServerHint = {}
  const within = delay(fields.within)
  const retryAfter = delay(fields.retryAfter)
  if (within !== undefined) hint.within = within
  if (retryAfter !== undefined) hint.retryAfter = retryAfter
  if (typeof fields.reconnect === 'boolean') hint.reconnect = fields.reconnect
  if (typeof fields.unread === 'boolean') hint.unread = fields.unread
  if (typeof fields.message === 'string') hint.message = fields.message
  return hint
}

/**
 * Writes a hint as a close reason, e.g. `{"lifeline":1,"within":30000}`. The
 * result always fits a close frame (123 UTF-8 bytes): a `message` too long
 * for the rest is cut, on a character boundary.
 */
export function formatCloseHint(hint: ServerHint): string {
  const { message, ...rest } = hint
  const fields: Record<string, unknown> = { lifeline: HINT_VERSION }
  for (const key of ['within', 'retryAfter', 'reconnect', 'unread'] as const) if (rest[key] !== undefined) fields[key] = rest[key]
  const bare = JSON.stringify(fields)
  if (message === undefined || message === '') return bare
  // JSON escapes can only lengthen the text: cut until it fits, a few rounds at most.
  let text = message
  for (;;) {
    const full = JSON.stringify({ ...fields, message: text })
    const bytes = utf8Length(full)
    if (bytes <= MAX_CLOSE_REASON_BYTES) return full
    const room = utf8Length(text) - (bytes - MAX_CLOSE_REASON_BYTES)
    if (room <= 0) return bare
    text = utf8Prefix(text, room).text
  }
}
