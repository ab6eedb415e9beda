import type { AnyActorRef, InspectionEvent, Observer } from 'xstate'
import type { CloseInfo, ConnectionStateName, FailureReason } from '../machines/connection.types.js'
import type { ServerHint } from './hint.js'

export type { CloseInfo, ConnectionStateName, FailureReason, ServerHint }

/** Data `send()` accepts: what `WebSocket.prototype.send` accepts. */
export type SendData = string | ArrayBufferLike | ArrayBufferView | Blob

/**
 * Data of an inbound frame: a string for text frames, an `ArrayBuffer` for
 * binary ones (lifeline sets every socket's `binaryType` to `'arraybuffer'`).
 */
export type MessageData = string | ArrayBuffer

/** Why the `url` function is called: what it is told before every attempt. */
export interface UrlContext {
  /** Attempts that failed in a row before this one (0 for the first since the connection was last healthy). */
  attempt: number
  /**
   * `'unauthorized'`: the server refused the credentials of the last attempt
   * (a close with 4401 or 4403, or, where the client can see it, an upgrade
   * refused with HTTP 401 or 403): return a URL with fresh ones. This attempt
   * is made at once, and only once; refused again, the connection fails
   * (`failed` with reason `'unauthorized'`). `'attempt'`: any other attempt.
   */
  reason: 'attempt' | 'unauthorized'
}

/**
 * Where to connect: a URL, or a function called before every attempt with
 * {@link UrlContext} (for example to refresh a token after the server refused one).
 */
export type UrlSource = string | URL | ((context: UrlContext) => string | URL | PromiseLike<string | URL>)

/** The socket events lifeline listens to. */
export type SocketEventType = 'open' | 'message' | 'close' | 'error'

/**
 * The minimal WebSocket lifeline drives: the browser's, Node 22's, `ws`, or
 * your own. Listeners take `unknown` so that every implementation's class fits
 * as it is typed (`ws` types `addEventListener` per event name, the DOM per
 * event map); lifeline reads the standard fields (`data`, `code`, `reason`,
 * `wasClean`) from the events.
 */
export interface WebSocketLike {
  readonly readyState: number
  binaryType: string
  send(data: SendData): void
  close(code?: number, reason?: string): void
  addEventListener(type: SocketEventType, listener: (event: unknown) => void): void
  removeEventListener(type: SocketEventType, listener: (event: unknown) => void): void
}

/**
 * A WebSocket constructor: `globalThis.WebSocket`, `ws`'s default export, or
 * any class built like them, e.g. `createConnection({ url, WebSocket })` after
 * `import WebSocket from 'ws'`.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike

/**
 * Tells lifeline whether the network is usable. The default in browsers
 * follows `navigator.onLine` and the window's `online`/`offline` events; in
 * Node there is none (always online). Use {@link createManualNetwork} to drive
 * it yourself.
 */
export interface NetworkSource {
  /** Whether the network is usable now. */
  isOnline(): boolean
  /** Calls `listener` on every change; returns a function that stops the calls. */
  subscribe(listener: (online: boolean) => void): () => void
}

/**
 * Tells lifeline about the page: whether it is visible, and when it wakes up
 * (visible again, restored from the back/forward cache, resumed after being
 * frozen). After a wake-up an open connection is probed at once instead of
 * trusted. The default in browsers follows `document.visibilityState`,
 * `visibilitychange`, `pageshow` and the document's `resume` event; in Node
 * there is none. Use {@link createManualEnvironment} to drive it yourself.
 */
export interface EnvironmentSource {
  /** Whether the page is visible now (a hidden page may stretch its ping interval). */
  isVisible(): boolean
  /** Calls `listener` with `'visible'`, `'hidden'` or `'wake'`; returns a function that stops the calls. */
  subscribe(listener: (signal: 'visible' | 'hidden' | 'wake') => void): () => void
}

/**
 * A clock for timers and time stamps. Tests pass XState's `SimulatedClock`
 * (it has all three methods) to drive every timeout deterministically.
 */
