import { randomUUID } from 'node:crypto'
import type { IncomingMessage, Server as HttpServer } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import { describe, invalid } from '../errors.js'
import { formatCloseHint, MAX_HINT_DELAY } from '../hint.js'
import { CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_SERVICE_RESTART, CLOSE_TRY_AGAIN_LATER } from './codes.js'
import type {
  DisconnectOptions,
  DuplicatePolicy,
  IdentifyClient,
  InboundData,
  ServerCloseOptions,
  SessionStore,
  VerifyClient,
} from './types.js'
import type { ServerCluster } from './cluster.js'

/** Heartbeat settings with every default filled in. */
export interface ResolvedServerHeartbeat {
  mode: 'client' | 'server'
  ping: string | Buffer | ((client: string) => string | Buffer | null)
  isPong: (data: InboundData, isBinary: boolean) => boolean
  interval: number
  timeout: number
  isPing: (data: InboundData, isBinary: boolean) => boolean
  pong: string | Buffer | ((ping: InboundData, client: string) => string | Buffer | null)
}

/** Server options after validation, with defaults. */
export interface ResolvedServerOptions {
  /** Set when attaching to a server the caller owns. */
  server: HttpServer | HttpsServer | undefined
  /** Set when the heartbeat server creates and owns its HTTP server. */
  listen: { port: number; host: string } | undefined
  path: string
  identify: IdentifyClient
  verify: VerifyClient | undefined
  refusal: 'close' | 'status'
  maxClients: number
  maxClientsRetryAfter: number
  upgradeTimeout: number
  maxPendingUpgrades: number
  duplicate: DuplicatePolicy
  heartbeat: ResolvedServerHeartbeat | false
  maxPayload: number
  maxBufferedBytes: number
  closeTimeout: number
  delivery: 'plain' | 'reliable'
  sessionTtl: number
  sessionStore: SessionStore | undefined
  sessionStoreTimeout: number
  maxUnacknowledged: number
  maxUnacknowledgedBytes: number
  cluster: ServerCluster | undefined
}

// setTimeout wraps delays above 2^31 - 1 ms to 1 ms.
const MAX_DELAY = 2_147_483_647

const OPTION_KEYS = new Set<string>([
  'server', 'port', 'host', 'path', 'identify', 'verify', 'refusal', 'maxClients', 'maxClientsRetryAfter', 'upgradeTimeout', 'maxPendingUpgrades', 'duplicate',
  'heartbeat', 'maxPayload', 'maxBufferedBytes', 'closeTimeout',
  'delivery', 'sessionTtl', 'sessionStore', 'sessionStoreTimeout', 'maxUnacknowledged', 'maxUnacknowledgedBytes', 'cluster',
])
const HEARTBEAT_KEYS = new Set<string>(['mode', 'interval', 'timeout', 'isPing', 'pong', 'ping', 'isPong'])

type Bag = Record<string, unknown>

/** The default `identify`: the `name` query parameter, else a random UUID. */
export function nameFromQuery(_request: IncomingMessage, url: URL): string {
  const name = url.searchParams.get('name')
  return name === null || name === '' ? randomUUID() : name
}

const isPingDefault = (data: InboundData): boolean => data === 'ping'
const isPongDefault = (data: InboundData): boolean => data === 'pong'

function fail(name: string, expected: string, value: unknown): never {
  throw invalid('LIFELINE_INVALID_OPTION', `${name} must be ${expected}, got ${describe(value)}`)
}

function checkKeys(bag: Bag, known: ReadonlySet<string>, prefix: string): void {
  for (const key of Object.keys(bag)) {
    if (!known.has(key)) {
      throw invalid('LIFELINE_INVALID_OPTION', `Unknown option ${prefix}${key}; expected one of ${[...known].map((k) => prefix + k).join(', ')}`)
    }
  }
}

function milliseconds(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail(name, 'a positive number (milliseconds)', value)
  if (value > MAX_DELAY) fail(name, `at most ${MAX_DELAY} (milliseconds)`, value)
  return value
}

function count(name: string, value: unknown, fallback: number, unit = ''): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) fail(name, `a positive integer${unit}`, value)
  return value
}

function fn<F>(name: string, value: unknown, fallback: F): F {
  if (value === undefined) return fallback
  if (typeof value !== 'function') fail(name, 'a function', value)
  return value as F
}

function isServerLike(value: unknown): value is HttpServer | HttpsServer {
  const s = value as Partial<HttpServer> | null
  return typeof s === 'object' && s !== null && typeof s.on === 'function' &&
    typeof s.removeListener === 'function' && typeof s.address === 'function' && typeof s.listen === 'function'
}

