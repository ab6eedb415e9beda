/**
 * The `share` option through the public entry: validated up front; a
 * connection of its own where the platform cannot share (Node has no Web
 * Locks); loaded on demand where it can, with calls and listeners made
 * before the share code arrived kept in order.
 */
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createConnection, ReconnectingWebSocket, type WebSocketConstructor } from '../../src/index.node.js'
import { createConnection as createConnectionWithoutWs } from '../../src/connection.js'
import { canShare, DeferredConnection } from '../../src/share/deferred.js'
import { LifelineError } from '../../src/errors.js'
import { resolveOptions } from '../../src/options.js'
import type { Connection } from '../../src/types.js'
import { connectionKey } from '../../src/react/key.js'
import { hold, release } from '../../src/react/pool.js'
import { FakeBrowser } from '../helpers/fake-tabs.js'
import { countingServer, until } from './helpers.js'

const invalid = (message: RegExp) => expect.objectContaining({ code: 'LIFELINE_INVALID_OPTION', message: expect.stringMatching(message) })

describe('the share option', () => {
  it('is a key, true (the URL is the key) or false', () => {
    expect(() => createConnection({ url: 'ws://127.0.0.1:1/', share: '', autoConnect: false })).toThrow(invalid(/^share must be true, false or a key of 1 to 256 characters, got ""/))
    expect(() => createConnection({ url: 'ws://127.0.0.1:1/', share: 5 as never, autoConnect: false })).toThrow(invalid(/^share must be/))
    expect(() => createConnection({ url: 'ws://127.0.0.1:1/', share: 'x'.repeat(257), autoConnect: false })).toThrow(invalid(/^share must be/))
    expect(() => createConnection({ url: () => 'ws://127.0.0.1:1/', share: true, autoConnect: false })).toThrow(invalid(/^share must be a key \(a string\) when url is a function/))
  })

  it('gives a connection of its own, shared === false, where there are no Web Locks (Node)', async () => {
    expect(canShare()).toBe(false)
    const server = await countingServer('plain')
    const conn = createConnection({ url: server.url, share: 'chat' })
    expect(conn.shared).toBe(false)
    expect(conn.share).toBeUndefined()
    await until(() => conn.state === 'open', 5_000, 'open')
    conn.dispose()
    const dropIn = new ReconnectingWebSocket(server.url, undefined, { share: true })
    expect(dropIn.connection.shared).toBe(false)
    dropIn.close()
  })
})

describe('the stand-in while the share code loads', () => {
  it('makes every call made meanwhile once it has loaded, in order: one that throws is reported, the later ones still made', async () => {
    const made: string[] = []
    const target = {
      shared: true,
      state: 'connecting',
      buffered: 0,
      share: undefined,
      actor: undefined,
      open: () => made.push('open'),
      close: () => made.push('close'),
      reconnect: () => made.push('reconnect'),
      dispose: () => made.push('dispose'),
      send(data: unknown) {
        if (data === 'too large') throw new LifelineError('LIFELINE_MESSAGE_TOO_LARGE', 'the server takes no frame this large')
        made.push(`send ${String(data)}`)
      },
      on(type: string) {
        made.push(`on ${type}`)
        return () => {}
      },
    } as unknown as Connection
    let load = (_: { connection: Connection }): void => {}
    const conn = new DeferredConnection(resolveOptions({ url: 'ws://127.0.0.1:1/', share: 'replay', autoConnect: false }), new Promise((resolve) => (load = resolve)))
    const errors: Error[] = []
    conn.on('error', (error) => errors.push(error))
    conn.send('first')
    conn.send('too large')
    conn.on('message', () => {})
    conn.send('last')
    conn.open()
    expect(made).toEqual([])
    load({ connection: target })
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(made).toEqual(['on error', 'send first', 'on message', 'send last', 'open'])
    expect(errors.map((e) => (e as LifelineError).code)).toEqual(['LIFELINE_MESSAGE_TOO_LARGE'])
    expect(conn.buffered).toBe(0)
  })
})

