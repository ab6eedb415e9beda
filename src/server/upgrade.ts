import { STATUS_CODES, type IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { WebSocketServer } from 'ws'
import type WebSocket from 'ws'
import { formatCloseHint } from '../hint.js'
import { CLOSE_FORBIDDEN, CLOSE_TRY_AGAIN_LATER, CLOSE_UNAUTHORIZED } from './codes.js'
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
  admit(name: string, socket: WebSocket, request: IncomingMessage): void
  report(error: HeartbeatServerError): void
}

type Verdict = { name: string } | { status: 401 | 403 | 503 }

// A refusal a browser can read: the close code after the upgrade, not the HTTP status it hides.
const REFUSAL_CLOSES: Readonly<Record<401 | 403, [number, string]>> = {
  401: [CLOSE_UNAUTHORIZED, 'unauthorized'],
  403: [CLOSE_FORBIDDEN, 'forbidden'],
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

/** The request's path for an error message: the query may hold credentials (`?token=`), so its values never appear. */
export function redactedUrl(url: URL): string {
  const names = [...new Set(url.searchParams.keys())]
  return names.length === 0 ? url.pathname : `${url.pathname}?${names.map((n) => `${encodeURIComponent(n)}=…`).join('&')}`
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
  const gone = (): void => {
    if (context.pending.delete(socket)) socket.destroy()
  }
  socket.once('close', gone)
  socket.once('end', gone)
  const { upgradeTimeout } = context.options
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<Verdict>((resolve) => {
    timer = setTimeout(() => {
      context.report(new HeartbeatServerError('LIFELINE_HOOK_FAILED', `identify and verify did not settle within upgradeTimeout (${upgradeTimeout} ms) for ${redactedUrl(url)}; refused with 503`))
      resolve({ status: 503 })
    }, upgradeTimeout).unref()
  })
  Promise.race([decide(context, request, url), deadline]).then((verdict) => {
    clearTimeout(timer)
    socket.off('close', gone)
    socket.off('end', gone)
    // Gone from `pending`: close() already answered it, or the client left.
    if (!context.pending.delete(socket)) return
    const { options } = context
    if ('status' in verdict) {
      const close = verdict.status === 503 || options.refusal === 'status' ? undefined : REFUSAL_CLOSES[verdict.status]
      return close === undefined ? refuse(socket, verdict.status) : turnAway(context, request, socket, head, ...close)
    }
    // Checked here, not before the hooks: the registry is read and written in
    // the same tick, so two upgrades for one name cannot both pass.
    const connected = context.isConnected(verdict.name)
    if (options.duplicate === 'reject' && connected) return refuse(socket, 409)
    if (!connected && context.clientCount() >= options.maxClients) {
      const hint = formatCloseHint({ retryAfter: options.maxClientsRetryAfter, message: 'over capacity' })
      return turnAway(context, request, socket, head, CLOSE_TRY_AGAIN_LATER, hint)
    }
    // ws answers a malformed handshake with 400 itself, and destroys a socket the client already closed.
    context.wss.handleUpgrade(request, socket, head, (ws) => context.admit(verdict.name, ws, request))
    socket.off('error', ignore)
  }).catch((thrown: unknown) => {
    // Reached only through a bug in admit() or a listener ws could not catch.
    context.pending.delete(socket)
    context.report(new HeartbeatServerError('LIFELINE_HOOK_FAILED', `Upgrade failed: ${messageOf(thrown)}`, { cause: thrown }))
    socket.destroy()
  })
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
    ws.close(code, reason)
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
