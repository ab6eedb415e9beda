/**
 * A reliable server against hostile clients and broken stores: nothing a
 * client sends, and nothing a store does, crashes it, stops it serving the
 * others, or makes it hold more than its limits. Real sockets on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createConnection } from '../../src/index.node.js'
import {
  MemorySessionStore,
  nameFromQuery,
  parseSessionState,
  serializeSessionState,
  sessionKey,
  type HeartbeatServerOptions,
  type SessionState,
  type SessionStore,
} from '../../src/server/index.js'
import { cleanup, closeOf, connect, delay, rawReliable, record, startServer, track, waitFor } from './helpers.js'

afterEach(cleanup)

const reliable = (options: Partial<HeartbeatServerOptions> = {}) =>
  startServer({ delivery: 'reliable', identify: nameFromQuery, closeTimeout: 100, ...options })

const quick = { heartbeat: { interval: 50, timeout: 200 }, reconnect: { initialDelay: 5, maxDelay: 20 } } as const

function client(url: string | (() => string), options: Record<string, unknown> = {}) {
  const conn = createConnection({ url, delivery: 'reliable', ...quick, ...options })
  track(() => conn.dispose())
  return conn
}

/** A store that keeps what it is given and can be told to misbehave, counting every call. */
function faultyStore(fault: Partial<Record<'load' | 'save' | 'delete', () => unknown>> = {}) {
  const memory = new MemorySessionStore()
  const calls = { load: 0, save: 0, delete: 0 }
  const store: SessionStore = {
    load: (key) => (calls.load++, fault.load ? (fault.load() as SessionState) : memory.load(key)),
    save: (key, state, ttl) => (calls.save++, fault.save ? (fault.save() as void) : memory.save(key, state, ttl)),
    delete: (key) => (calls.delete++, fault.delete ? (fault.delete() as void) : memory.delete(key)),
  }
  return { store, memory, calls }
}

describe('reliable server: hostile frames', () => {
  it.each([
    { what: 'a non-JSON multi-byte text frame', frame: '€'.repeat(40), code: 1007 },
    { what: 'a hello with a long multi-byte version', frame: JSON.stringify(['hello', 'ü'.repeat(400), '0123456789abcdef', 0]), code: 1002 },
    { what: 'a malformed frame of multi-byte characters', frame: JSON.stringify(['zap', 'é'.repeat(100)]), code: 1002 },
  ])('survives $what: closes it with $code and a reason of at most 123 bytes without its bytes', async ({ frame, code }) => {
    const { server, url } = await reliable()
    const errors = record(server, 'error')
    const socket = await connect(url('/', 'mallory'))
    const closed = closeOf(socket)
    socket.send(frame)
    const { code: closeCode, reason } = await closed
    expect(closeCode).toBe(code)
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123)
    expect(reason).not.toMatch(/[€üé]/)
    expect(errors.map((e) => e.code)).toEqual(['LIFELINE_PROTOCOL_ERROR'])
    expect(errors[0]!.message.length).toBeLessThan(300)
    const next = await rawReliable(url('/', 'bob'))
    expect((await next.welcome())[0]).toBe('welcome')
  })

  it('announces its maxPayload in the welcome and refuses (returns false, reports) a message too large for the client', async () => {
    const { server, url } = await reliable({ maxPayload: 4096 })
    const errors = record(server, 'error')
    const small = await rawReliable(url('/', 'small'), { maxPayload: 1024 })
    expect(await small.welcome()).toEqual(['welcome', 1, expect.any(String), false, 0, 4096])
    const large = await rawReliable(url('/', 'large'))
    await large.welcome()
    const text = '"'.repeat(500) // 1,000 bytes escaped: over 1,024 with the envelope
    expect(server.send('small', text)).toBe(false)
    expect(errors.map((e) => [e.code, e.client])).toEqual([['LIFELINE_MESSAGE_TOO_LARGE', 'small']])
    expect(server.send('small', 'fits')).toBe(true)
    expect(server.broadcast(text)).toBe(1)
    expect(errors.map((e) => e.code)).toEqual(['LIFELINE_MESSAGE_TOO_LARGE', 'LIFELINE_MESSAGE_TOO_LARGE'])
    await waitFor(() => large.data().length === 1 && small.data().length === 1, 1_000, 'the messages that fit')
    expect(small.data()).toEqual(['fits'])
    expect(large.data()).toEqual([text])
  })

  it('answers heartbeat pings with heartbeat: false, so a quiet reliable client stays open', async () => {
    const { server, url } = await reliable({ heartbeat: false })
    const errors = record(server, 'error')
    const conn = client(url('/', 'quiet'), { heartbeat: { interval: 30, timeout: 100 } })
    const closes: number[] = []
    conn.on('close', ({ code }) => closes.push(code))
    await waitFor(() => conn.state === 'open', 2_000, 'open')
    await delay(300) // ten heartbeat intervals of quiet
    expect(conn.state).toBe('open')
    expect(closes).toEqual([])
    expect(errors).toEqual([])
  })
})

