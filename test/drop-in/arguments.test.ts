/**
 * Property-based checks of the drop-in's argument handling against models
 * written from the standards' text (WebIDL conversions, the WebSocket
 * constructor, close() and send() steps), not from the implementation:
 * hostile values of every type, seeded and bounded. The many-run properties
 * need no socket (validation comes before any state check); a few dozen runs
 * then go through real sockets to check what the server receives.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReconnectingWebSocket } from '../../src/index.node.js'
import { startBehaviourServer, type BehaviourServer } from '../helpers/behaviour-server.js'
import { closedPort } from '../helpers/servers.js'

const SEED = 13
let server: BehaviourServer
let refused: number
beforeAll(async () => {
  server = await startBehaviourServer()
  refused = await closedPort()
})
afterAll(() => server?.close())

/** What a call did: `ok`, the DOMException's name, or the error's class and code. */
function outcome(run: () => unknown): string {
  try {
    run()
    return 'ok'
  } catch (error) {
    if (error instanceof DOMException) return error.name
    const code = (error as { code?: unknown }).code
    return `${(error as Error).constructor.name}${typeof code === 'string' ? ` ${code}` : ''}`
  }
}

// --- Models, from the standards' text ---

/** WebIDL ToString for a DOMString argument; throws TypeError for a Symbol or an object that cannot become a string. */
const webidlString = (value: unknown): string => {
  if (typeof value === 'symbol') throw new TypeError('symbol')
  return String(value)
}

/** USVString: what the wire carries, lone surrogates as U+FFFD. */
const usv = (value: unknown): string => new TextDecoder().decode(new TextEncoder().encode(webidlString(value)))

/** [Clamp] unsigned short (WebIDL §3.2.4): NaN → 0, clamp to 0…65535, round to nearest, ties to even. */
function clampedCode(value: unknown): number {
  if (typeof value === 'symbol' || typeof value === 'bigint') throw new TypeError('not a number')
  let x = Number(value)
  if (Number.isNaN(x)) return 0
  x = Math.min(Math.max(x, 0), 65_535)
  const rounded = Math.round(x)
  return x - Math.floor(x) === 0.5 && rounded % 2 === 1 ? rounded - 1 : rounded
}

function expectedClose(code: unknown, reason: unknown): string {
  try {
    if (code !== undefined) {
      const c = clampedCode(code)
      if (c !== 1000 && (c < 3000 || c > 4999)) return 'InvalidAccessError'
    }
    if (reason !== undefined && new TextEncoder().encode(webidlString(reason)).length > 123) return 'SyntaxError'
    return 'ok'
  } catch {
    return 'TypeError'
  }
}

// RFC 7230 token characters, spelled out another way than the implementation's pattern.
const SEPARATORS = new Set('()<>@,;:\\"/[]?={} \t')
const isToken = (s: string): boolean => s.length > 0 && [...s].every((ch) => ch.charCodeAt(0) > 0x20 && ch.charCodeAt(0) < 0x7f && !SEPARATORS.has(ch))

function expectedConstruction(url: unknown, protocols: unknown, options: unknown): string {
  let href: string
  try {
    href = webidlString(url)
  } catch {
    return 'TypeError'
  }
  let parsed: URL
  try {
    parsed = new URL(href)
  } catch {
    return 'SyntaxError'
  }
  const scheme = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' }[parsed.protocol]
  if (scheme === undefined || href.includes('#')) return 'SyntaxError'
  let list: string[]
  try {
    const iterable = typeof protocols === 'object' && protocols !== null && Symbol.iterator in protocols
    list = protocols === undefined ? [] : iterable ? [...(protocols as Iterable<unknown>)].map(webidlString) : [webidlString(protocols)]
  } catch {
    return 'TypeError'
  }
  if (!list.every(isToken) || new Set(list.map((p) => p.toLowerCase())).size !== list.length) return 'SyntaxError'
  if (options === undefined || options === null) return 'ok'
  if (typeof options !== 'object' || Array.isArray(options)) return 'TypeError LIFELINE_INVALID_OPTION'
  return Object.keys(options).every((key) => key === 'autoConnect') ? 'ok' : 'TypeError LIFELINE_INVALID_OPTION'
}

