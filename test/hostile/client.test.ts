/**
 * A hostile server against the client, in plain and reliable mode: fast-check
 * generates what a raw ws server on 127.0.0.1 sends (random text with
 * multi-byte characters and lone surrogates, random binary, truncated,
 * oversized and garbage reliable-delivery frames, valid frames in impossible
 * orders, floods). A small model of the client, built on the protocol's own
 * decoder, says how each script must end; every run then checks that:
 *
 * - the process survives (no uncaught exception, no unhandled rejection);
 * - a misbehaving server ends the connection with a documented close code
 *   (1007/1002 for the protocol, 1009 for a frame over the socket's limit)
 *   and an error event; a well-behaved one delivers exactly what it sent;
 * - after dispose() no timer is pending and no socket is left open;
 * - memory stays bounded under a flood.
 *
 * Seeded and bounded: a failure prints its seed and the shrunk script.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createConnection, type CloseInfo, type Connection, type WebSocketConstructor } from '../../src/index.node.js'
import { decodeFrame, encodeData, encodeHello, encodeWelcome, ProtocolError } from '../../src/reliable/protocol.js'
import { onHello, startRawServer, type RawServer } from '../helpers/raw-server.js'
import { until } from '../helpers/servers.js'

// The client's ws accepts frames of at most this many bytes: an oversized frame costs no memory to test.
const CLIENT_MAX_PAYLOAD = 4_096
class SmallWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols, { maxPayload: CLIENT_MAX_PAYLOAD })
  }
}

// Every timer the connections arm goes through here, so a run can check none is left.
const pending = new Set<ReturnType<typeof setTimeout>>()
const countingClock = {
  now: () => Date.now(),
  setTimeout(callback: () => void, ms: number) {
    const id = setTimeout(() => {
      pending.delete(id)
      callback()
    }, ms)
    pending.add(id)
    return id
  },
  clearTimeout(id: unknown) {
    pending.delete(id as ReturnType<typeof setTimeout>)
    clearTimeout(id as ReturnType<typeof setTimeout>)
  },
}

const crashes: unknown[] = []
const recordCrash = (error: unknown): void => void crashes.push(error)
beforeAll(() => {
  process.on('uncaughtException', recordCrash)
  process.on('unhandledRejection', recordCrash)
})
afterAll(() => {
  process.off('uncaughtException', recordCrash)
  process.off('unhandledRejection', recordCrash)
})

// ---- What the server sends: symbolic items, rendered once the hello named the session ----

type Single =
  | { t: 'text'; text: string }
  | { t: 'binary'; bytes: Uint8Array }
  | { t: 'json'; json: string }
  | { t: 'welcome'; session: 'right' | 'other' | 'multibyte'; resumed: boolean; ack: number; maxPayload: number | undefined }
  | { t: 'data'; seq: 'next' | 'repeat' | 'skip' | number; ack: number; text: string }
  | { t: 'binaryData'; seq: 'next' | 'repeat' | 'skip' | number; bytes: Uint8Array }
  | { t: 'ack'; ack: number }
  | { t: 'hello' }
  | { t: 'truncated'; of: 'welcome' | 'data' | 'binaryData'; keep: number }
  | { t: 'oversized'; bytes: number }
type Item = Single | { t: 'flood'; count: number; of: Single }

const tricky = fc.constantFrom('€', 'ü', '"', '\\', '\u0000', '\u001f', '\ud800', '\udfff', '😀', 'ping', 'pong', '["d",1,0,"x"]')
const text = fc.array(fc.oneof(tricky, fc.string({ unit: 'binary', maxLength: 8 })), { maxLength: 40 }).map((parts) => parts.join(''))
const bytes = fc.uint8Array({ maxLength: 64 })
const count = fc.oneof(fc.constantFrom(0, 1, 2, 2 ** 53, -1, 1.5), fc.nat(5))
const seq = fc.oneof({ weight: 6, arbitrary: fc.constant('next' as const) }, fc.constantFrom('repeat' as const, 'skip' as const), count)
const limit = fc.option(fc.oneof(fc.constantFrom(1, 0, -5, 2.5, 1_024, 104_857_600), fc.nat()), { nil: undefined })

const rightWelcome: fc.Arbitrary<Single> = fc.record({
  t: fc.constant('welcome' as const), session: fc.constant('right' as const), resumed: fc.boolean(), ack: fc.constantFrom(0, 0, 0, 1), maxPayload: limit,
})
const single: fc.Arbitrary<Single> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('text' as const), text }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('binary' as const), bytes }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('json' as const), json: fc.json({ maxDepth: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('welcome' as const), session: fc.constantFrom('right' as const, 'other' as const, 'multibyte' as const), resumed: fc.boolean(), ack: count, maxPayload: limit }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('data' as const), seq, ack: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, count), text }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('binaryData' as const), seq, bytes }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('ack' as const), ack: fc.oneof(fc.constant(0), count) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'hello' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('truncated' as const), of: fc.constantFrom('welcome' as const, 'data' as const, 'binaryData' as const), keep: fc.nat(30) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('oversized' as const), bytes: fc.integer({ min: CLIENT_MAX_PAYLOAD + 1, max: 3 * CLIENT_MAX_PAYLOAD }) }) },
)
const item: fc.Arbitrary<Item> = fc.oneof(
  { weight: 9, arbitrary: single },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('flood' as const), count: fc.integer({ min: 50, max: 1_500 }), of: single }) },
)
// Most scripts start well, so that what follows the welcome gets tested too.
const reliableScript = fc.tuple(fc.oneof({ weight: 3, arbitrary: rightWelcome }, item), fc.array(item, { maxLength: 12 })).map(([first, rest]) => [first, ...rest])
const plainScript = fc.array(item, { minLength: 1, maxLength: 12 })

type Frame = string | Uint8Array
// 'protocol': the client closes with the error's code and never retries. 'too-large': ws refuses the
// frame, sends 1009 and stops reading, so its own close event says 1006; the attempt is retried.
type Outcome = { end: 'protocol'; code: 1002 | 1007 } | { end: 'too-large' } | { end: 'open'; delivered: (string | number[])[] }

const SENTINEL = 'the end of the script'

/**
 * Renders a script into frames and says how the client must end: the model
 * of the client (heartbeat frames first, then the reliable-delivery rules, in
 * the client's order: ws's own size limit before anything).
 */
