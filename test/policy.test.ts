/**
 * The retry policy, the server's hints and the refresh of refused
 * credentials, against scripted sockets and a test clock.
 */
import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { formatCloseHint, MAX_HINT_DELAY, parseCloseHint } from '../src/hint.js'
import { defaultRetryDelay } from '../src/retry.js'
import { utf8Length } from '../src/utf8.js'
import { createConnection, type RetryContext, type UrlContext } from '../src/index.node.js'
import { FakeWebSocket } from './helpers/fake-websocket.js'
import { harness } from './helpers/harness.js'

const fast = {
  heartbeat: { interval: 1_000, timeout: 500, probeTimeout: 200 },
  reconnect: { initialDelay: 100, maxDelay: 1_000, factor: 2, jitter: 0 },
}
const BACKOFF = { initialDelay: 100, maxDelay: 1_000, factor: 2, jitter: 0 }

function withPolicy(policy: (context: RetryContext) => number | false | undefined, options = {}) {
  const contexts: RetryContext[] = []
  const h = harness({ ...fast, reconnect: { ...fast.reconnect, policy: (context) => (contexts.push(context), policy(context)) }, ...options })
  return { ...h, contexts }
}

function opened<T extends ReturnType<typeof harness>>(h: T): T {
  h.conn.open()
  FakeWebSocket.last.serverOpen()
  return h
}