export interface Clock {
  /**
   * Current wall-clock time in milliseconds. Wall-clock, because a timer that
   * fires long after its time (the machine slept) must show the gap.
   */
  now(): number
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(id: unknown): void
}

/** Heartbeat settings (behaviours S1–S3 and S9). */
export interface HeartbeatOptions {
  /**
   * `'client'`: the client pings after `interval` of silence and waits
   * `timeout` for proof of life. `'server'`: the server pings every `interval`
   * (lifeline/server with `heartbeat.mode: 'server'`), the client answers and
   * declares the link dead when no proof arrives within `interval + timeout`.
   * Server timers are not throttled in background tabs; client mode works
   * with any server. In server mode `interval + timeout` (and
   * `hiddenInterval + timeout`) must be at most 2147483647 ms: it is one timer.
   * @default 'client'
   */
  mode?: 'client' | 'server' | undefined
  /**
   * Milliseconds without proof of life before a ping is sent.
   * @default 5000
   */
  interval?: number | undefined
  /**
   * Milliseconds to wait for proof of life after a ping before the link is declared dead.
   * @default 10000
   */
  timeout?: number | undefined
  /**
   * Deadline of a probe: the immediate ping sent when the page wakes up, the
   * network comes back, or a heartbeat timeout fired late (more than 50 ms after
   * its time: the process did not run meanwhile), once what arrived meanwhile
   * was read and proved nothing. Also the least time a ping sent late (by a
   * late interval timer) has for its answer.
   * @default the smaller of 3000 and `timeout`
   */
  probeTimeout?: number | undefined
  /**
   * Ping interval while the page is hidden (background tabs throttle timers
   * anyway); the page is probed as soon as it is visible again.
   * @default `interval` (no stretching)
   */
  hiddenInterval?: number | undefined
  /**
   * The ping frame, or a function that builds it for each ping.
   * @default 'ping'
   */
  ping?: SendData | (() => SendData) | undefined
  /**
   * Recognises the pong. Pongs prove life and are not delivered as `message` events.
   * @default (data) => data === 'pong'
   */
  isPong?: ((data: MessageData) => boolean) | undefined
  /**
   * Recognises a ping from the server; it is answered with `pong` and not delivered as a `message`.
   * @default (data) => data === 'ping'
   */
  isPing?: ((data: MessageData) => boolean) | undefined
  /**
   * The answer to a server's ping, or a function of the ping that builds it.
   * @default 'pong'
   */
  pong?: SendData | ((ping: MessageData) => SendData) | undefined
  /**
   * What proves the link alive: `'any'` inbound frame (no pings while traffic
   * flows), or only the `'pong'`.
   * @default 'any'
   */
  proof?: 'any' | 'pong' | undefined
}

/** Reconnection settings (behaviours S5 and S7). */
export interface ReconnectOptions {
  /**
   * Ceiling of the first retry's delay, in milliseconds; positive, since every
   * later ceiling grows from it (with full jitter a retry may still come at once).
   * @default 1000
   */
  initialDelay?: number | undefined
  /**
   * Largest delay between attempts, in milliseconds.
   * @default 30000
   */
  maxDelay?: number | undefined
  /**
   * Growth of the delay ceiling per failed attempt.
   * @default 2
   */
  factor?: number | undefined
  /**
   * Share of the delay that is random: 1 draws from [0, ceiling] (full jitter),
   * 0 always waits the ceiling.
   * @default 1
   */
  jitter?: number | undefined
  /**
   * Consecutive failed attempts, the first one included, after which the
   * connection enters `failed`. The count restarts once a connection proves healthy.
   * @default Infinity
   */
  maxAttempts?: number | undefined
  /**
   * With `heartbeat: false`, how long a socket must stay open before the
   * connection counts as healthy and the attempt count restarts (in
   * milliseconds): a server that accepts and closes at once keeps backing off.
   * With a heartbeat, its first proof of life after an interval does that.
   * @default 5000
   */
  minUptime?: number | undefined
  /**
   * Decides whether a close by the server (or the network) is retried: the
   * simple form of `policy`. Credential refusals (4401, 4403) are handled
   * before it is asked (see `url`).
   * @default a function that refuses 1002, 1003, 1007, 1008, 1010, 4002, 4007 and 4400–4499 and retries the rest
   */
  shouldReconnect?: ((close: CloseInfo) => boolean) | undefined
  /**
   * Called before every retry with everything known about the failure; returns
   * the delay in milliseconds, `false` to stop (the connection fails with
   * reason `'policy'`), or `undefined` for what the default would do (its
   * answer is `context.delay`). Not asked about closes `shouldReconnect`
   * refuses, nor once `maxAttempts` is reached. A policy that throws or
   * returns anything else is reported (`LIFELINE_POLICY_FAILED`) and the
   * default applies.
   * @default backoff with jitter, and the server's hint when there is one (see the README's table)
   */
  policy?: ReconnectPolicy | undefined
}

