/**
 * A ws server on 127.0.0.1 that plays the server by hand: the test decides
 * every frame it sends, with the protocol's own encoders, so a client can be
 * tested against a server behaviour lifeline/server would never show
 * (garbage, impossible orders, a welcome that never comes, a small maxPayload).
 */
import { once } from 'node:events'
import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { decodeFrame, encodeAck, encodeWelcome, type Frame } from '../../src/reliable/protocol.js'

export interface RawServer {
  port: number
  url: string
  wss: WebSocketServer
  /** Server-side sockets accepted so far, and how many are still open. */
  accepted: number
  live: number
  /** Close codes the server saw, one per socket that ended. */
  closes: { code: number; reason: string }[]
  close(): Promise<void>
}

export async function startRawServer(onConnection: (socket: WebSocket, request: IncomingMessage) => void, options: { maxPayload?: number } = {}): Promise<RawServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options })
  await once(wss, 'listening')
  const port = (wss.address() as AddressInfo).port
  const server: RawServer = {
    port,
    url: `ws://127.0.0.1:${port}/`,
    wss,
    accepted: 0,
    live: 0,
    closes: [],
    async close() {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
  }
  wss.on('connection', (socket, request) => {
    server.accepted++
    server.live++
    socket.on('error', () => {})
    socket.on('close', (code, reason) => {
      server.live--
      server.closes.push({ code, reason: reason.toString() })
    })
    onConnection(socket, request)
  })
  return server
}

const decode = (data: Buffer, isBinary: boolean): Frame | undefined => {
  try {
    return decodeFrame(isBinary ? new Uint8Array(data) : data.toString())
  } catch {
    return undefined
  }
}

/** Calls `onHello` with the client's hello (pings are answered). */
export function onHello(socket: WebSocket, handle: (hello: Extract<Frame, { type: 'hello' }>) => void): void {
  socket.on('message', (data: Buffer, isBinary) => {
    if (!isBinary && data.toString() === 'ping') return socket.send('pong')
    const frame = decode(data, isBinary)
    if (frame?.type === 'hello') handle(frame)
  })
}

/**
 * A well-behaved reliable server by hand: welcomes every hello (announcing
 * `maxPayload` when given), acknowledges data at once and records it.
 */
export function welcoming(received: (string | Uint8Array)[], maxPayload?: number): (socket: WebSocket) => void {
  return (socket) => {
    socket.on('message', (data: Buffer, isBinary) => {
      if (!isBinary && data.toString() === 'ping') return socket.send('pong')
      const frame = decode(data, isBinary)
      if (frame?.type === 'hello') socket.send(encodeWelcome(frame.session, false, 0, maxPayload))
      if (frame?.type === 'data') {
        received.push(frame.data)
        socket.send(encodeAck(frame.seq))
      }
    })
  }
}