describe('reconnect.policy', () => {
  it('is told the close, the cause, whether the socket opened, the network, the page and the default delay', () => {
    const { network, environment, contexts } = opened(withPolicy(() => undefined))
    environment.setVisible(false)
    network.online = false // what the source says now; no offline event
    FakeWebSocket.last.serverClose(1011, 'internal', true)
    expect(contexts).toEqual([{
      attempt: 1,
      elapsed: 0,
      cause: 'close',
      close: { code: 1011, reason: 'internal', wasClean: true },
      opened: true,
      online: false,
      visible: false,
      hint: undefined,
      delay: 100,
    }])
  })

  it('names every cause: an error, the connect, heartbeat and probe deadlines', () => {
    const { conn, clock, contexts } = withPolicy(() => undefined, { connectTimeout: 300 })
    conn.open()
    FakeWebSocket.last.serverError()
    FakeWebSocket.last.serverClose(1006)
    clock.advance(clock.nextDue()!)
    clock.advance(300) // no open within connectTimeout
    clock.advance(clock.nextDue()!)
    FakeWebSocket.last.serverOpen()
    clock.advance(1_000 + 500) // ping, then no proof
    clock.advance(clock.nextDue()!)
    FakeWebSocket.last.serverOpen()
    clock.advance(1_000) // the ping, then asleep: the late heartbeat timeout probes
    clock.jump(5_000)
    clock.advance(0)
    clock.advance(200)
    expect(contexts.map((c) => [c.cause, c.opened, c.close?.code])).toEqual([
      ['error', false, 1006],
      ['connect-timeout', false, undefined],
      ['heartbeat-timeout', true, undefined],
      ['probe-timeout', true, undefined],
    ])
    expect(contexts.map((c) => c.attempt)).toEqual([1, 2, 3, 4])
  })

  it('counts elapsed from the last time the connection was healthy', () => {
    const { conn, clock, contexts } = withPolicy(() => undefined)
    conn.open()
    FakeWebSocket.last.serverOpen()
    clock.advance(1_000)
    FakeWebSocket.last.serverMessage('pong') // healthy at 1000
    clock.advance(300)
    FakeWebSocket.last.serverClose(1006) // 300 ms after the last proof
    clock.advance(clock.nextDue()!) // +100 backoff
    FakeWebSocket.last.serverClose(1006) // refused again, 400 ms after the last proof
    expect(contexts.map((c) => c.elapsed)).toEqual([300, 400])
  })

  it('sets the delay it returns', () => {
    const { clock, of } = opened(withPolicy(() => 5_000))
    FakeWebSocket.last.serverClose(1006)
    expect(of('reconnect')).toEqual([{ attempt: 1, delay: 5_000 }])
    clock.advance(4_999)
    expect(FakeWebSocket.instances).toHaveLength(1)
    clock.advance(1)
    expect(FakeWebSocket.instances).toHaveLength(2)
  })

  it("stops with false: failed, reason 'policy'", () => {
    const { conn, of, clock } = opened(withPolicy((context) => (context.close?.code === 1011 ? false : undefined)))
    FakeWebSocket.last.serverClose(1011, 'bug', true)
    expect(conn.state).toBe('failed')
    expect(of('failed')).toEqual([{ reason: 'policy', attempts: 1 }])
    clock.advance(60_000)
    expect(FakeWebSocket.instances).toHaveLength(1)
  })

  it('stops after a heartbeat timeout too', () => {
    const { conn, clock, of } = opened(withPolicy(() => false))
    clock.advance(1_500)
    expect(conn.state).toBe('failed')
    expect(of('heartbeat').at(-1)).toEqual({ type: 'timeout' })
    expect(of('failed')).toEqual([{ reason: 'policy', attempts: 1 }])
  })

  it('is asked once per failure, and never about a close shouldReconnect refuses or past maxAttempts', () => {
    const policy = vi.fn(() => undefined)
    const h = harness({ ...fast, reconnect: { ...fast.reconnect, maxAttempts: 2, policy } })
    h.conn.open()
    FakeWebSocket.last.serverClose(1006)
    expect(policy).toHaveBeenCalledTimes(1)
    h.clock.advance(h.clock.nextDue()!)
    FakeWebSocket.last.serverClose(1006) // the last attempt allowed
    expect(h.conn.state).toBe('failed')
    expect(policy).toHaveBeenCalledTimes(1)
    h.conn.open()
    FakeWebSocket.last.serverClose(1008, 'policy violation', true)
    expect(policy).toHaveBeenCalledTimes(1)
    expect(h.of('failed').map((f) => f.reason)).toEqual(['max-attempts', 'not-retried'])
  })

  it('is asked anew about every timeout in a row, so the backoff grows and a policy that stops does stop', () => {
    // The timers' events are the same object every time they fire: each failure is still its own.
    const { conn, clock, contexts, of } = withPolicy(({ attempt }) => (attempt > 3 ? false : undefined), { connectTimeout: 300 })
    conn.open()
    for (let i = 0; i < 4; i++) {
      clock.advance(300) // no open within connectTimeout
      if (conn.state === 'backoff') clock.advance(clock.nextDue()!)
    }
    expect(contexts.map((c) => [c.attempt, c.cause, c.delay])).toEqual([
      [1, 'connect-timeout', 100], [2, 'connect-timeout', 200], [3, 'connect-timeout', 400], [4, 'connect-timeout', 800],
    ])
    expect(of('reconnect')).toEqual([{ attempt: 1, delay: 100 }, { attempt: 2, delay: 200 }, { attempt: 3, delay: 400 }])
    expect(of('failed')).toEqual([{ reason: 'policy', attempts: 4 }])
  })

  it('is asked anew about every heartbeat timeout in a row', () => {
    const { conn, clock, contexts } = withPolicy(() => undefined)
    conn.open()
    for (let i = 0; i < 3; i++) {
      FakeWebSocket.last.serverOpen()
      clock.advance(1_000 + 500) // the ping, then no answer
      clock.advance(clock.nextDue()!)
    }
    expect(contexts.map((c) => [c.attempt, c.cause, c.delay])).toEqual([[1, 'heartbeat-timeout', 100], [2, 'heartbeat-timeout', 200], [3, 'heartbeat-timeout', 400]])
    expect(conn.actor.getSnapshot().context.attempt).toBe(3)
  })

  it('reports a policy that throws or answers nonsense, and applies the default', () => {
    const answers: unknown[] = [NaN, -1, Infinity, 2 ** 31, '5', null, true, {}]
    let next = 0
    const { clock, of } = opened(withPolicy(() => {
      if (next === answers.length) throw new Error('policy bug')
      return answers[next++] as number
    }))
    for (let i = 0; i <= answers.length; i++) {
      FakeWebSocket.last.serverClose(1006)
      clock.advance(clock.nextDue()!)
      FakeWebSocket.last.serverOpen()
      clock.advance(1_000)
      FakeWebSocket.last.serverMessage('pong') // healthy again: the default is the first delay
    }
    expect(of('reconnect').map((r) => r.delay)).toEqual(Array(answers.length + 1).fill(100))
    const errors = of('error')
    expect(errors.every((e) => (e as { code?: string }).code === 'LIFELINE_POLICY_FAILED')).toBe(true)
    expect(errors.map((e) => e.message)).toEqual([
      ...['NaN', '-1', 'Infinity', '2147483648', '"5"', 'null', 'true', 'an object (Object)'].map(
        (got) => `reconnect.policy must return a delay from 0 to 2147483647 ms, false or undefined, got ${got}; used the default`,
      ),
      'reconnect.policy threw (policy bug); used the default',
    ])
  })

  it('must be a function', () => {
    for (const policy of [5, 'later', {}, null]) {
      expect(() => createConnection({ url: 'ws://test.invalid/', autoConnect: false, reconnect: { policy: policy as never } }))
        .toThrow(expect.objectContaining({ code: 'LIFELINE_INVALID_OPTION', message: expect.stringMatching(/^reconnect\.policy must be a function, got /) }))
    }
  })

  it('never lets any answer break the connection or hand a timer a delay it cannot take', () => {
    const answer = fc.oneof(fc.anything(), fc.double(), fc.integer(), fc.constant(false), fc.constant(undefined), fc.constant(2 ** 31))
    fc.assert(fc.property(fc.array(answer, { minLength: 1, maxLength: 8 }), (answers) => {
      let next = 0
      const { conn, clock, of } = opened(withPolicy(() => answers[next++ % answers.length] as number))
      for (let i = 0; i < answers.length && conn.state !== 'failed'; i++) {
        FakeWebSocket.last.serverClose(1006)
        if (conn.state === 'backoff') clock.advance(clock.nextDue()!)
        FakeWebSocket.last.serverOpen()
      }
      for (const { delay } of of('reconnect')) expect(delay >= 0 && delay <= 2_147_483_647).toBe(true)
      expect(['open', 'failed']).toContain(conn.state)
      expect(FakeWebSocket.live().length).toBeLessThanOrEqual(1)
      conn.dispose()
    }), { seed: 0x9011c7, numRuns: 200 })
  })

  it('may dispose, close or reconnect the connection from inside', () => {
    for (const act of ['dispose', 'close', 'reconnect'] as const) {
      const h: ReturnType<typeof harness> = opened(harness({ ...fast, reconnect: { ...fast.reconnect, policy: () => (h.conn[act](), undefined) } }))
      FakeWebSocket.last.serverClose(1006)
      expect(h.conn.state, act).toBe(act === 'reconnect' ? 'connecting' : 'idle')
      expect(FakeWebSocket.live().length, act).toBeLessThanOrEqual(1)
      expect(FakeWebSocket.instances, act).toHaveLength(act === 'reconnect' ? 2 : 1)
      if (act === 'dispose') expect(h.clock.pending, act).toBe(0)
      if (act !== 'reconnect') {
        h.clock.advance(60_000) // the retry planned before the call never runs
        expect(FakeWebSocket.instances, act).toHaveLength(1)
      }
      h.conn.dispose()
    }
  })
})

