import type { IncomingMessage, Server as HttpServer } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type WebSocket from 'ws'
import type { HeartbeatServerError } from './errors.js'

/** Data `send()` and `broadcast()` accept: a string goes out as a text frame, the rest as binary. */
export type ServerSendData = string | Buffer | ArrayBuffer | ArrayBufferView

/** Data of an inbound frame: a string for text frames, a `Buffer` for binary ones. */
export type InboundData = string | Buffer

/**
 * Names a client from its upgrade request, or refuses it: `null` (or a throw,
 * or a rejected promise) answers the upgrade with HTTP 401.
 */
export type IdentifyClient = (request: IncomingMessage, url: URL) => string | null | PromiseLike<string | null>

/**
 * Decides whether a named client may connect: `false` (or a throw, or a
 * rejected promise) answers the upgrade with HTTP 403.
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

/** Options of {@link createHeartbeatServer}. Pass exactly one of `server` and `port`. */
/**
 * A detached reliable session as a store keeps it: plain data, so that a
 * shared store can hold it for another server process.
 */
export interface SessionState {
  id: string
  /** The client's name (from `identify`). */
  name: string
  /** Highest sequence number received from the client. */
  delivered: number
  /** Sequence number of `unacknowledged[0]`. */
  firstUnacknowledged: number
  /** Messages sent to the client and not acknowledged, oldest first. */
  unacknowledged: (string | Uint8Array)[]
}

/**
 * Where sessions wait for their client to come back. The default keeps them
 * in this process's memory; implement these three methods over a shared store
 * to let a client resume on another server process.
 */
export interface SessionStore {
  /** The session saved under `id`, unless it expired. */
  load(id: string): SessionState | undefined | PromiseLike<SessionState | undefined>
  /** Keeps a session whose client disconnected, for at most `ttl` milliseconds. */
  save(id: string, state: SessionState, ttl: number): void | PromiseLike<void>
  /** Forgets a session (its client came back to this process). */
  delete(id: string): void | PromiseLike<void>
}

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
   * Names each client; `null` or a throw refuses the upgrade with 401.
   * @default the `name` query parameter, else a random UUID
   */
  identify?: IdentifyClient | undefined
  /**
   * Admits a client after it was named; `false` or a throw refuses the upgrade with 403.
   * @default every client is admitted
   */
  verify?: VerifyClient | undefined
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
   * @default 1048576 (1 MiB)
   */
  maxPayload?: number | undefined
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
   * How long a reliable session waits for its client to come back.
   * @default 60000
   */
  sessionTtl?: number | undefined
  /**
   * Where waiting sessions are kept.
   * @default an in-memory store
   */
  sessionStore?: SessionStore | undefined
  /**
   * Most messages a reliable session holds unacknowledged; `send()` throws beyond.
   * @default 10000
   */
  maxUnacknowledged?: number | undefined
}

/** Where the server listens. */
export interface ServerAddress {
  port: number
  /** The bound address, for example `'127.0.0.1'` or `'::'`. */
  host: string
}

/**
 * Why a client left the registry.
 *
 * - `'closed'`: the client closed the connection (or it dropped).
 * - `'replaced'`: a newer connection took its name (`duplicate: 'replace'`).
 * - `'heartbeat-timeout'`: it left a ping unanswered for `heartbeat.timeout`; it was terminated.
 * - `'error'`: it broke the protocol (invalid UTF-8, an oversized frame...); see the `error` event.
 * - `'server-close'`: `close()` was called.
 */
export type DisconnectReason = 'closed' | 'replaced' | 'heartbeat-timeout' | 'error' | 'server-close'

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

/** Events of a heartbeat server and the payload each listener receives. */
/** Payload of the server's `session-lost` event (reliable delivery). */
export interface SessionLostEvent {
  name: string
  /** Messages sent to the client without an acknowledgement before its session expired. */
  lost: number
  messages: (string | Uint8Array)[]
}

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
  /** Resolves once the HTTP server listens; rejects if the server it created cannot. */
  readonly listening: Promise<ServerAddress>
  /** Where the HTTP server listens, or `null` before it does (or on a pipe). */
  address(): ServerAddress | null
  /**
   * Sends to one client. Returns `false`, without throwing, when no client
   * has that name or its socket is no longer open: a client may leave at any
   * moment, so a missing one is an expected outcome, not a programming error.
   */
  send(name: string, data: ServerSendData): boolean
  /** Sends to every open client (those `filter` accepts); returns how many it was sent to. */
  broadcast(data: ServerSendData, filter?: (name: string, socket: WebSocket) => boolean): number
  /**
   * Adds a listener; returns a function that removes it. A listener that
   * throws is reported as an `error` event and never stops the server.
   */
  on<K extends keyof HeartbeatServerEventMap>(type: K, listener: (event: HeartbeatServerEventMap[K]) => void): () => void
  /**
   * Closes gracefully: refuses new upgrades, closes every client with 1001,
   * stops the heartbeat timer, and closes the HTTP server if it created it
   * (an attached server keeps running). Resolves when every socket is gone.
   */
  close(): Promise<void>
}