function heartbeatOptions(value: unknown): ResolvedServerHeartbeat | false {
  if (value === false) return false
  const bag = value === undefined || value === true ? {} : value
  if (typeof bag !== 'object' || bag === null) fail('heartbeat', 'an object, true or false', value)
  const h = bag as Bag
  checkKeys(h, HEARTBEAT_KEYS, 'heartbeat.')
  const pong = h.pong ?? 'pong'
  if (!(typeof pong === 'string' || Buffer.isBuffer(pong) || typeof pong === 'function')) {
    fail('heartbeat.pong', 'a string, a Buffer or a function returning one', pong)
  }
  const ping = h.ping ?? 'ping'
  if (!(typeof ping === 'string' || Buffer.isBuffer(ping) || typeof ping === 'function')) {
    fail('heartbeat.ping', 'a string, a Buffer or a function returning one', ping)
  }
  const mode = h.mode ?? 'client'
  if (mode !== 'client' && mode !== 'server') fail('heartbeat.mode', `'client' or 'server'`, mode)
  const interval = milliseconds('heartbeat.interval', h.interval, 5_000)
  const timeout = milliseconds('heartbeat.timeout', h.timeout, 10_000)
  return {
    mode,
    ping: ping as ResolvedServerHeartbeat['ping'],
    isPong: fn('heartbeat.isPong', h.isPong, isPongDefault),
    interval,
    timeout,
    isPing: fn('heartbeat.isPing', h.isPing, isPingDefault),
    pong: pong as ResolvedServerHeartbeat['pong'],
  }
}

function listenOptions(o: Bag): ResolvedServerOptions['listen'] {
  const { server, port, host } = o
  if (server !== undefined && port !== undefined) {
    throw invalid('LIFELINE_INVALID_OPTION', `Pass either server or port, not both; got server and port ${describe(port)}`)
  }
  if (server !== undefined) {
    if (!isServerLike(server)) fail('server', 'an http.Server or https.Server', server)
    if (host !== undefined) fail('host', 'left out when server is given (the server is already bound)', host)
    return undefined
  }
  if (port === undefined) {
    throw invalid('LIFELINE_INVALID_OPTION', 'Pass a server (an http.Server or https.Server) or a port (0 for any free one); got neither')
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) {
    fail('port', 'an integer from 0 to 65535', port)
  }
  if (host !== undefined && (typeof host !== 'string' || host === '')) fail('host', 'a non-empty string', host)
  return { port, host: host ?? '127.0.0.1' }
}

/** Validates options up front; throws a `TypeError` naming the option, the value and what was expected. */
export function resolveServerOptions(options: unknown): ResolvedServerOptions {
  if (typeof options !== 'object' || options === null) fail('options', 'an object with a server or a port', options)
  const o = options as Bag
  checkKeys(o, OPTION_KEYS, '')
  const listen = listenOptions(o)
  const path = o.path ?? '/'
  if (typeof path !== 'string' || !path.startsWith('/')) fail('path', `a pathname starting with '/'`, path)
  const duplicate = o.duplicate ?? 'replace'
  if (duplicate !== 'replace' && duplicate !== 'reject') fail('duplicate', `'replace' or 'reject'`, duplicate)
  const delivery = o.delivery ?? 'plain'
  if (delivery !== 'plain' && delivery !== 'reliable') fail('delivery', `'plain' or 'reliable'`, delivery)
  if (delivery === 'reliable' && o.identify === undefined) {
    throw invalid(
      'LIFELINE_INVALID_OPTION',
      "delivery: 'reliable' needs an identify that gives each client the same name on every connection: sessions are kept per name, " +
        'and the default names a client without ?name= at random, so it would lose its session on every reconnect. ' +
        'Pass identify (authenticate the request and return the user id), or identify: nameFromQuery to trust ?name= as it is',
    )
  }
  const refusal = o.refusal ?? 'close'
  if (refusal !== 'close' && refusal !== 'status') fail('refusal', `'close' or 'status'`, refusal)
  const maxClients = o.maxClients === Infinity ? Infinity : count('maxClients', o.maxClients, Infinity)
  const store = o.sessionStore as Partial<SessionStore> | undefined
  if (store !== undefined && (typeof store !== 'object' || store === null || typeof store.load !== 'function' || typeof store.save !== 'function' || typeof store.delete !== 'function')) {
    fail('sessionStore', 'an object with load(), save() and delete()', store)
  }
  const cluster = o.cluster as Partial<ServerCluster> | undefined
  if (cluster !== undefined) {
    const methods = ['join', 'leave', 'claim', 'release', 'send', 'broadcast'] as const
    if (typeof cluster !== 'object' || cluster === null || methods.some((m) => typeof cluster[m] !== 'function')) {
      fail('cluster', `an object with ${methods.join('(), ')}() (for example redisCluster() from lifeline-ws/redis)`, cluster)
    }
    if (delivery === 'reliable' && store !== undefined) {
      throw invalid('LIFELINE_INVALID_OPTION', 'Pass either cluster or sessionStore with delivery: reliable, not both: the cluster keeps the sessions')
    }
    if (delivery === 'reliable' && typeof cluster.reliable !== 'function') {
      fail('cluster', 'a cluster that keeps reliable sessions (reliable()) with delivery: reliable', cluster)
    }
  }
  return {
    server: listen === undefined ? (o.server as HttpServer | HttpsServer) : undefined,
    listen,
    path,
    identify: fn('identify', o.identify, nameFromQuery),
    verify: fn<VerifyClient | undefined>('verify', o.verify, undefined),
    refusal,
    maxClients,
    maxClientsRetryAfter: hintDelay('maxClientsRetryAfter', o.maxClientsRetryAfter, 5_000),
    upgradeTimeout: milliseconds('upgradeTimeout', o.upgradeTimeout, 5_000),
    maxPendingUpgrades: count('maxPendingUpgrades', o.maxPendingUpgrades, 1_000),
    duplicate,
    heartbeat: heartbeatOptions(o.heartbeat),
    maxPayload: count('maxPayload', o.maxPayload, 1_048_576, ' (bytes)'),
    maxBufferedBytes: count('maxBufferedBytes', o.maxBufferedBytes, 4_194_304, ' (bytes)'),
    closeTimeout: milliseconds('closeTimeout', o.closeTimeout, 1_000),
    delivery,
    sessionTtl: milliseconds('sessionTtl', o.sessionTtl, 60_000),
    sessionStore: store as SessionStore | undefined,
    sessionStoreTimeout: milliseconds('sessionStoreTimeout', o.sessionStoreTimeout, 5_000),
    maxUnacknowledged: count('maxUnacknowledged', o.maxUnacknowledged, 10_000),
    maxUnacknowledgedBytes: count('maxUnacknowledgedBytes', o.maxUnacknowledgedBytes, 8_388_608, ' (bytes)'),
    cluster: cluster as ServerCluster | undefined,
  }
}