describe('server hints', () => {
  const hinted = (hint: object) => JSON.stringify({ lifeline: 1, ...hint })

  it('spreads the first retry after a restart over the window the server gives', () => {
    const delays = new Set<number>()
    for (let i = 0; i < 50; i++) {
      const { of } = opened(harness(fast))
      FakeWebSocket.last.serverClose(1012, hinted({ within: 30_000 }), true)
      delays.add(of('reconnect')[0]!.delay)
    }
    for (const delay of delays) expect(delay).toBeGreaterThanOrEqual(0), expect(delay).toBeLessThanOrEqual(30_000)
    expect(delays.size).toBeGreaterThan(40) // random, not the fixed backoff of jitter 0
  })

  it('backs off as usual from a server that closes every socket with a tiny window', () => {
    const { conn, clock, of } = harness(fast)
    conn.open()
    for (let i = 0; i < 4; i++) {
      FakeWebSocket.last.serverOpen()
      FakeWebSocket.last.serverClose(1012, hinted({ within: 0 }), true)
      clock.advance(clock.nextDue()!)
    }
    expect(of('reconnect').map((r) => r.delay)).toEqual([100, 200, 400, 800])
  })

  it('waits at least retryAfter, then the jittered backoff, even beyond maxDelay', () => {
    const { of, contexts } = opened(withPolicy(() => undefined))
    FakeWebSocket.last.serverClose(1013, hinted({ retryAfter: 20_000 }), true)
    expect(contexts[0]!.hint).toEqual({ retryAfter: 20_000 })
    expect(of('reconnect')).toEqual([{ attempt: 1, delay: 20_100 }]) // maxDelay is 1000
  })

  describe('a wake-up or the network coming back during backoff', () => {
    // The server said "not before 5 s"; the retry is planned at 5 s plus the backoff (100 ms).
    function heldBack(options = {}, delay = 5_100) {
      const h = opened(harness({ ...fast, ...options }))
      FakeWebSocket.last.serverClose(1013, hinted({ retryAfter: 5_000 }), true)
      expect(h.of('reconnect')).toEqual([{ attempt: 1, delay }])
      h.clock.advance(1_000)
      return h
    }
    const sockets = () => FakeWebSocket.instances.length

    const early: [string, (h: ReturnType<typeof heldBack>) => void][] = [
      ['a wake-up', (h) => h.environment.wake()],
      ['the page shown again', (h) => (h.environment.setVisible(false), h.environment.setVisible(true))],
      ['an online event', (h) => h.network.emit(true)],
      ['a network blip (offline, then online)', (h) => (h.network.emit(false), h.network.emit(true))],
    ]
    for (const [what, wake] of early) {
      it(`cuts the wait down to the server's retryAfter, no further: ${what}`, () => {
        const h = heldBack()
        const before = sockets()
        wake(h)
        expect(h.conn.state).toBe('backoff')
        expect(h.value()).toBe('held')
        expect(sockets()).toBe(before)
        h.clock.advance(4_000)
        // 5000 ms after the close, and the millisecond by which a timer can fire early
        expect(sockets()).toBe(before)
        h.clock.advance(1)
        expect(h.conn.state).toBe('connecting')
        expect(sockets()).toBe(before + 1)
        expect(h.of('state').slice(-1)).toEqual([{ state: 'connecting', previous: 'backoff', reason: 'backoff-elapsed' }])
      })
    }

    it('connects at once once the retryAfter is over, before the backoff on top of it', () => {
      const h = heldBack()
      h.clock.advance(4_050)
      h.environment.wake()
      expect(h.conn.state).toBe('connecting')
    })

    it('waits no longer than a policy that answered sooner than the server asked', () => {
      const h = heldBack({ reconnect: { ...fast.reconnect, policy: () => 3_000 } }, 3_000)
      h.environment.wake()
      expect(h.value()).toBe('held')
      h.clock.advance(2_000)
      expect(h.conn.state).toBe('backoff')
      h.clock.advance(1)
      expect(h.conn.state).toBe('connecting')
    })

    it('stays held through a wake-up while held, and an offline spell', () => {
      const h = heldBack()
      h.environment.wake()
      h.environment.wake()
      h.network.emit(false)
      expect(h.conn.state).toBe('offline')
      h.clock.advance(2_000)
      h.network.emit(true)
      expect(h.value()).toBe('held')
      expect(h.of('reconnect')).toHaveLength(1) // no retry planned anew: only held back
      h.clock.advance(2_001)
      expect(h.conn.state).toBe('connecting')
    })

    it('owes the server nothing after reconnect(), or open() after close(), even while offline', () => {
      const a = heldBack()
      a.environment.wake()
      a.conn.reconnect()
      expect(a.conn.state).toBe('connecting')

      const b = heldBack()
      b.conn.close()
      b.network.online = false
      b.conn.open()
      expect(b.conn.state).toBe('offline')
      b.network.emit(true)
      expect(b.conn.state).toBe('connecting')
    })

    it('is not held by a hint from an earlier failure once an attempt began', () => {
      const h = heldBack()
      h.clock.advance(4_100) // the retry
      FakeWebSocket.last.serverClose(1006) // its socket fails, no hint
      h.clock.advance(10)
      h.environment.wake()
      expect(h.conn.state).toBe('connecting')
    })
  })

  it("stops when the server says reconnect: false: failed, reason 'server'", () => {
    const { conn, of, contexts } = opened(withPolicy(() => undefined))
    FakeWebSocket.last.serverClose(1000, hinted({ reconnect: false, message: 'account closed' }), true)
    expect(contexts[0]!.delay).toBe(false)
    expect(conn.state).toBe('failed')
    expect(of('failed')).toEqual([{ reason: 'server', attempts: 1 }])
  })

  it('lets the policy overrule the hint', () => {
    const { conn, of } = opened(withPolicy((context) => (context.hint?.reconnect === false ? 50 : undefined)))
    FakeWebSocket.last.serverClose(1000, hinted({ reconnect: false }), true)
    expect(conn.state).toBe('backoff')
    expect(of('reconnect')).toEqual([{ attempt: 1, delay: 50 }])
  })

  it('ignores an unknown or malformed hint: the ordinary backoff applies', () => {
    for (const reason of ['{"lifeline":2,"retryAfter":99999}', '{"lifeline":1,"retryAfter":"soon"}', '{lifeline:1}', '[1]', 'restarting', '{"lifeline":1,"within":-5}']) {
      const { of, conn } = opened(harness(fast))
      FakeWebSocket.last.serverClose(1012, reason, true)
      expect(conn.state, reason).toBe('backoff')
      expect(of('reconnect'), reason).toEqual([{ attempt: 1, delay: 100 }])
      expect(of('error'), reason).toEqual([])
    }
  })

  it('never lets any close reason crash the client or hold it back more than an hour', () => {
    const reason = fc.oneof(
      fc.string({ maxLength: 130, unit: 'binary' }),
      fc.dictionary(fc.constantFrom('lifeline', 'within', 'retryAfter', 'reconnect', 'unread', 'message', '__proto__', 'constructor'), fc.anything(), { maxKeys: 7 }).map((o) => JSON.stringify(o)),
      fc.record({ lifeline: fc.constantFrom(1, 2, '1'), within: fc.anything(), retryAfter: fc.anything(), reconnect: fc.anything(), unread: fc.anything() }, { requiredKeys: ['lifeline'] }).map((o) => JSON.stringify(o)),
    )
    fc.assert(fc.property(reason, fc.integer({ min: 1000, max: 4999 }), (text, code) => {
      const { conn, of } = opened(harness(fast))
      FakeWebSocket.last.serverClose(code === 4401 || code === 4403 ? 1000 : code, text, true)
      expect(['backoff', 'failed']).toContain(conn.state)
      for (const { delay } of of('reconnect')) expect(delay).toBeLessThanOrEqual(MAX_HINT_DELAY)
      conn.dispose()
    }), { seed: 0x4e1e7, numRuns: 300 })
  })
})

