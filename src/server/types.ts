import type { IncomingMessage, Server as HttpServer } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type WebSocket from 'ws'
import type { ServerCluster } from './cluster.js'
import type { HeartbeatServerError } from './errors.js'

/** Data `send()` and `broadcast()` accept: a string goes out as a text frame, the rest as binary. */
export type ServerSendData = string | Buffer | ArrayBuffer | ArrayBufferView

/** Data of an inbound frame: a string for text frames, a `Buffer` for binary ones. */
export type InboundData = string | Buffer

/**
 * Names a client from its upgrade request, or refuses it: `null` (or a throw,
 * or a rejected promise) refuses it as unauthorized (see `refusal`).
 */
export type IdentifyClient = (request: IncomingMessage, url: URL) => string | null | PromiseLike<string | null>

/**
 * Decides whether a named client may connect: `false` (or a throw, or a
 * rejected promise) refuses it as forbidden (see `refusal`).
 */
export type VerifyClient = (request: IncomingMessage, url: URL, name: string) => boolean | PromiseLike<boolean>

/**
 * Application-level heartbeat: how the server recognises a client's ping and
 * what it answers. The presets in `dialects` fit the seed protocols.
 */
export interface HeartbeatDialect {
  /**
   * Recognises a client's ping. Pings are answered and never delivered as `message` events.
   * @default (data) => data === 'ping'
   */
  isPing?: ((data: InboundData, isBinary: boolean) => boolean) | undefined
  /**
   * The answer: a fixed frame, or a function of the ping and the client's
   * name that builds it. A function may return `null` to leave that ping
   * unanswered (for example to let a demo show the client's heartbeat timeout).
   * @default 'pong'
   */
  pong?: string | Buffer | ((ping: InboundData, client: string) => string | Buffer | null) | undefined
}

/** Heartbeat settings: answering the client's pings, and finding clients that went silent. */
export interface ServerHeartbeatOptions extends HeartbeatDialect {
  /**
   * Who sends the heartbeat the application sees. `'client'`: clients ping,
   * the server answers, and WebSocket ping frames (answered by browsers on
   * their own) find dead clients. `'server'`: the server sends an application
   * ping (`ping`) to every client each `interval`; lifeline clients with
   * `heartbeat.mode: 'server'` answer it and watch for it. Server timers are
   * not throttled like a background tab's.
   * @default 'client'
   */
  mode?: 'client' | 'server' | undefined
  /**
   * The application ping of `'server'` mode, or a function of the client's
   * name that builds it (`null` skips that client this time).
   * @default 'ping'
   */
  ping?: string | Buffer | ((client: string) => string | Buffer | null) | undefined
  /**
   * Recognises a client's answer to the server's ping; answers prove life and are not delivered as `message` events.
   * @default (data) => data === 'pong'
   */
  isPong?: ((data: InboundData, isBinary: boolean) => boolean) | undefined
  /**
   * Milliseconds between the WebSocket ping frames the server sends every
   * client (one shared timer for all clients, which is also when silent clients are checked).
   * @default 5000
   */
  interval?: number | undefined
  /**
   * Milliseconds without any frame or pong, counted from a client's last
   * sign of life, after which a client that left a ping unanswered is
   * terminated (disconnect reason `'heartbeat-timeout'`). Detection takes at
   * most `timeout + interval` when `timeout >= interval`.
   * @default 10000
   */
  timeout?: number | undefined
}

/** How to handle a second connection under a name already connected. */
export type DuplicatePolicy = 'replace' | 'reject'

/**
 * A reliable session whose client is away, as a {@link SessionStore} keeps
 * it: plain data, so that a shared store can hold it for another server
 * process. Binary messages are `Uint8Array`s: a store that serialises to
 * JSON must encode them (see {@link serializeSessionState}). A loaded state
 * is validated; one that is not a valid `SessionState` for the client is
 * reported (`LIFELINE_SESSION_INVALID`) and treated as lost.
 */