/** What failed: a close, a socket error, or a deadline. */
export type RetryCause = 'close' | 'error' | 'connect-timeout' | 'heartbeat-timeout' | 'probe-timeout'

/** What {@link ReconnectPolicy} is told before every retry. */
export interface RetryContext {
  /** The retry about to be scheduled: 1 for the first since the connection was last healthy. */
  attempt: number
  /** Milliseconds since the connection was last healthy (or since `open()`/`reconnect()` if it never was since). */
  elapsed: number
  /**
   * What ended the attempt: a `close` (by the server or the network), an
   * `error` (the socket reported one before closing: refused, DNS, TLS, an
   * HTTP answer instead of an upgrade, a `url` function that failed), or a
   * deadline lifeline enforced.
   */
  cause: RetryCause
  /** The close that ended the attempt, when one did (`cause` `'close'` or `'error'`). */
  close: CloseInfo | undefined
  /** Whether this attempt's socket ever opened: a runtime failure (`true`) or a handshake failure (`false`). */
  opened: boolean
  /** Whether the network source says online (always `true` without one). */
  online: boolean
  /** Whether the page is visible (always `true` without an environment source). */
  visible: boolean
  /** The server's hint in the close reason, parsed; `undefined` when there was none (see {@link ServerHint}). */
  hint: ServerHint | undefined
  /**
   * What the default policy would do: wait this many milliseconds, or
   * `false`, stop (the server's hint said `reconnect: false`).
   */
  delay: number | false
}

/**
 * The retry policy: one function with the whole context of a failure.
 * Returns a delay in milliseconds (0 to 2147483647), `false` to stop, or
 * `undefined` for the default (`context.delay`).
 */
export type ReconnectPolicy = (context: RetryContext) => number | false | undefined

/** Outbound buffer used while the connection is not open. */
export interface BufferOptions {
  /**
   * Most messages held while not open.
   * @default 1000
   */
  maxMessages?: number | undefined
  /**
   * When full: drop the oldest message (reported as an `error` event with code
   * `LIFELINE_BUFFER_OVERFLOW`), or `'reject'` the new one (`send()` throws `LIFELINE_BUFFER_FULL`).
   * A message whose send throws when the buffer is flushed is reported
   * (`LIFELINE_SEND_FAILED`) and the ones after it still go out.
   * @default 'drop-oldest'
   */
  overflow?: 'drop-oldest' | 'reject' | undefined
}

