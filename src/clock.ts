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
 * The clock behind every machine timer. A timer that fires more than
 * {@link LATE_AFTER_MS} after its due time is run one I/O turn later, so that
 * no verdict (a heartbeat timeout, a connect timeout) is reached before the
 * input that arrived meanwhile — the pong sitting in the socket — has been
 * read; the machine then sees `lateness` and probes instead of judging. On a
 * clock you pass (tests), that turn is the clock's own zero-delay timer. One
 * clock serves every connection on the same base clock; JavaScript runs one
 * timer callback at a time, so `lateness` always belongs to the callback running.
 */
export class LatenessClock implements Clock {
  /** How late the timer now firing is, in ms; 0 outside a timer callback. */
  lateness = 0
  // Late timers waiting for their turn; clearTimeout() takes them out, so a cancelled one never runs.
  private readonly deferred = new Set<unknown>()
  private readonly turn: Turn

  constructor(private readonly base: Clock | undefined) {
    this.turn = base ? (callback) => void base.setTimeout(callback, 0) : ioTurn()
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

  setTimeout(callback: () => void, ms: number): unknown {
    const due = this.now() + ms
    // One closure per timer, as before the turn existed: the heartbeat arms one every cycle.
    let waited = false
    const fire = (): void => {
      const lateness = this.now() - due
      if (waited) {
        if (!this.deferred.delete(id)) return // cancelled while it waited
      } else if (lateness > LATE_AFTER_MS) {
        waited = true
        this.deferred.add(id)
        return this.turn(fire)
      }
      this.lateness = lateness
      try {
        callback()
      } finally {
        this.lateness = 0
      }
    }
    const id = this.base ? this.base.setTimeout(fire, ms) : setTimeout(fire, ms)
    return id
  }

  clearTimeout(id: unknown): void {
    if (this.deferred.delete(id)) return
    if (this.base) this.base.clearTimeout(id)
    else clearTimeout(id as ReturnType<typeof setTimeout>)
  }
}