describe('the hint format', () => {
  it('reads what it writes, and what it writes fits a close frame', () => {
    const hint = fc.record({
      within: fc.nat({ max: MAX_HINT_DELAY }),
      retryAfter: fc.nat({ max: MAX_HINT_DELAY }),
      reconnect: fc.boolean(),
      unread: fc.boolean(),
      message: fc.string({ maxLength: 200, unit: 'binary' }),
    }, { requiredKeys: [] })
    fc.assert(fc.property(hint, (h) => {
      const text = formatCloseHint(h)
      expect(utf8Length(text)).toBeLessThanOrEqual(123)
      const read = parseCloseHint(text)!
      const { message, ...rest } = h
      expect({ ...read, message: undefined }).toEqual({ ...rest, message: undefined })
      if (message !== undefined && read.message !== undefined) expect(message.startsWith(read.message)).toBe(true)
    }), { seed: 0xc105e, numRuns: 500 })
  })

  it('writes the documented form', () => {
    expect(formatCloseHint({ within: 30_000 })).toBe('{"lifeline":1,"within":30000}')
    expect(formatCloseHint({ retryAfter: 5_000, message: 'full' })).toBe('{"lifeline":1,"retryAfter":5000,"message":"full"}')
    expect(formatCloseHint({ reconnect: false })).toBe('{"lifeline":1,"reconnect":false}')
    expect(formatCloseHint({ retryAfter: 5_000, unread: true, message: 'over capacity' })).toBe('{"lifeline":1,"retryAfter":5000,"unread":true,"message":"over capacity"}')
  })

  it('cuts delays to an hour and drops fields of the wrong type one by one', () => {
    expect(parseCloseHint('{"lifeline":1,"retryAfter":1e12,"within":"x","reconnect":0,"extra":1}')).toEqual({ retryAfter: MAX_HINT_DELAY })
    for (const unread of ['1', '"true"', 'null', '{}', '[true]']) expect(parseCloseHint(`{"lifeline":1,"unread":${unread}}`), unread).toEqual({})
    expect(parseCloseHint('{"lifeline":1,"unread":false}')).toEqual({ unread: false })
  })
})

