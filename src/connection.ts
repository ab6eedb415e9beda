import type { ConnectionInput } from '../machines/connection.types.js'
import { SocketAdapter } from './adapter.js'
import { latenessClockFor, startActor, stopActor } from './hub.js'
import type { LiveActor } from './live-machine.js'
import { describe, invalid, LifelineError } from './errors.js'
import { browserEnvironment } from './environment.js'
import { browserNetwork } from './network.js'
import { isSendData, isShared, resolveOptions, type ResolvedOptions } from './options.js'
import type { ReliableSession } from './reliable/session.js'
import { deferredShare } from './share/deferred.js'
import type {
  Connection,
  ConnectionEventMap,
  ConnectionOptions,
  ConnectionStateName,
  SendData,
  WebSocketConstructor,
} from './types.js'

const OPEN = { type: 'open' } as const
const RECONNECT = { type: 'reconnect' } as const
const ONLINE = { type: 'network.online' } as const
const WAKE = { type: 'environment.wake' } as const
const NOTHING = (): void => {}
const OFFLINE = { type: 'network.offline' } as const

const EVENT_TYPES: ReadonlySet<string> = new Set<keyof ConnectionEventMap>([
  'state', 'open', 'message', 'close', 'error', 'heartbeat', 'reconnect', 'failed', 'session-lost', 'share',
])

/** The event names `on()` takes. */
export function checkListener(type: unknown, listener: unknown): void {
  if (!EVENT_TYPES.has(type as string)) {
    throw invalid('LIFELINE_INVALID_ARGUMENT', `on() expects one of ${[...EVENT_TYPES].join(', ')}, got ${describe(type)}`)
  }
  if (typeof listener !== 'function') {
    throw invalid('LIFELINE_INVALID_ARGUMENT', `on('${String(type)}') expects a listener function, got ${describe(listener)}`)
  }
}

// The ws package's default maxPayload (100 MiB): the limit of a socket lifeline created with ws itself.
const WS_MAX_PAYLOAD = 100 * 1024 * 1024

function machineInput(options: ResolvedOptions, adapter: SocketAdapter): ConnectionInput {
  const { heartbeat, reconnect } = options
  return {
    connectTimeout: options.connectTimeout,
    closeTimeout: options.closeTimeout,
    heartbeat: heartbeat && { mode: heartbeat.mode, interval: heartbeat.interval, timeout: heartbeat.timeout, probeTimeout: heartbeat.probeTimeout },
    reconnect: reconnect !== false,
    maxAttempts: reconnect ? reconnect.maxAttempts : 1,
    minUptime: reconnect ? reconnect.minUptime : 0,
    initialDelay: reconnect ? reconnect.initialDelay : 0,
    adapter,
  }
}

/** Checks `close()`'s arguments: code 1000 or 3000–4999, a reason of at most 123 UTF-8 bytes. */
export function checkCloseArguments(code: unknown, reason: unknown): void {
  if (code !== undefined && !(code === 1000 || (Number.isInteger(code) && (code as number) >= 3000 && (code as number) <= 4999))) {
    throw invalid('LIFELINE_INVALID_ARGUMENT', `close() code must be 1000 or an integer from 3000 to 4999, got ${describe(code)}`)
  }
  if (reason !== undefined && (typeof reason !== 'string' || new TextEncoder().encode(reason).length > 123)) {
    throw invalid('LIFELINE_INVALID_ARGUMENT', `close() reason must be a string of at most 123 UTF-8 bytes, got ${describe(reason)}`)
  }
}

/** Checks what `send()` takes: what `WebSocket.send()` takes, shared memory excepted. */
export function checkSendData(data: unknown): asserts data is SendData {
  if (isShared(data)) {
    throw invalid('LIFELINE_INVALID_ARGUMENT', 'send() cannot send shared memory (a SharedArrayBuffer or a view over one): browsers refuse it; copy it into an ArrayBuffer first')
  }
  if (!isSendData(data)) {
    throw invalid('LIFELINE_INVALID_ARGUMENT', `send() expects a string, ArrayBuffer, ArrayBufferView or Blob, got ${describe(data)}`)
  }
}

class ManagedConnection implements Connection {
  readonly shared = false
  readonly share = undefined
  private disposed = false
  private unsubscribeNetwork: () => void = NOTHING
  private unsubscribeEnvironment: () => void = NOTHING

  constructor(
    private readonly adapter: SocketAdapter,
    readonly actor: LiveActor,
    options: ResolvedOptions,
  ) {
    const { network, environment } = options
    // A source whose subscribe() throws leaves nothing behind: not the actor, not the other subscription.
    try {
      if (network) this.unsubscribeNetwork = network.subscribe((online) => actor.send(online ? ONLINE : OFFLINE))
      // A hidden page only stretches the next interval (read when it is armed); showing it is a wake-up.
      if (environment) this.unsubscribeEnvironment = environment.subscribe((signal) => signal !== 'hidden' && actor.send(WAKE))
    } catch (error) {
      this.dispose()
      throw error
    }
  }

