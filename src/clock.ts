import type { Clock } from './types.js'

/**
 * The clock behind every machine timer. It notes how late the timer now
 * firing is: a timer that fires long after its due time means the process
 * (or the tab) was suspended, and what it would judge is stale. One clock
 * serves every connection on the same base clock; JavaScript runs one timer
 * callback at a time, so `lateness` always belongs to the callback running.
 */
export class LatenessClock implements Clock {
  /** How late the timer now firing is, in ms; 0 outside a timer callback. */
  lateness = 0

  constructor(private readonly base: Clock | undefined) {}

  now(): number {
    return this.base ? this.base.now() : Date.now()
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const due = this.now() + ms
    const fire = (): void => {
      this.lateness = this.now() - due
      try {
        callback()
      } finally {
        this.lateness = 0
      }
    }
    return this.base ? this.base.setTimeout(fire, ms) : setTimeout(fire, ms)
  }

  clearTimeout(id: unknown): void {
    if (this.base) this.base.clearTimeout(id)
    else clearTimeout(id as ReturnType<typeof setTimeout>)
  }
}
