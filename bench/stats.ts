// Small statistics for noisy machines: medians and ratios, never single runs.

/** The median of the finite numbers in `values`; `null` when there are none. */
export function median(values: ReadonlyArray<number | null>): number | null {
  const sorted = values.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return null
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * The median of trials where `null` means "did not happen within the cap"
 * (right-censored): when at least half the trials are censored the median
 * itself is beyond the cap, so the answer is `null`.
 */
export function censoredMedian(values: ReadonlyArray<number | null>): number | null {
  const seen = values.filter((v): v is number => v !== null)
  if (values.length === 0 || seen.length * 2 <= values.length) return null
  const sorted = [...seen].sort((a, b) => a - b)
  const all = [...sorted, ...Array<number>(values.length - seen.length).fill(Infinity)]
  const mid = all.length >> 1
  const value = all.length % 2 === 1 ? all[mid]! : (all[mid - 1]! + all[mid]!) / 2
  return Number.isFinite(value) ? value : null
}

/** Counts of `times` (ms) in consecutive bins of `width` ms starting at 0. */
export function histogram(times: readonly number[], width: number): number[] {
  const bins: number[] = []
  for (const t of times) {
    const i = Math.max(0, Math.floor(t / width))
    while (bins.length <= i) bins.push(0)
    bins[i]!++
  }
  return bins
}

export function round(value: number, digits = 0): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/** 12345.6 → "12,346"; small values keep one decimal. */
export function fmt(value: number): string {
  const digits = Math.abs(value) >= 100 ? 0 : 1
  return round(value, digits).toLocaleString('en-US', { maximumFractionDigits: digits })
}

export function fmtRatio(value: number): string {
  return `${value.toFixed(2)}x`
}

/** The `p`-th quantile (0..1) of `values` by nearest rank; `null` when there are none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!
}