export interface SessionState {
  /** The session id the client chose. */
  id: string
  /** The client's name (from `identify`). */
  name: string
  /** Highest sequence number received from the client. */
  delivered: number
  /** Sequence number of `unacknowledged[0]` (the next one when it is empty). */
  firstUnacknowledged: number
  /** Messages sent to the client and not acknowledged, oldest first. */
  unacknowledged: (string | Uint8Array)[]
  /** Changes on every save; the process that saved the session expires it only if the store still holds this revision. */
  revision: string
  /** When the session expires, in milliseconds since the epoch: `sessionTtl` after its client went away. */
  expiresAt: number
}

/**
 * Where sessions wait while their client is away, so that the client can
 * resume on another server process (or after this one restarts). Without a
 * store, sessions wait in this process's memory.
 *
 * Keys name a session by client name and session id together (see
 * {@link sessionKey}); treat them as opaque strings. Any method may be
 * synchronous or return a promise; one that throws, rejects or does not
 * settle within `sessionStoreTimeout` is reported (`LIFELINE_STORE_FAILED`)
 * and the session is treated as lost, never as a reason to stop the server.
 *
 * Who owns a session: the process its client is connected to. When the
 * client goes away the owner saves the session once, with its expiry fixed,
 * and forgets it; while the client is away, the store holds the only copy
 * (so `send()` to an away client returns `false` with a store). A process
 * that resumes a session loads it and deletes it from the store. The owner
 * that saved it expires it at `expiresAt` if the store still holds the
 * revision it saved, and reports it lost. `save` must complete before
 * another process can resume the session; a store shared by several
 * processes must make `load` + `delete` atomic to rule out two processes
 * resuming one session at once.
 */
export interface SessionStore {
  /** The session saved under `key`, or `undefined`. */
  load(key: string): SessionState | undefined | PromiseLike<SessionState | undefined>
  /** Keeps `state` for at least `ttl` milliseconds (a little longer than its `expiresAt`), then may forget it. */
  save(key: string, state: SessionState, ttl: number): void | PromiseLike<void>
  /** Forgets the session saved under `key`. */
  delete(key: string): void | PromiseLike<void>
}

