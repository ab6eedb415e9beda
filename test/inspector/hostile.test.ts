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

// A value `depth` deep: arrays or objects inside each other, around `leaf`.
const nested = (depth: number, kind: 'array' | 'object', leaf: unknown = 1): unknown => {
  let value = leaf
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { k: value }
  return value
}
// Where a hostile value can go in a trace: every field a peer or a file fills with JSON of its own.
const FIELDS: Array<{ name: string; put: (trace: Record<string, any>, value: unknown) => void }> = [
  { name: 'steps[0].context', put: (t, v) => (t.steps[0].context = { deep: v }) },
  { name: 'steps[0].event', put: (t, v) => (t.steps[0].event = { type: 'open', payload: v }) },
  { name: 'steps[0].actions[0].params', put: (t, v) => (t.steps[0].actions[0].params = v) },
  { name: 'steps[0].value', put: (t, v) => (t.steps[0].value = { open: v }) },
  { name: 'steps[0].transitions[0]', put: (t, v) => (t.steps[0].transitions[0].extra = v) },
  { name: 'initial.context', put: (t, v) => (t.initial.context = { deep: v }) },
  { name: 'initial.timers[0]', put: (t, v) => (t.initial.timers[0].extra = v) },
]
const copyOfValid = (): Record<string, any> => JSON.parse(JSON.stringify(validTrace))
/** The deepest nesting in `value`, counted without recursion. */
function depthOf(value: unknown): number {
  let deepest = 0
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!
    deepest = Math.max(deepest, depth)
    if (typeof node === 'object' && node !== null) for (const child of Object.values(node)) stack.push([child, depth + 1])
  }
  return deepest
}

