/**
 * What the panel asks of a trace at every step and every 100 ms tick — the
 * pending timers, the timeline — worked out incrementally: the same answers
 * as reading the trace from step 0 (fast-check, seeded, against a plain
 * reading), at the cost of the steps moved over (counted through a proxy on
 * the steps), and bounded whatever the trace holds.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { latestTimeline, MAX_PENDING, TIMER_CHECKPOINT, timeline, timersAt } from '../../src/inspector/timeline.js'
import type { Trace, TraceAction, TraceStep } from '../../src/inspector/trace.js'

const settings = (seed: number, numRuns = 100) => ({ seed, numRuns, interruptAfterTimeLimit: 8_000, markInterruptAsFailure: false })
const timerId = (n: number) => `xstate.after.t${n}.connection.open.waiting`

const traceOf = (steps: TraceStep[]): Trace => ({ format: 'lifeline-trace', version: 1, machine: 'connection', startedAt: 1, initial: { value: 'idle', context: {}, timers: [{ id: timerId(0), delay: 10, due: 10 }] }, steps, dropped: 0 })

// A step that fires, arms and cancels timers from a small pool, so they meet.
const step = fc.record({
  fires: fc.option(fc.nat(5), { nil: undefined }),
  raises: fc.array(fc.tuple(fc.nat(5), fc.nat(10_000)), { maxLength: 3 }),
  cancels: fc.array(fc.nat(5), { maxLength: 2 }),
  ping: fc.boolean(),
  value: fc.constantFrom('idle', 'connecting', 'backoff'),
})
const steps = fc.array(step, { maxLength: 700 }).map((drawn) => drawn.map((d, i): TraceStep => ({
  at: i * 10,
  event: { type: d.fires === undefined ? (d.ping ? 'heartbeat.proof' : 'socket.open') : timerId(d.fires) },
  transitions: [],
  actions: [
    ...d.raises.map(([n, delay]): TraceAction => ({ type: 'xstate.raise', params: { id: timerId(n), delay } })),
    ...d.cancels.map((n): TraceAction => ({ type: 'xstate.cancel', params: { sendId: timerId(n) } })),
    ...(d.ping ? [{ type: 'sendPing' }] : []),
  ],
  value: d.value,
  context: {},
})))

/** The pending timers read from step 0, as the panel once did on every tick. */
function fromTheStart(trace: Trace, index: number): Array<{ id: string; due: number }> {
  const timers = new Map<string, number>(trace.initial.timers.map((t) => [t.id, t.due]))
  for (const s of trace.steps.slice(0, index + 1)) {
    timers.delete(s.event.type)
    for (const a of s.actions) {
      const p = (a.params ?? {}) as { id?: string; delay?: number; sendId?: string }
      if (a.type === 'xstate.raise' && (timers.size < MAX_PENDING || timers.has(p.id!))) timers.set(p.id!, s.at + p.delay!)
      if (a.type === 'xstate.cancel') timers.delete(p.sendId!)
    }
  }
  return [...timers].map(([id, due]) => ({ id, due })).sort((a, b) => a.due - b.due)
}

/** `trace` with its steps behind a proxy counting the reads of a step. */
function counted(trace: Trace): { trace: Trace; reads: () => number } {
  let reads = 0
  const stepsProxy = new Proxy(trace.steps, {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) reads++
      return Reflect.get(target, key, receiver)
    },
  })
  const read = () => {
    const n = reads
    reads = 0
    return n
  }
  return { trace: { ...trace, steps: stepsProxy }, reads: read }
}

describe('timersAt', () => {
  it('gives the timers a reading from step 0 gives, for any trace and any order of steps visited', () => {
    fc.assert(fc.property(steps, fc.array(fc.integer({ min: -1, max: 700 }), { minLength: 1, maxLength: 30 }), (drawn, visits) => {
      const trace = traceOf(drawn)
      for (const index of visits) {
        const at = Math.min(index, drawn.length - 1)
        expect(timersAt(trace, index).map((t) => ({ id: t.id, due: t.due }))).toEqual(fromTheStart(trace, at))
      }
    }), settings(0x71e5))
  })

  it('moves from the step it was at: a step forward reads one step, a step back reads from the nearest checkpoint, a tick reads none', () => {
    const many = Array.from({ length: 10_000 }, (_, i): TraceStep => ({ at: i, event: { type: timerId(i % 2) }, transitions: [], actions: [{ type: 'xstate.raise', params: { id: timerId((i + 1) % 2), delay: 5 } }], value: 'idle', context: {} }))
    const { trace, reads } = counted(traceOf(many))
    timersAt(trace, 9_000)
    expect(reads()).toBeGreaterThanOrEqual(9_001)
    timersAt(trace, 9_001)
    expect(reads()).toBeLessThanOrEqual(2) // the new step, and the first one to see the trace is the same
    timersAt(trace, 9_001)
    expect(reads()).toBeLessThanOrEqual(1)
    timersAt(trace, 9_000)
    expect(reads()).toBeLessThanOrEqual(TIMER_CHECKPOINT + 1)
    timersAt(trace, 10)
    expect(reads()).toBeLessThanOrEqual(TIMER_CHECKPOINT + 1)
    expect(timersAt(trace, 9_000)).toEqual(fromTheStart(trace, 9_000).map((t) => expect.objectContaining(t)))
  })

  it(`starts over when the trace dropped steps from its front, and never holds more than ${MAX_PENDING} timers`, () => {
    const trace = traceOf(Array.from({ length: 3 }, (_, i): TraceStep => ({
      at: i,
      event: { type: 'open' },
      transitions: [],
      actions: Array.from({ length: 200 }, (_, j) => ({ type: 'xstate.raise', params: { id: `t${i}-${j}`, delay: j } })),
      value: 'idle',
      context: {},
    })))
    expect(timersAt(trace, 2)).toHaveLength(MAX_PENDING)
    trace.steps.splice(0, 2)
    trace.dropped += 2
    expect(timersAt(trace, 0).map((t) => t.id)).toEqual(fromTheStart(trace, 0).map((t) => t.id))
  })
})

describe('latestTimeline', () => {
  it('gives the timeline of the whole trace as it grows, reading only the new steps', () => {
    fc.assert(fc.property(steps, fc.array(fc.nat(120), { maxLength: 12 }), fc.integer({ min: 1, max: 60 }), (drawn, chunks, limit) => {
      const trace = traceOf([])
      let from = 0
      for (const size of [...chunks, drawn.length]) {
        trace.steps.push(...drawn.slice(from, from + size))
        from += size
        expect(latestTimeline(trace, limit)).toEqual(timeline(trace, trace.steps.length - 1, limit))
      }
    }), settings(0x7e11))
    const { trace, reads } = counted(traceOf(Array.from({ length: 5_000 }, (_, i): TraceStep => ({ at: i, event: { type: 'heartbeat.proof' }, transitions: [], actions: [{ type: 'sendPing' }], value: 'idle', context: {} }))))
    latestTimeline(trace, 300)
    reads()
    expect(latestTimeline(trace, 300)).toHaveLength(300)
    expect(reads()).toBeLessThanOrEqual(1)
  })
})
