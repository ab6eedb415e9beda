/**
 * Connections share XState actor systems through hub actors. These tests
 * hold the two promises the hubs make: creating and disposing stay O(1) (no
 * hub's children map grows with the number of connections), and a
 * connection the application drops without dispose() can be collected.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { createConnection, type Connection, type WebSocketConstructor } from '../src/index.node.js'
import { FakeWebSocket } from './helpers/fake-websocket.js'

const idle = { url: 'ws://test.invalid/', WebSocket: FakeWebSocket as unknown as WebSocketConstructor, autoConnect: false, network: false, environment: false } as const

const childrenOf = (conn: Connection): number =>
  Object.keys((conn.actor as unknown as { _parent: { getSnapshot(): { children: object } } })._parent.getSnapshot().children).length

describe('connection hubs', () => {
  it('holds at most 64 connections in one actor, however many are created', () => {
    const conns: Connection[] = []
    const hubs = new Set<unknown>()
    let largest = 0
    for (let i = 0; i < 10_000; i++) {
      const conn = createConnection(idle)
      conns.push(conn)
      hubs.add((conn.actor as unknown as { _parent: unknown })._parent)
      largest = Math.max(largest, childrenOf(conn))
    }
    expect(largest).toBeLessThanOrEqual(64)
    expect(hubs.size).toBeGreaterThanOrEqual(10_000 / 64)
    for (const conn of conns) conn.dispose()
  })

  it('names the connections of a hub uniquely, with the same names in every hub', () => {
    const conns = Array.from({ length: 200 }, () => createConnection(idle))
    const byHub = new Map<unknown, string[]>()
    for (const conn of conns) {
      const hub = (conn.actor as unknown as { _parent: unknown })._parent
      byHub.set(hub, [...(byHub.get(hub) ?? []), conn.actor.id])
    }
    const names = [...byHub.values()]
    for (const ids of names) expect(new Set(ids).size).toBe(ids.length)
    const full = names.filter((ids) => ids.length === 64)
    expect(full.length).toBeGreaterThanOrEqual(2)
    for (const ids of full) expect(ids).toEqual(full[0])
    for (const conn of conns) conn.dispose()
  })

  it('lets a connection that was closed and dropped without dispose() be collected', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    let collected = 0
    const registry = new FinalizationRegistry(() => collected++)
    const N = 500
    ;(() => {
      for (let i = 0; i < N; i++) {
        const conn = createConnection(idle)
        conn.on('message', () => {})
        conn.open()
        conn.close()
        registry.register(conn.actor, i)
      }
    })()
    for (let i = 0; i < 10 && collected < N; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      gc()
    }
    expect(collected).toBe(N)
  })
})
