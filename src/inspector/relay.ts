/**
 * The relay of `npx lifeline-ws inspect`: an HTTP server on 127.0.0.1 that
 * serves the inspector page (this package's own modules, no bundle, no
 * network) and two WebSocket paths: Node processes send their connections'
 * steps to /app, pages follow them on /page. It keeps the recent steps of
 * every connection for pages that open later, and bounds everything.
 *
 * Any web page can open a WebSocket to 127.0.0.1: /page only accepts the
 * relay's own origin (what it relays is the inside of the apps'
 * connections), and /app refuses browsers altogether (they send an Origin).
 */
import { readFile } from 'node:fs/promises'
import http from 'node:http'
import { isIP, type AddressInfo, type Socket } from 'node:net'
import { dirname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WebSocketServer, type WebSocket } from 'ws'
import { APP_PATH, encode, MAX_MESSAGE_BYTES, PAGE_PATH, parseMessage, type ActorMessage, type RelayMessage } from './protocol.js'

/** Options of {@link startRelay}. */
export interface RelayOptions {
  /** @default 9797 */
  port?: number
  /** @default '127.0.0.1' */
  host?: string
  /**
   * Told, one line each, of what the relay refused or could not handle: the
   * first message it refused of each app (invalid, too large, or announcing
   * another app's connection), an app closed after 50 of them, a message it
   * could not handle. What an app sent appears only bounded and without
   * control characters.
   * @default nothing is said (`npx lifeline-ws inspect` prints them on stderr)
   */
  log?: (line: string) => void
}

/** A running relay. */
export interface Relay {
  /** The page's address, e.g. `http://127.0.0.1:9797/`. */
  readonly url: string
  readonly port: number
  close(): Promise<void>
}

const KEPT_STEPS = 500
/** Bytes of steps kept per connection (JSON): older steps go first. */
const KEPT_BYTES = 1024 * 1024
/** Largest step accepted (a real one is a few hundred bytes). */
const MAX_STEP_BYTES = 64 * 1024
const MAX_ACTORS = 200
const MAX_PAGES = 50
const MAX_PAGE_BUFFER = 8 * 1024 * 1024
const MAX_BAD_MESSAGES = 50

/** An app's link to the relay, numbered for the log. */
interface App {
  readonly socket: WebSocket
  readonly number: number
  bad: number
}

interface Known {
  message: ActorMessage
  /** JSON bytes of each kept step, in order. */
  sizes: number[]
  bytes: number
  receivedAt: number
  status: 'running' | 'stopped' | 'disconnected'
  app: App
}

// The modules of this package, as compiled (dist/) or as sources (a clone, run through tsx).
const here = dirname(fileURLToPath(import.meta.url))
const fromSource = import.meta.url.endsWith('.ts')
const packageRoot = join(here, '..', '..')

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>lifeline inspector</title><link rel="icon" href="data:,">
<style>body { margin: 0; background: #f4f6fa; font: 14px/1.45 system-ui, sans-serif; } main { padding: 16px; }</style>
</head><body><main id="inspector"></main><script type="module" src="/src/inspector/page.js"></script></body></html>`

const transformed = new Map<string, string>()

async function moduleSource(path: string): Promise<string | undefined> {
  if (!/^\/(src|machines)\/[\w/.-]+\.js$/.test(path) || path.includes('..')) return undefined
  const file = normalize(join(packageRoot, fromSource ? path.replace(/\.js$/, '.ts') : path))
  if (!file.startsWith(packageRoot + sep)) return undefined
  if (!fromSource) return readFile(file, 'utf8').catch(() => undefined)
  const cached = transformed.get(file)
  if (cached !== undefined) return cached
  const source = await readFile(file, 'utf8').catch(() => undefined)
  if (source === undefined) return undefined
  // Running from a clone (tsx): types stripped by esbuild, a development dependency.
  const { transform } = await import('esbuild')
  const { code } = await transform(source, { loader: 'ts', format: 'esm', target: 'es2022' })
  transformed.set(file, code)
  return code
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]'])
const WILDCARDS = new Set(['0.0.0.0', '::', ''])

/**
 * Whether `hostHeader` names the relay's own page: a loopback name, the
 * configured host, or any IP address (a page reached by another interface
 * when listening on 0.0.0.0), on the relay's port. Never another name: a
 * page of another site whose name resolves to the relay (DNS rebinding)
 * sends its own name.
 */
export function isOwnHost(hostHeader: string, host: string, port: number): boolean {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+):(\d+)$/i.exec(hostHeader)
  if (match === null || Number(match[2]) !== port) return false
  const name = match[1]!.toLowerCase()
  const configured = host.includes(':') ? `[${host.toLowerCase()}]` : host.toLowerCase()
  return LOOPBACK_NAMES.has(name) || name === configured || isIP(name.replace(/^\[|\]$/g, '')) !== 0
}

/** The page's address to show: a wildcard host is reached on loopback. */
export function pageUrl(host: string, port: number): string {
  const shown = WILDCARDS.has(host) ? (host === '::' ? '[::1]' : '127.0.0.1') : host.includes(':') ? `[${host}]` : host
  return `http://${shown}:${port}/`
}

