/**
 * The demo server: static files, the page bundled from TypeScript at start,
 * lifeline/server on /ws, and fault controls acting on one client's link.
 *
 *   npm run demo                   http://127.0.0.1:8080/
 *   PORT=9000 HOST=0.0.0.0 npm run demo
 */
import { readFile } from 'node:fs/promises'
import http from 'node:http'
import type { Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { createHeartbeatServer, type HeartbeatServer } from '../src/server/index.js'

const page = (file: string) => fileURLToPath(new URL(`./page/${file}`, import.meta.url))

/** Bundles a page with the browser build of lifeline (native WebSocket, no `ws`). */
export async function bundlePage(entry = page('main.ts')): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
  })
  return result.outputFiles[0]!.text
}

/** Fault states of one client's current link; cleared when that link ends. */
interface Faults {
  muted: Set<string>
  blackholed: Set<string>
  sockets: Map<string, Socket>
}

function startHeartbeatServer(server: http.Server, faults: Faults): HeartbeatServer {
  const hb = createHeartbeatServer({
    server,
    path: '/ws',
    heartbeat: {
      // Long server-side timeouts, so a black-holed link stays open for the client to find.
      interval: 30_000,
      timeout: 30_000,
      pong: (_ping, name) => (faults.muted.has(name) || faults.blackholed.has(name) ? null : 'pong'),
    },
  })
  hb.on('connection', ({ name, request }) => {
    faults.sockets.set(name, request.socket as Socket)
    hb.send(name, 'hello client!')
  })
  hb.on('message', ({ name, data }) => {
    if (!faults.blackholed.has(name)) hb.send(name, `echo: ${typeof data === 'string' ? data : `${data.byteLength} bytes`}`)
  })
  hb.on('disconnect', ({ name }) => {
    faults.muted.delete(name)
    faults.blackholed.delete(name)
    faults.sockets.delete(name)
  })
  return hb
}

export interface Demo {
  url: string
  close(): Promise<void>
}

/** Options of {@link startDemo}. */
export interface DemoOptions {
  /** 0 picks a free port (tests). */
  port?: number
  host?: string
  /** More pages, for tests: a path such as `/plain.html` and the TypeScript entry bundled into it. */
  pages?: Record<string, string>
}

const pageHtml = (script: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>lifeline test page</title><link rel="icon" href="data:,"></head><body><main id="app"></main><script type="module" src="${script}"></script></body></html>`

/** Starts the demo server, with its fault controls, and the demo page. */
export async function startDemo({ port = 8080, host = '127.0.0.1', pages = {} }: DemoOptions = {}): Promise<Demo> {
  const [app, html, css] = await Promise.all([bundlePage(), readFile(page('index.html')), readFile(page('style.css'))])
  const faults: Faults = { muted: new Set(), blackholed: new Set(), sockets: new Map() }
  let restarting: Promise<void> | undefined

  const files: Record<string, [string, string | Buffer]> = {
    '/': ['text/html; charset=utf-8', html],
    '/index.html': ['text/html; charset=utf-8', html],
    '/style.css': ['text/css; charset=utf-8', css],
    '/app.js': ['text/javascript; charset=utf-8', app],
  }
  for (const [path, entry] of Object.entries(pages)) {
    files[path] = ['text/html; charset=utf-8', pageHtml(`${path}.js`)]
    files[`${path}.js`] = ['text/javascript; charset=utf-8', await bundlePage(entry)]
  }

  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://demo').pathname
    if (request.method === 'POST' && path === '/api/fault') return void handleFault(request, response)
    const file = files[path]
    if (request.method !== 'GET' || file === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found')
      return
    }
    response.writeHead(200, { 'content-type': file[0], 'cache-control': 'no-store' }).end(file[1])
  })
  let hb = startHeartbeatServer(server, faults)

  async function handleFault(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    let body = ''
    for await (const chunk of request) body += chunk
    let fault: { name?: unknown; kind?: unknown }
    try {
      fault = JSON.parse(body) as typeof fault
    } catch {
      response.writeHead(400).end('Expected a JSON body {"name", "kind"}')
      return
    }
    const name = String(fault.name)
    const socket = faults.sockets.get(name)
    switch (fault.kind) {
      case 'mute': // the server stops answering this client's pings
        if (!socket) break
        faults.muted.add(name)
        return void response.writeHead(204).end()
      case 'reset': // a TCP reset: no close frame, no FIN
        if (!socket) break
        socket.resetAndDestroy()
        return void response.writeHead(204).end()
      case 'blackhole': // nothing read, nothing written, nothing closed
        if (!socket) break
        faults.blackholed.add(name)
        socket.pause()
        socket.cork()
        return void response.writeHead(204).end()
      case 'restart':
        restarting ??= (async () => {
          await hb.close()
          await new Promise((resolve) => setTimeout(resolve, 2_000))
          hb = startHeartbeatServer(server, faults)
          restarting = undefined
        })()
        return void response.writeHead(204).end()
      default:
        response.writeHead(400).end(`Unknown fault ${JSON.stringify(fault.kind)}; expected mute, reset, blackhole or restart`)
        return
    }
    response.writeHead(409).end(`No open link for client ${JSON.stringify(name)}`)
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  const address = server.address() as { port: number }
  return {
    url: `http://${host}:${address.port}/`,
    async close() {
      await restarting
      await hb.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const demo = await startDemo({ port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '127.0.0.1' })
  console.log(`lifeline demo: open ${demo.url}`)
  const stop = () => void demo.close().then(() => process.exit(0))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}