function hintDelay(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_HINT_DELAY) {
    fail(name, `a number of milliseconds from 0 to ${MAX_HINT_DELAY} (an hour)`, value)
  }
  return value
}

function argumentBag(method: string, value: unknown, known: readonly string[]): Bag {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null) {
    throw invalid('LIFELINE_INVALID_ARGUMENT', `${method} options must be an object, got ${describe(value)}`)
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw invalid('LIFELINE_INVALID_ARGUMENT', `Unknown ${method} option ${key}; expected one of ${known.join(', ')}`)
  }
  return value as Bag
}

function argumentDelay(name: string, value: unknown, min: number): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_HINT_DELAY) {
    throw invalid('LIFELINE_INVALID_ARGUMENT', `${name} must be a number of milliseconds from ${min} to ${MAX_HINT_DELAY} (an hour), got ${describe(value)}`)
  }
  return value
}

/** The close frame `close(options)` sends every client: 1001, or 1012 with a hint to come back within the window. */
export function closeFrameOf(options: ServerCloseOptions | undefined): { code: number; reason: string } {
  const o = argumentBag('close()', options, ['reconnect'])
  if (o.reconnect === undefined) return { code: CLOSE_GOING_AWAY, reason: 'server closing' }
  const reconnect = argumentBag('close() reconnect', o.reconnect, ['within'])
  const within = argumentDelay('close() reconnect.within', reconnect.within, 1)
  if (within === undefined) throw invalid('LIFELINE_INVALID_ARGUMENT', 'close() reconnect needs within: the window, in milliseconds, in which clients should come back')
  return { code: CLOSE_SERVICE_RESTART, reason: formatCloseHint({ within, message: 'restarting' }) }
}

/** The close frame of `disconnect(name, options)`: 1013 with `retryAfter`, else 1000; a hint whenever there is something to say. */
export function disconnectFrameOf(options: DisconnectOptions | undefined): { code: number; reason: string } {
  const o = argumentBag('disconnect()', options, ['retryAfter', 'reconnect', 'message'])
  const retryAfter = argumentDelay('disconnect() retryAfter', o.retryAfter, 0)
  if (o.reconnect !== undefined && typeof o.reconnect !== 'boolean') {
    throw invalid('LIFELINE_INVALID_ARGUMENT', `disconnect() reconnect must be true or false, got ${describe(o.reconnect)}`)
  }
  if (o.message !== undefined && typeof o.message !== 'string') {
    throw invalid('LIFELINE_INVALID_ARGUMENT', `disconnect() message must be a string, got ${describe(o.message)}`)
  }
  const reconnect = o.reconnect as boolean | undefined
  const message = o.message as string | undefined
  const code = retryAfter === undefined || reconnect === false ? CLOSE_NORMAL : CLOSE_TRY_AGAIN_LATER
  if (retryAfter === undefined && reconnect === undefined) return { code, reason: message ?? '' }
  return {
    code,
    reason: formatCloseHint({
      ...(reconnect === false ? { reconnect } : retryAfter === undefined ? {} : { retryAfter }),
      ...(message === undefined ? {} : { message }),
    }),
  }
}