describe('reliable server: identity', () => {
  it('refuses delivery: reliable with the default identify, which would name clients at random', async () => {
    const { createHeartbeatServer } = await import('../../src/server/index.js')
    expect(() => createHeartbeatServer({ port: 0, delivery: 'reliable' })).toThrow(/delivery: 'reliable' needs an identify/)
  })

  it('keeps sessions apart by name: an id presented under another name is another session', async () => {
    const { server, url } = await reliable({ sessionTtl: 150 })
    const lost = record(server, 'session-lost')
    const id = '0123456789abcdef0123456789abcdef'
    const victim = await rawReliable(url('/', 'victim'), { id })
    await victim.welcome()
    victim.socket.close()
    await waitFor(() => !server.clients.has('victim'), 1_000, 'the victim to leave')
    expect(server.send('victim', 'for the victim')).toBe(true)
    const thief = await rawReliable(url('/', 'thief'), { id })
    expect((await thief.welcome())[3]).toBe(false) // not resumed: a new session of the thief's own
    thief.socket.close()
    await waitFor(() => lost.some((e) => e.name === 'victim'), 1_000, 'the victim session to expire')
    expect(lost).toContainEqual({ name: 'victim', lost: 1, messages: ['for the victim'], reason: 'expired' })
    expect(thief.data()).toEqual([])
  })

  it('queues what is sent from the connection handler until the welcome', async () => {
    const { server, url } = await reliable()
    server.on('connection', ({ name }) => expect(server.send(name, `welcome, ${name}`)).toBe(true))
    const messages: unknown[] = []
    const conn = client(url('/', 'ann'))
    conn.on('message', (data) => messages.push(data))
    await waitFor(() => messages.length === 1, 2_000, 'the greeting')
    expect(messages).toEqual(['welcome, ann'])
  })

  it('keeps what was sent to a client that left before its hello for its name’s next connection, and reports it lost after sessionTtl', async () => {
    const { server, url } = await reliable({ sessionTtl: 150 })
    const lost = record(server, 'session-lost')
    server.on('connection', ({ name }) => server.send(name, `hello ${name}?`))
    const mute = await connect(url('/', 'mute'))
    mute.close()
    const gone = await connect(url('/', 'gone'))
    gone.close()
    await waitFor(() => server.clients.size === 0, 1_000, 'both to leave')
    const back = await rawReliable(url('/', 'mute'))
    await waitFor(() => back.data().length === 2, 1_000, 'the greetings')
    expect(back.data()).toEqual(['hello mute?', 'hello mute?'])
    await waitFor(() => lost.length === 1, 1_000, 'the expiry of what nobody took')
    expect(lost).toEqual([{ name: 'gone', lost: 1, messages: ['hello gone?'], reason: 'no-hello' }])
  })

  it('passes what a client that left before its welcome was sent to the connection that replaced it, oldest first', async () => {
    const waiting: (() => void)[] = []
    let held = true
    const release = () => {
      held = false
      for (const resolve of waiting.splice(0)) resolve()
    }
    const slow = new MemorySessionStore()
    const store: SessionStore = {
      load: (key) => (held ? new Promise<void>((resolve) => waiting.push(resolve)).then(() => slow.load(key)) : slow.load(key)),
      save: (key, state, ttl) => slow.save(key, state, ttl),
      delete: (key) => slow.delete(key),
    }
    const { server, url } = await reliable({ sessionStore: store })
    const lost = record(server, 'session-lost')
    const first = await rawReliable(url('/', 'alice'))
    await delay(20) // its hello waits on the store
    expect(server.send('alice', 'one')).toBe(true)
    expect(server.send('alice', 'two')).toBe(true)
    const second = await connect(url('/', 'alice')) // replaces the first (4409) before it was welcomed
    await closeOf(first.socket)
    expect(server.send('alice', 'three')).toBe(true)
    const id = '0123456789abcdef0123456789abcdef'
    second.send(JSON.stringify(['hello', 1, id, 0]))
    const frames: unknown[] = []
    second.on('message', (raw) => frames.push(JSON.parse(raw.toString()) as unknown))
    await delay(20)
    release()
    await waitFor(() => frames.filter((f) => (f as unknown[])[0] === 'd').length === 3, 1_000, 'three messages')
    expect(frames.filter((f) => (f as unknown[])[0] === 'd').map((f) => (f as unknown[])[3])).toEqual(['one', 'two', 'three'])
    expect(lost).toEqual([])
  })
})

