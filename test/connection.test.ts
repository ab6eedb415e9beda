import { describe, expect, it, vi } from 'vitest'
import { FakeWebSocket } from './helpers/fake-websocket.js'
import { harness } from './helpers/harness.js'
import { TestClock } from './helpers/test-clock.js'
import { LATE_AFTER_MS } from '../src/clock.js'
import type { Connection, ConnectionEventMap, WebSocketConstructor } from '../src/index.node.js'

// The harness records every event, so it listens for errors; this strips its listeners.
function createBareConnection(conn: Connection): Connection {
  ;(conn as unknown as { adapter: { emitter: { clear(): void } } }).adapter.emitter.clear()
  return conn
}

const fast = {
  heartbeat: { interval: 1_000, timeout: 500 },
  reconnect: { initialDelay: 100, maxDelay: 1_000, factor: 2, jitter: 0 },
}

function opened(options = {}) {
  const h = harness({ ...fast, ...options })
  h.conn.open()
  FakeWebSocket.last.serverOpen()
  return h
}

describe('heartbeat', () => {
  it('sends a ping after the interval of silence, not before', () => {
    const { clock, value } = opened()
    clock.advance(999)
    expect(FakeWebSocket.last.sent).toEqual([])
    expect(value()).toEqual({ open: 'waiting' })
    clock.advance(1)
    expect(FakeWebSocket.last.sent).toEqual(['ping'])
    expect(value()).toEqual({ open: 'ackPending' })
  })

  it('returns to waiting on the pong, reports the round trip, and does not deliver the pong', () => {
    const { clock, value, of } = opened()
    clock.advance(1_000)
    clock.advance(42)
    FakeWebSocket.last.serverMessage('pong')
    expect(value()).toEqual({ open: 'waiting' })
    expect(of('heartbeat')).toEqual([{ type: 'ping' }, { type: 'proof', roundTrip: 42 }])
    expect(of('message')).toEqual([])
  })

  it("sends no pings while traffic flows with proof 'any'", () => {
    const { clock, of } = opened()
    for (let i = 0; i < 20; i++) {
      clock.advance(600)
      FakeWebSocket.last.serverMessage(`data ${i}`)
    }
    expect(FakeWebSocket.last.sent).toEqual([])
    expect(of('message')).toHaveLength(20)
    clock.advance(1_000) // silence: the ping is due one interval after the last frame
    expect(FakeWebSocket.last.sent).toEqual(['ping'])
  })

  it("counts only the pong with proof 'pong'", () => {
    const { clock, value } = opened({ heartbeat: { interval: 1_000, timeout: 500, proof: 'pong' } })
    clock.advance(600)
    FakeWebSocket.last.serverMessage('data')
    clock.advance(400)
    expect(FakeWebSocket.last.sent).toEqual(['ping'])
    FakeWebSocket.last.serverMessage('more data')
    expect(value()).toEqual({ open: 'ackPending' })
    FakeWebSocket.last.serverMessage('pong')
    expect(value()).toEqual({ open: 'waiting' })
  })

  it('drops the socket at once on timeout and goes to backoff without waiting for its close event', () => {
    const { clock, conn, of } = opened()
    const dead = FakeWebSocket.last
    clock.advance(1_000 + 499)
    expect(conn.state).toBe('open')
    clock.advance(1)
    expect(conn.state).toBe('backoff')
    expect(dead.closeCalls).toHaveLength(1)
    expect(of('heartbeat').at(-1)).toEqual({ type: 'timeout' })
    expect(of('close')).toEqual([{ code: 1006, reason: 'heartbeat-timeout', wasClean: false }])
    expect(of('state').at(-1)).toEqual({ state: 'backoff', previous: 'open', reason: 'heartbeat-timeout' })
    clock.advance(100)
    expect(conn.state).toBe('connecting')
    expect(FakeWebSocket.instances).toHaveLength(2)
  })

  it("ignores a replaced socket's late events", () => {
    const { clock, conn, of } = opened()
    const dead = FakeWebSocket.last
    clock.advance(1_500 + 100)
    FakeWebSocket.last.serverOpen()
    expect(conn.state).toBe('open')
    dead.serverMessage('late data')
    dead.serverError()
    dead.serverClose(1006)
    expect(conn.state).toBe('open')
    expect(of('message')).toEqual([])
    expect(of('error')).toEqual([])
    expect(of('close')).toHaveLength(1)
  })

  it('uses custom ping payloads and pong matchers (seed 000)', () => {
    const { clock, value, of } = opened({
      heartbeat: { interval: 1_000, timeout: 500, ping: 'Heartbeat 心跳检测', isPong: (d: unknown) => d === 'Heartbeat_ack', proof: 'pong' },
    })
    clock.advance(1_000)
    expect(FakeWebSocket.last.sent).toEqual(['Heartbeat 心跳检测'])
    FakeWebSocket.last.serverMessage('hello client!')
    expect(value()).toEqual({ open: 'ackPending' })
    FakeWebSocket.last.serverMessage('Heartbeat_ack')
    expect(value()).toEqual({ open: 'waiting' })
    expect(of('message')).toEqual(['hello client!'])
  })

  it('builds each ping with a ping function', () => {
    let n = 0
    const { clock } = opened({ heartbeat: { interval: 1_000, timeout: 500, ping: () => JSON.stringify({ ModeCode: 'heart_beat', n: ++n }) } })
    clock.advance(1_000)
    FakeWebSocket.last.serverMessage('pong')
    clock.advance(1_000)
    expect(FakeWebSocket.last.sent).toEqual(['{"ModeCode":"heart_beat","n":1}', '{"ModeCode":"heart_beat","n":2}'])
  })

  it('reports a ping function that throws, and the timeout then reconnects', () => {
    const { clock, conn, of } = opened({
      heartbeat: { interval: 1_000, timeout: 500, ping: () => { throw new Error('no ping today') } },
    })
    clock.advance(1_000)
    expect(of('error').map((e) => e.message)).toEqual(['no ping today'])
    clock.advance(500)
    expect(conn.state).toBe('backoff')
  })

  it('never pings with heartbeat: false', () => {
    const { clock, value } = opened({ heartbeat: false })
    expect(value()).toEqual({ open: 'settling' })
    clock.advance(60_000)
    expect(value()).toEqual({ open: 'unmonitored' })
    expect(FakeWebSocket.last.sent).toEqual([])
    expect(clock.pending).toBe(0)
  })
})