/** Options of {@link createHeartbeatServer}. Pass exactly one of `server` and `port`. */
export interface HeartbeatServerOptions {
  /**
   * An existing HTTP(S) server to attach to. Only its `upgrade` event is
   * used; its other routes keep working, and `close()` leaves it running.
   */
  server?: HttpServer | HttpsServer | undefined
  /** Port of an HTTP server that `createHeartbeatServer` creates and owns; 0 picks a free port. */
  port?: number | undefined
  /**
   * Address the created server listens on (only with `port`).
   * @default '127.0.0.1'
   */
  host?: string | undefined
  /**
   * Exact pathname upgrades must ask for; others get HTTP 404 (when no other
   * `upgrade` listener on an attached server could take them).
   * @default '/'
   */
  path?: string | undefined
  /**
   * Names each client; `null` or a throw refuses it as unauthorized (4401, or 401: see `refusal`). This
   * is where a real application authenticates (a cookie, a token in the
   * query): the default trusts whatever `?name=` says, so anyone can take
   * any name, and with `duplicate: 'replace'` evict its holder.
   * `delivery: 'reliable'` requires an explicit `identify`.
   * @default the `name` query parameter, else a random UUID ({@link nameFromQuery})
   */
  identify?: IdentifyClient | undefined
  /**
   * Admits a client after it was named; `false` or a throw refuses it as forbidden (4403, or 403: see `refusal`).
   * @default every client is admitted
   */
  verify?: VerifyClient | undefined
  /**
   * How `identify` and `verify` refusals reach the client. `'close'`: the
   * upgrade is accepted and at once closed with 4401 (unauthorized) or 4403
   * (forbidden), which browsers can read (they hide the HTTP status of a
   * refused upgrade) and lifeline clients answer with one attempt with fresh
   * credentials. `'status'`: the upgrade is answered with HTTP 401 or 403;
   * lifeline clients in Node read it the same way, browsers see only a failed
   * connection and retry it as any other. The refused client is never
   * admitted: no `connection` event, no message read.
   * @default 'close'
   */
  refusal?: 'close' | 'status' | undefined
  /**
   * Most clients connected at once. One more is accepted and at once closed
   * with 1013 (Try Again Later) and a hint to come back after
   * `maxClientsRetryAfter` (see the README's server hints); a connection that
   * replaces one under its own name (`duplicate: 'replace'`) is not one more.
   * @default Infinity
   */
  maxClients?: number | undefined
  /**
   * The `retryAfter` of the hint sent to a client turned away over
   * `maxClients`, in milliseconds (at most an hour); lifeline clients wait at
   * least that long, then their jittered backoff.
   * @default 5000
   */
  maxClientsRetryAfter?: number | undefined
  /**
   * Milliseconds `identify` and `verify` together may take; an upgrade still
   * waiting after that is refused with HTTP 503 and its socket destroyed.
   * @default 5000
   */
  upgradeTimeout?: number | undefined
  /**
   * Most upgrades waiting on `identify` or `verify` at once; beyond that a
   * new upgrade is refused with HTTP 503 at once.
   * @default 1000
   */
  maxPendingUpgrades?: number | undefined
  /**
   * A second connection under a connected name: `'replace'` closes the older
   * socket with code 4409 (`CLOSE_REPLACED`), `'reject'` refuses the new upgrade with HTTP 409.
   * @default 'replace'
   */
  duplicate?: DuplicatePolicy | undefined
  /**
   * Heartbeat settings, or `false` to neither answer pings nor look for silent clients.
   * @default {} (every heartbeat default)
   */
  heartbeat?: ServerHeartbeatOptions | boolean | undefined
  /**
   * Largest inbound message in bytes; a bigger one closes that client with 1009.
   * In reliable mode the welcome tells the client, which then refuses to
   * send a message whose frame would be bigger.
   * @default 1048576 (1 MiB)
   */
  maxPayload?: number | undefined
  /**
   * Most bytes a client's socket may hold unsent (`bufferedAmount`): a client
   * that reads more slowly than the server sends is a slow consumer and is
   * closed with 4008 (`CLOSE_SLOW_CONSUMER`, which clients retry), disconnect reason `'slow-consumer'`.
   * @default 4194304 (4 MiB)
   */
  maxBufferedBytes?: number | undefined
  /**
   * Several server processes as one (for example `redisCluster()` from
   * `lifeline-ws/redis`): names are cluster-wide, `send()` and `broadcast()`
   * reach clients on every node, and in reliable mode sessions live in the
   * cluster (no `sessionStore` then).
   * @default none: this process alone
   */
  cluster?: ServerCluster | undefined
  /**
   * Milliseconds a socket the server closes (on `close()`, replacement or a
   * protocol error) may take to finish the close handshake before it is terminated.
   * @default 1000
   */
  closeTimeout?: number | undefined
  /**
   * `'reliable'`: every message reaches the other side exactly once, in
   * order, across reconnects, for clients with `delivery: 'reliable'`
   * (see the README's protocol section). `send()` then also queues for a
   * client that is reconnecting, as long as its session lives.
   * @default 'plain'
   */
  delivery?: 'plain' | 'reliable' | undefined
  /**
   * How long a reliable session waits for its client to come back, counted
   * from the moment it left (messages sent to it meanwhile do not extend it).
   * @default 60000
   */
  sessionTtl?: number | undefined
  /**
   * Where sessions wait while their client is away (see {@link SessionStore}).
   * @default none: they wait in this process's memory
   */
  sessionStore?: SessionStore | undefined
  /**
   * Milliseconds a `sessionStore` call may take before it counts as failed.
   * @default 5000
   */
  sessionStoreTimeout?: number | undefined
  /**
   * Most messages a reliable session holds unacknowledged. A session that
   * would hold more is ended (`session-lost` with reason `'full'`) and its
   * client, if connected, closed as a slow consumer; `send()` returns `false`.
   * @default 10000
   */
  maxUnacknowledged?: number | undefined
  /**
   * Most bytes a reliable session holds unacknowledged (a string counts its
   * length, binary data its byte length); beyond, as for `maxUnacknowledged`.
   * @default 8388608 (8 MiB)
   */
  maxUnacknowledgedBytes?: number | undefined
}

