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

export interface Row {
  metric: string
  cells: Partial<Record<PeerName, Cell>>
  /** The bar lifeline must meet, and whether it did (null: no figure to judge). */
  bar?: { text: string; pass: boolean | null }
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