describe('reconnection', () => {
  it('backs off exponentially and resets once the connection proves healthy', () => {
    const { clock, conn, of } = harness(fast)
    conn.open()
    for (let i = 0; i < 3; i++) {
      FakeWebSocket.last.serverClose(1006)
      clock.advance(clock.nextDue()!)
    }
    expect(of('reconnect')).toEqual([
      { attempt: 1, delay: 100 },
      { attempt: 2, delay: 200 },
      { attempt: 3, delay: 400 },
    ])
    FakeWebSocket.last.serverOpen()
    expect(conn.actor.getSnapshot().context.attempt).toBe(3) // open is not yet proof of health
    clock.advance(1_000)
    FakeWebSocket.last.serverMessage('pong')
    expect(conn.actor.getSnapshot().context.attempt).toBe(0)
    FakeWebSocket.last.serverClose(1006)
    expect(of('reconnect').at(-1)).toEqual({ attempt: 1, delay: 100 })
  })

  it('never counts the open as proof of life, even when the ping timer fires a fraction of a millisecond early', () => {
    // Node fires timers by a loop clock of whole milliseconds (a delay is at least one of them):
    // up to one before performance.now() says they are due.
    const time = new TestClock()
    const early = { now: () => time.now(), setTimeout: (run: () => void, ms: number) => time.setTimeout(run, Math.max(1, ms) - 0.4), clearTimeout: (id: unknown) => time.clearTimeout(id) }
    const { conn, of } = harness({ ...fast, clock: early })
    conn.open()
    for (let i = 0; i < 3; i++) {
      FakeWebSocket.last.serverOpen() // a server that accepts and never answers
      time.advance(1_500) // the ping, then its deadline
      time.advance(time.nextDue()!)
    }
    expect(of('heartbeat').filter((h) => h.type === 'proof')).toEqual([])
    expect(of('reconnect')).toEqual([{ attempt: 1, delay: 100 }, { attempt: 2, delay: 200 }, { attempt: 3, delay: 400 }])
  })

  it('keeps the attempt count while a hidden page postpones the ping, with no frame received', () => {
    const { clock, conn, environment } = harness({ ...fast, heartbeat: { interval: 1_000, timeout: 500, hiddenInterval: 5_000 } })
    conn.open()
    FakeWebSocket.last.serverClose(1006)
    clock.advance(clock.nextDue()!)
    FakeWebSocket.last.serverOpen()
    environment.setVisible(false)
    clock.advance(1_000) // the timer armed while visible finds the hidden interval not over
    expect(conn.actor.getSnapshot().value).toEqual({ open: 'waiting' })
    expect(conn.actor.getSnapshot().context.attempt).toBe(1)
    clock.advance(4_000)
    expect(FakeWebSocket.last.sent).toEqual(['ping'])
    FakeWebSocket.last.serverMessage('pong')
    expect(conn.actor.getSnapshot().context.attempt).toBe(0)
  })

  it('with heartbeat: false, resets the attempt count only once a socket stayed open minUptime', () => {
    const { clock, conn, of } = harness({ ...fast, heartbeat: false, reconnect: { ...fast.reconnect, minUptime: 2_000 } })
    conn.open()
    for (let i = 0; i < 3; i++) {
      FakeWebSocket.last.serverOpen() // a server that accepts and closes at once
      FakeWebSocket.last.serverClose(1011, 'crashed', true)
      clock.advance(clock.nextDue()!)
    }
    FakeWebSocket.last.serverOpen()
    clock.advance(1_999)
    FakeWebSocket.last.serverClose(1011, 'crashed', true)
    clock.advance(clock.nextDue()!)
    FakeWebSocket.last.serverOpen()
    clock.advance(2_000) // up long enough: healthy
    expect(conn.actor.getSnapshot().context.attempt).toBe(0)
    FakeWebSocket.last.serverClose(1011, 'crashed', true)
    expect(of('reconnect')).toEqual([
      { attempt: 1, delay: 100 }, { attempt: 2, delay: 200 }, { attempt: 3, delay: 400 }, { attempt: 4, delay: 800 },
      { attempt: 1, delay: 100 },
    ])
  })

  it('schedules exactly one attempt for an error followed by a close (S5)', () => {
    const { clock, conn, of } = harness(fast)
    conn.open()
    FakeWebSocket.last.serverError()
    FakeWebSocket.last.serverClose(1006)
    expect(of('reconnect')).toHaveLength(1)
    clock.advance(100)
    expect(FakeWebSocket.instances).toHaveLength(2)
    clock.advance(10_000)
    expect(FakeWebSocket.instances).toHaveLength(2)
  })

  it('fails after maxAttempts attempts in a row (S7)', () => {
    const { clock, conn, of } = harness({ ...fast, reconnect: { ...fast.reconnect, maxAttempts: 5 } })
    conn.open()
    for (let i = 0; i < 10 && conn.state !== 'failed'; i++) {
      FakeWebSocket.last.serverClose(1006)
      if (conn.state === 'backoff') clock.advance(clock.nextDue()!)
    }
    expect(FakeWebSocket.instances).toHaveLength(5)
    expect(conn.state).toBe('failed')
    expect(of('failed')).toEqual([{ reason: 'max-attempts', attempts: 5 }])
    clock.advance(60_000)
    expect(FakeWebSocket.instances).toHaveLength(5)
    conn.open()
    expect(conn.state).toBe('connecting')
    expect(conn.actor.getSnapshot().context.attempt).toBe(0)
  })

  it('does not retry policy closes and application refusals by default', () => {
    for (const code of [1008, 4400, 4409]) {
      const { conn, of } = opened()
      FakeWebSocket.last.serverClose(code, 'nope', true)
      expect(conn.state).toBe('failed')
      expect(of('failed')).toEqual([{ reason: 'not-retried', attempts: 1 }])
    }
  })

  it('asks shouldReconnect about every close', () => {
    const shouldReconnect = vi.fn((close: { code: number }) => close.code !== 4000)
    const { conn } = opened({ reconnect: { ...fast.reconnect, shouldReconnect } })
    FakeWebSocket.last.serverClose(1011, 'restart', true)
    expect(conn.state).toBe('backoff')
    expect(shouldReconnect).toHaveBeenCalledWith({ code: 1011, reason: 'restart', wasClean: true })
  })

  it('never retries with reconnect: false', () => {
    const { conn, of } = opened({ reconnect: false })
    FakeWebSocket.last.serverClose(1006)
    expect(conn.state).toBe('failed')
    expect(of('failed')).toEqual([{ reason: 'not-retried', attempts: 1 }])
  })

  it('abandons an attempt after connectTimeout', () => {
    const { clock, conn, of } = harness({ ...fast, connectTimeout: 3_000 })
    conn.open()
    clock.advance(3_000)
    expect(conn.state).toBe('backoff')
    expect(FakeWebSocket.instances[0]!.closeCalls).toHaveLength(1)
    expect(of('close')).toEqual([{ code: 1006, reason: 'connect-timeout', wasClean: false }])
  })

  it('reconnect() replaces the socket at once', () => {
    const { conn } = opened()
    const first = FakeWebSocket.last
    conn.reconnect()
    expect(first.readyState).toBe(2)
    expect(FakeWebSocket.instances).toHaveLength(2)
    expect(FakeWebSocket.live()).toEqual([FakeWebSocket.last])
  })

  it('reads a url function before every attempt, and drops a late async result', async () => {
    let n = 0
    const { clock, conn } = harness({ ...fast, url: () => `ws://test.invalid/?token=${++n}` })
    conn.open()
    FakeWebSocket.last.serverClose(1006)
    clock.advance(100)
    expect(FakeWebSocket.instances.map((s) => s.url)).toEqual(['ws://test.invalid/?token=1', 'ws://test.invalid/?token=2'])

    let resolve!: (url: string) => void
    const slow = harness({ ...fast, url: () => new Promise<string>((r) => (resolve = r)) })
    slow.conn.open()
    slow.conn.close()
    resolve('ws://test.invalid/late')
    await Promise.resolve()
    expect(FakeWebSocket.instances).toEqual([])
    expect(slow.conn.state).toBe('idle')
  })
})