describe('reliable server: bounded sessions', () => {
  it('never throws from broadcast when a client never acknowledges: it is closed as a slow consumer and the others get everything', async () => {
    const { server, url } = await reliable({ maxUnacknowledged: 5 })
    const lost = record(server, 'session-lost')
    const disconnects = record(server, 'disconnect')
    const mallory = await rawReliable(url('/', 'mallory'))
    await mallory.welcome()
    const closed = closeOf(mallory.socket)
    const received: unknown[] = []
    const bob = client(url('/', 'bob'))
    bob.on('message', (data) => received.push(data))
    await waitFor(() => server.clients.has('bob') && bob.state === 'open', 2_000, 'bob')
    for (let i = 0; i < 12; i++) {
      expect(() => server.broadcast(`tick ${i}`)).not.toThrow()
      // bob acknowledges within 50 ms of quiet: he never holds 5
      await waitFor(() => received.length === i + 1, 1_000, `tick ${i} at bob`)
      await delay(70)
    }
    expect(received).toEqual(Array.from({ length: 12 }, (_, i) => `tick ${i}`))
    expect((await closed).code).toBe(4008)
    expect(disconnects).toContainEqual(expect.objectContaining({ name: 'mallory', reason: 'slow-consumer', code: 4008 }))
    expect(lost).toEqual([{ name: 'mallory', lost: 5, messages: ['tick 0', 'tick 1', 'tick 2', 'tick 3', 'tick 4'], reason: 'full' }])
    expect(server.send('mallory', 'after')).toBe(false)
  })

  it('counts bytes as well as messages', async () => {
    const { server, url } = await reliable({ maxUnacknowledgedBytes: 1_000 })
    const lost = record(server, 'session-lost')
    const hoarder = await rawReliable(url('/', 'hoarder'))
    await hoarder.welcome()
    expect(server.send('hoarder', 'x'.repeat(600))).toBe(true)
    expect(server.send('hoarder', 'y'.repeat(600))).toBe(false)
    expect(lost).toEqual([{ name: 'hoarder', lost: 1, messages: ['x'.repeat(600)], reason: 'full' }])
  })

  it('fixes an away session’s expiry when its client leaves: sending to it does not keep it alive', async () => {
    const { server, url } = await reliable({ sessionTtl: 200 })
    const lost = record(server, 'session-lost')
    const away = await rawReliable(url('/', 'away'))
    await away.welcome()
    away.socket.close()
    await waitFor(() => !server.clients.has('away'), 1_000, 'the client to leave')
    const left = performance.now()
    const sending = setInterval(() => server.send('away', 'tick'), 20)
    try {
      await waitFor(() => lost.length === 1, 1_000, 'the expiry')
    } finally {
      clearInterval(sending)
    }
    expect(performance.now() - left).toBeLessThan(600)
    expect(lost[0]).toMatchObject({ name: 'away', reason: 'expired' })
    expect(server.send('away', 'too late')).toBe(false)
  })

  it('queues a broadcast into each away session without copying its backlog into a store', async () => {
    const { store, calls } = faultyStore()
    const { server, url } = await reliable({ sessionStore: store })
    const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => rawReliable(url('/', `c${i}`))))
    await Promise.all(clients.map((c) => c.welcome()))
    for (const c of clients) c.socket.close()
    // One save when each arrives (claimed here), one when it leaves.
    await waitFor(() => server.clients.size === 0 && calls.save === 40, 2_000, 'every client to leave')
    for (let i = 0; i < 100; i++) expect(server.broadcast(`b${i}`)).toBe(0) // away with a store: the store holds them
    expect(calls.save).toBe(40) // none per message
  })

  it('ends sessions it alone held when it closes, and reports what they held', async () => {
    const { server, url } = await reliable()
    const lost = record(server, 'session-lost')
    const gone = await rawReliable(url('/', 'gone'))
    await gone.welcome()
    gone.socket.close()
    await waitFor(() => !server.clients.has('gone'), 1_000, 'the client to leave')
    server.send('gone', 'never read')
    await server.close()
    expect(lost).toEqual([{ name: 'gone', lost: 1, messages: ['never read'], reason: 'server-close' }])
  })
})

