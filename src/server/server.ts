import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { Duplex } from 'node:stream'
import WebSocket, { WebSocketServer } from 'ws'
import { describe, invalid } from '../errors.js'
import { Client } from './client.js'
import { CLOSE_ABNORMAL, CLOSE_GOING_AWAY, CLOSE_INTERNAL_ERROR, CLOSE_REPLACED, closeCodeOfSocketError } from './codes.js'
import { HeartbeatServerError, messageOf } from './errors.js'
import { createServerEmitter } from './events.js'
import { answerPings, HeartbeatMonitor, sendApplicationPing, sendPingFrame } from './heartbeat.js'
import type { ConnectionHook } from './hooks.js'
import { resolveServerOptions, type ResolvedServerOptions } from './options.js'
import { MemorySessionStore, ReliableDelivery } from './reliable.js'
import type { ProtocolError } from '../reliable/protocol.js'
import { ClientRegistry } from './registry.js'
import type {
  DisconnectReason,
  HeartbeatServer,
  HeartbeatServerEventMap,
  HeartbeatServerOptions,
  InboundData,
  ServerAddress,
  ServerSendData,
  SessionState,
} from './types.js'
import { handleUpgrade, refuse, type UpgradeContext } from './upgrade.js'

const EVENT_TYPES = new Set<string>(['connection', 'message', 'disconnect', 'error', 'session-lost'])

/** The server's own answer to plain HTTP requests: it only speaks WebSocket. */
function upgradeRequired(_request: IncomingMessage, response: ServerResponse): void {
  const body = '426 Upgrade Required\n'
  response.writeHead(426, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Upgrade: 'websocket' })
  response.end(body)
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
}

function checkSendData(method: string, data: unknown): asserts data is ServerSendData {
  if (!(typeof data === 'string' || data instanceof ArrayBuffer || ArrayBuffer.isView(data))) {
    throw invalid('LIFELINE_INVALID_ARGUMENT', `${method}() expects a string, Buffer, ArrayBuffer or typed array, got ${describe(data)}`)
  }
}

class NodeHeartbeatServer implements HeartbeatServer {
  readonly listening: Promise<ServerAddress>
  private readonly http: HttpServer | HttpsServer
  private readonly ownsHttp: boolean
  private readonly wss: WebSocketServer
  private readonly registry = new ClientRegistry()
  private readonly emitter = createServerEmitter()
  private readonly hooks: readonly ConnectionHook[]
  private readonly reliable: ReliableDelivery | undefined
  private readonly memoryStore: MemorySessionStore | undefined
  private readonly receivers: readonly ConnectionHook[]
  // Every admitted socket until its 'close', registered or not: close() waits for all.
  private readonly sockets = new Set<WebSocket>()
  private readonly upgrades: UpgradeContext
  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void =>
    handleUpgrade(this.upgrades, request, socket, head)
  private closed: Promise<void> | undefined
  private allSocketsClosed: (() => void) | undefined

  constructor(private readonly options: ResolvedServerOptions) {
    this.ownsHttp = options.server === undefined
    this.http = options.server ?? createServer(upgradeRequired)
    this.wss = new WebSocketServer({ noServer: true, clientTracking: false, maxPayload: options.maxPayload })
    if (options.delivery === 'reliable') {
      this.memoryStore = options.sessionStore === undefined ? new MemorySessionStore((state) => this.sessionExpired(state)) : undefined
      this.reliable = new ReliableDelivery({
        ttl: options.sessionTtl,
        maxUnacknowledged: options.maxUnacknowledged,
        store: options.sessionStore ?? this.memoryStore!,
        deliver: (client, data) => this.emitter.emit('message', { name: client.name, data, socket: client.socket }),
        fail: (client, error) => this.failProtocol(client, error),
        lost: (state) => this.reportLost(state),
        report: (error, client) => this.emitter.report(new HeartbeatServerError('LIFELINE_HOOK_FAILED', `sessionStore failed for client "${client}": ${messageOf(error)}`, { cause: error, client })),
      })
    }
    this.hooks = this.createHooks()
    this.receivers = this.hooks.filter((hook) => hook.receive !== undefined)
    this.upgrades = {
      options,
      wss: this.wss,
      pending: new Set(),
      isClosing: () => this.closed !== undefined,
      isConnected: (name) => this.registry.has(name),
      sharesUpgrades: () => this.http.listenerCount('upgrade') > 1,
      admit: (name, socket, request) => this.admit(name, socket, request),
      report: (error) => this.emitter.report(error),
    }
    this.http.on('upgrade', this.onUpgrade)
    this.listening = this.listen()
  }