describe('close', () => {
  it('closes with a handshake and never reconnects afterwards (S4)', () => {
    const { clock, conn, of } = opened()
    conn.close(4000, 'bye')
    expect(conn.state).toBe('closing')
    expect(FakeWebSocket.last.closeCalls).toEqual([{ code: 4000, reason: 'bye' }])
    FakeWebSocket.last.serverClose(4000, 'bye', true)
    expect(conn.state).toBe('idle')
    expect(of('close')).toEqual([{ code: 4000, reason: 'bye', wasClean: true }])
    clock.advance(600_000)
    expect(FakeWebSocket.instances).toHaveLength(1)
    expect(of('reconnect')).toEqual([])
  })

  it('forces the close after closeTimeout', () => {
    const { clock, conn, of } = opened({ closeTimeout: 2_000 })
    conn.close()
    clock.advance(2_000)
    expect(conn.state).toBe('idle')
    expect(of('close')).toEqual([{ code: 1006, reason: 'close-timeout', wasClean: false }])
  })

  it('close() while connecting or in backoff goes straight to idle', () => {
    const { conn, clock } = harness(fast)
    conn.open()
    conn.close()
    expect(conn.state).toBe('idle')
    conn.open()
    FakeWebSocket.last.serverClose(1006)
    expect(conn.state).toBe('backoff')
    conn.close()
    expect(conn.state).toBe('idle')
    clock.advance(60_000)
    expect(FakeWebSocket.instances).toHaveLength(2)
  })
})