describe('the default delay', () => {
  it('is the backoff without a hint, the window with within, retryAfter plus the rest with retryAfter', () => {
    const half = () => 0.5
    expect(defaultRetryDelay(2, BACKOFF, undefined, half)).toBe(400)
    expect(defaultRetryDelay(2, BACKOFF, { within: 10_000 }, half)).toBe(5_000)
    expect(defaultRetryDelay(2, BACKOFF, { retryAfter: 3_000 }, half)).toBe(3_400)
    expect(defaultRetryDelay(2, BACKOFF, { retryAfter: 3_000, within: 1_000 }, half)).toBe(3_500)
    expect(defaultRetryDelay(2, BACKOFF, { retryAfter: 3_000, reconnect: false }, half)).toBe(false)
  })

  it('gives way to the backoff when the window is shorter than the backoff ceiling', () => {
    const half = () => 0.5
    expect(defaultRetryDelay(2, BACKOFF, { within: 0 }, half)).toBe(400) // ceiling 400: the window would bring the client back sooner
    expect(defaultRetryDelay(2, BACKOFF, { within: 399 }, half)).toBe(400)
    expect(defaultRetryDelay(2, BACKOFF, { within: 400 }, half)).toBe(200)
    expect(defaultRetryDelay(2, BACKOFF, { retryAfter: 1_000, within: 0 }, half)).toBe(1_400)
  })

  it('holds a client at most an hour for a hint, retryAfter and within together', () => {
    const last = () => 0.999_999
    for (const hint of [{ retryAfter: MAX_HINT_DELAY, within: MAX_HINT_DELAY }, { retryAfter: MAX_HINT_DELAY }, { retryAfter: MAX_HINT_DELAY - 1, within: 10_000 }]) {
      const delay = defaultRetryDelay(0, { ...BACKOFF, jitter: 0 }, hint, last) as number
      expect(delay, JSON.stringify(hint)).toBeLessThanOrEqual(MAX_HINT_DELAY)
      expect(delay, JSON.stringify(hint)).toBeGreaterThan(MAX_HINT_DELAY - 10)
    }
    // Near the hour, the spread is kept: retryAfter gives way to it, so the herd is not all back at the hour.
    const hour = { retryAfter: MAX_HINT_DELAY, within: 600_000 }
    expect([0, 0.5, last()].map((r) => defaultRetryDelay(0, BACKOFF, hour, () => r))).toEqual([3_000_000, 3_300_000, 3_000_000 + 600_000 * last()])
    const backoffOnly = { retryAfter: MAX_HINT_DELAY }
    expect(new Set([0, 0.5, last()].map((r) => defaultRetryDelay(3, { ...BACKOFF, jitter: 1 }, backoffOnly, () => r))).size).toBe(3)
    // A backoff the application set longer than an hour is its own: a hint never shortens it.
    const slow = { ...BACKOFF, initialDelay: 2 * MAX_HINT_DELAY, maxDelay: 2 * MAX_HINT_DELAY, jitter: 0 }
    expect(defaultRetryDelay(0, slow, { retryAfter: 5_000 }, last)).toBe(2 * MAX_HINT_DELAY)
  })
})