  get clients(): ReadonlyMap<string, WebSocket> {
    return this.registry.view
  }

  address(): ServerAddress | null {
    const info = this.http.address()
    return info === null || typeof info === 'string' ? null : { port: info.port, host: info.address }
  }

  send(name: string, data: ServerSendData): boolean {
    checkSendData('send', data)
    if (this.reliable) return this.reliable.send(name, data)
    const socket = this.registry.get(name)?.socket
    if (socket === undefined || socket.readyState !== WebSocket.OPEN) return false
    socket.send(data)
    return true
  }

  broadcast(data: ServerSendData, filter?: (name: string, socket: WebSocket) => boolean): number {
    checkSendData('broadcast', data)
    if (filter !== undefined && typeof filter !== 'function') {
      throw invalid('LIFELINE_INVALID_ARGUMENT', `broadcast() filter must be a function, got ${describe(filter)}`)
    }
    let sent = 0
    if (this.reliable) {
      for (const name of [...this.reliable.names()]) {
        const socket = this.registry.get(name)?.socket
        if ((filter === undefined || (socket !== undefined && filter(name, socket))) && this.reliable.send(name, data)) sent++
      }
      return sent
    }
    for (const { name, socket } of this.registry.values()) {
      if (socket.readyState !== WebSocket.OPEN || (filter !== undefined && !filter(name, socket))) continue
      socket.send(data)
      sent++
    }
    return sent
  }

  on<K extends keyof HeartbeatServerEventMap>(type: K, listener: (event: HeartbeatServerEventMap[K]) => void): () => void {
    if (!EVENT_TYPES.has(type)) {
      throw invalid('LIFELINE_INVALID_ARGUMENT', `on() event type must be one of ${[...EVENT_TYPES].join(', ')}, got ${describe(type)}`)
    }
    if (typeof listener !== 'function') {
      throw invalid('LIFELINE_INVALID_ARGUMENT', `on('${type}') expects a listener function, got ${describe(listener)}`)
    }
    return this.emitter.on(type, listener)
  }

  close(): Promise<void> {
    this.closed ??= this.shutDown()
    return this.closed
  }

  private createHooks(): ConnectionHook[] {
    const { heartbeat } = this.options
    const reliable = this.reliable ? [this.reliable] : []
    if (heartbeat === false) return reliable
    const report = (error: HeartbeatServerError): void => this.emitter.report(error)
    const probe = heartbeat.mode === 'server' ? sendApplicationPing(heartbeat.ping, report) : sendPingFrame
    const monitor = new HeartbeatMonitor(heartbeat, (client) => {
      this.release(client, 'heartbeat-timeout', CLOSE_ABNORMAL)
      client.socket.terminate()
    }, probe)
    // The monitor goes first: a ping is a sign of life too.
    return [monitor, answerPings(heartbeat, report), ...reliable]
  }

  private listen(): Promise<ServerAddress> {
    const http = this.http
    const target = this.options.listen
    const listening = new Promise<ServerAddress>((resolve, reject) => {
      const ready = (): void => resolve(this.address() ?? { port: 0, host: '' })
      if (target === undefined) {
        if (http.listening) ready()
        else http.once('listening', ready)
        return
      }
      http.on('error', (error) => {
        const failure = new HeartbeatServerError('LIFELINE_LISTEN_FAILED', `The HTTP server on ${target.host}:${target.port} failed: ${error.message}`, { cause: error })
        reject(failure)
        this.emitter.report(failure)
      })
      http.listen(target.port, target.host, ready)
    })
    // Awaiting `listening` is optional; a failure must not become an unhandled rejection.
    listening.catch(() => {})
    return listening
  }

  private admit(name: string, socket: WebSocket, request: IncomingMessage): void {
    const client = new Client(name, socket, request)
    this.sockets.add(socket)
    socket.on('message', (data, isBinary) => this.receive(client, data, isBinary))
    socket.on('error', (error) => this.fail(client, error))
    socket.on('close', (code) => this.closedBy(client, code))
    const previous = this.registry.put(client)
    for (const hook of this.hooks) hook.attach?.(client)
    if (previous !== undefined) {
      this.release(previous, 'replaced', CLOSE_REPLACED)
      this.closeWithin(previous.socket, CLOSE_REPLACED, 'replaced')
    }
    this.emitter.emit('connection', { name, socket, request })
  }

