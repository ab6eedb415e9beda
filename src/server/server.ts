import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { Duplex } from 'node:stream'
import WebSocket, { WebSocketServer } from 'ws'
import { describe, invalid } from '../errors.js'
import { Client, clientOf } from './client.js'
import { envelopeBytes, type ProtocolError } from '../reliable/protocol.js'
import { fitCloseReason } from '../utf8.js'
import { CLOSE_ABNORMAL, CLOSE_INTERNAL_ERROR, CLOSE_REPLACED, CLOSE_SLOW_CONSUMER, closeCodeOfSocketError } from './codes.js'
import { HeartbeatServerError, messageOf } from './errors.js'
import { createServerEmitter } from './events.js'
import { answerPings, HeartbeatMonitor, PLAIN_PINGS, pingFrames, sendApplicationPing, type Write } from './heartbeat.js'
import type { ConnectionHook } from './hooks.js'
import { closeFrameOf, disconnectFrameOf, resolveServerOptions, type ResolvedServerOptions } from './options.js'
import type { ClusterMember, ReliableHook } from './cluster.js'
import { ReliableDelivery, type Delivery, type ReliableContext } from './reliable.js'
import { ClientRegistry } from './registry.js'
import { sizeOf, type Outbound } from './session.js'
import type {
  DisconnectOptions,
  DisconnectReason,
  HeartbeatServer,
  HeartbeatServerEventMap,
  HeartbeatServerOptions,
  InboundData,
  ServerAddress,
  ServerCloseOptions,
  ServerSendData,
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

// A snapshot: the caller may reuse its buffer once send() returned, and a session may send it again after a reconnect.
function toOutbound(data: ServerSendData): Outbound {
  if (typeof data === 'string') return data
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
  return new Uint8Array(data.slice(0))
}

class NodeHeartbeatServer implements HeartbeatServer {
  readonly listening: Promise<ServerAddress>
  private readonly http: HttpServer | HttpsServer
  private readonly ownsHttp: boolean
  private readonly wss: WebSocketServer
  private readonly registry = new ClientRegistry()
  private readonly emitter = createServerEmitter()
  private readonly hooks: readonly ConnectionHook[]
  private readonly reliable: ReliableHook | undefined
  private readonly receivers: readonly ConnectionHook[]
  // Every admitted socket until its 'close', registered or not: close() waits for all.
  private readonly sockets = new Set<WebSocket>()
  private readonly upgrades: UpgradeContext
  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void =>
    handleUpgrade(this.upgrades, request, socket, head)
  // Shared by every client's socket, which leads to its client: three closures per client were 0.3 KB each at 10,000 clients.
  private readonly socketListeners = this.createSocketListeners()
  private closed: Promise<void> | undefined
  private allSocketsClosed: (() => void) | undefined
  private connections = 0
  private readonly joined: Promise<void>

  constructor(private readonly options: ResolvedServerOptions) {
    this.ownsHttp = options.server === undefined
    this.http = options.server ?? createServer(upgradeRequired)
    this.wss = new WebSocketServer({ noServer: true, clientTracking: false, maxPayload: options.maxPayload })
    if (options.delivery === 'reliable') {
      const context: ReliableContext = {
        ttl: options.sessionTtl,
        limits: { maxMessages: options.maxUnacknowledged, maxBytes: options.maxUnacknowledgedBytes },
        maxBufferedBytes: options.maxBufferedBytes,
        maxPayload: options.maxPayload,
        store: options.sessionStore,
        storeTimeout: options.sessionStoreTimeout,
        deliver: (client, data, seq, session) => this.emitter.emit('message', { name: client.name, data, socket: client.socket, seq, session }),
        fail: (client, error) => this.failProtocol(client, error),
        slow: (client, why) => this.slowConsumer(client, why),
        drop: (client, reason, code, why) => {
          this.release(client, reason, code)
          this.closeWithin(client.socket, code, why)
        },
        report: (error) => this.emitter.report(error),
        lost: (event) => this.emitter.emit('session-lost', event),
      }
      this.reliable = options.cluster?.reliable?.(context) ?? new ReliableDelivery(context)
    }
    this.hooks = this.createHooks()
    this.receivers = this.hooks.filter((hook) => hook.receive !== undefined)
    this.upgrades = {
      options,
      wss: this.wss,
      pending: new Set(),
      isClosing: () => this.closed !== undefined,
      isConnected: (name) => this.registry.has(name),
      clientCount: () => this.registry.size,
      sharesUpgrades: () => this.http.listenerCount('upgrade') > 1,
      connectionId: () => String(++this.connections),
      claim: options.cluster === undefined ? undefined : (name, connection) => this.joined.then(() => options.cluster!.claim(name, connection, options.duplicate)),
      unclaim: (name, connection) => options.cluster?.release(name, connection),
      admit: (name, socket, request, connection) => this.admit(name, socket, request, connection),
      report: (error) => this.emitter.report(error),
    }
    this.joined = options.cluster === undefined ? Promise.resolve() : options.cluster.join(this.member())
    this.http.on('upgrade', this.onUpgrade)
    // A node is ready once it also joined its cluster: before that it could not reach other nodes' clients.
    this.listening = Promise.all([this.listen(), this.joined]).then(([address]) => address)
    this.listening.catch(() => {})
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
    if (this.reliable) {
      const outbound = toOutbound(data)
      const delivery = this.reliable.send(name, outbound, this.registry.get(name))
      // The limit is the client's to say: refused and reported, never a throw into the application's code.
      if (delivery === 'too-large' || delivery === 'oversized') this.emitter.report(this.refused(`send() to "${name}"`, outbound, delivery, this.reliable.limitOf(name), name))
      return delivery === 'sent'
    }
    const client = this.registry.get(name)
    if (client !== undefined) return this.sendPlain(client, data)
    return this.options.cluster?.send(name, toOutbound(data)) ?? false
  }

  broadcast(data: ServerSendData, filter?: (name: string, socket: WebSocket | undefined) => boolean): number {
    checkSendData('broadcast', data)
    if (filter !== undefined && typeof filter !== 'function') {
      throw invalid('LIFELINE_INVALID_ARGUMENT', `broadcast() filter must be a function, got ${describe(filter)}`)
    }
    let sent = 0
    if (this.reliable?.broadcast !== undefined && filter === undefined) return this.reliable.broadcast(toOutbound(data), this.registry.values())
    if (this.reliable) {
      const outbound = toOutbound(data)
      const names = new Set(this.reliable.names())
      for (const client of this.registry.values()) names.add(client.name)
      let refused = 0
      let why: Delivery = 'too-large'
      let limit: number | undefined
      for (const name of names) {
        const client = this.registry.get(name)
        if (filter !== undefined && !filter(name, client?.socket)) continue
        const delivery: Delivery = this.reliable.send(name, outbound, client)
        if (delivery === 'sent') sent++
        else if (delivery === 'too-large' || delivery === 'oversized') {
          refused++
          why = delivery
          limit = Math.min(limit ?? Infinity, this.reliable.limitOf(name) ?? Infinity)
        }
      }
      if (refused > 0) this.emitter.report(this.refused(`broadcast() to ${refused} client(s)`, outbound, why, limit, undefined))
      return sent
    }
    for (const client of [...this.registry.values()]) {
      if (filter !== undefined && !filter(client.name, client.socket)) continue
      if (this.sendPlain(client, data)) sent++
    }
    // A filter is a function: it cannot travel to other nodes.
    if (filter === undefined) this.options.cluster?.broadcast(toOutbound(data))
    return sent
  }

  /** What this server offers the cluster it joins. */
  private member(): ClusterMember {
    return {
      deliver: (name, data) => {
        const client = this.registry.get(name)
        if (this.reliable !== undefined) {
          if (this.reliable.send(name, data, client, true) !== 'sent') {
            this.emitter.report(new HeartbeatServerError('LIFELINE_NOT_DELIVERED', `A message for "${name}" from another node was dropped: no session of that name`, { client: name }), false)
          }
        } else if (client === undefined || !this.sendPlain(client, data)) {
          this.emitter.report(new HeartbeatServerError('LIFELINE_NOT_DELIVERED', `A message for "${name}" from another node was dropped: that client left this node`, { client: name }), false)
        }
      },
      broadcast: (data) => {
        for (const client of [...this.registry.values()]) this.sendPlain(client, data)
      },
      evict: (name, connection) => {
        const client = this.registry.get(name)
        if (client === undefined || client.connection !== connection) return
        this.release(client, 'replaced', CLOSE_REPLACED)
        this.closeWithin(client.socket, CLOSE_REPLACED, 'replaced')
      },
      report: (error, surface) => this.emitter.report(error, surface),
    }
  }

  /** Every write to a client outside reliable delivery: bounded by `maxBufferedBytes`. */
  private sendPlain(client: Client, data: ServerSendData | Outbound): boolean {
    const socket = client.socket
    if (socket.readyState !== WebSocket.OPEN) return false
    socket.send(data)
    this.checkBuffer(client)
    return true
  }

  /** Lets a client go as a slow consumer once its socket holds more than `maxBufferedBytes`; false if it did. */
  private checkBuffer(client: Client): boolean {
    if (client.socket.bufferedAmount <= this.options.maxBufferedBytes) return true
    this.slowConsumer(client, `its socket holds more than maxBufferedBytes (${this.options.maxBufferedBytes}) unsent`)
    return false
  }

  private refused(what: string, data: Outbound, why: 'too-large' | 'oversized', limit: number | undefined, client: string | undefined): HeartbeatServerError {
    const detail = why === 'oversized'
      ? `the message (${sizeOf(data)} bytes) is larger than maxUnacknowledgedBytes (${this.options.maxUnacknowledgedBytes}): no session can hold it`
      : `the message makes a ${envelopeBytes(data)}-byte reliable-delivery frame, and the client accepts at most ${limit ?? 'less'} bytes`
    return new HeartbeatServerError('LIFELINE_MESSAGE_TOO_LARGE', `${what} refused: ${detail}`, { client })
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

  disconnect(name: string, options?: DisconnectOptions): boolean {
    const { code, reason } = disconnectFrameOf(options)
    const client = this.registry.get(name)
    if (client === undefined) return false
    this.release(client, 'disconnected', code)
    this.closeWithin(client.socket, code, reason)
    return true
  }

  close(options?: ServerCloseOptions): Promise<void> {
    const frame = closeFrameOf(options)
    this.closed ??= this.shutDown(frame)
    return this.closed
  }

  private createSocketListeners(): { message: (this: WebSocket, data: WebSocket.RawData, isBinary: boolean) => void; error: (this: WebSocket, error: Error) => void; close: (this: WebSocket, code: number) => void } {
    const receive = (client: Client, data: WebSocket.RawData, isBinary: boolean): void => this.receive(client, data, isBinary)
    const fail = (client: Client, error: Error): void => this.fail(client, error)
    const closedBy = (client: Client, code: number): void => this.closedBy(client, code)
    return {
      message(data, isBinary) {
        receive(clientOf(this)!, data, isBinary)
      },
      error(error) {
        fail(clientOf(this)!, error)
      },
      close(code) {
        closedBy(clientOf(this)!, code)
      },
    }
  }

  private createHooks(): ConnectionHook[] {
    const { heartbeat } = this.options
    const reliable = this.reliable ? [this.reliable] : []
    const report = (error: HeartbeatServerError): void => this.emitter.report(error)
    // Heartbeat pings travel outside the reliable protocol: a reliable server answers them even when it watches nobody.
    const write: Write = (client, data) => this.sendPlain(client, data)
    if (heartbeat === false) return this.reliable ? [answerPings(PLAIN_PINGS, report, write), this.reliable] : []
    const checkBuffer = (client: Client): boolean => this.checkBuffer(client)
    const probe = heartbeat.mode === 'server' ? sendApplicationPing(heartbeat.ping, report, write) : pingFrames(checkBuffer)
    const monitor = new HeartbeatMonitor(heartbeat, (client) => {
      this.release(client, 'heartbeat-timeout', CLOSE_ABNORMAL)
      client.socket.terminate()
    }, probe)
    return [monitor, answerPings(heartbeat, report, write), ...reliable]
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

  private admit(name: string, socket: WebSocket, request: IncomingMessage, connection: string): void {
    const client = new Client(name, socket, connection)
    this.sockets.add(socket)
    const { message, error, close } = this.socketListeners
    socket.on('message', message)
    socket.on('error', error)
    socket.on('close', close)
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
    this.emitter.report(new HeartbeatServerError('LIFELINE_PROTOCOL_ERROR', `Client "${client.name}" broke the reliable-delivery protocol: ${error.message}`, { cause: error, client: client.name }))
    this.release(client, 'error', error.code)
    this.closeWithin(client.socket, error.code, error.reason)
  }

  /** A client that cannot keep up is let go before it makes the server hold what it does not read. */
  private slowConsumer(client: Client, why: string): void {
    if (client.endedBy !== undefined) return
    this.emitter.report(new HeartbeatServerError(
      'LIFELINE_SLOW_CONSUMER',
      `Client "${client.name}" is a slow consumer: ${why}; closing it with ${CLOSE_SLOW_CONSUMER}`,
      { client: client.name },
    ), false) // the disconnect event already tells the application
    this.release(client, 'slow-consumer', CLOSE_SLOW_CONSUMER)
    this.closeWithin(client.socket, CLOSE_SLOW_CONSUMER, 'slow consumer')
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
    this.options.cluster?.release(client.name, client.connection)
    for (const hook of this.hooks) hook.detach?.(client, reason)
    this.emitter.emit('disconnect', { name: client.name, socket: client.socket, code, reason })
  }

  /**
   * Every close the server makes: a close handshake that cannot throw (the
   * reason is cut to 123 UTF-8 bytes; a close ws refuses becomes a
   * terminate), and a client that does not finish it within `closeTimeout`
   * is terminated.
   */
  private closeWithin(socket: WebSocket, code: number, reason: string): void {
    if (socket.readyState === WebSocket.CLOSED) return
    if (socket.readyState === WebSocket.OPEN) {
      try {
        socket.close(code, fitCloseReason(reason))
      } catch {
        socket.terminate()
        return
      }
    }
    const timer = setTimeout(() => socket.terminate(), this.options.closeTimeout).unref()
    socket.once('close', () => clearTimeout(timer))
  }

  private async shutDown(frame: { code: number; reason: string }): Promise<void> {
    this.http.removeListener('upgrade', this.onUpgrade)
    for (const socket of this.upgrades.pending) refuse(socket, 503)
    this.upgrades.pending.clear()
    for (const client of [...this.registry.values()]) {
      this.release(client, 'server-close', frame.code)
      this.closeWithin(client.socket, frame.code, frame.reason)
    }
    await Promise.all(this.hooks.map((hook) => hook.stop?.()))
    if (this.sockets.size > 0) await new Promise<void>((resolve) => (this.allSocketsClosed = resolve))
    await this.joined
    await this.options.cluster?.leave()
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