describe('reliable server: sessions in a store', () => {
  it('expires sessions in a custom store and reports them, and send() to an away client returns false', async () => {
    const { store, memory } = faultyStore()
    const { server, url } = await reliable({ sessionStore: store, sessionTtl: 100 })
    const lost = record(server, 'session-lost')
    const id = '0123456789abcdef0123456789abcdef'
    const left = await rawReliable(url('/', 'left'), { id })
    await left.welcome()
    expect(server.send('left', 'unread')).toBe(true)
    left.socket.close()
    await waitFor(() => (memory.load(sessionKey('left', id))?.expiresAt ?? 0) > 0, 1_000, 'the save as away')
    expect(server.send('left', 'while away')).toBe(false)
    expect(server.broadcast('to all')).toBe(0)
    await waitFor(() => lost.length === 1, 1_000, 'the expiry')
    expect(lost[0]).toEqual({ name: 'left', lost: 1, messages: ['unread'], reason: 'expired' })
    expect(memory.size).toBe(0)
  })

  it('resumes from the store, not from a stale copy in memory, when a client moves s1 → s2 → s1', async () => {
    const shared = new MemorySessionStore()
    const s1 = await reliable({ sessionStore: shared })
    const s2 = await reliable({ sessionStore: shared })
    const at: Record<string, string[]> = { s1: [], s2: [] }
    s1.server.on('message', ({ data }) => at.s1!.push(String(data)))
    s2.server.on('message', ({ data }) => at.s2!.push(String(data)))
    const errors: unknown[] = []
    for (const { server } of [s1, s2]) server.on('error', (error) => errors.push(error))
    let target = s1
    const conn = client(() => target.url('/', 'alice'))
    const received: unknown[] = []
    const lost: unknown[] = []
    conn.on('message', (data) => received.push(data))
    conn.on('session-lost', (event) => lost.push(event))
    const move = async (to: typeof s1, message: string, push: string): Promise<void> => {
      target = to
      conn.reconnect()
      await waitFor(() => conn.state === 'open' && to.server.clients.has('alice'), 2_000, 'the move')
      conn.send(message)
      to.server.send('alice', push)
      await waitFor(() => received.includes(push) && conn.buffered === 0, 2_000, `${push} to arrive`)
    }
    await waitFor(() => conn.state === 'open', 2_000, 'open on s1')
    conn.send('c1')
    await waitFor(() => conn.buffered === 0, 2_000, 'c1 acknowledged')
    await move(s2, 'c2', 's2-1')
    await move(s1, 'c3', 's1-1')
    expect(at).toEqual({ s1: ['c1', 'c3'], s2: ['c2'] })
    expect(received).toEqual(['s2-1', 's1-1'])
    expect(lost).toEqual([])
    expect(conn.state).toBe('open')
    expect(errors).toEqual([])
  })

  it.each([
    ['throws synchronously', () => { throw new Error('disk full') }],
    ['rejects', () => Promise.reject(new Error('connection refused'))],
    ['never settles', () => new Promise(() => {})],
  ])('survives a save that %s: reports it and keeps the session in memory', async (_what, save) => {
    const { store } = faultyStore({ save })
    const { server, url } = await reliable({ sessionStore: store, sessionStoreTimeout: 100 })
    const errors = record(server, 'error')
    const id = '0123456789abcdef0123456789abcdef'
    const first = await rawReliable(url('/', 'alice'), { id })
    await first.welcome()
    server.send('alice', 'm1')
    await waitFor(() => first.data().length === 1, 1_000, 'm1')
    first.socket.close()
    // Both saves fail: the claim at the welcome, and the departure.
    await waitFor(() => errors.length === 2, 1_000, 'the store errors')
    expect(errors.map((e) => [e.code, e.client])).toEqual([['LIFELINE_STORE_FAILED', 'alice'], ['LIFELINE_STORE_FAILED', 'alice']])
    const again = await rawReliable(url('/', 'alice'), { id, ack: 0 })
    expect((await again.welcome())[3]).toBe(true)
    await waitFor(() => again.data().length === 1, 1_000, 'the resend')
    expect(again.data()).toEqual(['m1'])
  })

  it.each([
    ['throws synchronously', () => { throw new Error('store down') }],
    ['rejects', () => Promise.reject(new Error('store down'))],
    ['never settles', () => new Promise(() => {})],
  ])('survives a load that %s: the client is asked to come back later (1013), and no stored session is given up', async (_what, load) => {
    const { store, memory } = faultyStore()
    const { server, url } = await reliable({ sessionStore: store, sessionStoreTimeout: 100 })
    const errors = record(server, 'error')
    const lost = record(server, 'session-lost')
    const id = '0123456789abcdef0123456789abcdef'
    const first = await rawReliable(url('/', 'alice'), { id })
    await first.welcome()
    server.send('alice', 'm1')
    first.socket.close()
    await waitFor(() => (memory.load(sessionKey('alice', id))?.expiresAt ?? 0) > 0, 1_000, 'the session saved as away')
    const working = store.load
    store.load = load as SessionStore['load']
    const refused = await rawReliable(url('/', 'alice'), { id })
    expect((await closeOf(refused.socket)).code).toBe(1013)
    expect(errors.map((e) => e.code)).toEqual(['LIFELINE_STORE_FAILED'])
    expect(lost).toEqual([])
    store.load = working
    const again = await rawReliable(url('/', 'alice'), { id })
    expect((await again.welcome())[3]).toBe(true)
    await waitFor(() => again.data().length === 1, 1_000, 'the resend')
    expect(again.data()).toEqual(['m1'])
  })

  it('survives a load that returns garbage: the client is told resumed false and the server reports it', async () => {
    const { store } = faultyStore({ load: () => ({ id: 'x', name: 42 }) })
    const { server, url } = await reliable({ sessionStore: store })
    const errors = record(server, 'error')
    const lost = record(server, 'session-lost')
    const raw = await rawReliable(url('/', 'alice'))
    expect((await raw.welcome())[3]).toBe(false)
    expect(errors.map((e) => e.code)).toEqual(['LIFELINE_SESSION_INVALID'])
    expect(lost).toEqual([expect.objectContaining({ name: 'alice', reason: 'invalid-state' })])
  })

  it('survives a delete that throws when it expires a session: reported, and the session still reported lost', async () => {
    const { store } = faultyStore({ delete: () => { throw new Error('read-only') } })
    const { server, url } = await reliable({ sessionStore: store, sessionTtl: 100 })
    const errors = record(server, 'error')
    const lost = record(server, 'session-lost')
    const first = await rawReliable(url('/', 'alice'))
    await first.welcome()
    server.send('alice', 'unread')
    first.socket.close()
    await waitFor(() => lost.length === 1 && errors.length === 1, 2_000, 'the expiry')
    expect(errors[0]).toMatchObject({ code: 'LIFELINE_STORE_FAILED' })
    expect(lost[0]).toMatchObject({ name: 'alice', reason: 'expired', messages: ['unread'] })
  })

  it('treats a JSON store that lost binary messages as an invalid session, and resumes one that encodes them', async () => {
    const kv = new Map<string, string>()
    const naive: SessionStore = {
      load: (key) => (kv.has(key) ? (JSON.parse(kv.get(key)!) as SessionState) : undefined),
      save: (key, state) => void kv.set(key, JSON.stringify(state)),
      delete: (key) => void kv.delete(key),
    }
    const encoded: SessionStore = {
      load: (key) => (kv.has(key) ? parseSessionState(kv.get(key)!) : undefined),
      save: (key, state) => void kv.set(key, serializeSessionState(state)),
      delete: (key) => void kv.delete(key),
    }
    for (const [store, resumed] of [[naive, false], [encoded, true]] as const) {
      kv.clear()
      const { server, url } = await reliable({ sessionStore: store })
      const errors = record(server, 'error')
      const id = '0123456789abcdef0123456789abcdef'
      const first = await rawReliable(url('/', 'alice'), { id })
      await first.welcome()
      server.send('alice', new Uint8Array([1, 2, 3]))
      await waitFor(() => first.data().length === 1, 1_000, 'the binary message')
      first.socket.close()
      await waitFor(() => kv.size === 1, 1_000, 'the save')
      const again = await rawReliable(url('/', 'alice'), { id })
      expect((await again.welcome())[3]).toBe(resumed)
      if (resumed) {
        await waitFor(() => again.data().length === 1, 1_000, 'the resend')
        expect(again.data()).toEqual([[1, 2, 3]])
        expect(errors).toEqual([])
      } else {
        expect(errors.map((e) => e.code)).toEqual(['LIFELINE_SESSION_INVALID'])
      }
      await server.close()
    }
  })

  it('keeps a session for the longest sessionTtl there is, in a store too (no timer overflow)', async () => {
    const { server, url } = await reliable({ sessionStore: new MemorySessionStore(), sessionTtl: 2_147_483_647 })
    const id = '0123456789abcdef0123456789abcdef'
    const first = await rawReliable(url('/', 'alice'), { id })
    await first.welcome()
    server.send('alice', 'kept')
    first.socket.close()
    await waitFor(() => !server.clients.has('alice'), 1_000, 'alice to leave')
    await delay(50)
    const back = await rawReliable(url('/', 'alice'), { id })
    expect((await back.welcome())[3]).toBe(true)
    await waitFor(() => back.data().length === 1, 1_000, 'the kept message')
  })

  it('reports a session a hello cannot resume (an ack beyond what it sent) lost once, never again at its expiry', async () => {
    const { store, memory } = faultyStore()
    const { server, url } = await reliable({ sessionStore: store, sessionTtl: 150 })
    const lost = record(server, 'session-lost')
    const errors = record(server, 'error')
    const id = 'abcdefabcdefabcdef0123456789abcd'
    const first = await rawReliable(url('/', 'alice'), { id })
    await first.welcome()
    for (const text of ['m1', 'm2', 'm3']) expect(server.send('alice', text)).toBe(true)
    await waitFor(() => first.data().length === 3, 1_000, 'three messages')
    first.socket.close()
    await waitFor(() => (memory.load(sessionKey('alice', id))?.expiresAt ?? 0) > 0, 1_000, 'the save as away')
    const second = await rawReliable(url('/', 'alice'), { id, ack: 99 })
    expect((await second.welcome())[3]).toBe(false)
    await waitFor(() => lost.length === 1, 1_000, 'the invalid session')
    expect(lost[0]).toEqual({ name: 'alice', lost: 3, messages: ['m1', 'm2', 'm3'], reason: 'invalid-state' })
    expect(errors.map((e) => e.code)).toEqual(['LIFELINE_SESSION_INVALID'])
    await delay(400) // past the old copy's expiry
    expect(lost).toHaveLength(1)
    expect(server.send('alice', 'the new session works')).toBe(true)
    await waitFor(() => second.data().includes('the new session works'), 1_000, 'the new session')
  })

  it('keys stored sessions by name and id', () => {
    expect(sessionKey('alice', 'abc')).not.toBe(sessionKey('bob', 'abc'))
    expect(sessionKey('a","b', 'c')).not.toBe(sessionKey('a', 'b","c'))
  })
})

