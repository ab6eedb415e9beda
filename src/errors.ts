/**
 * Stable error codes. Branch on `error.code`, never on the message text.
 *
 * - `LIFELINE_INVALID_OPTION`: an option has the wrong type or value (thrown as a `TypeError`).
 * - `LIFELINE_INVALID_ARGUMENT`: a method was called with a bad argument (`TypeError`).
 * - `LIFELINE_NO_WEBSOCKET`: no WebSocket implementation was found.
 * - `LIFELINE_URL_FAILED`: the `url` function threw, rejected or returned a bad URL.
 * - `LIFELINE_SOCKET_ERROR`: the socket reported an error, on every platform (Node's `ws` errors too); what the platform reported is `cause` (in Node the errno error, e.g. `cause.code === 'ECONNREFUSED'`).
 * - `LIFELINE_NOT_OPEN`: `send()` while not open with `buffer: false`.
 * - `LIFELINE_BUFFER_FULL`: `send()` while the buffer is full with `overflow: 'reject'`.
 * - `LIFELINE_BUFFER_OVERFLOW`: the oldest buffered message was dropped (`overflow: 'drop-oldest'`).
 * - `LIFELINE_BUFFER_DISCARDED`: `dispose()` discarded messages that were never sent (safe to send again), or
 *   the server turned a socket away unread (`unread: true`) and what was sent on it cannot be sent again (`buffer: false`).
 * - `LIFELINE_UNACKNOWLEDGED_DISCARDED`: `dispose()` discarded messages sent without an acknowledgement (reliable delivery): they may or may not have arrived.
 * - `LIFELINE_SEND_FAILED`: a buffered message could not be sent when the connection opened; the messages after it still went out.
 * - `LIFELINE_MESSAGE_TOO_LARGE`: a message's reliable-delivery frame would exceed the server's `maxPayload`: refused by `send()`, or removed from the queue at the welcome that announced the limit.
 * - `LIFELINE_LISTENER_FAILED`: an event listener threw; the other listeners still ran.
 * - `LIFELINE_POLICY_FAILED`: `reconnect.policy` threw or returned something other than a delay, `false` or `undefined`; the default applied.
 * - `LIFELINE_PROTOCOL_ERROR`: a frame broke the reliable-delivery protocol (the socket was closed with 1002 or 1007, 4002 or 4007 in browsers), or the server did not answer the hello within `connectTimeout`.
 * - `LIFELINE_DISPOSED`: the connection was used after `dispose()`.
 */
export type LifelineErrorCode =
  | 'LIFELINE_INVALID_OPTION'
  | 'LIFELINE_INVALID_ARGUMENT'
  | 'LIFELINE_NO_WEBSOCKET'
  | 'LIFELINE_URL_FAILED'
  | 'LIFELINE_SOCKET_ERROR'
  | 'LIFELINE_NOT_OPEN'
  | 'LIFELINE_BUFFER_FULL'
  | 'LIFELINE_BUFFER_OVERFLOW'
  | 'LIFELINE_BUFFER_DISCARDED'
  | 'LIFELINE_UNACKNOWLEDGED_DISCARDED'
  | 'LIFELINE_SEND_FAILED'
  | 'LIFELINE_MESSAGE_TOO_LARGE'
  | 'LIFELINE_LISTENER_FAILED'
  | 'LIFELINE_POLICY_FAILED'
  | 'LIFELINE_PROTOCOL_ERROR'
  | 'LIFELINE_DISPOSED'

/** An error raised by lifeline at run time. */
export class LifelineError extends Error {
  override name = 'LifelineError'
  /** Messages the error concerns (dropped, discarded, refused or unsendable ones). */
  readonly messages: readonly unknown[]

  constructor(
    readonly code: LifelineErrorCode,
    message: string,
    options: { cause?: unknown; messages?: readonly unknown[] } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.messages = options.messages ?? []
  }
}

/** A `TypeError` carrying a stable `code`, for bad options and arguments. */
export function invalid(
  code: 'LIFELINE_INVALID_OPTION' | 'LIFELINE_INVALID_ARGUMENT',
  message: string,
): TypeError & { code: string } {
  return Object.assign(new TypeError(message), { code })
}

/** The message of anything thrown, for an error sentence. */
export function messageOf(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown)
}

/** Describes a value for an error message: `-1`, `"abc"`, `NaN`, `null`, `an object`. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'function') return 'a function'
  if (value === null || typeof value !== 'object') return String(value)
  if (Array.isArray(value)) return 'an array'
  return `an object (${value.constructor?.name ?? 'null prototype'})`
}