/** Options of {@link createConnection}. */
export interface ConnectionOptions {
  /**
   * Where to connect; a function is called before every attempt with
   * {@link UrlContext} (why it is asked: after a credential refusal, for
   * fresh credentials) and may return a promise.
   */
  url: UrlSource
  /** Subprotocols offered to the server. */
  protocols?: string | string[] | undefined
  /**
   * The WebSocket constructor.
   * @default the global `WebSocket`, else `ws` in Node
   */
  WebSocket?: WebSocketConstructor | undefined
  /**
   * Connect as soon as the connection is created.
   * @default true
   */
  autoConnect?: boolean | undefined
  /**
   * Milliseconds an attempt may take to open before it is abandoned and
   * retried. With `delivery: 'reliable'` the attempt lasts until the server's
   * welcome: a hello left unanswered that long is reported as
   * `LIFELINE_PROTOCOL_ERROR` (is the server in reliable mode?) and retried.
   * @default 10000
   */
  connectTimeout?: number | undefined
  /**
   * Milliseconds `close()` waits for the close handshake before dropping the socket.
   * @default 5000
   */
  closeTimeout?: number | undefined
  /** Heartbeat settings, or `false` to turn the heartbeat off. */
  heartbeat?: HeartbeatOptions | boolean | undefined
  /** Reconnection settings, or `false` to never retry. */
  reconnect?: ReconnectOptions | boolean | undefined
  /** Outbound buffer while not open, or `false` to make `send()` throw when not open. */
  buffer?: BufferOptions | boolean | undefined
  /**
   * `'reliable'`: every message reaches the other side exactly once, in
   * order, across reconnects (sequence numbers, acknowledgements, session
   * resume; the server must use `delivery: 'reliable'` too). Messages wait
   * for acknowledgement in the buffer (`buffer.maxMessages` bounds them; a
   * full buffer makes `send()` throw). The connection opens at the server's
   * welcome, which also says the largest frame the server accepts: `send()`
   * refuses a message whose frame would be larger (`LIFELINE_MESSAGE_TOO_LARGE`).
   * `'plain'` works with any server.
   * @default 'plain'
   */
  delivery?: 'plain' | 'reliable' | undefined
  /** Network status source, or `false` to ignore the network. */
  network?: NetworkSource | false | undefined
  /** Page visibility and wake-ups, or `false` to ignore them. */
  environment?: EnvironmentSource | false | undefined
  /** Passed to XState's `createActor({ inspect })`, for example `createBrowserInspector().inspect`. */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined
  /**
   * Clock for timers and time stamps; tests pass XState's `SimulatedClock`.
   * A timer that fires more than 50 ms after its time is taken for a stall
   * and runs after one zero-delay timer of this clock (the I/O turn): step a
   * test clock to each timer's due time, or jump past it to simulate a stall.
   */
  clock?: Clock | undefined
  /**
   * One socket for every same-origin tab that uses this key: one tab (the
   * leader, elected with Web Locks) owns the connection, the others mirror its
   * state and events and send through it (over a BroadcastChannel); when the
   * leader goes, another tab takes over. `true` uses the URL as the key (a
   * string or `URL` only). Where Web Locks or BroadcastChannel are missing
   * (Node, old browsers) the tab connects on its own and `shared` is `false`.
   * See the README's "Sharing one connection across tabs".
   * @default undefined (not shared)
   */
  share?: string | boolean | undefined
}

/** Why the state changed: the event that caused it. */
export type StateChangeReason =
  | 'open'
  | 'close'
  | 'reconnect'
  | 'socket-open'
  | 'socket-close'
  | 'connect-timeout'
  | 'heartbeat-timeout'
  | 'backoff-elapsed'
  | 'close-timeout'
  | 'probe-timeout'
  | 'wake'
  | 'offline'
  | 'online'
  | 'handover'

/** Payload of the `state` event. */
export interface StateChange {
  state: ConnectionStateName
  previous: ConnectionStateName
  reason: StateChangeReason
}

/** Payload of the `heartbeat` event. */
export type HeartbeatEvent =
  | { type: 'ping' }
  | { type: 'probe' }
  | { type: 'proof'; roundTrip: number }
  | { type: 'timeout' }

/** Payload of the `reconnect` event: a retry has been scheduled. */
export interface ReconnectEvent {
  /** 1 for the first retry since the connection was last healthy. */
  attempt: number
  /** Milliseconds until the attempt starts. */
  delay: number
}