function render(script: Item[], mode: 'plain' | 'reliable', session: string): { frames: Frame[]; outcome: Outcome } {
  const frames: Frame[] = []
  const delivered: (string | number[])[] = []
  let ready = false
  let last = 0 // highest sequence number the client delivered
  let outcome: Outcome | undefined

  const seqOf = (s: 'next' | 'repeat' | 'skip' | number): number => (s === 'next' ? last + 1 : s === 'repeat' ? Math.max(last, 1) : s === 'skip' ? last + 2 : s)
  const binaryFrame = (s: number, payload: Uint8Array): Uint8Array => {
    const frame = new Uint8Array(17 + payload.byteLength)
    const view = new DataView(frame.buffer)
    view.setUint8(0, 0x64)
    view.setFloat64(1, s)
    view.setFloat64(9, 0)
    frame.set(payload, 17)
    return frame
  }
  const frameOf = (i: Single): Frame => {
    switch (i.t) {
      case 'text': return i.text
      case 'binary': return i.bytes
      case 'json': return i.json
      case 'welcome': {
        const id = i.session === 'right' ? session : i.session === 'other' ? 'x'.repeat(32) : 'é'.repeat(40)
        return JSON.stringify(['welcome', 1, id, i.resumed, i.ack, ...(i.maxPayload === undefined ? [] : [i.maxPayload])])
      }
      case 'data': return `["d",${JSON.stringify(seqOf(i.seq))},${JSON.stringify(i.ack)},${JSON.stringify(i.text)}]`
      case 'binaryData': return binaryFrame(seqOf(i.seq), i.bytes)
      case 'ack': return `["a",${JSON.stringify(i.ack)}]`
      case 'hello': return encodeHello('y'.repeat(32), 0)
      case 'truncated': {
        const whole = i.of === 'welcome' ? encodeWelcome(session, false, 0) : i.of === 'data' ? (encodeData(last + 1, 0, 'cut') as string) : binaryFrame(last + 1, new Uint8Array([1, 2]))
        return whole.slice(0, Math.min(i.keep, whole.length - 1))
      }
      case 'oversized': return 'x'.repeat(i.bytes)
    }
  }
  const judge = (frame: Frame): Outcome | undefined => {
    if (Buffer.byteLength(frame) > CLIENT_MAX_PAYLOAD) return { end: 'too-large' }
    const wire = typeof frame === 'string' ? Buffer.from(frame).toString() : frame // lone surrogates arrive as U+FFFD
    if (wire === 'ping' || wire === 'pong') return undefined // the heartbeat's, outside the protocol
    if (mode === 'plain') {
      delivered.push(typeof wire === 'string' ? wire : [...wire])
      return undefined
    }
    let decoded: ReturnType<typeof decodeFrame>
    try {
      decoded = decodeFrame(wire)
    } catch (error) {
      return { end: 'protocol', code: (error as ProtocolError).code }
    }
    if (!ready) {
      // The client sent nothing: a resumed welcome may acknowledge nothing.
      if (decoded.type === 'welcome' && decoded.session === session && (!decoded.resumed || decoded.ack === 0)) ready = true
      else return { end: 'protocol', code: 1002 }
      return undefined
    }
    if (decoded.type === 'ack' && decoded.ack === 0) return undefined
    if (decoded.type !== 'data' || decoded.ack !== 0) return { end: 'protocol', code: 1002 }
    if (decoded.seq <= last) return undefined // a resend: dropped
    if (decoded.seq !== last + 1) return { end: 'protocol', code: 1002 }
    last = decoded.seq
    delivered.push(typeof decoded.data === 'string' ? decoded.data : [...decoded.data])
    return undefined
  }
  const push = (frame: Frame): void => {
    frames.push(frame)
    outcome ??= judge(frame)
  }
  for (const i of script) {
    if (i.t === 'flood') for (let n = 0; n < i.count; n++) push(frameOf(i.of))
    else push(frameOf(i))
  }
  if (outcome === undefined) {
    push(mode === 'plain' ? SENTINEL : (encodeData(last + 1, 0, SENTINEL) as string))
    outcome = { end: 'open', delivered }
  }
  return { frames, outcome }
}