describe('network (S8)', () => {
  it('goes offline without attempts, and reconnects at once when online again', () => {
    const { clock, conn, network, of } = opened()
    network.emit(false)
    expect(conn.state).toBe('offline')
    expect(FakeWebSocket.live()).toEqual([])
    expect(of('close').at(-1)).toEqual({ code: 1006, reason: 'offline', wasClean: false })
    clock.advance(600_000)
    expect(FakeWebSocket.instances).toHaveLength(1)
    network.emit(true)
    expect(conn.state).toBe('connecting')
    expect(FakeWebSocket.instances).toHaveLength(2)
  })

  it('does not dial when the network is offline at open()', () => {
    const { conn, network } = harness(fast)
    network.online = false
    conn.open()
    expect(conn.state).toBe('offline')
    expect(FakeWebSocket.instances).toHaveLength(0)
  })
})

describe('buffer', () => {
  it('delivers messages sent while not open, in order, before anything sent later', () => {
    const { conn } = harness(fast)
    conn.send('one')
    conn.open()
    conn.send('two')
    conn.on('open', () => conn.send('four'))
    conn.on('state', (change) => change.state === 'open' && conn.send('three'))
    FakeWebSocket.last.serverOpen()
    conn.send('five')
    expect(FakeWebSocket.last.sent).toEqual(['one', 'two', 'three', 'four', 'five'])
  })

  it('reports the oldest message it drops', () => {
    const { conn, of } = harness({ buffer: { maxMessages: 2 } })
    conn.send('a')
    conn.send('b')
    conn.send('c')
    expect(conn.buffered).toBe(2)
    expect(of('error')).toEqual([expect.objectContaining({ code: 'LIFELINE_BUFFER_OVERFLOW', messages: ['a'] })])
  })

  it("throws when full with overflow 'reject'", () => {
    const { conn } = harness({ buffer: { maxMessages: 1, overflow: 'reject' } })
    conn.send('a')
    expect(() => conn.send('b')).toThrow(expect.objectContaining({ code: 'LIFELINE_BUFFER_FULL' }))
  })

  it("refuses at send() when full in reliable mode, where 'reject' is the default: nothing is dropped", () => {
    const { conn, of } = harness({ delivery: 'reliable', buffer: { maxMessages: 3 } })
    for (const text of ['a', 'b', 'c']) conn.send(text)
    expect(() => conn.send('d')).toThrow(expect.objectContaining({ code: 'LIFELINE_BUFFER_FULL' }))
    expect(conn.buffered).toBe(3)
    expect(of('error')).toEqual([])
  })

  it('throws when not open with buffer: false', () => {
    const { conn } = harness({ buffer: false })
    expect(() => conn.send('a')).toThrow(/send\(\) while the connection is idle/)
  })
})