// --- Hostile values ---

const loneSurrogates = fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uD83D', '\uDE00')
const hostileString = fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), loneSurrogates, fc.constantFrom('é', '😀', '\u0000', ' ', '#', '%')), { maxLength: 12 }).map((parts) => parts.join(''))
const unprintable = fc.constantFrom(Object.create(null) as object, { toString: () => ({}) }, { [Symbol.toPrimitive]: () => Symbol('x') })
const anyValue = fc.oneof(fc.anything(), hostileString, unprintable, fc.constantFrom(Symbol('s'), 10n, NaN, Infinity, -0))
const codeValue = fc.oneof(
  fc.integer({ min: -70_000, max: 140_000 }),
  fc.double(),
  fc.constantFrom(undefined, null, true, false, '', '1000', ' 3000 ', '0x3e8', '4999.5', 999.5, 1000.5, 2999.5, 3000.5, 4999.5, 4999.6, 65_536 + 1000, -0, Infinity, -Infinity),
  anyValue,
)
const reasonValue = fc.oneof(fc.constant(undefined), hostileString, fc.string({ minLength: 100, maxLength: 130 }), fc.string({ unit: 'binary', minLength: 30, maxLength: 45 }), anyValue)
const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/)
const urlValue = fc.oneof(
  fc.webUrl({ validSchemes: ['ws', 'wss', 'http', 'https', 'ftp', 'file'], withFragments: true, withQueryParameters: true }),
  fc.tuple(fc.constantFrom('ws://', 'wss://', 'http://', 'WS://', 'ws:', 'ws:///', ''), hostileString).map(([scheme, rest]) => scheme + rest),
  anyValue,
)
const protocolsValue = fc.oneof(fc.constant(undefined), token, fc.array(fc.oneof(token, hostileString, anyValue), { maxLength: 4 }), fc.array(token, { maxLength: 3 }).map((list) => [...list, ...list.slice(0, 1).map((p) => p.toUpperCase())]), anyValue)
const optionsValue = fc.oneof(fc.constant(undefined), fc.constant(null), fc.constant({}), fc.dictionary(fc.constantFrom('url', 'protocols', 'heartbeet', 'retries', 'x'), fc.anything(), { maxKeys: 2 }), anyValue)

