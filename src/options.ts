import { describe, invalid } from './errors.js'
import { quotedUrl } from './redact.js'
import type {
  Clock,
  CloseInfo,
  ConnectionOptions,
  EnvironmentSource,
  MessageData,
  NetworkSource,
  ReconnectPolicy,
  SendData,
  UrlSource,
  WebSocketConstructor,
} from './types.js'

/** Heartbeat settings with every default filled in. */
export interface ResolvedHeartbeat {
  mode: 'client' | 'server'
  interval: number
  timeout: number
  probeTimeout: number
  hiddenInterval: number
  ping: SendData | (() => SendData)
  isPong: (data: MessageData) => boolean
  isPing: (data: MessageData) => boolean
  pong: SendData | ((ping: MessageData) => SendData)
  proofAny: boolean
}

/** Reconnect settings with every default filled in. */
export interface ResolvedReconnect {
  initialDelay: number
  maxDelay: number
  factor: number
  jitter: number
  maxAttempts: number
  minUptime: number
  shouldReconnect: (close: CloseInfo) => boolean
  policy: ReconnectPolicy | undefined
}

/** Options after validation, with defaults. */
export interface ResolvedOptions {
  url: UrlSource
  protocols: string | string[] | undefined
  WebSocket: WebSocketConstructor | undefined
  autoConnect: boolean
  connectTimeout: number
  closeTimeout: number
  heartbeat: ResolvedHeartbeat | false
  reconnect: ResolvedReconnect | false
  buffer: { maxMessages: number; overflow: 'drop-oldest' | 'reject' } | false
  delivery: 'plain' | 'reliable'
  network: NetworkSource | false | undefined
  environment: EnvironmentSource | false | undefined
  inspect: ConnectionOptions['inspect']
  clock: Clock | undefined
  /** The key of a shared connection (the `share` option, or the URL for `share: true`); undefined when not shared. */
  share: string | undefined
}

// Close codes that say "retrying will not help": protocol errors, policy and
// auth refusals. 4400–4499 mirrors HTTP 4xx for application close codes.
// 4002/4007 are 1002/1007 as a browser must send them.
const FATAL_CLOSE_CODES = new Set([1002, 1003, 1007, 1008, 1010, 4002, 4007])

/** The default `reconnect.shouldReconnect`: retries every close except the fatal codes. */
export function isRetryableClose(close: CloseInfo): boolean {
  return !FATAL_CLOSE_CODES.has(close.code) && !(close.code >= 4400 && close.code <= 4499)
}

const isPongDefault = (data: MessageData): boolean => data === 'pong'
const isPingDefault = (data: MessageData): boolean => data === 'ping'

/** The longest delay a timer takes: setTimeout wraps delays above 2^31 - 1 ms to 1 ms. */
export const MAX_DELAY = 2_147_483_647

const OPTION_KEYS = new Set<string>([
  'url', 'protocols', 'WebSocket', 'autoConnect', 'connectTimeout', 'closeTimeout',
  'heartbeat', 'reconnect', 'buffer', 'delivery', 'network', 'environment', 'inspect', 'clock', 'share',
])

type Bag = Record<string, unknown>

// RFC 6455 Sec-WebSocket-Protocol values are HTTP tokens (RFC 9110).
const PROTOCOL_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

function checkKeys(bag: Bag, known: ReadonlySet<string>, prefix: string): void {
  for (const key of Object.keys(bag)) {
    if (!known.has(key)) {
      throw invalid('LIFELINE_INVALID_OPTION', `Unknown option ${prefix}${key}; expected one of ${[...known].map((k) => prefix + k).join(', ')}`)
    }
  }
}

function fail(name: string, expected: string, value: unknown): never {
  throw invalid('LIFELINE_INVALID_OPTION', `${name} must be ${expected}, got ${describe(value)}`)
}

// A refused URL is quoted with its query values hidden: see quotedUrl.
function failUrl(name: string, expected: string, value: string | URL): never {
  throw invalid('LIFELINE_INVALID_OPTION', `${name} must be ${expected}, got ${quotedUrl(value)}`)
}