// A line of the log: control characters (a terminal's escapes), bidirectional overrides and length taken out of what an app chose.
const loggable = (text: string): string => text.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g, '?').slice(0, 300)

/** The path of a request, or undefined for a request target no URL parser accepts (`GET http://[`). */
function pathOf(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? '/', 'http://relay').pathname
  } catch {
    return undefined
  }
}

function refuse(socket: Socket, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`)
}

/** Starts the relay and its page. */
export async function startRelay(options: RelayOptions = {}): Promise<Relay> {
  const { port = 9797, host = '127.0.0.1', log = () => {} } = options
  const say = (line: string): void => {
    try {
      log(loggable(line))
    } catch {
      // A log that throws must not take the relay down with it.
    }
  }
  let apps = 0
  const known = new Map<string, Known>()
  const pages = new Set<WebSocket>()
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES })

  const toPages = (message: RelayMessage): void => {
    const text = encode(message)
    for (const page of pages) {
      if (page.bufferedAmount > MAX_PAGE_BUFFER) page.terminate() // a page that stopped reading
      else page.send(text)
    }
  }

  const welcome = (page: WebSocket): void => {
    for (const entry of known.values()) {
      page.send(encode({ ...entry.message, now: entry.message.now + (Date.now() - entry.receivedAt) }))
      if (entry.status !== 'running') page.send(encode({ type: 'lifeline.status', id: entry.message.id, status: entry.status }))
    }
  }

  const keep = (entry: Known): void => {
    const { trace } = entry.message
    while (trace.steps.length > KEPT_STEPS || (entry.bytes > KEPT_BYTES && trace.steps.length > 1)) {
      trace.steps.shift()
      entry.bytes -= entry.sizes.shift() ?? 0
      trace.dropped++
    }
  }

  const remember = (message: ActorMessage, app: App): void => {
    const sizes = message.trace.steps.map((s) => JSON.stringify(s).length)
    const entry: Known = { message, sizes, bytes: sizes.reduce((a, b) => a + b, 0), receivedAt: Date.now(), status: 'running', app }
    keep(entry)
    known.set(message.id, entry)
    if (known.size <= MAX_ACTORS) return
    const oldest = [...known.values()].find((e) => e.status !== 'running') ?? known.values().next().value!
    known.delete(oldest.message.id)
  }

  // The first of an app's refused messages is told; after MAX_BAD_MESSAGES the app is closed.
  const refused = (app: App, line: string): void => {
    if (++app.bad === 1) say(`app ${app.number}: ${line}`)
    if (app.bad > MAX_BAD_MESSAGES) {
      say(`app ${app.number}: closed after ${MAX_BAD_MESSAGES} invalid messages`)
      app.socket.close(1008, 'too many invalid messages')
    }
  }

  const receive = (app: App, data: WebSocket.RawData, isBinary: boolean): void => {
    let message: RelayMessage
    try {
      if (isBinary) throw new Error('binary frame')
      message = parseMessage(String(data))
    } catch (error) {
      return refused(app, `dropped an invalid message: ${error instanceof Error ? error.message : 'unreadable'}`)
    }
    const entry = known.get(message.id)
    if (message.type === 'lifeline.actor') {
      // Another app's connection, while that app is still linked: a second process chose the same id.
      if (entry !== undefined && entry.app !== app && entry.app.socket.readyState === entry.app.socket.OPEN) {
        return refused(app, `refused to announce ${JSON.stringify(message.id.slice(0, 60))}, a connection app ${entry.app.number} announced`)
      }
      remember(message, app)
    } else if (entry === undefined || entry.app !== app) return // an id this app never announced
    else if (message.type === 'lifeline.step') {
      const size = String(data).length
      if (size > MAX_STEP_BYTES) return refused(app, `dropped a step of ${size} bytes (at most ${MAX_STEP_BYTES})`)
      entry.message.trace.steps.push(message.step)
      entry.sizes.push(size)
      entry.bytes += size
      keep(entry)
    } else entry.status = message.status
    toPages(message)
  }

  const disconnected = (app: App): void => {
    for (const entry of known.values()) {
      if (entry.app !== app || entry.status !== 'running') continue
      entry.status = 'disconnected'
      toPages({ type: 'lifeline.status', id: entry.message.id, status: 'disconnected' })
    }
  }

  // Nothing an app sends may throw out of a ws listener (that would end the process): a failure drops the app.
  const guarded = <A extends unknown[]>(app: App, handle: (...args: A) => void) => (...args: A): void => {
    try {
      handle(...args)
    } catch (error) {
      say(`app ${app.number}: could not handle a message (${error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error'}); dropped the app`)
      app.socket.close(1011, 'the relay could not handle a message')
    }
  }

  const serveApp = (socket: WebSocket): void => {
    const app: App = { socket, number: ++apps, bad: 0 }
    socket.on('message', guarded(app, (data: WebSocket.RawData, isBinary: boolean) => receive(app, data, isBinary)))
    socket.on('close', guarded(app, () => disconnected(app)))
    socket.on('error', () => {}) // its close follows
  }

  const server = http.createServer((request, response) => {
    const path = pathOf(request.url)
    if (path === undefined) return void response.writeHead(400).end()
    if (request.method !== 'GET') return void response.writeHead(405).end()
    if (path === '/' || path === '/index.html') return void response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(PAGE)
    void moduleSource(path).then(
      (code) => {
        if (code === undefined) response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found')
        else response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(code)
      },
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('Could not read the module'),
    )
  })

  server.on('upgrade', (request, socket: Socket, head) => {
    const path = pathOf(request.url)
    if (path === undefined) return refuse(socket, 400, 'Bad Request')
    const origin = request.headers.origin
    // The Host header too: a page of another site whose name resolves to 127.0.0.1 (DNS rebinding) has a matching Origin.
    const hostHeader = request.headers.host ?? ''
    const local = isOwnHost(hostHeader, host, (server.address() as AddressInfo).port)
    if (path === APP_PATH) {
      if (origin !== undefined) return refuse(socket, 403, 'Forbidden: apps connect from Node, not from a page')
      wss.handleUpgrade(request, socket, head, serveApp)
    } else if (path === PAGE_PATH) {
      if (!local || origin !== `http://${hostHeader}`) return refuse(socket, 403, 'Forbidden: only the relay\'s own page may follow connections')
      if (pages.size >= MAX_PAGES) return refuse(socket, 503, 'Too many inspector pages')
      wss.handleUpgrade(request, socket, head, (page) => {
        pages.add(page)
        page.on('close', () => pages.delete(page))
        page.on('error', () => {})
        page.on('message', () => {}) // pages have nothing to say
        try {
          welcome(page)
        } catch (error) {
          say(`a page could not be greeted (${error instanceof Error ? error.message : 'unknown error'})`)
          page.close(1011, 'the relay could not send its connections')
        }
      })
    } else {
      refuse(socket, 404, 'Not found')
    }
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  return {
    url: pageUrl(host, address.port),
    port: address.port,
    async close() {
      for (const client of wss.clients) client.terminate()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
