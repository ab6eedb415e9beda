/**
 * A deterministic clock for the connection's timers. Unlike a clock that jumps
 * to the end and then fires everything, `advance()` fires each timer at its
 * own due time, in order, so time stamps taken inside callbacks are exact.
 * `nextDue()` lets a test step to the next timer without knowing its delay.
 */
export class TestClock {
  private time = 0
  private nextId = 1
  private timers = new Map<number, { due: number; callback: () => void }>()

  now(): number {
    return this.time
  }

  setTimeout(callback: () => void, ms: number): number {
    const id = this.nextId++
    this.timers.set(id, { due: this.time + ms, callback })
    return id
  }

  clearTimeout(id: unknown): void {
    this.timers.delete(id as number)
  }

  /** Milliseconds until the earliest pending timer, or undefined when none is pending. */
  nextDue(): number | undefined {
    let earliest: number | undefined
    for (const { due } of this.timers.values()) if (earliest === undefined || due < earliest) earliest = due
    return earliest === undefined ? undefined : earliest - this.time
  }

  get pending(): number {
    return this.timers.size
  }

  /**
   * Moves time forward by `ms` as a suspended process sees it: nothing fires
   * on the way, then every overdue timer fires late, at the new time.
   */
  jump(ms: number): void {
    this.time += ms
    const overdue = [...this.timers].filter(([, t]) => t.due <= this.time).sort((a, b) => a[1].due - b[1].due)
    for (const [id, timer] of overdue) {
      if (!this.timers.delete(id)) continue // cancelled by an earlier callback
      timer.callback()
    }
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.time + ms
    for (;;) {
      let next: [number, { due: number; callback: () => void }] | undefined
      for (const entry of this.timers) if (entry[1].due <= end && (next === undefined || entry[1].due < next[1].due)) next = entry
      if (next === undefined) break
      this.timers.delete(next[0])
      this.time = next[1].due
      next[1].callback()
    }
    this.time = end
  }
}
