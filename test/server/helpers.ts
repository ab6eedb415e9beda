/**
 * Real sockets on 127.0.0.1 for the server tests: servers on port 0, `ws`
 * clients, and a raw TCP client that speaks just enough HTTP and WebSocket
 * framing to send what a well-behaved client never would (invalid UTF-8,
 * unanswered handshakes). Everything created here is tracked and closed by
 * `cleanup()`, which every test file calls in `afterEach`. To add a helper
 * that opens something, register its teardown with `track()`.
 */
import { randomBytes } from 'node:crypto'
import { connect as connectTcp, type Socket } from 'node:net'
import WebSocket from 'ws'
import {
  createHeartbeatServer,
  type HeartbeatServer,
  type HeartbeatServerEventMap,
  type HeartbeatServerOptions,
} from '../../src/server/index.js'

const teardowns: (() => unknown)[] = []

/** Registers something to close in `cleanup()`. */
export function track(teardown: () => unknown): void {
  teardowns.push(teardown)
}

/** Closes everything the helpers opened, newest first. */
export async function cleanup(): Promise<void> {
  while (teardowns.length > 0) await teardowns.pop()?.()
}

/** Rejects with a message naming `what` unless `promise` settles within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Polls `predicate` every 5 ms until it holds; fails after `ms`. */
export async function waitFor(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export interface Started {
  server: HeartbeatServer
  port: number
  /** `ws://127.0.0.1:<port><path>`, with `?name=` when a name is given. */
  url(path?: string, name?: string): string
}

/** Starts a heartbeat server on a free port (unless `server` is given) and waits until it listens. */
export async function startServer(options: Partial<HeartbeatServerOptions> = {}): Promise<Started> {
  const server = createHeartbeatServer(options.server === undefined ? { port: 0, ...options } : options)
  track(() => server.close())
  const { port } = await server.listening
  return {
    server,
    port,
    url: (path = '/', name) => `ws://127.0.0.1:${port}${path}${name === undefined ? '' : `?name=${encodeURIComponent(name)}`}`,
  }
}

/** The next `type` event that satisfies `accept`. */
export function nextEvent<K extends keyof HeartbeatServerEventMap>(
  server: HeartbeatServer,
  type: K,
  accept: (event: HeartbeatServerEventMap[K]) => boolean = () => true,
  ms = 2_000,
): Promise<HeartbeatServerEventMap[K]> {
  let stop = (): void => {}
  const event = new Promise<HeartbeatServerEventMap[K]>((resolve) => {
    stop = server.on(type, (e) => {
      if (accept(e)) resolve(e)
    })
  })
  return within(event, ms, `a '${type}' event`).finally(() => stop())
}

/** Collects every `type` event into an array. */
export function record<K extends keyof HeartbeatServerEventMap>(server: HeartbeatServer, type: K): HeartbeatServerEventMap[K][] {
  const events: HeartbeatServerEventMap[K][] = []
  server.on(type, (event) => events.push(event))
  return events
}

/** A `ws` client, open. */
export async function connect(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const socket = new WebSocket(url, options)
  track(() => socket.terminate())
  socket.on('error', () => {})
  await within(new Promise((resolve, reject) => {
    socket.once('open', resolve)
    socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)))
    socket.once('close', (code) => reject(new Error(`closed with ${code} before opening`)))
  }), 2_000, `${url} to open`)
  return socket
}

/** Resolves with the close code and reason a `ws` client receives. */
export function closeOf(socket: WebSocket, ms = 2_000): Promise<{ code: number; reason: string }> {
  return within(new Promise((resolve) => {
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))
  }), ms, 'the socket to close')
}

/** Messages a `ws` client receives, as strings. */
export function inbox(socket: WebSocket): string[] {
  const messages: string[] = []
  socket.on('message', (data) => messages.push(data.toString()))
  return messages
}

/** A raw TCP connection to the server, tracked for cleanup. */
export function tcp(port: number): Promise<Socket> {
  const socket = connectTcp(port, '127.0.0.1')
  track(() => socket.destroy())
  const connected = new Promise<Socket>((resolve, reject) => {
    socket.once('connect', () => resolve(socket))
    socket.once('error', reject)
  })
  socket.on('error', () => {})
  return within(connected, 2_000, 'a TCP connection')
}

