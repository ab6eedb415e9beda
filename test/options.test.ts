import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createConnection, type ConnectionOptions } from '../src/index.node.js'
import { recordTrace } from '../src/inspector/index.js'
import { checkUrl } from '../src/options.js'
import { FakeWebSocket } from './helpers/fake-websocket.js'
import { harness } from './helpers/harness.js'

const url = 'ws://127.0.0.1:1/'
const make = (options: Record<string, unknown>) => () =>
  createConnection({ url, autoConnect: false, WebSocket: FakeWebSocket, ...options } as ConnectionOptions)

describe('options', () => {
  it.each([
    [{ url: undefined }, /url must be a ws: or wss: URL.*got undefined/],
    [{ url: 42 }, /url must be a ws: or wss: URL \(string or URL\), got 42/],
    [{ url: 'not a url' }, /url must be an absolute ws:, wss:, http: or https: URL, got "not a url"/],
    [{ url: 'ftp://example.com/' }, /url must be a ws:, wss:, http: or https: URL, got "ftp:\/\/example.com\/"/],
    [{ url: 'ws://example.com/#x' }, /url must be a URL without a #fragment/],
    [{ url: 'ws://example.com/live#' }, /url must be a URL without a #fragment, got "ws:\/\/example\.com\/live#…"/],
    [{ heartbeat: { interval: -1 } }, /^heartbeat.interval must be a positive number of milliseconds, got -1$/],
    [{ heartbeat: { interval: 0 } }, /heartbeat.interval must be a positive number of milliseconds, got 0/],
    [{ heartbeat: { interval: NaN } }, /heartbeat.interval must be a positive number of milliseconds, got NaN/],
    [{ heartbeat: { timeout: '5s' } }, /heartbeat.timeout must be a positive number of milliseconds, got "5s"/],
    [{ heartbeat: { timeout: 2 ** 31 } }, /heartbeat.timeout must be at most 2147483647 milliseconds/],
    [{ heartbeat: { proof: 'sometimes' } }, /heartbeat.proof must be 'any' or 'pong', got "sometimes"/],
    [{ heartbeat: { ping: 5 } }, /heartbeat.ping must be a string, ArrayBuffer, typed array, Blob or a function returning one, got 5/],
    [{ heartbeat: { isPong: 'pong' } }, /heartbeat.isPong must be a function, got "pong"/],
    [{ heartbeat: { mode: 'both' } }, /heartbeat.mode must be 'client' or 'server', got "both"/],
    [{ heartbeat: { probeTimeout: -3 } }, /heartbeat.probeTimeout must be a positive number of milliseconds, got -3/],
    [{ heartbeat: { interval: 5_000, hiddenInterval: 1_000 } }, /heartbeat.hiddenInterval must be at least heartbeat.interval \(5000\), got 1000/],
    [{ heartbeat: { pong: {} } }, /heartbeat.pong must be a string, ArrayBuffer, typed array, Blob or a function returning one/],
    [{ environment: { isVisible: true } }, /environment must be false or an object with isVisible\(\) and subscribe\(listener\)/],
    [{ heartbeat: { intervall: 5 } }, /Unknown option heartbeat.intervall; expected one of heartbeat.mode, heartbeat.interval,/],
    [{ heartbeat: 'yes' }, /heartbeat must be an object or false, got "yes"/],
    [{ hearbeat: {} }, /Unknown option hearbeat/],
    [{ connectTimeout: Infinity }, /connectTimeout must be a positive number of milliseconds, got Infinity/],
    [{ closeTimeout: null }, /closeTimeout must be a positive number of milliseconds, got null/],
    [{ autoConnect: 'no' }, /autoConnect must be true or false, got "no"/],
    [{ protocols: [1] }, /protocols must be a string or an array of strings, got an array/],
    [{ WebSocket: {} }, /WebSocket must be a function, got an object/],
    [{ reconnect: { initialDelay: -5 } }, /reconnect.initialDelay must be a positive number of milliseconds, got -5/],
    [{ reconnect: { initialDelay: 0 } }, /reconnect.initialDelay must be a positive number of milliseconds, got 0/],
    [{ heartbeat: { mode: 'server', interval: 2_147_483_000, timeout: 10_000 } }, /heartbeat.interval \+ heartbeat.timeout must be at most 2147483647 milliseconds with heartbeat.mode 'server'.*got 2147493000/],
    [{ heartbeat: { mode: 'server', interval: 1_000, hiddenInterval: 2_147_483_000, timeout: 10_000 } }, /heartbeat.hiddenInterval \+ heartbeat.timeout must be at most 2147483647 milliseconds/],
    [{ reconnect: { initialDelay: 500, maxDelay: 100 } }, /reconnect.maxDelay must be at least reconnect.initialDelay \(500\), got 100/],
    [{ reconnect: { factor: 0.5 } }, /reconnect.factor must be a number ≥ 1, got 0.5/],
    [{ reconnect: { jitter: 2 } }, /reconnect.jitter must be a number from 0 to 1, got 2/],
    [{ reconnect: { maxAttempts: 0 } }, /reconnect.maxAttempts must be a positive integer or Infinity, got 0/],
    [{ reconnect: { maxAttempts: 2.5 } }, /reconnect.maxAttempts must be a positive integer or Infinity, got 2.5/],
    [{ reconnect: { shouldReconnect: true } }, /reconnect.shouldReconnect must be a function, got true/],
    [{ buffer: { maxMessages: 0 } }, /buffer.maxMessages must be a positive integer, got 0/],
    [{ buffer: { overflow: 'drop-newest' } }, /buffer.overflow must be 'drop-oldest' or 'reject', got "drop-newest"/],
    [{ delivery: 'reliable', buffer: { overflow: 'drop-oldest' } }, /buffer.overflow must be 'reject' with delivery: reliable \(a message waiting for acknowledgement is never dropped\), got "drop-oldest"/],
    [{ reconnect: { initialDelay: 5e-324 } }, /reconnect.initialDelay must be at least 1 millisecond, got 5e-324/],
    [{ reconnect: { initialDelay: 0.5 } }, /reconnect.initialDelay must be at least 1 millisecond, got 0.5/],
    [{ protocols: ['chat', 'chat'] }, /protocols must be subprotocol names without duplicates/],
    [{ protocols: 'two words' }, /protocols must be subprotocol names made of token characters \(no spaces, commas or quotes\), got "two words"/],
    [{ protocols: [''] }, /protocols must be subprotocol names made of token characters/],
    [{ network: {} }, /network must be false or an object with isOnline\(\) and subscribe\(listener\)/],
    [{ clock: Date }, /clock must be an object with now\(\), setTimeout\(\) and clearTimeout\(\)/],
  ])('rejects %j with a TypeError naming the option', (options, message) => {
    expect(make(options)).toThrow(TypeError)
    expect(make(options)).toThrow(message)
    try {
      make(options)()
    } catch (error) {
      expect((error as { code?: string }).code).toBe('LIFELINE_INVALID_OPTION')
    }
  })

  it('rejects a non-object', () => {
    expect(() => createConnection(undefined as unknown as ConnectionOptions)).toThrow(/options must be an object with at least a url, got undefined/)
  })

  it('accepts http: and https: URLs and URL objects', () => {
    expect(make({ url: 'http://127.0.0.1:1/a' })).not.toThrow()
    expect(make({ url: new URL('wss://example.com/x') })).not.toThrow()
    expect(make({ heartbeat: true, reconnect: true, buffer: true })).not.toThrow()
    expect(make({ heartbeat: false, reconnect: false, buffer: false, network: false })).not.toThrow()
  })
})

describe('method arguments', () => {
  it('send() of an unsupported type throws a TypeError and sends nothing', () => {
    const { conn } = harness()
    for (const bad of [42, null, undefined, { a: 1 }, Symbol('x')]) {
      expect(() => conn.send(bad as unknown as string)).toThrow(/send\(\) expects a string, ArrayBuffer, ArrayBufferView or Blob, got/)
    }
    expect(conn.buffered).toBe(0)
  })

  it('close() checks its code and reason', () => {
    const { conn } = harness()
    expect(() => conn.close(1001)).toThrow(/close\(\) code must be 1000 or an integer from 3000 to 4999, got 1001/)
    expect(() => conn.close(1000, 'x'.repeat(124))).toThrow(/close\(\) reason must be a string of at most 123 UTF-8 bytes/)
    expect(() => conn.close(4000, 'fine')).not.toThrow()
  })

  it('on() rejects an event name it does not know', () => {
    const { conn } = harness()
    expect(() => conn.on('mesage' as 'message', () => {})).toThrow(
      expect.objectContaining({ code: 'LIFELINE_INVALID_ARGUMENT', message: 'on() expects one of state, open, message, close, error, heartbeat, reconnect, failed, session-lost, share, got "mesage"' }),
    )
  })

  it('on() requires a function', () => {
    const { conn } = harness()
    expect(() => conn.on('open', 'nope' as unknown as () => void)).toThrow(/on\('open'\) expects a listener function, got "nope"/)
  })

  it('a url() that returns garbage is an error event and a failed attempt, not a crash', async () => {
    const { conn, of } = harness({ url: () => 'garbage', reconnect: { maxAttempts: 1 } })
    conn.open()
    await Promise.resolve() // the failure is delivered after the machine's step
    expect(of('error')[0]).toMatchObject({ code: 'LIFELINE_URL_FAILED', message: expect.stringMatching(/url\(\) must be an absolute/) })
    expect(conn.state).toBe('failed')
  })

  it('quotes a refused URL with its query values, fragment and credentials hidden', () => {
    const refused = (url: string | URL) => {
      try {
        checkUrl(url, 'url()')
      } catch (error) {
        return (error as Error).message
      }
      throw new Error(`${String(url)} was accepted`)
    }
    expect(refused('wss://api.example.com/live?token=SECRET&room=a&token=again#reconnect')).toBe('url() must be a URL without a #fragment, got "wss://api.example.com/live?token=…&room=…#…"')
    expect(refused(new URL('ftp://user:SECRET@example.com:2121/files?key=SECRET'))).toBe('url() must be a ws:, wss:, http: or https: URL, got "ftp://…@example.com:2121/files?key=…"')
    expect(refused('javascript:alert("SECRET")')).toBe('url() must be a ws:, wss:, http: or https: URL, got "javascript:…"')
    expect(refused('not a url?token=SECRET')).toBe('url() must be an absolute ws:, wss:, http: or https: URL, got "not a url?…"')
    expect(refused('relative/path#SECRET')).toBe('url() must be an absolute ws:, wss:, http: or https: URL, got "relative/path#…"')
    expect(refused('wss://user:SECRET@host:99999/live')).toBe('url() must be an absolute ws:, wss:, http: or https: URL, got "wss://…@host:99999/live"')
    expect(refused('//user:SECRET@host/p')).toBe('url() must be an absolute ws:, wss:, http: or https: URL, got "//…@host/p"')
    expect(refused('ftp://example.com/files?SECRET&key=SECRET')).toBe('url() must be a ws:, wss:, http: or https: URL, got "ftp://example.com/files?…&key=…"')
  })

  it('never quotes a query value, fragment or password of a refused URL, whatever they hold', () => {
    const secret = fc.string({ minLength: 8, maxLength: 40, unit: 'binary' }).map((s) => `S3CRET${s}`)
    const scheme = fc.constantFrom('ws://', 'wss://', 'http://', 'ftp://', 'mailto:', 'javascript:', '', 'ws:')
    // Hosts no URL parser takes (a bad port, a broken IPv6 literal, a space) leave the quoting to the fallback for text.
    const host = fc.constantFrom('host', 'host:99999', '[::1', 'ho st', 'host:1')
    fc.assert(fc.property(scheme, host, fc.string({ maxLength: 30 }), secret, fc.constantFrom('query', 'bare query', 'fragment', 'password'), (prefix, hostname, path, token, where) => {
      const url = where === 'query' ? `${prefix}${hostname}/${path}?token=${token}#x`
        : where === 'bare query' ? `${prefix}${hostname}/${path}?${token}`
        : where === 'fragment' ? `${prefix}${hostname}/${path}#${token}`
        : `${prefix}user:${token}@${hostname}/${path}#x`
      let message: string
      try {
        checkUrl(url, 'url()')
        return // a URL this lenient parser found valid (no fragment left, say): nothing quoted
      } catch (error) {
        expect(error).toMatchObject({ code: 'LIFELINE_INVALID_OPTION' })
        message = (error as Error).message
      }
      for (const encoded of new Set([token, encodeURIComponent(token), new URLSearchParams({ t: token }).toString().slice(2)])) {
        expect(message).not.toContain(encoded)
      }
      expect(message.length).toBeLessThan(320)
    }), { seed: 0x70ce4, numRuns: 500 })
  })

  it("keeps a refused url()'s token out of the error event, the close reason and the trace", async () => {
    const { conn, of } = harness({ url: () => 'wss://api.example.invalid/live?token=SECRET-abc123#reconnect', reconnect: { maxAttempts: 1 } })
    const recording = recordTrace(conn)
    conn.open()
    await Promise.resolve()
    expect(of('error')[0]!.message).toBe('Could not start a connection attempt: url() must be a URL without a #fragment, got "wss://api.example.invalid/live?token=…#…"')
    const trace = recording.stop()
    const close = trace.steps.find((step) => step.event.type === 'socket.close')!.event as unknown as { code: number; reason: string }
    expect(close).toMatchObject({ code: 1006, reason: expect.stringMatching(/^Could not start a connection attempt: url\(\) must be a URL without a #fragment/) })
    expect(JSON.stringify(trace)).not.toContain('SECRET')
  })

  it('leaves no actor, subscription or timer behind when a source throws in createConnection', () => {
    let networkListeners = 0
    const network = {
      isOnline: () => true,
      subscribe: () => {
        networkListeners++
        return () => networkListeners--
      },
    }
    const environment = { isVisible: () => true, subscribe: () => { throw new Error('no document today') } }
    const actors: { getSnapshot(): { status: string } }[] = []
    const inspect = (event: { type: string; actorRef: { getSnapshot(): { status: string } } }) => {
      if (event.type === '@xstate.actor') actors.push(event.actorRef)
    }
    expect(make({ network, environment, inspect, autoConnect: true })).toThrow('no document today')
    expect(networkListeners).toBe(0)
    expect(actors.length).toBeGreaterThan(0)
    expect(actors.map((a) => a.getSnapshot().status)).toEqual(actors.map(() => 'stopped'))
  })

  it('throws LIFELINE_NO_WEBSOCKET when no implementation exists', async () => {
    const { createConnection: browserCreate } = await import('../src/index.js')
    expect(() => browserCreate({ url })).toThrow(/No WebSocket implementation found: pass options.WebSocket/)
  })
})