describe('ReconnectingWebSocket arguments (property-based)', () => {
  it('close() accepts exactly the codes 1000 and 3000–4999 after [Clamp] unsigned short, and reasons of at most 123 UTF-8 bytes; it throws the standard\'s errors otherwise', () => {
    const ws = new ReconnectingWebSocket(`${server.ws}/echo`, undefined, { autoConnect: false })
    fc.assert(
      fc.property(codeValue, reasonValue, (code, reason) => {
        expect(outcome(() => ws.close(code as number, reason as string))).toBe(expectedClose(code, reason))
      }),
      { seed: SEED, numRuns: 3_000 },
    )
  })

  it('close() with a valid code and reason closes the socket with exactly them, lone surrogates as U+FFFD', async () => {
    const code = fc.oneof(fc.constant(1000), fc.integer({ min: 3000, max: 4999 }))
    const reason = hostileString.filter((r) => new TextEncoder().encode(r).length <= 123)
    await fc.assert(
      fc.asyncProperty(code, reason, async (c, r) => {
        const ws = new ReconnectingWebSocket(`${server.ws}/echo`)
        await new Promise((resolve) => ws.addEventListener('open', resolve, { once: true }))
        ws.close(c, r)
        const event = await new Promise<CloseEvent>((resolve) => ws.addEventListener('close', (e) => resolve(e as CloseEvent), { once: true }))
        expect({ code: event.code, reason: event.reason, wasClean: event.wasClean }).toEqual({ code: c, reason: usv(r), wasClean: true })
      }),
      { seed: SEED, numRuns: 25 },
    )
  })

  it('send() takes any value but a Symbol or one that cannot become a string; bufferedAmount grows by its bytes while connecting', () => {
    const ws = new ReconnectingWebSocket(`ws://127.0.0.1:${refused}/`, undefined, { reconnect: { initialDelay: 60_000 }, buffer: { maxMessages: 100_000 } })
    const binary = fc.oneof(fc.uint8Array({ maxLength: 64 }).map((a) => a.buffer), fc.int16Array({ maxLength: 16 }), fc.float64Array({ maxLength: 4 }), fc.uint8Array({ maxLength: 32 }).map((a) => new Blob([a])))
    try {
      fc.assert(
        fc.property(fc.oneof(anyValue, binary), (data) => {
          let expected: { outcome: string; bytes: number }
          if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) expected = { outcome: 'ok', bytes: data.byteLength }
          else if (data instanceof Blob) expected = { outcome: 'ok', bytes: data.size }
          else {
            try {
              expected = { outcome: 'ok', bytes: new TextEncoder().encode(webidlString(data)).length }
            } catch {
              expected = { outcome: 'TypeError', bytes: 0 }
            }
          }
          const before = ws.bufferedAmount
          expect({ outcome: outcome(() => ws.send(data as string)), bytes: ws.bufferedAmount - before }).toEqual(expected)
        }),
        { seed: SEED, numRuns: 2_000 },
      )
    } finally {
      ws.connection.on('error', () => {}) // closing discards what it buffered, and says so
      ws.close()
    }
  })

  it('what send() was given reaches the server as its string (USVString), in order', async () => {
    const ws = new ReconnectingWebSocket(`${server.ws}/echo?property`)
    await new Promise((resolve) => ws.addEventListener('open', resolve, { once: true }))
    const record = () => server.sockets('/echo').find((s) => s.query.has('property'))!
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.oneof(hostileString, fc.anything().filter((v) => typeof v !== 'symbol')), { minLength: 1, maxLength: 8 }), async (values) => {
          const texts = values.flatMap((v) => {
            try {
              return [usv(v)]
            } catch {
              return []
            }
          })
          const start = record().received.length
          for (const value of values) outcome(() => ws.send(value as string))
          await expect.poll(() => record().received.slice(start), { timeout: 2_000 }).toEqual(texts)
        }),
        { seed: SEED, numRuns: 40 },
      )
    } finally {
      ws.close()
    }
  })

  it('the constructor takes ws:, wss:, http: and https: URLs without a fragment and token subprotocols without repeats (ignoring case); it throws a SyntaxError otherwise, a TypeError for a Symbol or for bad options', () => {
    fc.assert(
      fc.property(urlValue, protocolsValue, optionsValue, (url, protocols, options) => {
        // Never dial: a URL here may name any host. (No options at all: test/drop-in/node.test.ts.)
        const given = options === undefined || options === null ? { autoConnect: false } : typeof options === 'object' && !Array.isArray(options) ? { ...options, autoConnect: false } : options
        const expected = expectedConstruction(url, protocols, given)
        let ws: ReconnectingWebSocket | undefined
        const got = outcome(() => (ws = new ReconnectingWebSocket(url as string, protocols as string[], given as object)))
        expect(got).toBe(expected)
        if (ws === undefined) return
        expect(new URL(ws.url).protocol).toMatch(/^wss?:$/)
        expect(ws.readyState).toBe(ws.CLOSED)
        ws.close()
      }),
      { seed: SEED, numRuns: 3_000 },
    )
  })

  it("the constructor's SyntaxError quotes the URL without its query values or fragment", () => {
    const token = fc.string({ minLength: 6, maxLength: 30, unit: 'grapheme' }).filter((t) => /^[A-Za-z0-9]+$/.test(t)).map((t) => `SECRET${t}`)
    fc.assert(
      fc.property(token, fc.constantFrom('wss://host/live?token=%s#x', 'wss://host/#%s', 'not a url?token=%s', '::/x#%s'), (secret, form) => {
        let message = ''
        try {
          new ReconnectingWebSocket(form.replace('%s', secret), undefined, { autoConnect: false }).close()
        } catch (error) {
          expect(error).toMatchObject({ name: 'SyntaxError' })
          message = (error as Error).message
        }
        expect(message).toMatch(/^The URL ".*" (is invalid|contains a fragment identifier)/)
        expect(message).not.toContain(secret)
      }),
      { seed: SEED, numRuns: 100 },
    )
  })
})
