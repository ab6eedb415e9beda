/**
 * Stable codes of the errors a heartbeat server reports through its `error`
 * event. Branch on `error.code`, never on the message text. Bad options and
 * arguments throw a `TypeError` with `LIFELINE_INVALID_OPTION` or
 * `LIFELINE_INVALID_ARGUMENT` instead, as on the client.
 *
 * - `LIFELINE_SOCKET_ERROR`: a client's socket failed, usually a protocol error (invalid UTF-8, an oversized frame); the client is disconnected.
 * - `LIFELINE_PROTOCOL_ERROR`: a client broke the reliable-delivery protocol; it was closed with 1002 or 1007.
 * - `LIFELINE_HOOK_FAILED`: `identify`, `verify`, `heartbeat.isPing` or `heartbeat.pong` threw, rejected, did not settle in time or returned a value of the wrong type.
 * - `LIFELINE_LISTENER_FAILED`: an event listener threw; the other listeners still ran.
 * - `LIFELINE_LISTEN_FAILED`: the HTTP server created for `port` failed (for example the port is taken).
 * - `LIFELINE_SLOW_CONSUMER`: a client read too slowly or never acknowledged; it was closed with 4008.
 * - `LIFELINE_MESSAGE_TOO_LARGE`: a reliable message would make a frame bigger than its client accepts (thrown by `send()`, reported by `broadcast()`).
 * - `LIFELINE_STORE_FAILED`: the `sessionStore` threw, rejected or did not settle within `sessionStoreTimeout`; the session it concerned is lost.
 * - `LIFELINE_SESSION_INVALID`: the `sessionStore` returned something that is not a valid session for the client; it is treated as lost.
 * - `LIFELINE_CLUSTER_FAILED`: a cluster operation failed (Redis unreachable, a command that failed or timed out); the node serves its own clients meanwhile.
 * - `LIFELINE_NOT_DELIVERED`: a message handed to the cluster found no client or session of that name on any node, or could not be stored; it was dropped.
 */
export type HeartbeatServerErrorCode =
  | 'LIFELINE_SOCKET_ERROR'
  | 'LIFELINE_PROTOCOL_ERROR'
  | 'LIFELINE_HOOK_FAILED'
  | 'LIFELINE_LISTENER_FAILED'
  | 'LIFELINE_LISTEN_FAILED'
  | 'LIFELINE_SLOW_CONSUMER'
  | 'LIFELINE_MESSAGE_TOO_LARGE'
  | 'LIFELINE_STORE_FAILED'
  | 'LIFELINE_SESSION_INVALID'
  | 'LIFELINE_CLUSTER_FAILED'
  | 'LIFELINE_NOT_DELIVERED'

/** An error a heartbeat server reports without stopping. */
export class HeartbeatServerError extends Error {
  override name = 'HeartbeatServerError'
  /** Name of the client concerned, when there is one. */
  readonly client: string | undefined

  constructor(
    readonly code: HeartbeatServerErrorCode,
    message: string,
    options: { cause?: unknown; client?: string | undefined } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.client = options.client
  }
}

export { messageOf } from '../errors.js'
