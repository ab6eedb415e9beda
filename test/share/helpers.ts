/**
 * Shared connections for the unit tests: each in a fake tab of one fake
 * browser (test/helpers/fake-tabs.ts), talking to a real lifeline server on
 * 127.0.0.1 that counts the sockets it holds.
 */
import WebSocket from 'ws'
import { afterEach } from 'vitest'
import type { Connection, ConnectionEventMap, ConnectionOptions, WebSocketConstructor } from '../../src/index.node.js'
import { resolveOptions } from '../../src/options.js'
import { createHeartbeatServer, nameFromQuery, type HeartbeatServer } from '../../src/server/index.js'
import { SharedConnection } from '../../src/share/index.js'
import { FakeBrowser, type Tab } from '../helpers/fake-tabs.js'
import { until } from '../helpers/servers.js'

export { until }

const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const task of cleanup.splice(0).reverse()) await task()
})

/** A lifeline server that records the most sockets it ever held at once, and what each client sent. */
export interface CountingServer {
  server: HeartbeatServer
  url: string
  /** Sockets open now, and the most at any moment. */
  live: () => number
  most: number
  accepted: number
  received: string[]
}

export async function countingServer(delivery: 'plain' | 'reliable' = 'reliable'): Promise<CountingServer> {
  const server = createHeartbeatServer({ port: 0, delivery, identify: nameFromQuery, heartbeat: { interval: 200, timeout: 1_000 } })
  cleanup.push(() => server.close())
  const { port } = await server.listening
  const sockets = new Set<WebSocket>()
  const counting: CountingServer = {
    server,
    url: `ws://127.0.0.1:${port}/?name=tabs`,
    live: () => [...sockets].filter((s) => s.readyState === 1).length,
    most: 0,
    accepted: 0,
    received: [],
  }
  server.on('connection', ({ socket }) => {
    counting.accepted++
    sockets.add(socket)
    counting.most = Math.max(counting.most, counting.live())
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('message', ({ data }) => counting.received.push(typeof data === 'string' ? data : `[${data.byteLength} bytes]`))
  server.on('error', () => {})
  return counting
}

/** A recording of one connection's events. */
export interface Member {
  conn: SharedConnection
  tab: Tab
  /** The sockets this tab's connections opened (real ones, to the server). */
  sockets: Set<WebSocket>
  events: { [K in keyof ConnectionEventMap]: ConnectionEventMap[K][] }
  messages: string[]
}

export function browser(): FakeBrowser {
  return new FakeBrowser()
}

/** A shared connection in `tab` (a new tab of `fake` unless given). */
export function member(fake: FakeBrowser, options: Partial<ConnectionOptions> & { url: string }, tab: Tab = fake.tab()): Member {
  const sockets = new Set<WebSocket>()
  // The tab's own WebSocket: its sockets are known, so that a crash can end them as a renderer's death does.
  class TabSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols)
      sockets.add(this)
      this.on('close', () => sockets.delete(this))
    }
  }
  const conn = new SharedConnection(resolveOptions({ share: 'test', reconnect: { initialDelay: 20, maxDelay: 50 }, heartbeat: { interval: 500, timeout: 1_000 }, ...options }), tab.platform(), TabSocket as unknown as WebSocketConstructor)
  cleanup.push(() => {
    if (!tab.closed) conn.dispose()
  })
  const events = { state: [], open: [], message: [], close: [], error: [], heartbeat: [], reconnect: [], failed: [], 'session-lost': [], share: [] } as Member['events']
  for (const type of Object.keys(events) as (keyof ConnectionEventMap)[]) conn.on(type, (event) => (events[type] as unknown[]).push(event))
  const messages: string[] = []
  conn.on('message', (data) => messages.push(typeof data === 'string' ? data : `[${data.byteLength} bytes]`))
  return { conn, tab, sockets, events, messages }
}

/**
 * The tab crashes: no word from it, its locks go, its sockets end without a
 * close handshake, and its code stops (here: its connection is disposed,
 * which a closed tab can no longer tell anyone).
 */
export function crash(m: Member): void {
  m.tab.close()
  for (const socket of m.sockets) socket.terminate()
  m.conn.dispose()
}

// What the tabs were handed runs before the clock moves on, so test time does not run ahead of them on a busy machine.
async function drained(fake: FakeBrowser): Promise<void> {
  for (let turns = 0; fake.pending > 0 && turns < 1_000; turns++) await new Promise((resolve) => setTimeout(resolve, 0))
}

/** Lets the fake tabs' turns run and the election's timers fire, `ms` of test time in beats. */
export async function pass(fake: FakeBrowser, ms: number, step = 50): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await drained(fake)
    fake.clock.advance(step)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

/** Waits (advancing the election's clock as it goes) until `predicate` holds. */
export async function settle(fake: FakeBrowser, predicate: () => boolean, what: string, ms = 5_000): Promise<void> {
  const start = Date.now()
  while (!predicate()) {
    if (Date.now() - start > ms) throw new Error(`Timed out after ${ms} ms waiting for ${what}`)
    await drained(fake)
    if (predicate()) return
    fake.clock.advance(10)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

export const leaderOf = (members: Member[]): Member | undefined => members.find((m) => m.conn.share.role === 'leader' && !m.tab.closed)

export function later(task: () => unknown): void {
  cleanup.push(task)
}

export type { Connection }
