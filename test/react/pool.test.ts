/**
 * The React binding's parts that need no browser: which options make a new
 * connection (connectionKey), callbacks that stay current, the pool's
 * counted holds and delayed release (against a real ws server, timers faked
 * only where a delay is the point), and server rendering, which opens nothing.
 */
import { createElement } from 'react'
import { renderToString } from 'react-dom/server'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import WebSocket from 'ws'
import { createManualNetwork, type ConnectionOptions } from '../../src/index.node.js'
import { connectionKey, leaseKey, withLatestCallbacks } from '../../src/react/key.js'
import { hold, leaseFor, release, RELEASE_DELAY, UNCLAIMED_DELAY, update, watch } from '../../src/react/pool.js'
import { useConnection, useConnectionState } from '../../src/react/index.js'
import { startBehaviourServer, type BehaviourServer } from '../helpers/behaviour-server.js'
import { until } from '../helpers/servers.js'

let server: BehaviourServer
beforeAll(async () => void (server = await startBehaviourServer()))
afterAll(() => server?.close())
afterEach(() => void vi.useRealTimers())

const code = (run: () => unknown): string | undefined => {
  try {
    run()
    return undefined
  } catch (error) {
    return (error as { code?: string }).code
  }
}

describe('connectionKey', () => {
  const base: ConnectionOptions = { url: 'ws://127.0.0.1:1/a', heartbeat: { interval: 1_000, isPong: (d) => d === 'pong' }, reconnect: { shouldReconnect: () => true } }

  it('is the same for options equal in value, whatever their callbacks, key order or undefined members', () => {
    const same: ConnectionOptions = { reconnect: { shouldReconnect: () => false }, heartbeat: { isPong: () => true, interval: 1_000, timeout: undefined }, url: new URL('ws://127.0.0.1:1/a') }
    expect(connectionKey(same)).toBe(connectionKey(base))
    expect(connectionKey({ ...base, url: () => 'ws://127.0.0.1:1/b' })).toBe(connectionKey({ ...base, url: () => 'ws://127.0.0.1:1/c' }))
  })

  it('differs when a value that needs a new socket changes: url, protocols, delivery, a number, a callback turning into data', () => {
    const keys = [
      base,
      { ...base, url: 'ws://127.0.0.1:1/b' },
      { ...base, protocols: ['chat'] },
      { ...base, delivery: 'reliable' as const },
      { ...base, heartbeat: { interval: 2_000 } },
      { ...base, heartbeat: { interval: 1_000, ping: 'ping' } },
      { ...base, heartbeat: { interval: 1_000, ping: () => 'ping' } },
      { ...base, url: () => 'ws://127.0.0.1:1/a' },
    ].map(connectionKey)
    expect(new Set(keys).size).toBe(keys.length)
  })

  it('compares the WebSocket constructor and objects that are not plain (network, clock) by identity', () => {
    class Other extends WebSocket {}
    const network = createManualNetwork()
    expect(connectionKey({ ...base, WebSocket })).toBe(connectionKey({ ...base, WebSocket }))
    expect(connectionKey({ ...base, WebSocket })).not.toBe(connectionKey({ ...base, WebSocket: Other }))
    expect(connectionKey({ ...base, network })).toBe(connectionKey({ ...base, network }))
    expect(connectionKey({ ...base, network })).not.toBe(connectionKey({ ...base, network: createManualNetwork() }))
  })
})

describe('leaseKey', () => {
  const tokenUrl = (room: string): ConnectionOptions => ({ url: () => `ws://127.0.0.1:1/live?room=${room}`, heartbeat: false })

  it("gives options whose url is a function their owner's own key, the same for each render of that owner", () => {
    const [alice, bob] = [{}, {}]
    expect(leaseKey(tokenUrl('alice'), alice, undefined)).not.toBe(leaseKey(tokenUrl('bob'), bob, undefined))
    expect(leaseKey(tokenUrl('alice'), alice, undefined)).toBe(leaseKey(tokenUrl('alice'), alice, undefined))
  })

  it('shares by an explicit key among owners, and a new key is a new connection', () => {
    const [alice, bob] = [{}, {}]
    expect(leaseKey(tokenUrl('alice'), alice, 'room')).toBe(leaseKey(tokenUrl('bob'), bob, 'room'))
    expect(leaseKey(tokenUrl('alice'), alice, 'room')).not.toBe(leaseKey(tokenUrl('alice'), alice, 'other room'))
    expect(leaseKey({ url: 'ws://127.0.0.1:1/a' }, alice, 'room')).not.toBe(leaseKey({ url: 'ws://127.0.0.1:1/b' }, bob, 'room'))
  })

  it('shares options with a url string by value among owners, as connectionKey does', () => {
    expect(leaseKey({ url: 'ws://127.0.0.1:1/a' }, {}, undefined)).toBe(leaseKey({ url: 'ws://127.0.0.1:1/a' }, {}, undefined))
    expect(leaseKey({ url: 'ws://127.0.0.1:1/a' }, {}, undefined)).toBe(connectionKey({ url: 'ws://127.0.0.1:1/a' }))
  })
})

describe('withLatestCallbacks', () => {
  it('calls the callback of the latest options, and keeps constructors and data as they are', () => {
    let latest: ConnectionOptions = { url: () => 'ws://first/', reconnect: { shouldReconnect: () => false }, WebSocket }
    const wrapped = withLatestCallbacks(latest, () => latest)
    latest = { url: () => 'ws://second/', reconnect: { shouldReconnect: () => true }, WebSocket }
    expect((wrapped.url as () => string)()).toBe('ws://second/')
    expect((wrapped.reconnect as { shouldReconnect: (c: unknown) => boolean }).shouldReconnect({})).toBe(true)
    expect(wrapped.WebSocket).toBe(WebSocket)
  })
})

