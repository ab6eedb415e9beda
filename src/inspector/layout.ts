/**
 * A statechart laid out: where every state, edge and label goes. The
 * connection machine's layout is computed when the package is built
 * (`npm run diagram`, ELK layered with spline routing) and shipped as data,
 * so the inspector draws it without a layout engine.
 */
import type { TransitionLabel } from '../../machines/labels.js'

/** One line of an edge's label: a transition's event (a delay's name for a timer) and guard. */
export type LabelLine = Omit<TransitionLabel, 'eventType'>

/** A state's box. Coordinates are absolute, in SVG user units. */
export interface LaidOutState {
  id: string
  key: string
  x: number
  y: number
  width: number
  height: number
  /** A compound state (drawn as a frame around its children, its name at the top). */
  compound: boolean
}

/** The labels of an edge, one line per transition, in one box. */
export interface LaidOutLabel {
  x: number
  y: number
  width: number
  height: number
  lines: LabelLine[]
}

/** One edge: piecewise Bézier curves from its source, through the frames it crosses, to its target. */
export interface LaidOutEdge {
  id: string
  source: string
  target: string
  /**
   * One curve per frame crossed, each as flat `x, y` pairs: the start, then
   * control points in groups of three (two controls and an end: a cubic
   * segment); a remainder of two points is a quadratic segment, of one a
   * straight line. A curve that ends on a frame is shared by every edge
   * leaving (or entering) it towards the same state.
   */
  paths: number[][]
  label: LaidOutLabel
}

/** The dot and arrow that mark a compound state's (or the machine's) initial state. */
export interface LaidOutInitial {
  /** The state entered first. */
  target: string
  x: number
  y: number
  points: number[]
}

/** A whole chart. */
export interface ChartLayout {
  machine: string
  width: number
  height: number
  states: LaidOutState[]
  edges: LaidOutEdge[]
  initials: LaidOutInitial[]
  /** Where several edges meet on a frame. */
  junctions: Array<{ x: number; y: number }>
}

/** Text metrics the layout assumed (the renderer draws with the same). */
export const METRICS = {
  /** Label font size in px (monospace). */
  labelFont: 11,
  /** Advance of one monospace character at `labelFont`. */
  labelChar: 6.7,
  /** Height of one label line. */
  labelLine: 14,
  /** Room for the clock drawn before a timer's name. */
  clock: 13,
  /** Padding inside a label box. */
  labelPad: 3,
  /** A line longer than this many characters puts its guard on a row of its own. */
  wrapAt: 30,
  /** State name font size (bold sans-serif) and the advance assumed per character. */
  stateFont: 13,
  stateChar: 8.4,
} as const

const eventWidth = (label: LabelLine): number => label.event.length * METRICS.labelChar + (label.timer ? METRICS.clock : 0)
const guardWidth = (label: LabelLine): number => (label.guard === undefined ? 0 : (label.guard.length + 3) * METRICS.labelChar)

/** Whether a label line is drawn on two rows: the event, then its guard indented below. */
export function wraps(label: LabelLine): boolean {
  return label.guard !== undefined && label.event.length + label.guard.length + 3 > METRICS.wrapAt
}

/** Width of one label line as drawn. */
export function lineWidth(label: LabelLine): number {
  return wraps(label) ? Math.max(eventWidth(label), guardWidth(label) + METRICS.labelChar) : eventWidth(label) + guardWidth(label)
}

/** Size of a label box holding `lines`. */
export function labelSize(lines: LabelLine[]): { width: number; height: number } {
  const rows = lines.reduce((sum, line) => sum + (wraps(line) ? 2 : 1), 0)
  return {
    width: Math.ceil(Math.max(0, ...lines.map(lineWidth)) + 2 * METRICS.labelPad),
    height: rows * METRICS.labelLine + 2 * METRICS.labelPad,
  }
}

/** The path's segments as SVG path data. */
export function pathData(points: number[]): string {
  const xy = (i: number) => `${round(points[i]!)} ${round(points[i + 1]!)}`
  let d = `M ${xy(0)}`
  let i = 2
  while (i < points.length) {
    const left = (points.length - i) / 2
    if (left >= 3) {
      d += ` C ${xy(i)} ${xy(i + 2)} ${xy(i + 4)}`
      i += 6
    } else if (left === 2) {
      d += ` Q ${xy(i)} ${xy(i + 2)}`
      i += 4
    } else {
      d += ` L ${xy(i)}`
      i += 2
    }
  }
  return d
}

