/**
 * The clock every machine timer runs on. On real time it groups timers into
 * slots of TIMER_SLOT_MS, fired together by one host timer; on a clock the
 * application passes it keeps every due time exact. Either way a late slot
 * waits one I/O turn before it runs, and frame time stamps within one task
 * share a single reading. Real-time behaviour is checked with vitest's fake
 * timers, which stand in for setTimeout, setImmediate, Date and performance.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LATE_AFTER_MS, LatenessClock, TIMER_SLOT_MS } from '../src/clock.js'
import { TestClock } from './helpers/test-clock.js'

describe('on real time', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date', 'performance'], now: 1_000_000 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('fires timers that fall due in the same slot together, from one host timer, never early', () => {
    const clock = new LatenessClock(undefined)
    const fired: [string, number][] = []
    clock.setTimeout(() => fired.push(['a', Date.now()]), 1_001)
    vi.advanceTimersByTime(3)
    clock.setTimeout(() => fired.push(['b', Date.now()]), 1_004)
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(1_001)
    expect(fired).toEqual([])
    vi.advanceTimersByTime(TIMER_SLOT_MS)
    expect(fired.map(([name]) => name)).toEqual(['a', 'b'])
    const slotEnd = fired[0]![1]
    expect(slotEnd % TIMER_SLOT_MS).toBe(0)
    expect(slotEnd).toBeGreaterThanOrEqual(1_000_000 + 3 + 1_004)
    expect(slotEnd - (1_000_000 + 1_001)).toBeLessThanOrEqual(TIMER_SLOT_MS)
  })

  it('runs no cancelled timer, and lets the host timer go with the slot\'s last one', () => {
    const clock = new LatenessClock(undefined)
    const fired: string[] = []
    const a = clock.setTimeout(() => fired.push('a'), 500)
    const b = clock.setTimeout(() => fired.push('b'), 500)
    clock.clearTimeout(a)
    expect(vi.getTimerCount()).toBe(1)
    clock.clearTimeout(b)
    expect(vi.getTimerCount()).toBe(0)
    clock.clearTimeout(b) // twice: nothing happens
    vi.advanceTimersByTime(1_000)
    expect(fired).toEqual([])
  })

  it('gives a timer set while its slot fires a slot of its own, run in a later task', () => {
    const clock = new LatenessClock(undefined)
    const fired: string[] = []
    clock.setTimeout(() => {
      fired.push('first')
      clock.setTimeout(() => fired.push('zero delay'), 0)
      expect(fired).toEqual(['first'])
    }, 100)
    vi.advanceTimersByTime(100 + TIMER_SLOT_MS)
    expect(fired).toEqual(['first', 'zero delay'])
  })

  it('runs a slot that fires late one I/O turn later, with its lateness, and skips a timer cancelled meanwhile', () => {
    const clock = new LatenessClock(undefined)
    const seen: number[] = []
    const kept = clock.setTimeout(() => seen.push(clock.lateness), 1_000)
    const dropped = clock.setTimeout(() => seen.push(-1), 1_000)
    expect(kept).not.toBe(dropped)
    // The process stalls: time moves on, the host timer has not run yet.
    vi.setSystemTime(Date.now() + 5_000)
    vi.advanceTimersToNextTimer() // the host timer: late, so it waits for setImmediate
    expect(seen).toEqual([])
    clock.clearTimeout(dropped) // what was read in that turn cancelled it
    vi.runOnlyPendingTimers()
    expect(seen).toHaveLength(1)
    expect(seen[0]).toBeGreaterThan(LATE_AFTER_MS)
    expect(clock.lateness).toBe(0)
  })

  it('counts a timer\'s lateness from its own due time, not from the end of its slot', () => {
    const clock = new LatenessClock(undefined)
    const due = Date.now() + 1
    let seen: { lateness: number; at: number } | undefined
    clock.setTimeout(() => (seen = { lateness: clock.lateness, at: Date.now() }), 1) // its slot ends 9 ms after it is due
    // A stall: the host timer (and the clock) move on 45 ms, 54 ms for the timer itself.
    vi.setSystemTime(Date.now() + 45)
    vi.advanceTimersToNextTimer()
    expect(seen).toBeUndefined() // late by its own due time: it waits the I/O turn
    vi.runOnlyPendingTimers()
    expect(seen!.lateness).toBe(seen!.at - due)
    expect(seen!.lateness).toBeGreaterThan(LATE_AFTER_MS)
  })

  it('judges a timer late by its exact lateness, fractions of a millisecond included', () => {
    const clock = new LatenessClock(undefined)
    const due = Date.now() + 0.6
    let seen: number | undefined
    clock.setTimeout(() => (seen = clock.lateness), 0.6) // its slot ends 9.4 ms after it is due
    // The host timer 41 ms late: the timer itself 50.4 ms, more than LATE_AFTER_MS.
    vi.setSystemTime(Date.now() + 41)
    vi.advanceTimersToNextTimer()
    expect(seen).toBeUndefined() // late: it waits the I/O turn
    vi.runOnlyPendingTimers()
    expect(seen).toBeCloseTo(Date.now() - due, 9)
    expect(seen).toBeGreaterThan(LATE_AFTER_MS)
  })

  it('runs the rest of a slot when one of its callbacks throws, then lets the error out', () => {
    const clock = new LatenessClock(undefined)
    const fired: string[] = []
    clock.setTimeout(() => {
      throw new Error('broken callback')
    }, 50)
    clock.setTimeout(() => fired.push('after'), 50)
    expect(() => vi.advanceTimersByTime(50 + TIMER_SLOT_MS)).toThrow('broken callback')
    expect(fired).toEqual(['after'])
    expect(clock.lateness).toBe(0)
  })

  it('stamps every frame of one task with one reading, and reads again in the next', async () => {
    const clock = new LatenessClock(undefined)
    const first = clock.sinceTurn()
    vi.advanceTimersByTime(7)
    expect(clock.sinceTurn()).toBe(first) // same task: never later than the frame it marks
    await Promise.resolve() // the task ends
    expect(clock.sinceTurn()).toBe(first + 7)
  })
})

describe('on a clock the application passes', () => {
  it('keeps every due time exact: one host timer per due time', () => {
    const base = new TestClock()
    const clock = new LatenessClock(base)
    const fired: [string, number][] = []
    clock.setTimeout(() => fired.push(['a', base.now()]), 1_001)
    clock.setTimeout(() => fired.push(['b', base.now()]), 1_004)
    clock.setTimeout(() => fired.push(['c', base.now()]), 1_001)
    expect(base.pending).toBe(2)
    base.advance(1_001)
    expect(fired).toEqual([['a', 1_001], ['c', 1_001]])
    base.advance(3)
    expect(fired.at(-1)).toEqual(['b', 1_004])
    expect(base.pending).toBe(0)
  })

  it('waits the clock\'s own zero-delay timer before a late timer runs', () => {
    const base = new TestClock()
    const clock = new LatenessClock(base)
    let lateness: number | undefined
    clock.setTimeout(() => (lateness = clock.lateness), 100)
    base.jump(100 + LATE_AFTER_MS + 1)
    expect(lateness).toBeUndefined()
    base.advance(0)
    expect(lateness).toBe(LATE_AFTER_MS + 1)
  })

  it('reads the clock itself for every frame', () => {
    const base = new TestClock()
    const clock = new LatenessClock(base)
    const first = clock.sinceTurn()
    base.advance(5)
    expect(clock.sinceTurn()).toBe(first + 5)
  })
})
