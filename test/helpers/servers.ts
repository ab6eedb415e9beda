import { once } from 'node:events'
import net from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'

/** A real ws server on 127.0.0.1 that counts live sockets per client (`?name=`), for S6 checks. */
export interface TestServer {
  port: number
  wss: WebSocketServer
  /** Most live sockets any one client name had at the same time. */
  maxLivePerClient: number
  /** Connections accepted so far. */
  accepted: number
  received: string[]
  close(): Promise<void>
}

export async function startServer(
  onConnection: (socket: WebSocket, name: string) => void = () => {},
  port = 0,
): Promise<TestServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port })
  await once(wss, 'listening')
  const live = new Map<string, number>()
  const server: TestServer = {
    port: (wss.address() as net.AddressInfo).port,
    wss,
    maxLivePerClient: 0,
    accepted: 0,
    received: [],
    async close() {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
  }
  wss.on('connection', (socket, request) => {
    const name = new URL(request.url ?? '/', 'http://x').searchParams.get('name') ?? ''
    server.accepted++
    live.set(name, (live.get(name) ?? 0) + 1)
    server.maxLivePerClient = Math.max(server.maxLivePerClient, live.get(name)!)
    socket.on('close', () => live.set(name, live.get(name)! - 1))
    socket.on('message', (data, isBinary) => {
      if (!isBinary) server.received.push(data.toString())
    })
    onConnection(socket, name)
  })
  return server
}

/** Answers `ping` with `pong` and echoes everything else. */
export function echo(socket: WebSocket): void {
  socket.on('message', (data, isBinary) => {
    const text = data.toString()
    socket.send(!isBinary && text === 'ping' ? 'pong' : isBinary ? data : text)
  })
}

/** A TCP proxy on 127.0.0.1 that can stop forwarding bytes in both directions without closing anything. */
export interface BlackHoleProxy {
  port: number
  blackHole(): void
  restore(): void
  /** Resets every connection through the proxy (TCP RST to the client side). */
  reset(): void
  close(): Promise<void>
}

export async function startProxy(targetPort: number): Promise<BlackHoleProxy> {
  let forwarding = true
  const sockets = new Set<net.Socket>()
  const clients = new Set<net.Socket>()
  const server = net.createServer((client) => {
    clients.add(client)
    client.on('close', () => clients.delete(client))
    const upstream = net.connect(targetPort, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => sockets.delete(s))
    }
    client.on('data', (chunk) => forwarding && upstream.write(chunk))
    upstream.on('data', (chunk) => forwarding && client.write(chunk))
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as net.AddressInfo).port,
    blackHole: () => (forwarding = false),
    restore: () => (forwarding = true),
    reset: () => {
      for (const client of clients) client.resetAndDestroy()
    },
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A port on 127.0.0.1 with nothing listening. */
export async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Resolves when `predicate` holds, polling every few ms; rejects after `ms`. */
export async function until(predicate: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
  const start = Date.now()
  while (!predicate()) {
    if (Date.now() - start > ms) throw new Error(`Timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}
