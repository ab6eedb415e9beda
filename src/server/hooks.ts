import type { Client } from './client.js'
import type { DisconnectReason, InboundData } from './types.js'

/**
 * A behaviour the server runs for every connection, between the socket and
 * the application. Hooks are shared by all clients; per-client state lives on
 * the {@link Client} or in a `WeakMap` keyed by it, so an idle connection costs
 * no extra objects.
 *
 * The heartbeat is built from two hooks (`HeartbeatMonitor`, `answerPings`).
 * A server-driven application heartbeat would be a monitor with another
 * `probe`; reliable delivery (sequence numbers, acks, resume) would consume
 * its control frames in `receive` and keep its session table in `attach` and
 * `detach`, adding an outbound step when it needs one.
 */
export interface ConnectionHook {
  /** A client was admitted and registered. */
  attach?(client: Client): void
  /**
   * Sees every inbound frame before the application, in hook order. Returns
   * `true` when it consumed the frame: later hooks and `message` listeners do not see it.
   */
  receive?(client: Client, data: InboundData, isBinary: boolean): boolean
  /** The server let go of the client (exactly once, before its `disconnect` event). */
  detach?(client: Client, reason: DisconnectReason): void
  /** The server is closing: stop timers (and finish what must be finished first). */
  stop?(): void | Promise<void>
}