// ---- One run: a fresh client, one scripted server connection, then dispose() ----

// Each run has its own path, so a late socket from an earlier run can never take a later run's script.
let server: RawServer
let runs = 0
const scripts = new Map<string, (socket: WebSocket) => void>()
beforeAll(async () => {
  server = await startRawServer((socket, request) => {
    const script = scripts.get(request.url ?? '')
    scripts.delete(request.url ?? '') // later attempts of the same client get a silent server
    script?.(socket)
  })
})
afterAll(() => server.close())

async function run(mode: 'plain' | 'reliable', script: Item[]): Promise<void> {
  let expected: Outcome | undefined
  const path = `/run-${++runs}`
  scripts.set(path, (socket) => {
    const play = (session: string): void => {
      const { frames, outcome } = render(script, mode, session)
      expected = outcome
      for (const frame of frames) socket.send(frame)
    }
    if (mode === 'plain') play('')
    else onHello(socket, (hello) => play(hello.session))
  })
  const conn: Connection = createConnection({
    url: `ws://127.0.0.1:${server.port}${path}`,
    delivery: mode,
    WebSocket: SmallWebSocket as unknown as WebSocketConstructor,
    clock: countingClock,
    heartbeat: { interval: 2_000, timeout: 2_000 },
    reconnect: { initialDelay: 50, maxDelay: 100 },
    connectTimeout: 2_000,
    network: false,
    environment: false,
  })
  const messages: (string | number[])[] = []
  const errors: Error[] = []
  const closes: CloseInfo[] = []
  conn.on('message', (data) => messages.push(typeof data === 'string' ? data : [...new Uint8Array(data as ArrayBuffer)]))
  conn.on('error', (error) => errors.push(error))
  conn.on('close', (close) => closes.push(close))
  try {
    await until(() => expected !== undefined, 2_000, 'the script to be played')
    const outcome = expected!
    const kind = outcome.end === 'protocol' ? `protocol ${outcome.code}` : outcome.end
    outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1)
    if (outcome.end === 'open') {
      await until(() => messages.at(-1) === SENTINEL || closes.length > 0, 5_000, 'the whole script to arrive')
      expect(closes).toEqual([])
      expect(errors).toEqual([])
      expect(conn.state).toBe('open')
      expect(messages).toEqual([...outcome.delivered])
    } else {
      await until(() => closes.length > 0, 5_000, 'the client to close')
      if (outcome.end === 'protocol') {
        expect(closes[0]).toEqual({ code: outcome.code, reason: outcome.code === 1007 ? 'not a reliable-delivery frame' : 'reliable-delivery protocol error', wasClean: false })
        expect(errors[0]).toMatchObject({ code: 'LIFELINE_PROTOCOL_ERROR' })
        expect(conn.state).toBe('failed') // a protocol error is never retried
      } else {
        expect(closes[0]).toMatchObject({ code: 1006, wasClean: false })
        expect(errors[0]).toMatchObject({ code: 'LIFELINE_SOCKET_ERROR', cause: expect.objectContaining({ code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' }) })
        expect(['backoff', 'connecting', 'open']).toContain(conn.state)
      }
    }
  } finally {
    conn.dispose()
  }
  expect(pending.size, 'timers pending after dispose()').toBe(0)
  await until(() => server.live === 0, 2_000, 'no socket left open')
  expect(crashes).toEqual([])
}

const outcomes = new Map<string, number>()
const tally = (what: string): void => {
  console.log(`${what}: ${[...outcomes].map(([k, n]) => `${k} ${n}`).join(', ')}`)
  outcomes.clear()
}

const settings = (seed: number, numRuns: number) => ({ seed, numRuns, interruptAfterTimeLimit: 12_000, markInterruptAsFailure: false, endOnFailure: true })

describe('a hostile server against the client', () => {
  it('cannot crash or wedge a plain client: every frame is delivered, in order, until one is too large', async () => {
    await fc.assert(fc.asyncProperty(plainScript, (script) => run('plain', script)), settings(0x11fe11, 200))
    tally('plain client, scripts ending')
  }, 30_000)

  it('cannot crash or wedge a reliable client: it delivers what is valid and closes with 1002 or 1007 on the rest, never retried', async () => {
    await fc.assert(fc.asyncProperty(reliableScript, (script) => run('reliable', script)), settings(0x5e55, 400))
    tally('reliable client, scripts ending')
  }, 30_000)

  it('keeps memory bounded under a flood of frames', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const payload = 'x'.repeat(1_000)
    const flood: Item[] = [
      { t: 'welcome', session: 'right', resumed: false, ack: 0, maxPayload: undefined },
      { t: 'flood', count: 20_000, of: { t: 'data', seq: 'next', ack: 0, text: payload } },
    ]
    await run('reliable', flood) // warm-up: code paths compiled, hubs allocated
    gc()
    const before = process.memoryUsage().heapUsed
    for (const mode of ['plain', 'reliable'] as const) {
      await run(mode, mode === 'plain' ? [{ t: 'flood', count: 20_000, of: { t: 'text', text: payload } }] : flood)
    }
    gc()
    const grown = process.memoryUsage().heapUsed - before
    console.log(`heap after 2 × 20,000 frames of 1 KB: ${(grown / 1024 / 1024).toFixed(2)} MB more than before`)
    expect(grown).toBeLessThan(8 * 1024 * 1024)
  }, 30_000)
})