describe('reliable server: two processes sharing a store', () => {
  it('never lets a process that still thinks it holds a session overwrite the newer one: its stale copy is reported lost', async () => {
    const shared = new MemorySessionStore()
    const s1 = await reliable({ sessionStore: shared, sessionTtl: 1_000 })
    const s2 = await reliable({ sessionStore: shared, sessionTtl: 1_000 })
    const lost: unknown[] = []
    for (const { server } of [s1, s2]) server.on('session-lost', (event) => lost.push(event))
    const id = '0123456789abcdef0123456789abcdef'
    // The link to s1 dies silently: s1 sends into it and has not noticed yet.
    const dead = await rawReliable(s1.url('/', 'alice'), { id })
    await dead.welcome()
    ;(dead.socket as unknown as { _socket: { pause(): void } })._socket.pause()
    for (const m of ['m1', 'm2', 'm3']) s1.server.send('alice', m)
    // The client goes on at s2 (which may not resume what s1 holds: it is connected there).
    const moved = await rawReliable(s2.url('/', 'alice'), { id })
    expect((await moved.welcome())[3]).toBe(false)
    s2.server.send('alice', 'n1')
    await waitFor(() => moved.data().length === 1, 1_000, 'n1')
    moved.ack(1)
    await delay(30)
    moved.socket.close()
    await waitFor(() => !s2.server.clients.has('alice'), 1_000, 'the client to leave s2')
    await delay(50)
    // Only now does s1 see its link die, and try to save its copy.
    dead.socket.terminate()
    await waitFor(() => lost.length === 1, 1_000, "s1's report")
    expect(lost).toEqual([{ name: 'alice', lost: 3, messages: ['m1', 'm2', 'm3'], reason: 'moved' }])
    const back = await rawReliable(s2.url('/', 'alice'), { id, ack: 1 })
    expect((await back.welcome())[3]).toBe(true)
    await delay(100)
    expect(back.data()).toEqual([]) // nothing of s1's stale copy, nothing twice
  })

  it('resumes from the store, not from a copy kept in memory after a failed save, once the session went on elsewhere', async () => {
    const shared = new MemorySessionStore()
    let failing = true
    const flaky: SessionStore = {
      load: (key) => shared.load(key),
      save: (key, state, ttl) => {
        if (failing && state.expiresAt > 0) throw new Error('disk full')
        shared.save(key, state, ttl)
      },
      delete: (key) => shared.delete(key),
    }
    const s1 = await reliable({ sessionStore: flaky })
    const s2 = await reliable({ sessionStore: shared })
    const id = '0123456789abcdef0123456789abcdef'
    const first = await rawReliable(s1.url('/', 'alice'), { id })
    await first.welcome()
    s1.server.send('alice', 's1-1')
    await waitFor(() => first.data().length === 1, 1_000, 's1-1')
    first.ack(1)
    await delay(20)
    first.socket.close() // its save fails: s1 keeps the session in memory
    await waitFor(() => !s1.server.clients.has('alice'), 1_000, 'the client to leave s1')
    failing = false
    const second = await rawReliable(s2.url('/', 'alice'), { id, ack: 1 })
    // s1 never saved it as away: as far as the store knows it is connected to s1, so s2 starts over.
    expect((await second.welcome())[3]).toBe(false)
    s2.server.send('alice', 's2-1')
    s2.server.send('alice', 's2-2')
    await waitFor(() => second.data().length === 2, 1_000, 's2 messages')
    second.ack(2)
    await delay(20)
    second.socket.close()
    await waitFor(() => !s2.server.clients.has('alice') && (shared.load(sessionKey('alice', id))?.expiresAt ?? 0) > 0, 1_000, 'the client to leave s2')
    const third = await rawReliable(s1.url('/', 'alice'), { id, ack: 2 })
    expect((await third.welcome())[3]).toBe(true)
    s1.server.send('alice', 's1-next')
    await waitFor(() => third.data().length === 1, 1_000, 's1-next')
    expect(third.frames).toContainEqual(['d', 3, 0, 's1-next']) // numbered after s2's messages, not after s1's stale copy
  })
})

