import type { Clock } from './types.js'

/**
 * How late a timer may fire and still run at once, in milliseconds: the
 * length of a long task, the threshold browsers report jank from. A timer
 * later than that fired after the process (or the tab) did not run for a
 * while: stopped, suspended, paused in a debugger, throttled.
 */
export const LATE_AFTER_MS = 50

type Turn = (callback: () => void) => void

// After a stall, the event loop runs due timers before it reads the sockets
// (Node's timers phase comes before its poll phase; a browser may pick the
// timer task first). So a late timer runs one I/O turn later: after the
// input that arrived while nothing ran. Node: setImmediate, which follows the
// poll phase. Browsers: a message-channel task, which timer throttling in
// background tabs does not delay (a setTimeout(0) there could wait a minute).
function ioTurn(): Turn {
  const host = globalThis as { setImmediate?: (callback: () => void) => unknown; MessageChannel?: typeof MessageChannel }
  if (typeof host.setImmediate === 'function') return (callback) => void host.setImmediate!(callback)
  if (typeof host.MessageChannel === 'function') {
    const channel = new host.MessageChannel()
    const queue: (() => void)[] = []
    channel.port1.onmessage = () => queue.shift()?.()
    return (callback) => {
      queue.push(callback)
      channel.port2.postMessage(null)
    }
  }
  return (callback) => void setTimeout(callback, 0)
}

/**
 * Width of a timer slot on real time, in milliseconds. Timers that fall due
 * in the same slot fire together, from one host timer, at its end (never
 * early). Two thousand heartbeats drift apart by a round trip every cycle;
 * slots keep them in step, so their pings leave in bursts: one wake-up of the
 * process (and of the peer's) per slot instead of one per connection, which
 * cost more than the heartbeat itself. A slot is much shorter than
 * {@link LATE_AFTER_MS}, and a timer's lateness is still counted from its
 * own due time: a timer 55 ms late is late, whichever slot it waited in.
 */
export const TIMER_SLOT_MS = 10

// One host timer for every machine timer that falls due in it. `timers` keeps
// the order they were set in; a cancelled one leaves it at once.
interface Slot {
  key: number
  due: number
  /** The most any of its timers asked to fire before the slot's end, in ms. */
  early: number
  timers: Set<Timer>
  host: unknown
  waited: boolean
}

/** What setTimeout() hands out: the handle XState passes back to clearTimeout(). */
interface Timer {
  callback: () => void
  slot: Slot
  /** How long before the slot's end it was due, in ms: lateness is the timer's own, not the slot's. */
  early: number
}

/**
 * The clock behind every machine timer. Timers share host timers by slot
 * ({@link TIMER_SLOT_MS} wide on real time; on a clock you pass, one slot per
 * due time, so tests see exact delays). A slot holding a timer that fires more
 * than {@link LATE_AFTER_MS} after its due time runs one I/O turn later, so that no
 * verdict (a heartbeat timeout, a connect timeout) is reached before the
 * input that arrived meanwhile — the pong sitting in the socket — has been
 * read; the machine then sees `lateness` and probes instead of judging. On a
 * clock you pass (tests), that turn is the clock's own zero-delay timer. One
 * clock serves every connection on the same base clock; JavaScript runs one
 * timer callback at a time, so `lateness` always belongs to the callback running.
 */
export class LatenessClock implements Clock {
  /** How late the timer now firing is, in ms; 0 outside a timer callback. */
  lateness = 0
  private readonly slots = new Map<number, Slot>()
  private readonly turn: Turn
  private readonly width: number

  constructor(private readonly base: Clock | undefined) {
    this.turn = base ? (callback) => void base.setTimeout(callback, 0) : ioTurn()
    this.width = base ? 0 : TIMER_SLOT_MS
  }

  /** Wall-clock time: it goes on while the machine sleeps, which is how a late timer tells a suspension. */
  now(): number {
    return this.base ? this.base.now() : Date.now()
  }

  /**
   * Time for measuring intervals (since the last proof of life, a ping's
   * round trip): it never jumps when the wall clock is set back or forward
   * (an NTP step, a restored VM, a user fixing the time).
   */
  monotonic(): number {
    return this.base ? this.base.now() : performance.now()
  }

  /**
   * {@link monotonic} as read by the first call in the current task: every
   * frame of a burst that ws parses from one read shares a single reading
   * (one costs about 70 ns, as much as ws spends on a small frame). The
   * stamp is never later than the frame it marks, so a ping falls due no
   * later than it would with a reading per frame. Exact on a clock you pass.
   */
  sinceTurn(): number {
    if (this.base) return this.base.now()
    if (this.turnStamp < 0) {
      this.turnStamp = performance.now()
      queueMicrotask(this.endTurn)
    }
    return this.turnStamp
  }

  private turnStamp = -1
  private readonly endTurn = (): void => {
    this.turnStamp = -1
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const now = this.now()
    const width = this.width
    const due = now + ms
    const key = width === 0 ? due : Math.ceil(due / width)
    let slot = this.slots.get(key)
    if (slot === undefined) {
      const end = width === 0 ? key : key * width
      slot = { key, due: end, early: 0, timers: new Set(), host: undefined, waited: false }
      const fired = slot
      const run = (): void => this.fire(fired)
      slot.host = this.base ? this.base.setTimeout(run, end - now) : setTimeout(run, end - now)
      this.slots.set(key, slot)
    }
    // Exact, fractions of a millisecond too: the verdict at LATE_AFTER_MS must not move with rounding.
    const early = slot.due - due
    if (early > slot.early) slot.early = early
    const timer: Timer = { callback, slot, early }
    slot.timers.add(timer)
    return timer
  }

  clearTimeout(id: unknown): void {
    const timer = id as Timer
    const slot = timer.slot
    if (!slot.timers.delete(timer) || slot.timers.size > 0 || this.slots.get(slot.key) !== slot) return
    // The slot's last timer: its host timer goes too (unless it is waiting its turn, which then finds nothing).
    this.slots.delete(slot.key)
    if (slot.waited) return
    if (this.base) this.base.clearTimeout(slot.host)
    else clearTimeout(slot.host as ReturnType<typeof setTimeout>)
  }

  private fire(slot: Slot): void {
    const lateness = this.now() - slot.due
    if (!slot.waited && lateness + slot.early > LATE_AFTER_MS) {
      slot.waited = true
      return this.turn(() => this.fire(slot))
    }
    // Gone from the map first: a timer set by a callback below gets a slot of its own, never this one.
    if (this.slots.get(slot.key) === slot) this.slots.delete(slot.key)
    let failure: { error: unknown } | undefined
    for (const timer of slot.timers) {
      slot.timers.delete(timer)
      this.lateness = lateness + timer.early
      try {
        timer.callback()
      } catch (error) {
        failure ??= { error }
      } finally {
        this.lateness = 0
      }
    }
    // A callback that threw stops neither the others nor the clock; its error surfaces as it would have.
    if (failure !== undefined) throw failure.error
  }
}
