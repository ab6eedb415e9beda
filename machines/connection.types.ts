/**
 * Types of the connection statechart: its input, context and events.
 *
 * The machine is pure: it names what must happen (`openSocket`, `sendPing`,
 * `backoffDelay`...) and the adapter in `src/` supplies the effects.
 */

/** Timing and retry settings the machine reads; fixed for a connection's life. */
export interface ConnectionInput {
  /** Milliseconds an attempt may stay in `connecting` before it is abandoned. */
  connectTimeout: number
  /** Milliseconds the close handshake may take before the socket is dropped. */
  closeTimeout: number
  /**
   * Heartbeat timing, or `false` when the connection is not monitored.
   * In `'server'` mode the server pings and the client only watches that
   * proof keeps arriving: `interval + timeout` is its deadline.
   */
  heartbeat: { mode: 'client' | 'server'; interval: number; timeout: number; probeTimeout: number } | false
  /** Whether a lost connection is retried at all. */
  reconnect: boolean
  /**
   * Milliseconds an unmonitored connection (`heartbeat: false`) must stay
   * open before it counts as healthy and the attempt count restarts: with no
   * heartbeat, nothing else tells a working server from one that accepts and
   * closes at once.
   */
  minUptime: number
  /** Consecutive failed attempts (the first included) after which the machine gives up. */
  maxAttempts: number
  /** Backoff before the first retry, in milliseconds, used when the adapter supplies no `planRetry`. */
  initialDelay: number
  /**
   * Opaque handle to whatever carries out the machine's effects (the adapter
   * in `src/`). The machine never looks inside; provided actions, guards and
   * delays reach their connection through it.
   */
  adapter?: unknown
}

/** The machine's memory: settings plus the retry streak. No timers, no sockets. */
export interface ConnectionContext extends ConnectionInput {
  /** Attempts that failed in a row since the connection last proved healthy. */
  attempt: number
  /**
   * Times in a row the server refused the credentials (a close with 4401 or
   * 4403) since the connection last proved healthy: the first refusal is
   * answered with one attempt with fresh credentials (`reauthorizing`), the
   * next one gives up.
   */
  refusals: number
  /** Delay of the pending backoff, chosen on entry to `backoff`. */
  retryDelay: number
  /** Why the machine last gave up, chosen by the transition into `failed`. */
  failure: FailureReason
}

/**
 * Why a connection gave up: retries ran out (`'max-attempts'`), a close (or
 * `reconnect: false`) said not to retry (`'not-retried'`), the retry policy
 * said stop (`'policy'`), the server's hint said not to come back
 * (`'server'`), or the server refused the credentials again after they were
 * asked for anew (`'unauthorized'`).
 */
export type FailureReason = 'max-attempts' | 'not-retried' | 'policy' | 'server' | 'unauthorized'

/** What a socket reported when it closed. */
export interface CloseInfo {
  /** The close code (1006 when the socket ended without a close frame). */
  code: number
  /** The close reason sent by the peer, or why lifeline ended the socket. */
  reason: string
  /** Whether the close handshake completed. */
  wasClean: boolean
}

/** Events the machine understands, namespaced by their source. */
export type ConnectionEvent =
  // From the application
  | { type: 'open' }
  | { type: 'close'; code?: number; reason?: string }
  | { type: 'reconnect' }
  // From the current socket (the adapter drops events of replaced sockets)
  | { type: 'socket.open' }
  | ({ type: 'socket.close' } & CloseInfo)
  | { type: 'socket.error'; error: Error }
  // From the heartbeat watcher in the adapter
  | { type: 'heartbeat.proof' }
  // From the network source
  | { type: 'network.offline' }
  | { type: 'network.online' }
  // From the environment: the page became visible, came back from the
  // back/forward cache, or resumed after being frozen
  | { type: 'environment.wake' }

/**
 * The public `conn.state`: the machine's top-level states, except that
 * `held` (the rest of a server's `retryAfter`, after an early wake-up) is
 * part of the `backoff` it came from.
 */
export type ConnectionStateName =
  | 'idle'
  | 'connecting'
  | 'reauthorizing'
  | 'open'
  | 'closing'
  | 'backoff'
  | 'offline'
  | 'failed'

/** Children of `open`: where the heartbeat is in its cycle. */
export type HeartbeatStateName = 'waiting' | 'ackPending' | 'probing' | 'settling' | 'unmonitored'
