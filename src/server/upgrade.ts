import { STATUS_CODES, type IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { WebSocketServer } from 'ws'
import type WebSocket from 'ws'
import { formatCloseHint } from '../hint.js'
import { redactedUrl } from '../redact.js'
import { CLOSE_FORBIDDEN, CLOSE_TRY_AGAIN_LATER, CLOSE_UNAUTHORIZED } from './codes.js'
import { fitCloseReason } from '../utf8.js'
import { HeartbeatServerError, messageOf } from './errors.js'
import type { ResolvedServerOptions } from './options.js'

/** What the upgrade handler needs from its server. */
export interface UpgradeContext {
  readonly options: ResolvedServerOptions
  readonly wss: WebSocketServer
  /** Upgrades waiting on `identify` or `verify`; `close()` refuses them with 503. */
  readonly pending: Set<Duplex>
  isClosing(): boolean
  isConnected(name: string): boolean
  /** Clients registered now, for `maxClients`. */
  clientCount(): number
  /** Whether another `upgrade` listener may take a request for another path. */
  sharesUpgrades(): boolean
  /** A new connection's id: unique in this process. */
  connectionId(): string
  /** With a cluster: claims the name across nodes for the connection (false: refuse with 409). */
  claim: ((name: string, connection: string) => Promise<boolean>) | undefined
  /** Gives back a claim whose upgrade did not complete. */
  unclaim(name: string, connection: string): void
  admit(name: string, socket: WebSocket, request: IncomingMessage, connection: string): void
  report(error: HeartbeatServerError): void
}

type Verdict = { name: string } | { status: 401 | 403 | 409 | 503 }

// A refusal a browser can read: the close code after the upgrade, not the HTTP status it hides.
// `unread`: nothing the client sent was read, so a client may send it again.
const REFUSAL_CLOSES: Readonly<Record<401 | 403, [number, string]>> = {
  401: [CLOSE_UNAUTHORIZED, formatCloseHint({ unread: true, message: 'unauthorized' })],
  403: [CLOSE_FORBIDDEN, formatCloseHint({ unread: true, message: 'forbidden' })],
}

// Node's HTTP server stops listening for errors on a socket it hands to
// 'upgrade'; one error while a hook runs would otherwise crash the process.
// The client went away: there is nobody left to answer and nothing to report.
const ignore = (): void => {}

/**
 * Answers an upgrade with a complete HTTP/1.1 response and closes the
 * socket: a browser or proxy sees a status, not a reset connection. A
 * client that does not read the answer cannot hold the socket open: it is
 * destroyed once written, or after a second.
 */
export function refuse(socket: Duplex, status: number, headers = ''): void {
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const text = STATUS_CODES[status] ?? 'Refused'
  const body = `${status} ${text}\n`
  const timer = setTimeout(() => socket.destroy(), 1_000).unref()
  socket.once('close', () => clearTimeout(timer))
  socket.once('finish', () => socket.destroy())
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n${headers}` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}

const KEY = /^[+/0-9A-Za-z]{22}==$/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** The refusal ws would give a request that is no WebSocket handshake, checked before any hook runs. */
function handshakeProblem(request: IncomingMessage): { status: number; headers?: string } | undefined {
  if (request.method !== 'GET') return { status: 405 }
  if (request.headers.upgrade?.toLowerCase() !== 'websocket') return { status: 400 }
  const key = request.headers['sec-websocket-key']
  if (key === undefined || !KEY.test(key)) return { status: 400 }
  const version = Number(request.headers['sec-websocket-version'])
  if (version !== 13 && version !== 8) return { status: 400, headers: 'Sec-WebSocket-Version: 13, 8\r\n' }
  return undefined
}

/** The server's `upgrade` listener: path, then `identify`, `verify` and the duplicate policy, then ws. */
export function handleUpgrade(context: UpgradeContext, request: IncomingMessage, socket: Duplex, head: Buffer): void {
  let url: URL
  try {
    url = new URL(request.url ?? '/', 'http://localhost')
  } catch {
    socket.on('error', ignore)
    return refuse(socket, 400)
  }
  if (url.pathname !== context.options.path) {
    if (context.sharesUpgrades()) return
    socket.on('error', ignore)
    return refuse(socket, 404)
  }
  socket.on('error', ignore)
  if (context.isClosing()) return refuse(socket, 503)
  const problem = handshakeProblem(request)
  if (problem !== undefined) return refuse(socket, problem.status, problem.headers)
  // A hook that hangs, or upgrades arriving faster than it answers, must not exhaust sockets.
  if (context.pending.size >= context.options.maxPendingUpgrades) return refuse(socket, 503)
  context.pending.add(socket)
  let timer: NodeJS.Timeout | undefined
  const gone = (): void => {
    clearTimeout(timer)
    if (context.pending.delete(socket)) socket.destroy()
  }
  socket.once('close', gone)
  socket.once('end', gone)
  const { upgradeTimeout } = context.options
  const deadline = new Promise<Verdict>((resolve) => {
    timer = setTimeout(() => {
      context.report(new HeartbeatServerError('LIFELINE_HOOK_FAILED', `identify and verify did not settle within upgradeTimeout (${upgradeTimeout} ms) for ${redactedUrl(url)}; refused with 503`))
      resolve({ status: 503 })
    }, upgradeTimeout).unref()
  })
  const connection = context.connectionId()
  const claim = new Claim(context, connection)
  Promise.race([decide(context, request, url).then((verdict) => claim.take(verdict)), deadline]).then((verdict) => {
    clearTimeout(timer)
    socket.off('close', gone)
    socket.off('end', gone)
    claim.settled = true
    // Gone from `pending`: close() already answered it, or the client left.
    if (!context.pending.delete(socket)) return claim.giveBack()
    const { options } = context
    if ('status' in verdict) {
      claim.giveBack()
      const close = (verdict.status === 401 || verdict.status === 403) && options.refusal !== 'status' ? REFUSAL_CLOSES[verdict.status] : undefined
      return close === undefined ? refuse(socket, verdict.status) : turnAway(context, request, socket, head, ...close)
    }
    // Checked here, not before the hooks: the registry is read and written in
    // the same tick, so two upgrades for one name cannot both pass. (A
    // cluster's claim is atomic across nodes, this one's included.)
    const connected = context.isConnected(verdict.name)
    if (context.claim === undefined && options.duplicate === 'reject' && connected) return refuse(socket, 409)
    if (!connected && context.clientCount() >= options.maxClients) {
      claim.giveBack()
      const hint = formatCloseHint({ retryAfter: options.maxClientsRetryAfter, unread: true, message: 'over capacity' })
      return turnAway(context, request, socket, head, CLOSE_TRY_AGAIN_LATER, hint)
    }
    // Only until ws admits it: kept for the socket's life, it would keep this whole scope (the request, its URL, timers) for every client.
    const notAdmitted = (): void => claim.giveBack()
    socket.once('close', notAdmitted)
    // ws answers a malformed handshake with 400 itself, and destroys a socket the client already closed.
    context.wss.handleUpgrade(request, socket, head, (ws) => {
      socket.off('close', notAdmitted)
      context.admit(verdict.name, ws, request, connection)
    })
    socket.off('error', ignore)
  }).catch((thrown: unknown) => {
    // Reached only through a bug in admit() or a listener ws could not catch.
    context.pending.delete(socket)
    context.report(new HeartbeatServerError('LIFELINE_HOOK_FAILED', `Upgrade failed: ${messageOf(thrown)}`, { cause: thrown }))
    socket.destroy()
  })
}

/** A cluster-wide claim on the name, given back if the upgrade does not complete. */
class Claim {
  settled = false
  private name: string | undefined

  constructor(
    private readonly context: UpgradeContext,
    private readonly connection: string,
  ) {}

  async take(verdict: Verdict): Promise<Verdict> {
    if ('status' in verdict || this.context.claim === undefined) return verdict
    const claimed = await this.context.claim(verdict.name, this.connection)
    if (!claimed) return { status: 409 }
    this.name = verdict.name
    // Answered meanwhile (the deadline, or close()): nothing will use the claim.
    if (this.settled) this.giveBack()
    return verdict
  }

  giveBack(): void {
    if (this.name === undefined) return
    this.context.unclaim(this.name, this.connection)
    this.name = undefined
  }
}

/**
 * Accepts the upgrade only to close it at once with `code` and `reason`: a
 * close frame is what every client, browsers included, can read. The socket
 * is never admitted (no registry entry, no event, no message read) and is
 * terminated if the client does not finish the close within `closeTimeout`.
 */
function turnAway(context: UpgradeContext, request: IncomingMessage, socket: Duplex, head: Buffer, code: number, reason: string): void {
  context.wss.handleUpgrade(request, socket, head, (ws) => {
    ws.on('error', ignore)
    try {
      ws.close(code, fitCloseReason(reason))
    } catch {
      return ws.terminate()
    }
    const timer = setTimeout(() => ws.terminate(), context.options.closeTimeout).unref()
    ws.once('close', () => clearTimeout(timer))
  })
  socket.off('error', ignore)
}

async function decide(context: UpgradeContext, request: IncomingMessage, url: URL): Promise<Verdict> {
  const { identify, verify } = context.options
  const failed = (hook: string, detail: string, cause?: unknown): void =>
    context.report(new HeartbeatServerError('LIFELINE_HOOK_FAILED', `${hook} ${detail} for ${redactedUrl(url)}`, { cause }))

  let name: unknown
  try {
    name = await identify(request, url)
  } catch (thrown) {
    failed('identify', `threw "${messageOf(thrown)}"`, thrown)
    return { status: 401 }
  }
  if (name === null) return { status: 401 }
  if (typeof name !== 'string' || name === '') {
    failed('identify', `must return a non-empty string or null, returned ${typeof name === 'string' ? 'an empty string' : typeof name}`)
    return { status: 401 }
  }
  // A lone surrogate turns into U+FFFD on the wire: two such names would be one in a cluster.
  if (LONE_SURROGATE.test(name)) {
    failed('identify', 'must return a well-formed string (it returned one with a lone surrogate)')
    return { status: 401 }
  }
  if (verify === undefined) return { name }
  let admitted: unknown
  try {
    admitted = await verify(request, url, name)
  } catch (thrown) {
    failed('verify', `threw "${messageOf(thrown)}"`, thrown)
    return { status: 403 }
  }
  if (typeof admitted !== 'boolean') failed('verify', `must return true or false, returned ${typeof admitted}`)
  return admitted === true ? { name } : { status: 403 }
}