/** Where the server listens. */
export interface ServerAddress {
  port: number
  /** The bound address, for example `'127.0.0.1'` or `'::'`. */
  host: string
}

/** Options of `close()`. */
export interface ServerCloseOptions {
  /**
   * A restart or deploy: `within` milliseconds (at most an hour) is the
   * window in which clients should come back. Every client is closed with
   * 1012 (Service Restart) and a hint; lifeline clients each wait a random
   * moment of that window instead of coming back at once. Without it,
   * clients get 1001 (Going Away) and their own backoff.
   */
  reconnect?: { within: number } | undefined
}

/** Options of `disconnect()`. */
export interface DisconnectOptions {
  /**
   * Milliseconds (at most an hour) before the client should come back: it is
   * closed with 1013 (Try Again Later) and a hint, and a lifeline client
   * waits at least that long. Without it the code is 1000.
   */
  retryAfter?: number | undefined
  /**
   * `false`: the client should not come back; a lifeline client stops
   * (`failed` with reason `'server'`).
   * @default true
   */
  reconnect?: boolean | undefined
  /** Text for logs, sent in the hint (cut to fit the close frame). */
  message?: string | undefined
}

/**
 * Why a client left the registry.
 *
 * - `'closed'`: the client closed the connection (or it dropped).
 * - `'replaced'`: a newer connection took its name (`duplicate: 'replace'`).
 * - `'heartbeat-timeout'`: it left a ping unanswered for `heartbeat.timeout`; it was terminated.
 * - `'error'`: it broke the protocol (invalid UTF-8, an oversized frame...); see the `error` event.
 * - `'slow-consumer'`: it read more slowly than the server sent (`maxBufferedBytes`), or never acknowledged (`maxUnacknowledged`); closed with 4008.
 * - `'server-close'`: `close()` was called.
 * - `'disconnected'`: the application called `disconnect()`.
 */
export type DisconnectReason = 'closed' | 'replaced' | 'heartbeat-timeout' | 'error' | 'slow-consumer' | 'server-close' | 'disconnected'

/** Payload of the `connection` event: a client was admitted and registered. */
export interface ClientConnectionEvent {
  name: string
  socket: WebSocket
  /** The upgrade request, for headers and the remote address. */
  request: IncomingMessage
}

/** Payload of the `message` event: a frame that is not a heartbeat ping. */
export interface ClientMessageEvent {
  name: string
  /** A string for text frames, a `Buffer` for binary ones. */
  data: InboundData
  socket: WebSocket
  /**
   * Reliable delivery: the message's number in its session (1, 2, 3…) and
   * the session's id. Together they name the message: with a cluster, a
   * message delivered by a node that then died may be delivered again by the
   * node the client resumes on, with the same `session` and `seq`.
   */
  seq?: number | undefined
  session?: string | undefined
}

/** Payload of the `disconnect` event, emitted exactly once per admitted client. */
export interface ClientDisconnectEvent {
  name: string
  socket: WebSocket
  /**
   * The close code: the one the server sent when it ended the connection
   * (1001, 4409, 1007, 1009...), else the client's, 1006 when none arrived.
   */
  code: number
  reason: DisconnectReason
}