/** Everything the server sends on `socket` until it closes the connection. */
export function readAll(socket: Socket, ms = 2_000): Promise<Buffer> {
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  return within(new Promise((resolve) => socket.once('close', () => resolve(Buffer.concat(chunks)))), ms, 'the server to close the connection')
}

function upgradeRequest(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`
}

/** Sends a WebSocket upgrade for `path` on a raw socket; resolves with the server's whole answer once it closes. */
export async function refusedUpgrade(port: number, path: string): Promise<string> {
  const socket = await tcp(port)
  const answer = readAll(socket)
  socket.write(upgradeRequest(path))
  return (await answer).toString('utf8')
}

/** A completed WebSocket handshake on a raw socket, for frames no real client would send. */
export async function rawWebSocket(port: number, path: string): Promise<Socket> {
  const socket = await tcp(port)
  await within(new Promise<void>((resolve, reject) => {
    let head = ''
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1')
      if (!head.includes('\r\n\r\n')) return
      socket.off('data', onData)
      if (head.startsWith('HTTP/1.1 101')) resolve()
      else reject(new Error(`Upgrade refused: ${head.split('\r\n')[0] ?? ''}`))
    }
    socket.on('data', onData)
    socket.write(upgradeRequest(path))
  }), 2_000, 'the raw handshake')
  return socket
}

/** A masked client frame (payloads under 126 bytes). */
export function clientFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4)
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0)))
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked])
}

/** The close code of the first close frame (opcode 8) in `bytes`, read from a server's unmasked frames. */
export function closeCodeIn(bytes: Buffer): number | undefined {
  let offset = 0
  while (offset + 2 <= bytes.length) {
    const opcode = (bytes[offset] ?? 0) & 0x0f
    const length = (bytes[offset + 1] ?? 0) & 0x7f
    if (length > 125) return undefined
    if (opcode === 8) return length >= 2 ? bytes.readUInt16BE(offset + 2) : 1005
    offset += 2 + length
  }
  return undefined
}

/**
 * A `ws` client that speaks the reliable-delivery protocol by hand, so a test
 * can send what a lifeline client never would (a hello it controls, no
 * acknowledgements) and see every frame the server sends.
 */
export interface RawReliable {
  socket: WebSocket
  /** Every frame received, decoded: text frames parsed as JSON, binary ones as `{ binary: bytes }`. */
  frames: unknown[]
  /** The welcome, once it came. */
  welcome(): Promise<unknown[]>
  /** Data messages received, in order (text as strings, binary as byte arrays). */
  data(): unknown[]
  ack(upTo: number): void
}

export async function rawReliable(url: string, hello: { id?: string; ack?: number; maxPayload?: number } = {}): Promise<RawReliable> {
  const socket = await connect(url)
  const frames: unknown[] = []
  socket.on('message', (raw, isBinary) => {
    if (isBinary) {
      const bytes = raw as Buffer
      frames.push({ binary: [...bytes.subarray(17)], seq: bytes.readDoubleBE(1) })
    } else frames.push(JSON.parse(raw.toString()) as unknown)
  })
  const id = hello.id ?? randomBytes(16).toString('hex')
  const frame: unknown[] = ['hello', 1, id, hello.ack ?? 0]
  if (hello.maxPayload !== undefined) frame.push(hello.maxPayload)
  socket.send(JSON.stringify(frame))
  return {
    socket,
    frames,
    async welcome() {
      await waitFor(() => frames.some((f) => Array.isArray(f) && f[0] === 'welcome'), 2_000, 'the welcome')
      return frames.find((f) => Array.isArray(f) && f[0] === 'welcome') as unknown[]
    },
    data: () => frames.flatMap((f) => (Array.isArray(f) && f[0] === 'd' ? [f[3]] : (f as { binary?: number[] }).binary ? [(f as { binary: number[] }).binary] : [])),
    ack: (upTo) => socket.send(JSON.stringify(['a', upTo])),
  }
}
