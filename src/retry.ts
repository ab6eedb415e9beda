import { backoffCeiling, backoffDelay, type BackoffSettings } from './backoff.js'
import { describe, LifelineError, messageOf } from './errors.js'
import { MAX_HINT_DELAY, parseCloseHint, type ServerHint } from './hint.js'
import { MAX_DELAY, type ResolvedReconnect } from './options.js'
import { reasonOf, type MachineEvent } from './reasons.js'
import type { ReconnectPolicy, RetryCause, RetryContext } from './types.js'

/**
 * What the machine does after a failed attempt: wait `delay` ms, or give up
 * for the reason `stop`. `hold`: the part of the delay the server asked for
 * (its `retryAfter`), which a wake-up or the network coming back cannot cut.
 */
export type RetryPlan = { delay: number; hold?: number; stop?: undefined } | { delay?: undefined; hold?: undefined; stop: 'policy' | 'server' }

/**
 * The default policy's delay before retry number `retry` (0 for the first):
 * `false` when the server's hint says not to come back; otherwise the hint's
 * `retryAfter` (0 without one), then a random moment within the hint's
 * `within`, or, without one, the backoff delay. So a restart that says
 * `within: 30000` spreads its clients over 30 s, and a server over capacity
 * that says `retryAfter: 5000` sees them back after 5 s plus their jittered
 * backoff. A window shorter than the backoff ceiling gives way to the
 * backoff: a server that closes every socket with `within: 0` (a restart
 * loop, or a hostile one) must not bring its clients back at once, again and
 * again. A hint may take longer than `maxDelay`: the server knows when it
 * will have room, and a client back sooner would only be turned away again;
 * but what a hint adds, `retryAfter` and `within` together, is at most
 * `MAX_HINT_DELAY` (an hour): `retryAfter` is cut so that the spread after
 * it still fits, and clients told to wait long still come back spread out.
 */
export function defaultRetryDelay(
  retry: number,
  settings: BackoffSettings,
  hint: ServerHint | undefined,
  random: () => number = Math.random,
): number | false {
  if (hint?.reconnect === false) return false
  const within = hint?.within
  const ceiling = backoffCeiling(retry, settings)
  const spreadsOver = within !== undefined && within >= ceiling ? within : undefined
  const spread = spreadsOver !== undefined ? spreadsOver * random() : backoffDelay(retry, settings, random)
  // retryAfter gives way to the spread under the hour: capping the sum instead would put a herd
  // told `retryAfter: 1 h, within: 10 min` all at the same moment, the hour.
  const room = MAX_HINT_DELAY - (spreadsOver ?? ceiling)
  return Math.min(MAX_DELAY, Math.max(0, Math.min(hint?.retryAfter ?? 0, room)) + spread)
}

/**
 * Asks the application's policy, if any, and turns the answer into a plan.
 * An answer that is not a delay, `false` or `undefined` — or a throw — is
 * reported and the default applies: a broken policy never stops the
 * connection, nor retries it back to back.
 */
export function planRetry(policy: ReconnectPolicy | undefined, context: RetryContext, report: (error: Error) => void): RetryPlan {
  const fallback: RetryPlan = context.delay === false ? { stop: 'server' } : { delay: context.delay }
  if (policy === undefined) return fallback
  let answer: unknown
  try {
    answer = policy(context)
  } catch (error) {
    report(new LifelineError('LIFELINE_POLICY_FAILED', `reconnect.policy threw (${messageOf(error)}); used the default`, { cause: error }))
    return fallback
  }
  if (answer === undefined) return fallback
  if (answer === false) return { stop: 'policy' }
  if (typeof answer === 'number' && answer >= 0 && answer <= MAX_DELAY) return { delay: answer }
  report(new LifelineError(
    'LIFELINE_POLICY_FAILED',
    `reconnect.policy must return a delay from 0 to ${MAX_DELAY} ms, false or undefined, got ${describe(answer)}; used the default`,
  ))
  return fallback
}

/** What the connection knows of itself when a failure is planned. */
export interface PlanningFacts {
  now: number
  /** When the last proof of life arrived (or the last socket opened). */
  lastProofAt: number
  online: boolean
  visible: boolean
  report: (error: Error) => void
}

/**
 * The retry policy's memory for one connection, kept in the connection's own
 * fields (an object of its own would cost every connection its header): what
 * the current attempt did, since when the streak of failures runs, and the
 * plan for the failure being handled.
 */
export interface RetryMemory {
  /** The current attempt's socket opened. */
  attemptOpened: boolean
  /** The current attempt reported an error before it ended. */
  attemptErrored: boolean
  /** When the last fresh start began (`attempt` 0). */
  startedAt: number
  /** When the connection was last healthy, fixed at the first failure of a streak. */
  streakSince: number
  /**
   * The plan for the failure of the current attempt: the guard that may give
   * up and the action that schedules the retry see the same event, and the
   * policy is asked once per failure. Forgotten when the next attempt begins:
   * a timer's event is one object for every time it fires, so the event alone
   * cannot tell the second connect timeout in a row from the first.
   */
  planned: { event: MachineEvent; plan: RetryPlan } | undefined
  /** Until when (monotonic ms) the scheduled retry is held back by the server's `retryAfter`; 0 when it is not. */
  heldUntil: number
}

/** A new attempt begins; `attempt` failed ones before it (0: a fresh start). */
export function attemptStarted(memory: RetryMemory, attempt: number, now: number): void {
  memory.attemptOpened = false
  memory.attemptErrored = false
  memory.planned = undefined
  memory.heldUntil = 0
  if (attempt === 0) memory.startedAt = now
}

/** What to do after the failure `event` ended an attempt, `attempt` failed ones before it. */
export function planFor(memory: RetryMemory, reconnect: ResolvedReconnect | false, event: MachineEvent, attempt: number, facts: PlanningFacts): RetryPlan {
  if (memory.planned?.event === event) return memory.planned.plan
  if (!reconnect) return { delay: 0 }
  // The first failure since healthy: healthy until its last proof, or since the fresh start.
  if (attempt === 0) memory.streakSince = Math.max(memory.startedAt, facts.lastProofAt)
  const close = event.type === 'socket.close' ? { code: event.code, reason: event.reason, wasClean: event.wasClean } : undefined
  const hint = close === undefined ? undefined : parseCloseHint(close.reason)
  const plan = planRetry(reconnect.policy, {
    attempt: attempt + 1,
    elapsed: Math.max(0, facts.now - memory.streakSince),
    cause: causeOf(event, memory.attemptErrored),
    close,
    opened: memory.attemptOpened,
    online: facts.online,
    visible: facts.visible,
    hint,
    delay: defaultRetryDelay(attempt, reconnect, hint),
  }, facts.report)
  const held = plan.delay !== undefined && hint?.retryAfter !== undefined ? { ...plan, hold: Math.min(hint.retryAfter, plan.delay) } : plan
  memory.planned = { event, plan: held }
  return held
}

function causeOf(event: MachineEvent, errored: boolean): RetryCause {
  const reason = reasonOf(event)
  if (reason === 'connect-timeout' || reason === 'heartbeat-timeout' || reason === 'probe-timeout') return reason
  return errored ? 'error' : 'close'
}