  // The hot path: one call per inbound frame.
  private receive(client: Client, raw: WebSocket.RawData, isBinary: boolean): void {
    if (client.endedBy !== undefined) return
    const data: InboundData = isBinary ? toBuffer(raw) : raw.toString()
    for (const hook of this.receivers) if (hook.receive?.(client, data, isBinary) === true) return
    this.emitter.emit('message', { name: client.name, data, socket: client.socket })
  }

  private fail(client: Client, error: Error): void {
    this.emitter.report(new HeartbeatServerError(
      'LIFELINE_SOCKET_ERROR',
      `Client "${client.name}" was disconnected: ${messageOf(error)}`,
      { cause: error, client: client.name },
    ), false) // the disconnect event already tells the application
    this.release(client, 'error', closeCodeOfSocketError(error) ?? CLOSE_ABNORMAL)
    // ws has sent its close frame; bound the wait for the client's answer.
    this.closeWithin(client.socket, CLOSE_INTERNAL_ERROR, '')
  }

  private failProtocol(client: Client, error: ProtocolError): void {
    this.emitter.report(new HeartbeatServerError('LIFELINE_SOCKET_ERROR', `Client "${client.name}" broke the reliable-delivery protocol: ${error.message}`, { cause: error, client: client.name }))
    this.release(client, 'error', error.code)
    this.closeWithin(client.socket, error.code, error.message.slice(0, 120))
  }

  private sessionExpired(state: SessionState): void {
    this.reliable?.expired(state)
    this.reportLost(state)
  }

  private reportLost(state: SessionState): void {
    if (state.unacknowledged.length > 0) {
      this.emitter.emit('session-lost', { name: state.name, lost: state.unacknowledged.length, messages: state.unacknowledged })
    }
  }

  private closedBy(client: Client, code: number): void {
    this.sockets.delete(client.socket)
    this.release(client, 'closed', code)
    if (this.sockets.size === 0) this.allSocketsClosed?.()
  }

  /** Lets go of a client exactly once: registry, hooks, then its `disconnect` event. */
  private release(client: Client, reason: DisconnectReason, code: number): void {
    if (client.endedBy !== undefined) return
    client.endedBy = reason
    this.registry.remove(client)
    for (const hook of this.hooks) hook.detach?.(client, reason)
    this.emitter.emit('disconnect', { name: client.name, socket: client.socket, code, reason })
  }

  /** Starts a close handshake; a client that does not finish it within `closeTimeout` is terminated. */
  private closeWithin(socket: WebSocket, code: number, reason: string): void {
    if (socket.readyState === WebSocket.CLOSED) return
    if (socket.readyState === WebSocket.OPEN) socket.close(code, reason)
    const timer = setTimeout(() => socket.terminate(), this.options.closeTimeout).unref()
    socket.once('close', () => clearTimeout(timer))
  }

  private async shutDown(): Promise<void> {
    this.http.removeListener('upgrade', this.onUpgrade)
    for (const socket of this.upgrades.pending) refuse(socket, 503)
    this.upgrades.pending.clear()
    for (const client of [...this.registry.values()]) {
      this.release(client, 'server-close', CLOSE_GOING_AWAY)
      this.closeWithin(client.socket, CLOSE_GOING_AWAY, 'server closing')
    }
    for (const hook of this.hooks) hook.stop?.()
    this.memoryStore?.clear()
    if (this.sockets.size > 0) await new Promise<void>((resolve) => (this.allSocketsClosed = resolve))
    this.wss.close()
    if (!this.ownsHttp) return
    const bound = await this.listening.then(() => true, () => false)
    if (!bound) return
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve())
      this.http.closeAllConnections()
    })
  }
}

/**
 * Creates the server half of lifeline: WebSocket upgrades on one path,
 * clients named and registered, heartbeats answered, dead links found.
 * Options are validated at once; a bad one throws a `TypeError` that names it.
 * With `port` it creates an HTTP server and starts listening (see
 * `listening`); with `server` it attaches to yours.
 */
export function createHeartbeatServer(options: HeartbeatServerOptions): HeartbeatServer {
  return new NodeHeartbeatServer(resolveServerOptions(options))
}