describe('reliable server: what the application sends', () => {
  it('gives a greeting sent while a reloaded page has not said hello to the page, whatever session continues', async () => {
    const { server, url } = await reliable()
    const lost = record(server, 'session-lost')
    let visit = 0
    server.on('connection', ({ name }) => server.send(name, `hello ${name}, visit ${++visit}`))
    const first = await rawReliable(url('/', 'alice'))
    await waitFor(() => first.data().length === 1, 1_000, 'the first greeting')
    first.socket.close()
    await waitFor(() => !server.clients.has('alice'), 1_000, 'the page to go')
    const reloaded = await rawReliable(url('/', 'alice')) // a new page: a new session id
    await waitFor(() => reloaded.data().length === 1, 1_000, 'the second greeting')
    expect(reloaded.data()).toEqual(['hello alice, visit 2'])
    expect(lost.filter((e) => e.messages.includes('hello alice, visit 2'))).toEqual([])
  })

  it('refuses one message larger than a whole session may hold, without ending a healthy session', async () => {
    const { server, url } = await reliable({ maxUnacknowledgedBytes: 1_000 })
    const errors = record(server, 'error')
    const lost = record(server, 'session-lost')
    const alice = await rawReliable(url('/', 'alice'))
    await alice.welcome()
    expect(server.send('alice', 'x'.repeat(1_001))).toBe(false)
    expect(errors.map((e) => e.code)).toEqual(['LIFELINE_MESSAGE_TOO_LARGE'])
    expect(server.send('alice', 'still fine')).toBe(true)
    await waitFor(() => alice.data().length === 1, 1_000, 'the next message')
    expect(lost).toEqual([])
    expect(server.clients.has('alice')).toBe(true)
  })

  it('resumes a backlog larger than maxBufferedBytes as fast as the client reads, without calling it slow', async () => {
    const { server, url } = await reliable({ maxBufferedBytes: 64 * 1024 })
    const disconnects = record(server, 'disconnect')
    const id = '0123456789abcdef0123456789abcdef'
    const first = await rawReliable(url('/', 'alice'), { id })
    await first.welcome()
    first.socket.close()
    await waitFor(() => !server.clients.has('alice'), 1_000, 'alice to leave')
    for (let i = 0; i < 40; i++) expect(server.send('alice', `${i}:${'y'.repeat(10_000)}`)).toBe(true) // 400 kB waiting
    const back = await rawReliable(url('/', 'alice'), { id })
    await waitFor(() => back.data().length === 40, 3_000, 'the whole backlog')
    expect(disconnects.map((e) => e.reason)).toEqual(['closed'])
  })
})