function milliseconds(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  const ok = typeof value === 'number' && Number.isFinite(value) && value > 0
  if (!ok) fail(name, 'a positive number of milliseconds', value)
  if (value > MAX_DELAY) fail(name, `at most ${MAX_DELAY} milliseconds`, value)
  return value
}

function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') fail(name, 'true or false', value)
  return value
}

function fn<F>(name: string, value: unknown, fallback: F): F {
  if (value === undefined) return fallback
  if (typeof value !== 'function') fail(name, 'a function', value)
  return value as F
}

/** Whether a value is shared memory (a `SharedArrayBuffer` or a view over one), which browsers' `WebSocket.send()` refuses. */
export function isShared(value: unknown): boolean {
  return typeof SharedArrayBuffer !== 'undefined' &&
    (value instanceof SharedArrayBuffer || (ArrayBuffer.isView(value) && value.buffer instanceof SharedArrayBuffer))
}

/** Whether a value is something every `WebSocket.send()` accepts. */
export function isSendData(value: unknown): value is SendData {
  return (
    typeof value === 'string' ||
    value instanceof ArrayBuffer ||
    (ArrayBuffer.isView(value) && !isShared(value)) ||
    (typeof Blob !== 'undefined' && value instanceof Blob)
  )
}

/**
 * Parses a URL and checks its scheme; returns the string to dial or throws.
 * The error quotes the URL with its query values hidden (a token in the
 * query would otherwise travel on into close reasons and traces).
 */
export function checkUrl(value: unknown, name = 'url'): string {
  if (!(typeof value === 'string' || value instanceof URL)) {
    fail(name, 'a ws: or wss: URL (string or URL)', value)
  }
  let parsed: URL
  try {
    const base = (globalThis as { location?: { href: string } }).location?.href
    parsed = new URL(String(value), base)
  } catch {
    failUrl(name, 'an absolute ws:, wss:, http: or https: URL', value)
  }
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:'
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:'
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') failUrl(name, 'a ws:, wss:, http: or https: URL', value)
  // An empty fragment leaves hash '' but the '#' in the URL, which browsers refuse (SyntaxError) on every attempt.
  if (parsed.href.includes('#')) failUrl(name, 'a URL without a #fragment', value)
  return parsed.href
}

function heartbeatOptions(value: unknown): ResolvedHeartbeat | false {
  if (value === false) return false
  const bag = value === undefined || value === true ? {} : value
  if (typeof bag !== 'object' || bag === null) fail('heartbeat', 'an object or false', value)
  const h = bag as Bag
  checkKeys(h, new Set(['mode', 'interval', 'timeout', 'probeTimeout', 'hiddenInterval', 'ping', 'isPong', 'isPing', 'pong', 'proof']), 'heartbeat.')
  const frame = (name: string, value: unknown): void => {
    if (!(typeof value === 'function' || isSendData(value))) fail(name, 'a string, ArrayBuffer, typed array, Blob or a function returning one', value)
  }
  const ping = h.ping ?? 'ping'
  const pong = h.pong ?? 'pong'
  frame('heartbeat.ping', ping)
  frame('heartbeat.pong', pong)
  const proof = h.proof ?? 'any'
  if (proof !== 'any' && proof !== 'pong') fail('heartbeat.proof', `'any' or 'pong'`, proof)
  const mode = h.mode ?? 'client'
  if (mode !== 'client' && mode !== 'server') fail('heartbeat.mode', `'client' or 'server'`, mode)
  const interval = milliseconds('heartbeat.interval', h.interval, 5_000)
  const timeout = milliseconds('heartbeat.timeout', h.timeout, 10_000)
  const hiddenInterval = milliseconds('heartbeat.hiddenInterval', h.hiddenInterval, interval)
  if (hiddenInterval < interval) fail('heartbeat.hiddenInterval', `at least heartbeat.interval (${interval})`, hiddenInterval)
  // Server mode waits interval + timeout for the server's ping: one timer, so the sum must fit.
  if (mode === 'server') {
    if (hiddenInterval + timeout > MAX_DELAY) {
      const name = hiddenInterval === interval ? 'heartbeat.interval + heartbeat.timeout' : 'heartbeat.hiddenInterval + heartbeat.timeout'
      fail(name, `at most ${MAX_DELAY} milliseconds with heartbeat.mode 'server' (the client waits that long for the server's ping)`, hiddenInterval + timeout)
    }
  }
  return {
    mode,
    interval,
    timeout,
    probeTimeout: milliseconds('heartbeat.probeTimeout', h.probeTimeout, Math.min(3_000, timeout)),
    hiddenInterval,
    ping: ping as ResolvedHeartbeat['ping'],
    isPong: fn('heartbeat.isPong', h.isPong, isPongDefault),
    isPing: fn('heartbeat.isPing', h.isPing, isPingDefault),
    pong: pong as ResolvedHeartbeat['pong'],
    proofAny: proof === 'any',
  }
}