/** Points along the curve, every `step` of its parameter: what crossing and overlap counts are measured on. */
export function sampleCurve(points: number[], step = 1 / 16): Array<[number, number]> {
  const p = (i: number): [number, number] => [points[i]!, points[i + 1]!]
  const out: Array<[number, number]> = [p(0)]
  let i = 2
  while (i < points.length) {
    const left = (points.length - i) / 2
    const start = p(i - 2)
    if (left >= 3) {
      const [c1, c2, end] = [p(i), p(i + 2), p(i + 4)]
      for (let t = step; t < 1 + 1e-9; t += step) out.push(cubic(start, c1, c2, end, Math.min(1, t)))
      i += 6
    } else if (left === 2) {
      const [c, end] = [p(i), p(i + 2)]
      for (let t = step; t < 1 + 1e-9; t += step) out.push(cubic(start, lerp(start, c, 2 / 3), lerp(end, c, 2 / 3), end, Math.min(1, t)))
      i += 4
    } else {
      out.push(p(i))
      i += 2
    }
  }
  return out
}

const round = (n: number) => Math.round(n * 10) / 10
const lerp = (a: [number, number], b: [number, number], t: number): [number, number] => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]

function cubic(a: [number, number], b: [number, number], c: [number, number], d: [number, number], t: number): [number, number] {
  const u = 1 - t
  const w = [u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t] as const
  return [w[0] * a[0] + w[1] * b[0] + w[2] * c[0] + w[3] * d[0], w[0] * a[1] + w[1] * b[1] + w[2] * c[1] + w[3] * d[1]]
}

/** How a label line is keyed in the drawing (`data-key`): the event, a timer's with a clock. */
export const lineKey = (line: { event: string; timer: boolean }): string => `${line.timer ? '⏱' : ''}${line.event}`

/**
 * The layout as the generated module stores it: integers in flat arrays
 * (paths as differences from the previous point), ids and names given
 * once, `[event, timer, guard?]` per label line.
 */
export interface CompactLayout {
  machine: string
  size: [number, number]
  states: Array<[id: string, x: number, y: number, width: number, height: number, compound: 0 | 1]>
  edges: Array<[source: string, target: string, paths: number[][], label: [x: number, y: number, width: number, height: number], lines: Array<[string, 0 | 1] | [string, 0 | 1, string]>]>
  initials: Array<[target: string, x: number, y: number, points: number[]]>
  junctions: number[]
}

const int = (n: number): number => Math.round(n)
// Paths are stored as differences from the previous point: smaller numbers, a smaller file.
const deltas = (points: number[]): number[] => points.map(int).map((v, i, all) => (i < 2 ? v : v - all[i - 2]!))
const sums = (points: number[]): number[] => {
  const out = points.slice()
  for (let i = 2; i < out.length; i++) out[i] = out[i]! + out[i - 2]!
  return out
}

/** The stored form of a layout (coordinates rounded to whole units). */
export function compactLayout(layout: ChartLayout): CompactLayout {
  return {
    machine: layout.machine,
    size: [int(layout.width), int(layout.height)],
    states: layout.states.map((s) => [s.id, int(s.x), int(s.y), int(s.width), int(s.height), s.compound ? 1 : 0]),
    edges: layout.edges.map((e) => [
      e.source,
      e.target,
      e.paths.map(deltas),
      [int(e.label.x), int(e.label.y), int(e.label.width), int(e.label.height)],
      e.label.lines.map((l) => (l.guard === undefined ? [l.event, l.timer ? 1 : 0] : [l.event, l.timer ? 1 : 0, l.guard])),
    ]),
    initials: layout.initials.map((i) => [i.target, int(i.x), int(i.y), deltas(i.points)]),
    junctions: layout.junctions.flatMap((j) => [int(j.x), int(j.y)]),
  }
}

/** The layout from its stored form. */
export function expandLayout(compact: CompactLayout): ChartLayout {
  return {
    machine: compact.machine,
    width: compact.size[0],
    height: compact.size[1],
    states: compact.states.map(([id, x, y, width, height, compound]) => ({ id, key: id.slice(id.lastIndexOf('.') + 1), x, y, width, height, compound: compound === 1 })),
    edges: compact.edges.map(([source, target, paths, [x, y, width, height], lines]) => ({
      id: `${source}->${target}`,
      source,
      target,
      paths: paths.map(sums),
      label: { x, y, width, height, lines: lines.map(([event, timer, guard]) => (guard === undefined ? { event, timer: timer === 1 } : { event, timer: timer === 1, guard })) },
    })),
    initials: compact.initials.map(([target, x, y, points]) => ({ target, x, y, points: sums(points) })),
    junctions: compact.junctions.flatMap((_, i, all) => (i % 2 === 0 ? [{ x: all[i]!, y: all[i + 1]! }] : [])),
  }
}
