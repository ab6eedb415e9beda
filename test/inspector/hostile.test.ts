/**
 * Hostile input to the inspector's input surfaces (fast-check, seeded and
 * bounded): trace files (parseTrace), relay messages (parseMessage) and the
 * values an event or a context may hold (toJson). Each either accepts its
 * input or refuses it with a clear error; none crashes, none grows without
 * bound.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_STRING, toJson } from '../../src/inspector/json.js'
import { parseMessage } from '../../src/inspector/protocol.js'
import { parseTrace, type Trace } from '../../src/inspector/trace.js'

const settings = (seed: number, numRuns = 300) => ({ seed, numRuns, interruptAfterTimeLimit: 8_000, markInterruptAsFailure: false, endOnFailure: true })

const validTrace: Trace = {
  format: 'lifeline-trace',
  version: 1,
  machine: 'connection',
  startedAt: 1,
  initial: { value: 'idle', context: {}, timers: [{ id: 'xstate.after.connectTimeout.connection.connecting', delay: 10, due: 10 }] },
  steps: [{ at: 1, event: { type: 'open' }, transitions: [{ source: 'connection.idle', target: 'connection.connecting', event: 'open' }], actions: [{ type: 'openSocket' }], value: 'connecting', context: { attempt: 0 } }],
  dropped: 0,
}

// A valid trace with one field, anywhere in it, replaced by an arbitrary JSON value.
const mutated = fc.tuple(fc.nat(), fc.jsonValue()).map(([pick, replacement]) => {
  const copy = JSON.parse(JSON.stringify(validTrace)) as Record<string, unknown>
  const paths: Array<[Record<string, unknown>, string]> = []
  const walk = (node: unknown) => {
    if (node === null || typeof node !== 'object') return
    for (const key of Object.keys(node)) {
      paths.push([node as Record<string, unknown>, key])
      walk((node as Record<string, unknown>)[key])
    }
  }
  walk(copy)
  const [holder, key] = paths[pick % paths.length]!
  holder[key] = replacement
  return copy
})

function refusesClearly(run: () => unknown): void {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError)
    expect((error as { code?: string }).code).toBe('LIFELINE_INVALID_ARGUMENT')
    expect((error as Error).message).toMatch(/^Not a lifeline trace: /)
    expect((error as Error).message.length).toBeLessThan(400)
  }
}

describe('parseTrace against hostile files', () => {
  it('accepts a valid trace', () => {
    expect(parseTrace(JSON.stringify(validTrace))).toEqual(validTrace)
  })

  it('accepts or refuses any JSON value with a TypeError naming the field', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => refusesClearly(() => parseTrace(value))), settings(0x7ace))
  })

  it('accepts or refuses a trace with any one field replaced', () => {
    fc.assert(fc.property(mutated, (trace) => refusesClearly(() => parseTrace(trace))), settings(0x7ace2, 500))
  })

  it('refuses any text that is not a trace, and deeply nested state values, without a stack overflow', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => refusesClearly(() => parseTrace(text))), settings(0x7e47))
    let deep: unknown = 'x'
    for (let i = 0; i < 100_000; i++) deep = { a: deep }
    const trace = { ...validTrace, initial: { ...validTrace.initial, value: deep } }
    expect(() => parseTrace(trace)).toThrow(/initial\.value.*at most 32 deep/)
  })
})

describe('relay messages against hostile apps', () => {
  it('accepts or refuses any text with an Error, never anything else', () => {
    const message = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.record({ type: fc.constantFrom('lifeline.actor', 'lifeline.step', 'lifeline.status', 'other'), id: fc.oneof(fc.string({ maxLength: 300 }), fc.jsonValue()), name: fc.jsonValue(), now: fc.jsonValue(), trace: fc.oneof(fc.constant(validTrace), mutated, fc.jsonValue()), step: fc.oneof(fc.constant(validTrace.steps[0]), fc.jsonValue()), status: fc.jsonValue() }, { requiredKeys: ['type'] }).map((v) => JSON.stringify(v)),
    )
    fc.assert(fc.property(message, (text) => {
      try {
        const parsed = parseMessage(text)
        expect(['lifeline.actor', 'lifeline.step', 'lifeline.status']).toContain(parsed.type)
        expect(typeof parsed.id).toBe('string')
      } catch (error) {
        expect(error).toBeInstanceOf(Error)
      }
    }), settings(0x4e1a, 500))
  })
})

describe('toJson against whatever an event or a context holds', () => {
  const hostile = fc.oneof(
    fc.anything({ maxDepth: 6, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true, withObjectString: true }),
    fc.string({ minLength: MAX_STRING, maxLength: 5_000 }),
    fc.constant(Object.assign(new Error('x'.repeat(10_000)), { code: 'E_HOSTILE', cause: new Error('inner') })),
  )

  it('returns bounded, serialisable JSON for any value', () => {
    fc.assert(fc.property(hostile, (value) => {
      const json = toJson(value)
      const text = JSON.stringify(json)
      expect(JSON.parse(text)).toEqual(json)
      expect(text.length).toBeLessThan(200_000)
    }), settings(0x15aa))
  })

  it('survives cycles, proxies that throw, throwing getters and toJSON, and huge arrays', () => {
    const cycle: Record<string, unknown> = { name: 'loop' }
    cycle.self = cycle
    const trap = new Proxy({}, { ownKeys: () => { throw new Error('trap') } })
    const getter = Object.defineProperty({}, 'boom', { enumerable: true, get: () => { throw new Error('getter') } })
    const badJson = { toJSON: () => { throw new Error('toJSON') } }
    const json = toJson({ cycle, trap, getter, badJson, big: new Array(100_000).fill(1), bytes: new Uint8Array(1 << 20) })
    expect(json).toMatchObject({ cycle: { name: 'loop', self: '[circular]' }, trap: '[unserialisable]', getter: { boom: '[unreadable]' }, badJson: '[unserialisable]', bytes: '[1048576 bytes]' })
    expect(JSON.stringify(json).length).toBeLessThan(2_000)
  })
})