function reconnectOptions(value: unknown): ResolvedReconnect | false {
  if (value === false) return false
  const bag = value === undefined || value === true ? {} : value
  if (typeof bag !== 'object' || bag === null) fail('reconnect', 'an object or false', value)
  const r = bag as Bag
  checkKeys(r, new Set(['initialDelay', 'maxDelay', 'factor', 'jitter', 'maxAttempts', 'minUptime', 'shouldReconnect', 'policy']), 'reconnect.')
  // Not 0: every later delay grows from this one, so 0 would retry back to back for ever.
  const initialDelay = milliseconds('reconnect.initialDelay', r.initialDelay, 1_000)
  // A delay below a millisecond is attempts back to back (Node's timers round it to 1 ms at best).
  if (initialDelay < 1) fail('reconnect.initialDelay', 'at least 1 millisecond', initialDelay)
  const maxDelay = milliseconds('reconnect.maxDelay', r.maxDelay, Math.max(30_000, initialDelay))
  if (maxDelay < initialDelay) fail('reconnect.maxDelay', `at least reconnect.initialDelay (${initialDelay})`, maxDelay)
  const factor = r.factor ?? 2
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1) fail('reconnect.factor', 'a number ≥ 1', factor)
  const jitter = r.jitter ?? 1
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) fail('reconnect.jitter', 'a number from 0 to 1', jitter)
  const maxAttempts = r.maxAttempts ?? Infinity
  if (typeof maxAttempts !== 'number' || !(maxAttempts === Infinity || (Number.isInteger(maxAttempts) && maxAttempts >= 1))) {
    fail('reconnect.maxAttempts', 'a positive integer or Infinity', maxAttempts)
  }
  return {
    initialDelay,
    maxDelay,
    factor,
    jitter,
    maxAttempts,
    minUptime: milliseconds('reconnect.minUptime', r.minUptime, 5_000),
    shouldReconnect: fn('reconnect.shouldReconnect', r.shouldReconnect, isRetryableClose),
    policy: fn<ReconnectPolicy | undefined>('reconnect.policy', r.policy, undefined),
  }
}

function bufferOptions(value: unknown, reliable: boolean): ResolvedOptions['buffer'] {
  if (value === false) return false
  const bag = value === undefined || value === true ? {} : value
  if (typeof bag !== 'object' || bag === null) fail('buffer', 'an object or false', value)
  const b = bag as Bag
  checkKeys(b, new Set(['maxMessages', 'overflow']), 'buffer.')
  const maxMessages = b.maxMessages ?? 1_000
  if (typeof maxMessages !== 'number' || !Number.isInteger(maxMessages) || maxMessages < 1) {
    fail('buffer.maxMessages', 'a positive integer', maxMessages)
  }
  const overflow = b.overflow ?? (reliable ? 'reject' : 'drop-oldest')
  if (overflow !== 'drop-oldest' && overflow !== 'reject') fail('buffer.overflow', `'drop-oldest' or 'reject'`, overflow)
  // Dropping a message that waits for acknowledgement would break exactly-once: a full buffer refuses instead.
  if (reliable && overflow !== 'reject') fail('buffer.overflow', `'reject' with delivery: reliable (a message waiting for acknowledgement is never dropped)`, overflow)
  return { maxMessages, overflow }
}

function networkOption(value: unknown): NetworkSource | false | undefined {
  if (value === undefined || value === false) return value
  const n = value as Partial<NetworkSource> | null
  if (typeof n !== 'object' || n === null || typeof n.isOnline !== 'function' || typeof n.subscribe !== 'function') {
    fail('network', 'false or an object with isOnline() and subscribe(listener)', value)
  }
  return n as NetworkSource
}