describe('the share option where the platform can share', () => {
  const saved = (globalThis as { navigator?: unknown }).navigator
  afterEach(() => {
    Object.defineProperty(globalThis, 'navigator', { value: saved, configurable: true, writable: true })
  })

  function pretendBrowser(): void {
    const fake = new FakeBrowser()
    const tab = fake.tab()
    Object.defineProperty(globalThis, 'navigator', { value: { locks: tab.platform().locks }, configurable: true, writable: true })
    expect(canShare()).toBe(true)
  }

  it('loads the share code on demand, keeping the calls and listeners made meanwhile, in order', async () => {
    pretendBrowser()
    const server = await countingServer('plain')
    const conn = createConnection({ url: server.url, share: 'on-demand', autoConnect: false })
    expect(conn.shared).toBe(true)
    expect(conn.share).toEqual({ key: 'on-demand', member: '', role: 'joining', leader: undefined })
    expect(conn.state).toBe('idle')
    const states: string[] = []
    conn.on('state', ({ state }) => states.push(state))
    conn.send('first')
    conn.send(new Uint8Array([1, 2, 3]))
    expect(conn.buffered).toBe(2)
    conn.open()
    expect(conn.state).toBe('connecting')
    await until(() => server.received.length === 2, 5_000, 'both messages')
    expect(server.received).toEqual(['first', '[3 bytes]'])
    expect(conn.share?.role).toBe('leader')
    expect(states).toEqual(['connecting', 'open'])
    conn.dispose()
    expect(() => conn.send('late')).toThrow(expect.objectContaining({ code: 'LIFELINE_DISPOSED' }))
  })

  it('gives a page whose Web Locks refuse it (an opaque origin) a connection of its own: shared === false, said once', async () => {
    const denied = () => Promise.reject(new DOMException('Access to the Locks API is denied in this context.', 'SecurityError'))
    Object.defineProperty(globalThis, 'navigator', { value: { locks: { request: denied, query: denied } }, configurable: true, writable: true })
    expect(canShare()).toBe(true)
    const server = await countingServer('plain')
    const conn = createConnection({ url: server.url, share: 'sandboxed' })
    const errors: Error[] = []
    conn.on('error', (error) => errors.push(error))
    conn.send('from the sandbox')
    expect(conn.shared).toBe(true) // not known yet
    await until(() => conn.state === 'open' && server.received.length === 1, 5_000, 'open on its own')
    expect(conn.shared).toBe(false)
    expect(conn.share).toBeUndefined()
    expect(server.received).toEqual(['from the sandbox'])
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/^share: Web Locks refuse this page \(SecurityError: Access to the Locks API is denied/)])
    expect((errors[0]!.cause as DOMException).name).toBe('SecurityError')
    expect(server.accepted).toBe(1)
    conn.dispose()
  })

  it('refuses a Blob with reliable delivery at send(), as a connection of its own does, and keeps every later call', async () => {
    pretendBrowser()
    const server = await countingServer('reliable')
    const conn = createConnection({ url: server.url, share: 'blob', delivery: 'reliable' })
    expect(() => conn.send(new Blob(['blob']))).toThrow(expect.objectContaining({ code: 'LIFELINE_INVALID_ARGUMENT', message: expect.stringMatching(/not a Blob/) }))
    const heard: unknown[] = []
    conn.on('message', (data) => heard.push(data))
    conn.send('after the blob')
    await until(() => server.received.length === 1 && conn.state === 'open', 5_000, 'the message after the blob')
    server.server.broadcast('to the tab')
    await until(() => heard.length === 1, 5_000, 'the broadcast')
    expect(server.received).toEqual(['after the blob'])
    expect(heard).toEqual(['to the tab'])
    conn.dispose()
  })

  it('buffers while the share code loads by the rules of a connection of its own: buffer false, drop-oldest, reject', async () => {
    pretendBrowser()
    const server = await countingServer('plain')
    const codeOf = (run: () => void): string | undefined => {
      try {
        run()
      } catch (error) {
        return (error as { code?: string }).code
      }
      return undefined
    }
    const variants = [
      { key: 'unbuffered', buffer: false as const },
      { key: 'drop-oldest', buffer: { maxMessages: 2, overflow: 'drop-oldest' as const } },
      { key: 'reject', buffer: { maxMessages: 2, overflow: 'reject' as const } },
    ]
    for (const { key, buffer } of variants) {
      const seen = [] as { thrown: string[]; errors: unknown[]; buffered: number }[]
      for (const share of [undefined, key]) {
        const conn = createConnection({ url: `${server.url}-${key}-${share ?? 'own'}`, buffer, autoConnect: false, ...(share === undefined ? {} : { share }) })
        const errors: unknown[] = []
        conn.on('error', (error) => errors.push([(error as { code?: string }).code, (error as { messages?: unknown }).messages]))
        const thrown = ['one', 'two', 'three'].map((data) => codeOf(() => conn.send(data)) ?? `took ${data}, ${errors.length} error(s)`)
        await new Promise((resolve) => setTimeout(resolve, 50))
        seen.push({ thrown, errors: [...errors], buffered: conn.buffered })
        conn.dispose()
      }
      expect(seen[1], `${key}: shared as on its own`).toEqual(seen[0])
    }
  })

  it('falls back to a connection of its own where the lock manager throws, and says why once', async () => {
    const locks = {
      query: async () => ({ held: [], pending: [] }),
      request: () => {
        throw new TypeError('locks.request is broken here')
      },
    }
    Object.defineProperty(globalThis, 'navigator', { value: { locks }, configurable: true, writable: true })
    const server = await countingServer('plain')
    const conn = createConnection({ url: server.url, share: 'broken-locks' })
    const errors: Error[] = []
    conn.on('error', (error) => errors.push(error))
    conn.send('still sent')
    await until(() => server.received.length === 1, 5_000, 'sent on its own')
    expect(conn.shared).toBe(false)
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/^share: Web Locks refuse this page \(TypeError: locks.request is broken here\)/)])
    conn.dispose()
  })

  it('says at once that no WebSocket exists, as a connection of its own does', () => {
    pretendBrowser()
    const saved = (globalThis as { WebSocket?: unknown }).WebSocket
    delete (globalThis as { WebSocket?: unknown }).WebSocket
    try {
      expect(() => createConnectionWithoutWs({ url: 'ws://127.0.0.1:1/', share: 'nows' })).toThrow(expect.objectContaining({ code: 'LIFELINE_NO_WEBSOCKET' }))
    } finally {
      if (saved !== undefined) (globalThis as { WebSocket?: unknown }).WebSocket = saved
    }
  })

  it('derives the key from the URL with share: true', async () => {
    pretendBrowser()
    const server = await countingServer('plain')
    const conn = createConnection({ url: server.url, share: true, autoConnect: false })
    expect(conn.share?.key).toBe(server.url)
    conn.dispose()
  })

  it('shares the drop-in ReconnectingWebSocket: one socket, messages to each, close() letting go of one', async () => {
    pretendBrowser()
    const server = await countingServer('plain')
    const first = new ReconnectingWebSocket(server.url, undefined, { share: 'drop-in' })
    const second = new ReconnectingWebSocket(server.url, undefined, { share: 'drop-in' })
    const heard: string[][] = [[], []]
    first.onmessage = (event) => heard[0]!.push(String(event.data))
    second.onmessage = (event) => heard[1]!.push(String(event.data))
    await until(() => first.readyState === 1 && second.readyState === 1, 5_000, 'both open')
    expect(first.connection.shared && second.connection.shared).toBe(true)
    await until(() => server.accepted === 1, 5_000, 'the socket at the server')
    server.server.broadcast('both')
    await until(() => heard.every((h) => h.length === 1), 5_000, 'both heard')
    second.send('from the second')
    await until(() => server.received.includes('from the second'), 5_000, 'sent')
    const closed: number[] = []
    first.onclose = (event) => closed.push(event.code)
    first.close(4000, 'bye')
    await until(() => first.readyState === 3, 5_000, 'first closed')
    expect(closed).toEqual([4000])
    // The first led: its drop-in, closed for good, let its connection go, and the second took over.
    await until(() => second.readyState === 1 && server.live() === 1, 5_000, 'the second open on its own')
    second.close()
    await until(() => server.live() === 0, 5_000, 'socket closed')
    expect(heard).toEqual([['both'], ['both']])
  })

  it('shares a connection of the React pool, and tells apart options that differ in share', async () => {
    pretendBrowser()
    const server = await countingServer('plain')
    expect(connectionKey({ url: server.url, share: 'a' })).not.toBe(connectionKey({ url: server.url, share: 'b' }))
    expect(connectionKey({ url: server.url, share: 'a' })).not.toBe(connectionKey({ url: server.url }))
    const options = { url: server.url, share: 'react', WebSocket: WebSocket as unknown as WebSocketConstructor }
    const owner = {}
    const lease = hold(connectionKey(options), owner, options)
    expect(lease.connection.shared).toBe(true)
    await until(() => lease.connection.state === 'open', 5_000, `open, not ${lease.connection.state} (${JSON.stringify(lease.connection.share)})`)
    release(lease, owner, true)
    await until(() => server.live() === 0, 5_000, 'closed once released')
  })
})