describe('events and lifecycle', () => {
  it('reports every state change with its reason', () => {
    const { conn, clock, of } = opened()
    FakeWebSocket.last.serverClose(1006)
    clock.advance(100)
    expect(of('state')).toEqual([
      { state: 'connecting', previous: 'idle', reason: 'open' },
      { state: 'open', previous: 'connecting', reason: 'socket-open' },
      { state: 'backoff', previous: 'open', reason: 'socket-close' },
      { state: 'connecting', previous: 'backoff', reason: 'backoff-elapsed' },
    ])
    expect(conn.state).toBe('connecting')
  })

  it('keeps working when a listener throws, reporting it as an error event', () => {
    const { conn, of } = opened()
    conn.on('message', () => {
      throw new Error('listener bug')
    })
    FakeWebSocket.last.serverMessage('a')
    FakeWebSocket.last.serverMessage('b')
    expect(of('message')).toEqual(['a', 'b'])
    expect(conn.state).toBe('open')
    expect(of('error')).toEqual([
      expect.objectContaining({ code: 'LIFELINE_LISTENER_FAILED', message: "A 'message' listener threw: listener bug" }),
      expect.objectContaining({ code: 'LIFELINE_LISTENER_FAILED' }),
    ])
  })

  it('hands errors to the host when nobody listens for them, never throwing', () => {
    const emitWarning = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      const { conn } = harness({ buffer: { maxMessages: 1 } })
      const bare = createBareConnection(conn)
      bare.send('a')
      bare.send('b') // overflow with no error listener
      expect(emitWarning).toHaveBeenCalledWith(expect.objectContaining({ code: 'LIFELINE_BUFFER_OVERFLOW' }))
    } finally {
      emitWarning.mockRestore()
    }
  })

  it('reports a throwing isPong and treats the frame as a message', () => {
    const { of } = opened({ heartbeat: { interval: 1_000, timeout: 500, isPong: () => { throw new Error('bad matcher') } } })
    FakeWebSocket.last.serverMessage('pong?')
    expect(of('message')).toEqual(['pong?'])
    expect(of('error').map((e) => e.message)).toEqual(['bad matcher'])
  })

  it('delivers binary frames as they arrive', () => {
    const { of } = opened()
    const bytes = new Uint8Array([1, 2, 3]).buffer
    FakeWebSocket.last.serverMessage(bytes)
    expect(of('message')).toEqual([bytes])
    expect(FakeWebSocket.last.binaryType).toBe('arraybuffer')
  })

  it('dispose() stops timers and the socket, reports discarded messages, then stays silent', () => {
    const { conn, clock, of } = harness(fast)
    conn.open()
    conn.send('never sent')
    conn.dispose()
    expect(FakeWebSocket.live()).toEqual([])
    expect(clock.pending).toBe(0)
    expect(of('error')).toEqual([expect.objectContaining({ code: 'LIFELINE_BUFFER_DISCARDED', messages: ['never sent'] })])
    expect(() => conn.send('x')).toThrow(expect.objectContaining({ code: 'LIFELINE_DISPOSED' }))
    expect(() => conn.close()).not.toThrow()
  })
})

