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
import type { AddressInfo, Socket } from 'node:net'
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

interface Known {
  message: ActorMessage
  /** JSON bytes of each kept step, in order. */
  sizes: number[]
  bytes: number
  receivedAt: number
  status: 'running' | 'stopped' | 'disconnected'
  app: WebSocket
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

/** Host headers of the relay's own page. */
function allowedHosts(host: string, port: number): string[] {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]', host.includes(':') ? `[${host}]` : host])
  return [...names].map((name) => `${name}:${port}`)
}

function refuse(socket: Socket, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`)
}

/** Starts the relay and its page. */
export async function startRelay(options: RelayOptions = {}): Promise<Relay> {
  const { port = 9797, host = '127.0.0.1' } = options
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

  const remember = (message: ActorMessage, app: WebSocket): void => {
    const sizes = message.trace.steps.map((s) => JSON.stringify(s).length)
    const entry: Known = { message, sizes, bytes: sizes.reduce((a, b) => a + b, 0), receivedAt: Date.now(), status: 'running', app }
    keep(entry)
    known.set(message.id, entry)
    if (known.size <= MAX_ACTORS) return
    const oldest = [...known.values()].find((e) => e.status !== 'running') ?? known.values().next().value!
    known.delete(oldest.message.id)
  }

  const serveApp = (app: WebSocket): void => {
    let bad = 0
    app.on('message', (data, isBinary) => {
      let message: RelayMessage
      try {
        if (isBinary) throw new Error('binary frame')
        message = parseMessage(String(data))
      } catch {
        if (++bad > MAX_BAD_MESSAGES) app.close(1008, 'too many invalid messages')
        return
      }
      const entry = known.get(message.id)
      if (message.type === 'lifeline.actor') remember(message, app)
      else if (entry === undefined || entry.app !== app) return // an id this app never announced
      else if (message.type === 'lifeline.step') {
        const size = String(data).length
        if (size > MAX_STEP_BYTES) return void bad++
        entry.message.trace.steps.push(message.step)
        entry.sizes.push(size)
        entry.bytes += size
        keep(entry)
      } else entry.status = message.status
      toPages(message)
    })
    app.on('close', () => {
      for (const entry of known.values()) {
        if (entry.app !== app || entry.status !== 'running') continue
        entry.status = 'disconnected'
        toPages({ type: 'lifeline.status', id: entry.message.id, status: 'disconnected' })
      }
    })
    app.on('error', () => {}) // its close follows
  }

  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://relay').pathname
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
    const path = new URL(request.url ?? '/', 'http://relay').pathname
    const origin = request.headers.origin
    // The Host header too: a page of another site whose name resolves to 127.0.0.1 (DNS rebinding) has a matching Origin.
    const hostHeader = request.headers.host ?? ''
    const local = allowedHosts(host, (server.address() as AddressInfo).port).includes(hostHeader)
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
        welcome(page)
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
  const shown = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${shown}:${address.port}/`,
    port: address.port,
    async close() {
      for (const client of wss.clients) client.terminate()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