describe('the pool', () => {
  const options = (path: string): ConnectionOptions => ({ url: `${server.ws}${path}`, WebSocket, heartbeat: false })

  it('opens one socket for any number of holds and closes it a while after the last release', async () => {
    const o = options('/echo?pool=holds')
    const key = connectionKey(o)
    const [a, b] = [{}, {}]
    const first = hold(key, a, o)
    const second = hold(key, b, o)
    expect(second).toBe(first)
    await until(() => first.connection.state === 'open', 5_000, 'open')
    release(first, a)
    expect(first.connection.state).toBe('open')
    release(second, b)
    expect(first.connection.state).toBe('open')
    await until(() => first.connection.state === 'idle', 5_000, 'the close')
    expect(server.sockets('/echo').filter((s) => s.query.get('pool') === 'holds')).toHaveLength(1)
    await until(() => code(() => first.connection.open()) === 'LIFELINE_DISPOSED', 2_000, 'the dispose')
  })

  it('keeps the socket when a hold comes back within RELEASE_DELAY (a remount)', async () => {
    const o = options('/echo?pool=remount')
    const key = connectionKey(o)
    const owner = {}
    const lease = hold(key, owner, o)
    await until(() => lease.connection.state === 'open', 5_000, 'open')
    release(lease, owner)
    expect(hold(key, owner, o)).toBe(lease)
    await new Promise((resolve) => setTimeout(resolve, RELEASE_DELAY * 2))
    expect(lease.connection.state).toBe('open')
    release(lease, owner, true)
    await until(() => server.sockets('/echo').find((s) => s.query.get('pool') === 'remount')?.closedAt !== undefined, 2_000, 'the close')
    expect(server.sockets('/echo').filter((s) => s.query.get('pool') === 'remount')).toHaveLength(1)
  })

  it('lets go of a connection a render made but no mount held, after UNCLAIMED_DELAY, and says so to its watchers; it never had a socket', () => {
    vi.useFakeTimers()
    const o = options('/echo?pool=unclaimed')
    const key = connectionKey(o)
    const lease = leaseFor(key, o)
    let told = 0
    const stop = watch(key, () => told++)
    vi.advanceTimersByTime(UNCLAIMED_DELAY - 1)
    expect(lease.ended).toBe(false)
    vi.advanceTimersByTime(1)
    expect([lease.ended, told, lease.connection.state]).toEqual([true, 1, 'idle'])
    expect(leaseFor(key, o)).not.toBe(lease)
    stop()
    const owner = {}
    release(hold(key, owner, o), owner, true)
  })

  it("calls the callbacks of the longest-standing holder, its latest options, so a sibling's render does not swap them", async () => {
    const who = (name: string): ConnectionOptions => ({ ...options(''), url: () => `${server.ws}/echo?pool=owners&who=${name}` })
    const asked = () => server.sockets('/echo').filter((s) => s.query.get('pool') === 'owners').map((s) => s.query.get('who'))
    const [alice, bob] = [{}, {}]
    const lease = hold('shared-by-owners', alice, who('alice'))
    expect(hold('shared-by-owners', bob, who('bob'))).toBe(lease)
    await until(() => lease.connection.state === 'open', 5_000, 'open')
    update(lease, bob, who('bob, rendered again'))
    update(lease, alice, who('alice, rendered again'))
    lease.connection.reconnect()
    await until(() => asked().length === 2 && lease.connection.state === 'open', 5_000, 'the second socket')
    release(lease, alice)
    lease.connection.reconnect()
    await until(() => asked().length === 3 && lease.connection.state === 'open', 5_000, 'the third socket')
    expect(asked()).toEqual(['alice', 'alice, rendered again', 'bob, rendered again'])
    release(lease, bob, true)
  })

  it('ignores a release by an owner that holds nothing', () => {
    const o = options('/echo?pool=stranger')
    const owner = {}
    const lease = hold(connectionKey(o), owner, { ...o, autoConnect: false })
    release(lease, {}, true)
    expect(lease.ended).toBe(false)
    release(lease, owner, true)
    expect(lease.ended).toBe(true)
  })

  it('does not open the socket of options with autoConnect: false', async () => {
    const o = { ...options('/echo?pool=manual'), autoConnect: false }
    const owner = {}
    const lease = hold(connectionKey(o), owner, o)
    expect(lease.connection.state).toBe('idle')
    release(lease, owner, true)
  })
})

describe('useConnection', () => {
  it('refuses a key that is not a string, naming it', () => {
    function Keyed() {
      useConnection({ url: `${server.ws}/echo?keyed` }, { key: 42 as unknown as string })
      return null
    }
    expect(() => renderToString(createElement(Keyed))).toThrow(expect.objectContaining({ name: 'TypeError', code: 'LIFELINE_INVALID_OPTION', message: "Expected useConnection's key to be a string, got number" }))
  })
})

describe('server rendering', () => {
  it('renders without a connection: no socket, no WebSocket needed (Node 20 has none)', () => {
    let seen: unknown = 'not rendered'
    function Live() {
      const connection = useConnection({ url: `${server.ws}/echo?ssr` })
      seen = [connection, useConnectionState(connection)]
      return createElement('p', null, String(connection?.state))
    }
    expect(renderToString(createElement(Live))).toBe('<p>undefined</p>')
    expect(seen).toEqual([null, null])
    expect(server.sockets('/echo').filter((s) => s.query.has('ssr'))).toHaveLength(0)
  })
})