describe('sleep, background tabs and network changes', () => {
  const sleepy = { heartbeat: { interval: 1_000, timeout: 2_000, probeTimeout: 300 } }

  it('sends an ordinary ping when the ping timer fires late, after one I/O turn: a long task does not cut the time the server has to answer', () => {
    // One long task (or a throttled tab) must not shrink the round trip the server is allowed.
    const { clock, conn, value, of } = opened({ heartbeat: { interval: 1_000, timeout: 6_000, probeTimeout: 3_000 } })
    clock.jump(1_000 + 150)
    expect(value()).toEqual({ open: 'waiting' }) // nothing done before the input that arrived meanwhile is read
    clock.advance(0) // the I/O turn
    expect(value()).toEqual({ open: 'ackPending' })
    expect(of('heartbeat')).toEqual([{ type: 'ping' }])
    clock.advance(3_500) // answered later than probeTimeout, within timeout
    FakeWebSocket.last.serverMessage('pong')
    expect(value()).toEqual({ open: 'waiting' })
    expect(conn.state).toBe('open')
    expect(FakeWebSocket.instances).toHaveLength(1)
  })

  it('keeps the late ping to the deadline an on-time one had, and finds a dead link within probeTimeout after a long stop', () => {
    const { clock, conn, of } = opened({ heartbeat: { interval: 1_000, timeout: 6_000, probeTimeout: 3_000 } })
    clock.jump(1_000 + 4_000) // stopped 4 s: the ping goes out 4 s late
    clock.advance(0)
    expect(of('heartbeat')).toEqual([{ type: 'ping' }])
    clock.advance(2_999) // due 6 s after the ping fell due, but never less than probeTimeout after it went out
    expect(conn.state).toBe('open')
    clock.advance(1)
    expect(conn.state).toBe('backoff')
    expect(of('state').at(-1)).toMatchObject({ reason: 'heartbeat-timeout' })
  })

  it('keeps the same socket when the probe is answered', () => {
    const { clock, conn, value, of, environment } = opened(sleepy)
    environment.wake()
    clock.advance(100)
    FakeWebSocket.last.serverMessage('pong')
    expect(value()).toEqual({ open: 'waiting' })
    expect(FakeWebSocket.instances).toHaveLength(1)
    expect(of('reconnect')).toEqual([])
    expect(conn.state).toBe('open')
  })

  it('reconnects within the probe timeout when the probe is not answered', () => {
    const { clock, conn, of, environment } = opened(sleepy)
    environment.wake()
    clock.advance(299)
    expect(conn.state).toBe('open')
    clock.advance(1)
    expect(conn.state).toBe('backoff')
    expect(of('state').at(-1)).toMatchObject({ reason: 'probe-timeout' })
    expect(of('close').at(-1)).toEqual({ code: 1006, reason: 'probe-timeout', wasClean: false })
  })

  it('reads the pong that arrived during a stall before a late heartbeat timeout can judge', () => {
    // The defect of a fixed threshold: a timeout 1.5 s late was a verdict, with the pong unread.
    const { clock, value, of } = opened({ heartbeat: { interval: 100, timeout: 1_500 } })
    clock.advance(100)
    expect(value()).toEqual({ open: 'ackPending' })
    clock.jump(3_000) // stopped 3 s with the ping pending: the timeout fires 1.5 s late
    FakeWebSocket.last.serverMessage('pong') // read in the I/O turn the late timer waits for
    clock.advance(0)
    expect(value()).toEqual({ open: 'waiting' })
    expect(of('heartbeat').map((h) => h.type)).toEqual(['ping', 'proof'])
    expect(FakeWebSocket.instances).toHaveLength(1)
  })

  it('turns a late heartbeat timeout into a probe, not a verdict, when nothing arrived', () => {
    const { clock, value, of } = opened(sleepy)
    clock.advance(1_000) // ping sent, then the process sleeps before the pong is read
    expect(value()).toEqual({ open: 'ackPending' })
    clock.jump(30_000) // the heartbeat timeout fires 28 s late
    clock.advance(0)
    expect(value()).toEqual({ open: 'probing' })
    FakeWebSocket.last.serverMessage('pong')
    expect(value()).toEqual({ open: 'waiting' })
    expect(of('heartbeat').map((h) => h.type)).toEqual(['ping', 'probe', 'proof'])
    expect(FakeWebSocket.instances).toHaveLength(1)
  })

  it('judges a timer late by less than the tolerance at once, as on time', () => {
    const { clock, conn } = opened(sleepy)
    clock.advance(1_000)
    clock.jump(2_000 + LATE_AFTER_MS) // the timeout fires just within the tolerance
    expect(conn.state).toBe('backoff')
  })

  it('still judges a late probe deadline, after the I/O turn', () => {
    const { clock, conn, value, environment } = opened(sleepy)
    environment.wake()
    expect(value()).toEqual({ open: 'probing' })
    clock.jump(10_000) // asleep again during the probe
    expect(conn.state).toBe('open')
    clock.advance(0)
    expect(conn.state).toBe('backoff')
  })

  it('reads the open that arrived during a stall before a late connect timeout can abandon the attempt', () => {
    const { clock, conn } = harness({ ...fast, connectTimeout: 1_000 })
    conn.open()
    clock.jump(5_000)
    FakeWebSocket.last.serverOpen()
    clock.advance(0)
    expect(conn.state).toBe('open')
    expect(FakeWebSocket.instances).toHaveLength(1)
  })

  it('probes when the page wakes up or the network comes back while open', () => {
    const { environment, network, value } = opened(sleepy)
    environment.setVisible(false)
    expect(value()).toEqual({ open: 'waiting' })
    environment.setVisible(true)
    expect(value()).toEqual({ open: 'probing' })
    FakeWebSocket.last.serverMessage('pong')
    network.emit(true)
    expect(value()).toEqual({ open: 'probing' })
    FakeWebSocket.last.serverMessage('pong')
    environment.wake() // pageshow from the back/forward cache, or resume after a freeze
    expect(value()).toEqual({ open: 'probing' })
  })

  it('stretches the ping interval while hidden', () => {
    const { clock, environment } = opened({ heartbeat: { interval: 1_000, timeout: 2_000, hiddenInterval: 10_000 } })
    environment.setVisible(false)
    clock.advance(9_999) // the timer armed while visible re-arms for the rest of the hidden interval
    expect(FakeWebSocket.last.sent).toEqual([])
    clock.advance(1)
    expect(FakeWebSocket.last.sent).toEqual(['ping'])
    FakeWebSocket.last.serverMessage('pong')
    clock.advance(9_999)
    expect(FakeWebSocket.last.sent).toEqual(['ping'])
    clock.advance(1)
    expect(FakeWebSocket.last.sent).toEqual(['ping', 'ping'])
  })

  it('tries at once when woken up in backoff', () => {
    const { clock, conn, environment } = harness({ ...fast, reconnect: { ...fast.reconnect, initialDelay: 60_000, maxDelay: 60_000 } })
    conn.open()
    FakeWebSocket.last.serverClose(1006)
    expect(conn.state).toBe('backoff')
    environment.wake()
    expect(conn.state).toBe('connecting')
    expect(FakeWebSocket.instances).toHaveLength(2)
    clock.advance(60_000)
    expect(FakeWebSocket.instances).toHaveLength(2) // the backoff timer left with its state
  })
})

