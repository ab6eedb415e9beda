/** Close code sent to a socket that a newer connection under the same name replaced (`duplicate: 'replace'`). */
export const CLOSE_REPLACED = 4409

/**
 * Close code sent to a slow consumer: a client that read more slowly than the
 * server sent (`maxBufferedBytes`) or never acknowledged (`maxUnacknowledged`).
 * Outside 4400–4499, so clients retry it.
 */
export const CLOSE_SLOW_CONSUMER = 4008

/** Close code sent to every client when the server closes ("going away"). */
export const CLOSE_GOING_AWAY = 1001

/** Close code of `disconnect()` without `retryAfter` (normal closure). */
export const CLOSE_NORMAL = 1000

/**
 * Close code sent to every client by `close({ reconnect: { within } })`
 * (Service Restart), with a hint to come back within that window; also when
 * a client must come back and start over because its session is gone.
 */
export const CLOSE_SERVICE_RESTART = 1012

/**
 * Close code sent to a client turned away over `maxClients`, or disconnected
 * with `retryAfter` (Try Again Later), with a hint saying when; also when its
 * session store or cluster cannot serve it now. Clients retry it.
 */
export const CLOSE_TRY_AGAIN_LATER = 1013

/** Close code of an `identify` refusal with `refusal: 'close'`: the credentials are missing or wrong. */
export const CLOSE_UNAUTHORIZED = 4401

/** Close code of a `verify` refusal with `refusal: 'close'`: the client may not connect. */
export const CLOSE_FORBIDDEN = 4403

/** Close code sent when the server ends a connection after an error of its own. */
export const CLOSE_INTERNAL_ERROR = 1011

/** Code reported for a connection that ended without a close frame. */
export const CLOSE_ABNORMAL = 1006

// ws closes a socket whose frame breaks the protocol and then emits the error;
// its status code is private, so the public error code tells which one it sent.
const CLOSE_CODE_OF_WS_ERROR: Readonly<Record<string, number>> = {
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_TOO_MANY_BUFFERED_PARTS: 1008,
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: 1009,
}

/** The close code ws sent because of `error`: 1007, 1008, 1009, or 1002 for other protocol errors; `undefined` when it is not a ws protocol error. */
export function closeCodeOfSocketError(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code !== 'string' || !code.startsWith('WS_ERR_')) return undefined
  return CLOSE_CODE_OF_WS_ERROR[code] ?? 1002
}