describe('parseTrace bounds every field', () => {
  it.each(FIELDS)('refuses $name nested 20,000 deep, as JSON text and as an object, naming the field', ({ name, put }) => {
    for (const kind of ['array', 'object'] as const) {
      const trace = copyOfValid()
      put(trace, nested(20_000, kind))
      const text = copyOfValid()
      put(text, '<deep>')
      const deepText = kind === 'array' ? `${'['.repeat(20_000)}1${']'.repeat(20_000)}` : `${'{"k":'.repeat(20_000)}1${'}'.repeat(20_000)}`
      for (const input of [trace, JSON.stringify(text).replace('"<deep>"', deepText)]) {
        let thrown: unknown
        try {
          parseTrace(input)
        } catch (error) {
          thrown = error
        }
        expect(thrown, `${name} ${kind}`).toMatchObject({ name: 'TypeError', code: 'LIFELINE_INVALID_ARGUMENT' })
        expect((thrown as Error).message).toContain(name)
        expect((thrown as Error).message).toMatch(/at most 32 deep/)
        expect((thrown as Error).message.length).toBeLessThan(400)
      }
    }
  })

  it('refuses strings, keys, lists and objects beyond their bounds, and more actions, transitions or timers than a recording holds', () => {
    const cases: Array<[string, (t: Record<string, any>) => void, RegExp]> = [
      ['a 100,000-character string', (t) => (t.steps[0].context.note = 'x'.repeat(100_000)), /steps\[0\]\.context\.note must be .*at most 1024 characters/],
      ['a 100,000-character key', (t) => (t.steps[0].event['k'.repeat(100_000)] = 1), /steps\[0\]\.event must be .*keys of at most 1024 characters/],
      ['an array of 100,000 items', (t) => (t.steps[0].context.list = new Array(100_000).fill(0)), /steps\[0\]\.context\.list must be .*at most 256 members/],
      ['an object of 100,000 keys', (t) => (t.initial.context = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]))), /initial\.context must be .*at most 256 members/],
      ['100,000 actions', (t) => (t.steps[0].actions = Array.from({ length: 100_000 }, (_, i) => ({ type: 'xstate.raise', params: { id: `t${i}`, delay: i } }))), /steps\[0\]\.actions must be an array of at most 256 actions/],
      ['100,000 transitions', (t) => (t.steps[0].transitions = new Array(100_000).fill(t.steps[0].transitions[0])), /steps\[0\]\.transitions must be an array of at most 256 transitions/],
      ['100,000 pending timers', (t) => (t.initial.timers = new Array(100_000).fill(t.initial.timers[0])), /initial\.timers must be an array of at most 256 timers/],
      ['a step of 100 x 100 x 100 values', (t) => (t.steps[0].context.cube = new Array(100).fill(new Array(100).fill(new Array(100).fill(0)))), /steps\[0\] must be a step of at most 16384 JSON values/],
      ['a bigint', (t) => (t.steps[0].context.big = 1n), /steps\[0\]\.context\.big must be a JSON value/],
      ['a 100,000-character event type', (t) => (t.steps[0].event.type = 'x'.repeat(100_000)), /steps\[0\]\.event must be an event with a string type of at most 1024 characters/],
      ['a 100,000-character machine id', (t) => (t.machine = 'x'.repeat(100_000)), /machine must be a string of at most 1024 characters/],
    ]
    for (const [what, change, message] of cases) {
      const trace = copyOfValid()
      change(trace)
      expect(() => parseTrace(trace), what).toThrow(message)
      try {
        parseTrace(trace)
      } catch (error) {
        expect((error as Error).message.length, what).toBeLessThan(400)
      }
    }
  })

  it('accepts what a recording holds: 256 actions of a step, 32 levels, 1024-character strings', () => {
    const trace = copyOfValid()
    trace.steps[0].actions = Array.from({ length: 256 }, () => ({ type: 'sendPing' }))
    trace.steps[0].context.deep = nested(31, 'object')
    trace.steps[0].context.note = 'x'.repeat(1024)
    expect(parseTrace(trace)).toEqual(trace)
  })

  // Hostile values: deep nesting, long strings, wide lists and objects, or any JSON.
  const hostileValue = fc.oneof(
    fc.tuple(fc.integer({ min: 1, max: 3_000 }), fc.constantFrom('array' as const, 'object' as const), fc.jsonValue({ maxDepth: 2 })).map(([depth, kind, leaf]) => nested(depth, kind, leaf)),
    fc.integer({ min: 200, max: 100_000 }).map((n) => 'x'.repeat(n)),
    fc.integer({ min: 100, max: 20_000 }).map((n) => new Array(n).fill({ a: [1, 2] })),
    fc.integer({ min: 100, max: 20_000 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, [i]]))),
    fc.jsonValue(),
  )
  const hostileTrace = fc.tuple(fc.constantFrom(...FIELDS), hostileValue).map(([field, value]) => {
    const trace = copyOfValid()
    field.put(trace, value)
    return trace
  })

  it('accepts or refuses a trace with a hostile value in any field; what it accepts is bounded and serialisable', () => {
    fc.assert(fc.property(hostileTrace, fc.boolean(), (trace, asText) => {
      let parsed: Trace | undefined
      refusesClearly(() => (parsed = parseTrace(asText ? JSON.stringify(trace) : trace)))
      if (parsed === undefined) return
      expect(depthOf(parsed)).toBeLessThanOrEqual(40)
      expect(JSON.stringify(parsed).length).toBeLessThan(5_000_000)
    }), settings(0xdee9, 200))
  })

  it('accepts or refuses a relay message with a hostile value in any field, with an Error', () => {
    const message = fc.tuple(hostileTrace, fc.boolean()).map(([trace, asStep]) => JSON.stringify(asStep ? { type: 'lifeline.step', id: '1:a', step: trace.steps[0] } : { type: 'lifeline.actor', id: '1:a', name: 'app', now: 0, trace }))
    fc.assert(fc.property(message, (text) => {
      let parsed: unknown
      try {
        parsed = parseMessage(text)
      } catch (error) {
        expect(error).toBeInstanceOf(Error)
        expect((error as Error).message.length).toBeLessThan(400)
        return
      }
      expect(depthOf(parsed)).toBeLessThanOrEqual(40)
      expect(() => JSON.stringify(parsed)).not.toThrow()
    }), settings(0x4e1b, 200))
  })
})
