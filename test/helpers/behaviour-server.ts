/**
 * One HTTP server on 127.0.0.1 (port 0) with a ws server on every path, each
 * path a behaviour, for the drop-in and React tests in Node and in Chromium:
 *
 *   /echo              echoes text as text and binary as binary
 *   /close?code&reason closes each socket once it is open, with that code and reason
 *   /drop?after=ms     cuts each socket (TCP, no close frame) `after` ms after it opened;
 *                      with `&once=key` only the first socket that gives that key, later ones echo
 *   /silent            says nothing and answers nothing (a heartbeat finds it dead)
 *   /burst?count=n     sends n text messages `0`…`n-1` at once, then echoes
 *   /page              the page set with `setPage()` (its scripts bundled with `bundle()`)
 *
 * The subprotocol is the client's first, as ws chooses by default. Every socket is
 * recorded per path (`sockets(path)`): when it opened and closed, so a test can
 * count sockets and find two open at once or an open-close-open flap.
 */
import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { build, type BuildOptions } from 'esbuild'
import { WebSocketServer, type WebSocket } from 'ws'

export interface SocketRecord {
  path: string
  query: URLSearchParams
  openedAt: number
  closedAt: number | undefined
  code: number | undefined
  /** Text messages received, in order. */
  received: string[]
}

export interface BehaviourServer {
  /** `ws://127.0.0.1:<port>` */
  ws: string
  /** `http://127.0.0.1:<port>` */
  http: string
  /** Every socket accepted on `path` (all paths when omitted), oldest first. */
  sockets(path?: string): SocketRecord[]
  /** Most sockets open at the same time on `path`. */
  mostOpenAtOnce(path: string): number
  setPage(html: string): void
  close(): Promise<void>
}

function behave(socket: WebSocket, record: SocketRecord, seen: Set<string>): void {
  const { path, query } = record
  const once = query.get('once')
  const drops = path === '/drop' && (once === null || !seen.has(once))
  if (once !== null) seen.add(once)
  const echoes = path === '/echo' || path === '/burst' || (path === '/drop' && !drops)
  socket.on('message', (data, isBinary) => {
    if (!isBinary) record.received.push(data.toString())
    if (echoes) socket.send(data, { binary: isBinary })
  })
  if (path === '/close') socket.close(Number(query.get('code') ?? 1000), query.get('reason') ?? '')
  if (drops) {
    const timer = setTimeout(() => socket.terminate(), Number(query.get('after') ?? 0))
    socket.once('close', () => clearTimeout(timer))
  }
  if (path === '/bad-frame') {
    // A frame with the reserved opcode 3: the client must fail the connection (RFC 6455 §5.2).
    const timer = setTimeout(() => (socket as unknown as { _socket: { write(data: Buffer): void } })._socket.write(Buffer.from([0x83, 0x00])), Number(query.get('after') ?? 0))
    socket.once('close', () => clearTimeout(timer))
  }
  if (path === '/burst') for (let i = 0; i < Number(query.get('count') ?? 0); i++) socket.send(String(i))
}

export async function startBehaviourServer(): Promise<BehaviourServer> {
  let page = '<!doctype html><title>empty</title>'
  const server = http.createServer((request, response) => {
    if (request.url === '/page') response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page)
    else response.writeHead(404).end()
  })
  const wss = new WebSocketServer({ server })
  const records: SocketRecord[] = []
  const seen = new Set<string>()
  wss.on('connection', (socket, request) => {
    const url = new URL(request.url ?? '/', 'http://x')
    const record: SocketRecord = { path: url.pathname, query: url.searchParams, openedAt: performance.now(), closedAt: undefined, code: undefined, received: [] }
    records.push(record)
    socket.on('error', () => {})
    socket.once('close', (code) => {
      record.closedAt = performance.now()
      record.code = code
    })
    behave(socket, record, seen)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    ws: `ws://127.0.0.1:${port}`,
    http: `http://127.0.0.1:${port}`,
    sockets: (path) => records.filter((r) => path === undefined || r.path === path),
    mostOpenAtOnce(path) {
      const moments = records.filter((r) => r.path === path).flatMap((r) => [
        { at: r.openedAt, delta: 1 },
        ...(r.closedAt === undefined ? [] : [{ at: r.closedAt, delta: -1 }]),
      ])
      moments.sort((a, b) => a.at - b.at || a.delta - b.delta)
      let open = 0
      let most = 0
      for (const m of moments) most = Math.max(most, (open += m.delta))
      return most
    },
    setPage: (html) => void (page = html),
    async close() {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Bundles a page script for the browser with esbuild (no `ws`, everything inlined); returns its code. */
export async function bundle(entry: string, options: BuildOptions = {}): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
    ...options,
    write: false,
  })
  return result.outputFiles[0]!.text
}

/** An HTML page running `script` as a module. */
export function pageWith(script: string): string {
  return `<!doctype html><meta charset="utf-8"><title>lifeline test page</title><body><div id="root"></div><script type="module">${script.replaceAll('</script', '<\\/script')}</script></body>`
}
