/**
 * The Node entry dials with `ws` even where Node has a global WebSocket
 * (22+): `ws` can terminate a dead link without a close handshake and shows
 * the server's ping frames. A global stand-in proves which one was used.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createConnection } from '../src/index.node.js'
import { startServer, until } from './helpers/servers.js'

const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const task of cleanup.splice(0).reverse()) await task()
})

describe('the Node entry', () => {
  it('uses ws, not a global WebSocket, unless told otherwise', async () => {
    const server = await startServer()
    cleanup.push(() => server.close())
    const globals = globalThis as { WebSocket?: unknown }
    const before = globals.WebSocket
    let constructed = 0
    globals.WebSocket = class {
      constructor() {
        constructed++
        throw new Error('the global WebSocket was used')
      }
    }
    cleanup.push(() => (globals.WebSocket = before))
    const conn = createConnection({ url: `ws://127.0.0.1:${server.port}/` })
    cleanup.push(() => conn.dispose())
    await until(() => conn.state === 'open', 2_000, 'open')
    expect(constructed).toBe(0)
    expect(server.accepted).toBe(1)
  })
})
