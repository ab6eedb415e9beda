import { backoffDelay, type BackoffSettings } from './backoff.js'
import { describe, LifelineError, messageOf } from './errors.js'
import type { ServerHint } from './hint.js'
import { MAX_DELAY } from './options.js'
import type { ReconnectPolicy, RetryContext } from './types.js'

/** What the machine does after a failed attempt: wait `delay` ms, or give up for the reason `stop`. */
export type RetryPlan = { delay: number; stop?: undefined } | { delay?: undefined; stop: 'policy' | 'server' }

/**
 * The default policy's delay before retry number `retry` (0 for the first):
 * `false` when the server's hint says not to come back; otherwise the hint's
 * `retryAfter` (0 without one), then a random moment within the hint's
 * `within`, or, without one, the backoff delay. So a restart that says
 * `within: 30000` spreads its clients over 30 s, and a server over capacity
 * that says `retryAfter: 5000` sees them back after 5 s plus their jittered
 * backoff. A hint may take longer than `maxDelay`: the server knows when it
 * will have room, and a client back sooner would only be turned away again
 * (hints themselves are capped at an hour, see `MAX_HINT_DELAY`).
 */
export function defaultRetryDelay(
  retry: number,
  settings: BackoffSettings,
  hint: ServerHint | undefined,
  random: () => number = Math.random,
): number | false {
  if (hint?.reconnect === false) return false
  const spread = hint?.within !== undefined ? hint.within * random() : backoffDelay(retry, settings, random)
  return Math.min(MAX_DELAY, (hint?.retryAfter ?? 0) + spread)
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