/**
 * Why a reliable session ended with messages its client may not have received.
 *
 * - `'expired'`: the client stayed away longer than `sessionTtl`.
 * - `'restarted'`: the client came back with a new session (it lost its own state).
 * - `'moved'`: the session went on in another server process sharing the store; this process's copy was stale.
 * - `'full'`: it held `maxUnacknowledged` messages or `maxUnacknowledgedBytes` (a client that does not acknowledge).
 * - `'too-large'`: queued messages whose frame is bigger than the client accepts (learnt from its hello).
 * - `'no-hello'`: messages sent to an admitted client that left before its welcome, which no connection of its name took within `sessionTtl`.
 * - `'invalid-state'`: the stored state was not valid for this client (see the `error` event).
 * - `'store-failed'`: the session store failed to keep or load it (see the `error` event).
 * - `'server-close'`: `close()` was called while the session, kept in memory, still held messages.
 */
export type SessionLostReason = 'expired' | 'restarted' | 'moved' | 'full' | 'too-large' | 'no-hello' | 'invalid-state' | 'store-failed' | 'server-close'

/** Payload of the server's `session-lost` event (reliable delivery). */
export interface SessionLostEvent {
  name: string
  /** Messages sent to the client without an acknowledgement: they may or may not have arrived. */
  lost: number
  messages: (string | Uint8Array)[]
  reason: SessionLostReason
}

/** Events of a heartbeat server and the payload each listener receives. */

export interface HeartbeatServerEventMap {
  connection: ClientConnectionEvent
  message: ClientMessageEvent
  disconnect: ClientDisconnectEvent
  /** Something went wrong that did not stop the server: a client's protocol error, a hook or listener that threw. */
  error: HeartbeatServerError
  'session-lost': SessionLostEvent
}

/** The server half of lifeline: a registry of named clients that answers heartbeats and finds dead links. */
export interface HeartbeatServer {
  /** Connected clients by name: a read-only, live view. */
  readonly clients: ReadonlyMap<string, WebSocket>
  /** Resolves once the HTTP server listens (and, with a cluster, the node has joined it); rejects if the server it created cannot listen. */
  readonly listening: Promise<ServerAddress>
  /** Where the HTTP server listens, or `null` before it does (or on a pipe). */
  address(): ServerAddress | null
  /**
   * Sends to one client. Returns `false`, without throwing, when no client
   * has that name or its socket is no longer open: a client may leave at any
   * moment, so a missing one is an expected outcome, not a programming error.
   * In reliable mode it queues for a client that is away (without a
   * `sessionStore`) or has not said hello yet, and returns `false` when the
   * session is full (which ends it, see `maxUnacknowledged`). Throws
   * `LIFELINE_MESSAGE_TOO_LARGE` for a message whose reliable frame is
   * bigger than the client accepts.
   */
  send(name: string, data: ServerSendData): boolean
  /**
   * Sends to every open client, or those `filter` accepts; returns how many it
   * was sent to. In reliable mode that includes clients that are away: their
   * `socket` is `undefined` for `filter`. Never throws because of one
   * recipient: one that cannot take the message is skipped and reported.
   */
  broadcast(data: ServerSendData, filter?: (name: string, socket: WebSocket | undefined) => boolean): number
  /**
   * Adds a listener; returns a function that removes it. A listener that
   * throws is reported as an `error` event and never stops the server.
   */
  on<K extends keyof HeartbeatServerEventMap>(type: K, listener: (event: HeartbeatServerEventMap[K]) => void): () => void
  /**
   * Closes one client, with a hint about coming back (see {@link DisconnectOptions}):
   * `disconnect(name, { retryAfter: 60_000 })`, or `{ reconnect: false }` to
   * keep a lifeline client away. Returns `false` when no client has that name.
   * Its `disconnect` event has reason `'disconnected'`.
   */
  disconnect(name: string, options?: DisconnectOptions): boolean
  /**
   * Closes gracefully: refuses new upgrades, closes every client with 1001
   * (or, with `reconnect: { within }`, 1012 and a hint that spreads their
   * return over that window), stops the heartbeat timer, and closes the HTTP
   * server if it created it (an attached server keeps running). Resolves
   * when every socket is gone.
   */
  close(options?: ServerCloseOptions): Promise<void>
}