describe('reliable server: broadcast', () => {
  it('asks the filter about away clients too, with no socket', async () => {
    const { server, url } = await reliable()
    const here = await rawReliable(url('/', 'here'))
    await here.welcome()
    const away = await rawReliable(url('/', 'away'))
    await away.welcome()
    away.socket.close()
    await waitFor(() => !server.clients.has('away'), 1_000, 'away to leave')
    const asked: [string, boolean][] = []
    expect(server.broadcast('news', (name, socket) => (asked.push([name, socket !== undefined]), true))).toBe(2)
    expect(asked.sort()).toEqual([['away', false], ['here', true]])
    expect(server.broadcast('only here', (_name, socket) => socket !== undefined)).toBe(1)
  })
})

describe('reliable server: copies', () => {
  it('sends what the caller passed, even if it changes its buffer afterwards', async () => {
    const { server, url } = await reliable()
    const raw = await rawReliable(url('/', 'alice'))
    await raw.welcome()
    const away = await rawReliable(url('/', 'bob'))
    await away.welcome()
    away.socket.close()
    await waitFor(() => !server.clients.has('bob'), 1_000, 'bob to leave')
    const bytes = new Uint8Array([1, 2, 3])
    server.send('alice', bytes)
    server.send('bob', bytes) // queued, sent on resume
    bytes[0] = 99
    await waitFor(() => raw.data().length === 1, 1_000, 'the message')
    expect(raw.data()).toEqual([[1, 2, 3]])
  })
})
