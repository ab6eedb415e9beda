/**
 * The machine's pending timers, read from XState's inspection stream: an
 * `xstate.raise` with a delay arms a timer, an `xstate.cancel` or the timer's
 * own event disarms it. What the page shows is what the actor scheduled.
 */
import type { InspectionEvent } from 'xstate'

export interface PendingTimer {
  /** The named delay, e.g. `heartbeatInterval`. */
  delay: string
  /** The state that armed it, e.g. `open.waiting`. */
  state: string
  /** When it fires, in `performance.now()` time. */
  due: number
}

export class TimerWatch {
  private timers = new Map<string, PendingTimer>()

  observe(event: InspectionEvent): void {
    if (event.type === '@xstate.action') {
      const { type, params } = event.action as { type: string; params?: { id?: string; delay?: number; sendId?: string } }
      if (type === 'xstate.raise' && typeof params?.delay === 'number' && params.id) {
        const [, , delay = '', ...state] = params.id.split('.')
        this.timers.set(params.id, { delay, state: state.slice(1).join('.'), due: performance.now() + params.delay })
      } else if (type === 'xstate.cancel' && params?.sendId) {
        this.timers.delete(params.sendId)
      }
    } else if (event.type === '@xstate.event') {
      this.timers.delete(event.event.type)
    }
  }

  clear(): void {
    this.timers.clear()
  }

  pending(): PendingTimer[] {
    return [...this.timers.values()].sort((a, b) => a.due - b.due)
  }
}

const PHRASES: Record<string, string> = {
  heartbeatInterval: 'ping',
  heartbeatTimeout: 'heartbeat timeout',
  connectTimeout: 'connect timeout',
  backoffDelay: 'reconnect attempt',
  closeTimeout: 'close forced',
}

/** "ping in 3.2 s", "reconnect attempt 3 in 1.7 s". */
export function describeTimer(timer: PendingTimer, now: number, nextAttempt: number): string {
  const seconds = Math.max(0, (timer.due - now) / 1000).toFixed(1)
  const phrase = PHRASES[timer.delay] ?? timer.delay
  return timer.delay === 'backoffDelay' ? `${phrase} ${nextAttempt} in ${seconds} s` : `${phrase} in ${seconds} s`
}