  get state(): ConnectionStateName {
    return this.adapter.state
  }

  get buffered(): number {
    return this.adapter.session?.pending ?? this.adapter.buffer?.size ?? 0
  }

  open(): void {
    this.assertUsable('open')
    this.actor.send(OPEN)
  }

  close(code?: number, reason?: string): void {
    if (this.disposed) return
    checkCloseArguments(code, reason)
    this.actor.send({ type: 'close', ...(code === undefined ? {} : { code }), ...(reason === undefined ? {} : { reason }) })
  }

  reconnect(): void {
    this.assertUsable('reconnect')
    // Called from the close a reconnect() itself caused (a plain-WebSocket habit:
    // reconnect on every unclean close): already reconnecting, and would loop forever.
    if (this.adapter.closingForReconnect) return
    this.actor.send(RECONNECT)
  }

  send(data: SendData): void {
    this.assertUsable('send')
    checkSendData(data)
    this.adapter.send(data)
  }

  on<K extends keyof ConnectionEventMap>(type: K, listener: (event: ConnectionEventMap[K]) => void): () => void {
    checkListener(type, listener)
    return this.adapter.emitter.on(type, listener)
  }

  // Safe from inside a listener, in the middle of the machine's step: the
  // adapter is marked first, so the step's remaining effects do nothing, and
  // the actor's stop, queued behind the step, cancels the timers it armed.
  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    const adapter = this.adapter
    const { unsent, unacknowledged } = adapter.dispose()
    this.unsubscribeNetwork()
    this.unsubscribeEnvironment()
    stopActor(this.actor)
    if (unsent.length > 0) {
      adapter.emitter.report(new LifelineError(
        'LIFELINE_BUFFER_DISCARDED',
        `dispose() discarded ${unsent.length} message(s) that were never sent: they can safely be sent again`,
        { messages: unsent },
      ))
    }
    if (unacknowledged.length > 0) {
      adapter.emitter.report(new LifelineError(
        'LIFELINE_UNACKNOWLEDGED_DISCARDED',
        `dispose() discarded ${unacknowledged.length} message(s) sent without an acknowledgement: they may or may not have arrived`,
        { messages: unacknowledged },
      ))
    }
    adapter.emitter.clear()
  }

  private assertUsable(method: string): void {
    if (this.disposed) throw new LifelineError('LIFELINE_DISPOSED', `${method}() on a connection that was disposed`)
  }
}

/**
 * Creates a managed connection. Options are validated at once; a bad one
 * throws a `TypeError` that names it. Connects at once unless `autoConnect` is false.
 *
 * @param platformWebSocket used unless `options.WebSocket` is given, before any global `WebSocket`: the Node
 *   entry passes `ws`, which can end a dead link without a close handshake and shows the server's ping
 *   frames (Node 22's global WebSocket does neither); its sockets accept frames up to 100 MiB
 */
export function createConnection(options: ConnectionOptions, platformWebSocket?: WebSocketConstructor): Connection {
  const given = resolveOptions(options)
  // Shared where the platform can: the share code loads on demand, so a page without `share` never pays for it.
  const own = (): Connection => createOwnedConnection(given, platformWebSocket).connection
  if (given.share === undefined) return own()
  webSocketFor(given, platformWebSocket) // missing: said now, as for a connection of its own, not in whichever tab leads
  return deferredShare(given, platformWebSocket, own) ?? own()
}

function webSocketFor(resolved: ResolvedOptions, platformWebSocket: WebSocketConstructor | undefined): WebSocketConstructor {
  const WebSocket = resolved.WebSocket ?? platformWebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (WebSocket === undefined) {
    throw new LifelineError('LIFELINE_NO_WEBSOCKET', 'No WebSocket implementation found: pass options.WebSocket (for example the default export of the ws package)')
  }
  return WebSocket
}

/**
 * A connection of this tab's own, whatever `share` says, and its reliable
 * session: what a shared connection's leader runs.
 */
export function createOwnedConnection(given: ResolvedOptions, platformWebSocket?: WebSocketConstructor): { connection: Connection; session: ReliableSession | undefined } {
  // The page's own sources unless told otherwise; the adapter and the subscriptions share them.
  const resolved: ResolvedOptions = {
    ...given,
    network: given.network === undefined ? browserNetwork() ?? false : given.network,
    environment: given.environment === undefined ? browserEnvironment() ?? false : given.environment,
  }
  const WebSocket = webSocketFor(resolved, platformWebSocket)
  const maxPayload = WebSocket === platformWebSocket ? WS_MAX_PAYLOAD : undefined
  const adapter = new SocketAdapter(resolved, WebSocket, latenessClockFor(resolved.clock), maxPayload)
  const actor = startActor(machineInput(resolved, adapter), resolved.clock, resolved.inspect)
  adapter.actor = actor
  const connection = new ManagedConnection(adapter, actor, resolved)
  if (resolved.autoConnect) actor.send(OPEN)
  return { connection, session: adapter.session }
}
