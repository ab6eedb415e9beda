/** Settings of {@link backoffDelay}. */
export interface BackoffSettings {
  /** Ceiling of the first retry's delay, in milliseconds. */
  initialDelay: number
  /** Largest ceiling, in milliseconds. */
  maxDelay: number
  /** Growth of the ceiling per retry. */
  factor: number
  /** Share of the delay that is random, 0 to 1. */
  jitter: number
}

/**
 * Delay before retry number `retry` (0 for the first retry): exponential,
 * capped, with jitter. The ceiling is `min(maxDelay, initialDelay * factor^retry)`;
 * the delay is drawn from `[ceiling * (1 - jitter), ceiling]`.
 *
 * Full jitter (1) is the default because it spreads clients that lost the same
 * server evenly over the window instead of bringing them back in one wave.
 */
export function backoffDelay(retry: number, settings: BackoffSettings, random: () => number = Math.random): number {
  return backoffCeiling(retry, settings) * (1 - settings.jitter * random())
}

/** The longest delay {@link backoffDelay} draws before retry number `retry`: `min(maxDelay, initialDelay * factor^retry)`. */
export function backoffCeiling(retry: number, settings: BackoffSettings): number {
  return Math.min(settings.maxDelay, settings.initialDelay * settings.factor ** retry)
}