describe('refused credentials', () => {
  function refreshing(options = {}) {
    const urls: UrlContext[] = []
    let token = 0
    const h = harness({ ...fast, url: (context) => (urls.push(context), `ws://test.invalid/?token=${++token}`), ...options })
    return { ...h, urls }
  }

  it('asks the url function anew with the reason and retries once at once', () => {
    const { conn, clock, of, urls } = refreshing()
    conn.open()
    FakeWebSocket.last.serverOpen()
    FakeWebSocket.last.serverClose(4401, 'unauthorized', true)
    expect(conn.state).toBe('reauthorizing')
    expect(urls).toEqual([{ attempt: 0, reason: 'attempt' }, { attempt: 1, reason: 'unauthorized' }])
    expect(FakeWebSocket.last.url).toBe('ws://test.invalid/?token=2')
    expect(clock.nextDue()).toBe(10_000) // no backoff: the only timer is the attempt's connectTimeout
    FakeWebSocket.last.serverOpen()
    expect(conn.state).toBe('open')
    expect(of('state').map((s) => s.state)).toEqual(['connecting', 'open', 'reauthorizing', 'open'])
    expect(of('reconnect')).toEqual([])
  })

  it("fails with reason 'unauthorized' after exactly two attempts when refused again", () => {
    const { conn, clock, of, urls } = refreshing()
    conn.open()
    FakeWebSocket.last.serverClose(4403, 'forbidden', true)
    FakeWebSocket.last.serverOpen()
    FakeWebSocket.last.serverClose(4401, 'unauthorized', true)
    expect(conn.state).toBe('failed')
    expect(of('failed')).toEqual([{ reason: 'unauthorized', attempts: 2 }])
    clock.advance(600_000)
    expect(FakeWebSocket.instances).toHaveLength(2)
    expect(urls).toHaveLength(2)
    conn.open() // after signing in again
    expect(urls.at(-1)).toEqual({ attempt: 0, reason: 'attempt' })
    FakeWebSocket.last.serverClose(4401, 'unauthorized', true)
    expect(conn.state).toBe('reauthorizing')
  })

  it('refreshes again once the connection proved healthy in between (a token that expired later)', () => {
    const { conn, clock, urls } = refreshing()
    conn.open()
    FakeWebSocket.last.serverOpen()
    FakeWebSocket.last.serverClose(4401, 'unauthorized', true)
    FakeWebSocket.last.serverOpen()
    clock.advance(1_000)
    FakeWebSocket.last.serverMessage('pong') // healthy
    FakeWebSocket.last.serverClose(4401, 'token expired', true)
    expect(conn.state).toBe('reauthorizing')
    expect(urls.map((u) => u.reason)).toEqual(['attempt', 'unauthorized', 'unauthorized'])
  })

  it('never asks for credentials in a tight loop, even unmonitored against a server that refuses right after the upgrade', () => {
    const { conn, urls, of } = refreshing({ heartbeat: false })
    conn.open()
    for (let i = 0; i < 10 && conn.state !== 'failed'; i++) {
      FakeWebSocket.last.serverOpen()
      FakeWebSocket.last.serverClose(4401, 'unauthorized', true)
    }
    expect(conn.state).toBe('failed')
    expect(urls).toHaveLength(2)
    expect(of('failed')).toEqual([expect.objectContaining({ reason: 'unauthorized' })])
  })

  it('fails at once without retries left or with reconnect: false', () => {
    for (const reconnect of [false, { ...fast.reconnect, maxAttempts: 1 }] as const) {
      const { conn, of, urls } = refreshing({ reconnect })
      conn.open()
      FakeWebSocket.last.serverClose(4401, 'unauthorized', true)
      expect(of('failed')).toEqual([{ reason: 'unauthorized', attempts: 1 }])
      expect(urls).toHaveLength(1)
      expect(conn.state).toBe('failed')
    }
  })

  it('leaves no socket and no timer when disposed from a listener as the refresh begins, or from the url function', () => {
    const fromState = refreshing()
    fromState.conn.on('state', ({ state }) => state === 'reauthorizing' && fromState.conn.dispose())
    fromState.conn.open()
    FakeWebSocket.last.serverClose(4401, 'unauthorized', true)
    expect(FakeWebSocket.live()).toEqual([])
    expect(fromState.clock.pending).toBe(0)
    expect(fromState.urls).toHaveLength(1)

    let conn: ReturnType<typeof harness>['conn'] | undefined
    const fromUrl = harness({ ...fast, url: ({ reason }) => (reason === 'unauthorized' && conn?.dispose(), 'ws://test.invalid/') })
    conn = fromUrl.conn
    conn.open()
    FakeWebSocket.last.serverClose(4401, 'unauthorized', true)
    expect(FakeWebSocket.live()).toEqual([])
    expect(fromUrl.clock.pending).toBe(0)
    expect(conn.state).toBe('idle')
  })

  it('backs off as usual when the attempt with fresh credentials fails otherwise', () => {
    const { conn, clock, urls, of } = refreshing()
    conn.open()
    FakeWebSocket.last.serverClose(4401, 'unauthorized', true)
    FakeWebSocket.last.serverClose(1006)
    expect(conn.state).toBe('backoff')
    clock.advance(of('reconnect')[0]!.delay)
    FakeWebSocket.last.serverClose(4401, 'still unauthorized', true)
    expect(conn.state).toBe('failed') // not yet healthy since the refresh: refused again
    expect(urls.map((u) => u.reason)).toEqual(['attempt', 'unauthorized', 'attempt'])
  })

  const UNREAD = '{"lifeline":1,"unread":true,"message":"unauthorized"}'

  it('keeps messages buffered before an open the server refuses at once, and sends them on the next socket', () => {
    const { conn } = refreshing()
    conn.send('subscribe')
    conn.open()
    const refused = FakeWebSocket.last
    refused.serverOpen()
    expect(refused.sent).toEqual(['subscribe'])
    refused.serverClose(4401, UNREAD, true) // refused: the server says it read nothing
    expect(conn.buffered).toBe(1)
    FakeWebSocket.last.serverOpen()
    expect(FakeWebSocket.last.sent).toEqual(['subscribe'])
    expect(conn.buffered).toBe(0)
  })

  it('does not send them again once the server said anything, nor after a close that does not say they went unread', () => {
    const cases = [
      [4401, UNREAD, true],
      [4401, 'unauthorized', false], // maybe after reading them: only the server knows
      [1013, '{"lifeline":1,"retryAfter":100}', false], // disconnect(name, { retryAfter }) after reading them
      [1013, 'busy', false],
      [1011, '{"lifeline":1,"unread":"yes"}', false],
    ] as const
    for (const [close, reason, spoke] of cases) {
      const { conn } = refreshing()
      conn.send('once')
      conn.open()
      FakeWebSocket.last.serverOpen()
      if (spoke) FakeWebSocket.last.serverMessage('welcome')
      FakeWebSocket.last.serverClose(close, reason, true)
      expect(conn.buffered, `${close} ${reason}`).toBe(0)
    }
  })

  it('puts them back after any close whose reason says unread: true before the server said anything, and after no other', () => {
    const reason = fc.oneof(
      fc.string({ maxLength: 130, unit: 'binary' }),
      fc.record({ lifeline: fc.constantFrom(1, 2), unread: fc.oneof(fc.constant(true), fc.anything()), retryAfter: fc.anything() }, { requiredKeys: ['lifeline'] }).map((o) => JSON.stringify(o)),
    )
    fc.assert(fc.property(reason, fc.constantFrom(1000, 1006, 1011, 1012, 1013, 4401, 4403, 4500), fc.boolean(), (text, code, spoke) => {
      const { conn } = refreshing()
      conn.send('once')
      conn.open()
      FakeWebSocket.last.serverOpen()
      if (spoke) FakeWebSocket.last.serverMessage('welcome')
      FakeWebSocket.last.serverClose(code, text, true)
      expect(conn.buffered).toBe(!spoke && parseCloseHint(text)?.unread === true ? 1 : 0)
      conn.dispose()
    }), { seed: 0x0a5ead, numRuns: 300 })
  })

  it('puts them back after an over-capacity 1013 too, ahead of what was sent since', () => {
    const h = harness(fast)
    h.conn.send('first')
    h.conn.open()
    FakeWebSocket.last.serverOpen()
    FakeWebSocket.last.serverClose(1013, '{"lifeline":1,"retryAfter":100,"unread":true}', true)
    h.conn.send('second')
    h.clock.advance(h.of('reconnect')[0]!.delay)
    FakeWebSocket.last.serverOpen()
    expect(FakeWebSocket.last.sent).toEqual(['first', 'second'])
  })
})