describe('server-driven heartbeat', () => {
  const server = { heartbeat: { mode: 'server' as const, interval: 1_000, timeout: 500 } }

  it("answers the server's pings, sends none of its own, and delivers neither", () => {
    const { clock, of, value } = opened(server)
    for (let i = 0; i < 5; i++) {
      clock.advance(1_000)
      FakeWebSocket.last.serverMessage('ping')
    }
    expect(FakeWebSocket.last.sent).toEqual(['pong', 'pong', 'pong', 'pong', 'pong'])
    expect(of('message')).toEqual([])
    expect(value()).toEqual({ open: 'waiting' })
  })

  it('declares the link dead when the server stops pinging for interval + timeout', () => {
    const { clock, conn, of } = opened(server)
    clock.advance(1_000)
    FakeWebSocket.last.serverMessage('ping')
    clock.advance(1_499)
    expect(conn.state).toBe('open')
    clock.advance(1)
    expect(conn.state).toBe('backoff')
    expect(of('heartbeat').at(-1)).toEqual({ type: 'timeout' })
    expect(of('state').at(-1)).toMatchObject({ reason: 'heartbeat-timeout' })
  })
})

// Moments a listener fires at, each with what drives the connection there.
const LISTENER_MOMENTS: { type: keyof ConnectionEventMap; drive: (h: ReturnType<typeof harness>) => void }[] = [
  { type: 'state', drive: (h) => h.conn.reconnect() },
  { type: 'close', drive: (h) => h.conn.reconnect() },
  { type: 'open', drive: (h) => { h.conn.reconnect(); FakeWebSocket.last.serverOpen() } },
  { type: 'heartbeat', drive: (h) => h.clock.advance(1_000) },
  { type: 'reconnect', drive: () => FakeWebSocket.last.serverClose(1006) },
  { type: 'failed', drive: () => FakeWebSocket.last.serverClose(1008) },
  { type: 'message', drive: () => FakeWebSocket.last.serverMessage('hello') },
  { type: 'error', drive: () => FakeWebSocket.last.serverError() },
]

describe('dispose() from inside a listener (review 14)', () => {
  for (const { type, drive } of LISTENER_MOMENTS) {
    it(`leaves no socket open and no timer pending when called from a '${type}' listener`, () => {
      const h = opened()
      const before = h.events.length
      h.conn.on(type, () => h.conn.dispose())
      drive(h)
      const created = FakeWebSocket.instances.length
      expect(FakeWebSocket.live(), 'live sockets').toEqual([])
      expect(h.clock.pending, 'pending timers').toBe(0)
      expect(h.conn.state).toBe('idle')
      const after = h.events.length
      h.clock.advance(120_000)
      expect(FakeWebSocket.instances).toHaveLength(created)
      expect(h.events.length, 'events after dispose').toBe(after)
      expect(after).toBeGreaterThan(before)
    })
  }

  it('reports the socket it dropped exactly once', () => {
    const h = opened()
    h.conn.on('close', () => h.conn.dispose())
    h.conn.reconnect()
    expect(h.of('close')).toEqual([{ code: 1006, reason: 'reconnect', wasClean: false }])
  })
})

describe('every method from inside every listener', () => {
  // Each listener calls one method, once, from inside.
  const methods = ['close', 'reconnect', 'open', 'send'] as const

  for (const { type, drive } of LISTENER_MOMENTS) {
    for (const method of methods) {
      it(`${method}() from a '${type}' listener: one socket at most, nothing sent lost, and the connection opens again after`, () => {
      const h = opened()
      let calls = 0
      h.conn.on(type, () => {
        if (calls++ > 0) return
        if (method === 'send') h.conn.send('from the listener')
        else h.conn[method]()
      })
      drive(h)
      expect(calls).toBeGreaterThan(0)
      expect(FakeWebSocket.live().length, 'live sockets').toBeLessThanOrEqual(1)
      h.clock.advance(60_000)
      expect(FakeWebSocket.live().length, 'live sockets').toBeLessThanOrEqual(1)
      if (h.conn.state !== 'open') {
        h.conn.open()
        // Still retrying (open() has nothing to start then): step to its next attempt.
        for (let step = 0; step < 20 && FakeWebSocket.live().length === 0; step++) h.clock.advance(h.clock.nextDue() ?? 0)
        const dialling = FakeWebSocket.live()
        expect(dialling, 'the socket dialled by open()').toHaveLength(1)
        if (dialling[0]!.readyState === 0) dialling[0]!.serverOpen()
      }
      expect(h.conn.state).toBe('open')
      if (method === 'send') {
        const sent = FakeWebSocket.instances.flatMap((socket) => socket.sent)
        expect(sent.filter((data) => data === 'from the listener')).toHaveLength(1)
      }
      h.conn.dispose()
      expect(FakeWebSocket.live()).toEqual([])
      expect(h.clock.pending).toBe(0)
      })
    }
  }
})

