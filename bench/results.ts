// The shape of what the bench reports: rows of the markdown table and raw trials.
import type { PeerName } from './peers/catalog.js'

/** One peer's figure for one metric. `value` is null when there is no number (feature missing, never happened). */
export interface Cell {
  value: number | null
  /** What the table shows, e.g. "1,812", "0.93x", "never in 30 s", "no heartbeat". */
  text: string
  /** Raw trials (null: did not happen within the cap). */
  trials?: Array<number | null>
  /** Ratio to bare ws, where the metric has one. */
  ratio?: number | null
}

export interface Bar {
  text: string
  /** Whether lifeline met it (null: no figure to judge). */
  pass: boolean | null
}

export interface Row {
  metric: string
  cells: Partial<Record<PeerName, Cell>>
  /** The bar lifeline must meet, and whether it did. */
  bar?: Bar
  /** A row of the cost targets (issue 15): its short name in the report's summary of targets. */
  target?: string
}

export interface ScenarioResult {
  rows: Row[]
  notes: string[]
  /** Everything measured, for results.json. */
  raw: unknown
}

export interface Scenario {
  name: string
  title: string
  run(context: RunContext): Promise<ScenarioResult>
}

export interface RunContext {
  quick: boolean
  /** From `--trials N`: overrides the scenario's trial (or round) count. */
  trials: number | undefined
  log(line: string): void
}

export const cell = (value: number | null, text: string, extra: Omit<Cell, 'value' | 'text'> = {}): Cell => ({ value, text, ...extra })

/**
 * A bar on lifeline's ratio to bare ws measured in the same run: a cost at
 * most `atMost` times the floor (with a `stretch` goal beyond it), or a rate
 * at least `atLeast` times it.
 */
export function ratioBar(ratio: number | null | undefined, limit: { atMost: number; stretch?: number } | { atLeast: number }): Bar {
  const known = ratio !== null && ratio !== undefined
  if ('atLeast' in limit) return { text: `≥ ${limit.atLeast}x bare ws`, pass: known ? ratio >= limit.atLeast : null }
  const stretch = limit.stretch === undefined ? '' : ` (stretch ${limit.stretch}x)`
  return { text: `≤ ${limit.atMost}x bare ws${stretch}`, pass: known ? ratio <= limit.atMost : null }
}