/** Payload of the `failed` event. */
export interface FailedEvent {
  /**
   * `'max-attempts'`: retries ran out; `'not-retried'`: `shouldReconnect` or
   * `reconnect: false` said no; `'policy'`: `reconnect.policy` returned
   * `false`; `'server'`: the server's hint said not to come back
   * (`reconnect: false`); `'unauthorized'`: the server refused the
   * credentials again after they were asked for anew (sign in again, then
   * `open()`). A close that must not be retried is `'not-retried'` even when
   * it ended the last attempt allowed.
   */
  reason: FailureReason
  /** Attempts that failed in a row. */
  attempts: number
}

/** Payload of the `session-lost` event (reliable delivery). */
export interface SessionLostEvent {
  /** Messages sent in the old session without an acknowledgement: they may or may not have arrived. */
  lost: number
  /** Those messages, for an application that can safely send them again. */
  messages: SendData[]
}

/** Payload of the `open` event. */
export interface OpenEvent {
  /** The URL this socket connected to. */
  url: string
}

/** Where a shared connection's socket is (the `share` option): the payload of the `share` event. */
export interface ShareStatus {
  /** The key the tabs share the connection under. */
  readonly key: string
  /** This connection's member id in the group (random, one per connection object). */
  readonly member: string
  /**
   * `'leader'`: this tab owns the socket; `'follower'`: another tab does;
   * `'joining'`: no tab is known to lead yet (starting, or a takeover under way).
   */
  readonly role: 'leader' | 'follower' | 'joining'
  /** The member id of the leading tab, when one is known. */
  readonly leader: string | undefined
}

/** Events of a connection and the payload each listener receives. */
export interface ConnectionEventMap {
  state: StateChange
  open: OpenEvent
  message: MessageData
  close: CloseInfo
  error: Error
  heartbeat: HeartbeatEvent
  reconnect: ReconnectEvent
  failed: FailedEvent
  'session-lost': SessionLostEvent
  /** Shared connections only: this tab's role or the leading tab changed. */
  share: ShareStatus
}

/** A managed WebSocket connection. */
export interface Connection {
  /** The top-level state; heartbeat sub-states are in `actor.getSnapshot().value`. `'idle'` after `dispose()`. */
  readonly state: ConnectionStateName
  /** Messages waiting in the buffer for the connection to open (reliable delivery: waiting for acknowledgement). */
  readonly buffered: number
  /** The XState actor running the connection statechart, for inspection and tests. */
  readonly actor: AnyActorRef
  /**
   * Whether this connection shares one socket with other tabs (`share` given,
   * and the platform has Web Locks and BroadcastChannel). `false` for a
   * connection of its own, including `share` on a platform without them.
   */
  readonly shared: boolean
  /** Where the shared socket is: this tab's role and the leading tab; `undefined` when not shared. */
  readonly share: ShareStatus | undefined
  /** Starts connecting from `idle` or `failed` (and after `close()` during `closing`). */
  open(): void
  /** Closes with a handshake (code 1000 or 3000–4999); nothing reconnects afterwards. */
  close(code?: number, reason?: string): void
  /** Drops the current socket, if any, and connects again at once. */
  reconnect(): void
  /**
   * Sends now when open; otherwise buffers (see `buffer`). Binary data is
   * taken as it is at the call, as `WebSocket.send()` does: a buffered or
   * reliably delivered message is a copy, so the caller may reuse its buffer.
   * Shared memory (a `SharedArrayBuffer` or a view over one) is refused, as
   * browsers refuse it.
   */
  send(data: SendData): void
  /** Adds a listener; returns a function that removes it. An unknown event name throws a `TypeError`. */
  on<K extends keyof ConnectionEventMap>(type: K, listener: (event: ConnectionEventMap[K]) => void): () => void
  /**
   * Stops everything: the socket, timers, the network and page subscriptions,
   * and the listeners, after reporting the messages it gives up on (never
   * sent: `LIFELINE_BUFFER_DISCARDED`; sent without an acknowledgement:
   * `LIFELINE_UNACKNOWLEDGED_DISCARDED`). Safe from inside any listener:
   * nothing of the connection runs afterwards. A connection dropped without
   * `dispose()` is collected once it holds no socket and no timer, but the
   * browser's default network and page sources keep it through their window
   * listeners until `dispose()`.
   */
  dispose(): void
}