describe('failed attempts (review 21)', () => {
  it("never lets a failed attempt's late events touch a newer attempt", async () => {
    let calls = 0
    const h = harness({
      ...fast,
      url: () => {
        if (calls++ === 0) throw new Error('token service down')
        return 'ws://test.invalid/fresh'
      },
    })
    let kicked = false
    h.conn.on('state', ({ state }) => {
      if (state === 'connecting' && !kicked) {
        kicked = true
        h.conn.reconnect() // "token refreshed, try now"
      }
    })
    h.conn.open()
    await Promise.resolve()
    expect(calls).toBe(2)
    expect(h.conn.state).toBe('connecting')
    expect(FakeWebSocket.live()).toEqual([FakeWebSocket.last])
    FakeWebSocket.last.serverOpen()
    expect(h.conn.state).toBe('open')
    expect(h.of('close')).toEqual([])
    expect(h.of('error')).toEqual([expect.objectContaining({ code: 'LIFELINE_URL_FAILED', message: expect.stringContaining('token service down') })])
  })
})

describe('failed reason (review 29)', () => {
  it('reports not-retried for a never-retried close on the last allowed attempt', () => {
    const h = harness({ ...fast, reconnect: { ...fast.reconnect, maxAttempts: 3 } })
    h.conn.open()
    FakeWebSocket.last.serverClose(1011, 'try again', true)
    h.clock.advance(h.clock.nextDue()!)
    FakeWebSocket.last.serverClose(1011, 'try again', true)
    h.clock.advance(h.clock.nextDue()!)
    FakeWebSocket.last.serverClose(4409, 'replaced by a newer connection', true)
    expect(h.conn.state).toBe('failed')
    expect(h.of('failed')).toEqual([{ reason: 'not-retried', attempts: 3 }])
    expect(h.of('close').at(-1)).toEqual({ code: 4409, reason: 'replaced by a newer connection', wasClean: true })
  })

  it('reports max-attempts when the last attempt times out', () => {
    const h = harness({ ...fast, connectTimeout: 500, reconnect: { ...fast.reconnect, maxAttempts: 2 } })
    h.conn.open()
    h.clock.advance(500)
    h.clock.advance(h.clock.nextDue()!)
    h.clock.advance(500)
    expect(h.of('failed')).toEqual([{ reason: 'max-attempts', attempts: 2 }])
  })
})

class RefusingWebSocket extends FakeWebSocket {
  override send(data: unknown): void {
    if (data === 'refused') throw new TypeError("Failed to execute 'send' on 'WebSocket'")
    super.send(data)
  }
}

describe('flushing the buffer (review 20)', () => {
  it('reports a message whose send throws, and still sends the rest in order', () => {
    const h = harness({ ...fast, WebSocket: RefusingWebSocket as unknown as WebSocketConstructor })
    for (const m of ['one', 'refused', 'three', 'four']) h.conn.send(m)
    h.conn.open()
    FakeWebSocket.last.serverOpen()
    expect(FakeWebSocket.last.sent).toEqual(['one', 'three', 'four'])
    expect(h.of('error')).toEqual([expect.objectContaining({ code: 'LIFELINE_SEND_FAILED', messages: ['refused'] })])
    expect(h.conn.buffered).toBe(0)
  })

  it('refuses shared memory at send() with a clear error', () => {
    const { conn } = harness(fast)
    expect(() => conn.send(new SharedArrayBuffer(4))).toThrow(expect.objectContaining({ code: 'LIFELINE_INVALID_ARGUMENT', message: expect.stringMatching(/cannot send shared memory/) }))
    expect(() => conn.send(new Uint8Array(new SharedArrayBuffer(4)))).toThrow(/cannot send shared memory/)
    expect(conn.buffered).toBe(0)
  })
})

describe('binary data is taken at send() (review 15)', () => {
  it('sends the bytes as they were at send(), not as the caller changed them later', () => {
    const { conn } = harness(fast)
    const bytes = new Uint8Array([1, 2, 3])
    const raw = new Uint8Array([7, 8]).buffer
    conn.send(bytes)
    conn.send(raw)
    bytes[0] = 99
    new Uint8Array(raw)[0] = 99
    conn.open()
    FakeWebSocket.last.serverOpen()
    const [first, second] = FakeWebSocket.last.sent as [Uint8Array, ArrayBuffer]
    expect([...first]).toEqual([1, 2, 3])
    expect([...new Uint8Array(second)]).toEqual([7, 8])
  })

  it('hands a message sent while open straight to the socket, which copies it itself', () => {
    const { conn } = opened()
    const bytes = new Uint8Array([1])
    conn.send(bytes)
    expect(FakeWebSocket.last.sent[0]).toBe(bytes)
  })
})

describe('connection: reconnect() from a close listener', () => {
  it('does not loop when a close listener calls reconnect() on the close that reconnect() itself caused', () => {
    const { conn, sockets } = harness()
    conn.open()
    sockets.last.serverOpen()
    let closes = 0
    conn.on('close', (event) => {
      closes++
      if (!event.wasClean && closes < 100) conn.reconnect() // the plain-WebSocket habit
    })
    conn.reconnect()
    expect(closes).toBe(1)
    expect(conn.state).toBe('connecting')
    expect(sockets.live()).toHaveLength(1)
  })
})