function environmentOption(value: unknown): EnvironmentSource | false | undefined {
  if (value === undefined || value === false) return value
  const e = value as Partial<EnvironmentSource> | null
  if (typeof e !== 'object' || e === null || typeof e.isVisible !== 'function' || typeof e.subscribe !== 'function') {
    fail('environment', 'false or an object with isVisible() and subscribe(listener)', value)
  }
  return e as EnvironmentSource
}

function clockOption(value: unknown): Clock | undefined {
  if (value === undefined) return undefined
  const c = value as Partial<Clock> | null
  if (typeof c !== 'object' || c === null || typeof c.now !== 'function' || typeof c.setTimeout !== 'function' || typeof c.clearTimeout !== 'function') {
    fail('clock', 'an object with now(), setTimeout() and clearTimeout()', value)
  }
  return c as Clock
}

/** The longest `share` key: it names a lock and a channel, and travels in every message. */
export const MAX_SHARE_KEY = 256

function shareOption(value: unknown, url: unknown): string | undefined {
  if (value === undefined || value === false) return undefined
  if (value === true) {
    if (typeof url === 'function') fail('share', 'a key (a string) when url is a function: share: true takes the URL as the key', value)
    return checkUrl(url)
  }
  if (typeof value !== 'string' || value === '' || value.length > MAX_SHARE_KEY) fail('share', `true, false or a key of 1 to ${MAX_SHARE_KEY} characters`, value)
  return value
}

/** Validates options up front; throws a `TypeError` naming the option, the value and what was expected. */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (typeof options !== 'object' || options === null) fail('options', 'an object with at least a url', options)
  const o = options as Bag
  checkKeys(o, OPTION_KEYS, '')
  if (o.url === undefined) fail('url', 'a ws: or wss: URL, or a function returning one', undefined)
  if (typeof o.url !== 'function') checkUrl(o.url)
  const protocols = o.protocols
  if (!(protocols === undefined || typeof protocols === 'string' || (Array.isArray(protocols) && protocols.every((p) => typeof p === 'string')))) {
    fail('protocols', 'a string or an array of strings', protocols)
  }
  // Checked here, as the WebSocket constructor would: else every attempt would throw, and be retried forever.
  const offered = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : protocols
  const bad = offered.find((p) => !PROTOCOL_TOKEN.test(p))
  if (bad !== undefined) fail('protocols', 'subprotocol names made of token characters (no spaces, commas or quotes)', bad)
  if (new Set(offered).size !== offered.length) fail('protocols', 'subprotocol names without duplicates', protocols)
  const delivery = o.delivery ?? 'plain'
  if (delivery !== 'plain' && delivery !== 'reliable') fail('delivery', `'plain' or 'reliable'`, delivery)
  const buffer = bufferOptions(o.buffer, delivery === 'reliable')
  if (delivery === 'reliable' && buffer === false) fail('buffer', 'on with delivery: reliable (messages wait in it for acknowledgement)', false)
  return {
    url: o.url as UrlSource,
    protocols: protocols as ResolvedOptions['protocols'],
    WebSocket: fn<WebSocketConstructor | undefined>('WebSocket', o.WebSocket, undefined),
    autoConnect: bool('autoConnect', o.autoConnect, true),
    connectTimeout: milliseconds('connectTimeout', o.connectTimeout, 10_000),
    closeTimeout: milliseconds('closeTimeout', o.closeTimeout, 5_000),
    heartbeat: heartbeatOptions(o.heartbeat),
    reconnect: reconnectOptions(o.reconnect),
    buffer,
    delivery,
    network: networkOption(o.network),
    environment: environmentOption(o.environment),
    inspect: o.inspect === undefined || typeof o.inspect === 'function' || (typeof o.inspect === 'object' && o.inspect !== null)
      ? (o.inspect as ResolvedOptions['inspect'])
      : fail('inspect', 'an observer or a function', o.inspect),
    clock: clockOption(o.clock),
    share: shareOption(o.share, o.url),
  }
}
