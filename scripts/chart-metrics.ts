/**
 * How readable a laid-out chart is, counted: edge crossings, labels that
 * overlap each other or a state, edges that run through a state or under a
 * label, and labels drawn away from their own edge.
 */
import { sampleCurve, type ChartLayout, type LaidOutState } from '../src/inspector/layout.js'

type Point = [number, number]
interface Box { x: number; y: number; width: number; height: number }

/** The counts, and what each one is made of (ids), to find the culprit when one rises. */
export interface ChartMetrics {
  /** Points where two edges cross (each point counted once; edges meeting at a junction do not cross there). */
  crossings: number
  /** Pairs of label boxes that overlap. */
  labelLabel: number
  /** Label boxes that overlap a simple state, or cut across a compound state's frame. */
  labelNode: number
  /** Edges that pass through a simple state other than their ends. */
  edgeNode: number
  /** Other edges running under a label box. */
  edgeLabel: number
  /** Labels farther than 12 units from their own edge. */
  detached: number
  details: string[]
}

const EPSILON = 0.5

function overlaps(a: Box, b: Box, margin = EPSILON): boolean {
  return a.x + margin < b.x + b.width && b.x + margin < a.x + a.width && a.y + margin < b.y + b.height && b.y + margin < a.y + a.height
}

function contains(outer: Box, inner: Box): boolean {
  return inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.width <= outer.x + outer.width && inner.y + inner.height <= outer.y + outer.height
}

const inside = (p: Point, b: Box, shrink = 0): boolean =>
  p[0] > b.x + shrink && p[0] < b.x + b.width - shrink && p[1] > b.y + shrink && p[1] < b.y + b.height - shrink

function intersection(a: Point, b: Point, c: Point, d: Point): Point | undefined {
  const r = [b[0] - a[0], b[1] - a[1]]
  const s = [d[0] - c[0], d[1] - c[1]]
  const denominator = r[0]! * s[1]! - r[1]! * s[0]!
  if (Math.abs(denominator) < 1e-9) return undefined
  const t = ((c[0] - a[0]) * s[1]! - (c[1] - a[1]) * s[0]!) / denominator
  const u = ((c[0] - a[0]) * r[1]! - (c[1] - a[1]) * r[0]!) / denominator
  if (t <= 0 || t > 1 || u <= 0 || u > 1) return undefined
  return [a[0] + t * r[0]!, a[1] + t * r[1]!]
}

function segmentHitsBox(a: Point, b: Point, box: Box): boolean {
  if (inside(a, box) || inside(b, box)) return true
  const corners: Point[] = [[box.x, box.y], [box.x + box.width, box.y], [box.x + box.width, box.y + box.height], [box.x, box.y + box.height]]
  return corners.some((c, i) => intersection(a, b, c, corners[(i + 1) % 4]!) !== undefined)
}

function distanceToSegment(p: Point, a: Point, b: Point): number {
  const dx = b[0] - a[0]
  const dy = b[1] - a[1]
  const length = dx * dx + dy * dy
  const t = length === 0 ? 0 : Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length))
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy))
}

function distanceToBox(p: Point, box: Box): number {
  const dx = Math.max(box.x - p[0], 0, p[0] - (box.x + box.width))
  const dy = Math.max(box.y - p[1], 0, p[1] - (box.y + box.height))
  return Math.hypot(dx, dy)
}

/** Counts what makes `layout` hard to read. */
export function chartMetrics(layout: ChartLayout): ChartMetrics {
  const details: string[] = []
  const states = new Map(layout.states.map((s) => [s.id, s]))
  const leaves = layout.states.filter((s) => !s.compound)
  const compounds = layout.states.filter((s) => s.compound)
  const curves = layout.edges.map((e) => ({ edge: e, points: e.paths.flatMap((path) => sampleCurve(path)) }))
  const ends = (e: { source: string; target: string }): LaidOutState[] => [states.get(e.source), states.get(e.target)].filter((s): s is LaidOutState => s !== undefined)

  // Crossings: proper intersections of two drawn curves, away from a state both touch. A
  // curve shared by a bundle of edges is drawn, and counted, once.
  const drawn = new Map<string, { path: number[]; edges: typeof layout.edges }>()
  for (const edge of layout.edges) {
    for (const path of edge.paths) {
      const key = path.map((v) => v.toFixed(1)).join(',')
      const entry = drawn.get(key) ?? { path, edges: [] }
      entry.edges.push(edge)
      drawn.set(key, entry)
    }
  }
  const wires = [...drawn.values()].map((w) => ({ ...w, points: sampleCurve(w.path), ends: [...new Set(w.edges.flatMap(ends))] }))
  let crossings = 0
  for (let i = 0; i < wires.length; i++) {
    for (let j = i + 1; j < wires.length; j++) {
      const a = wires[i]!
      const b = wires[j]!
      const shared = a.ends.filter((s) => b.ends.includes(s))
      const found: Point[] = []
      for (let k = 1; k < a.points.length; k++) {
        for (let m = 1; m < b.points.length; m++) {
          const p = intersection(a.points[k - 1]!, a.points[k]!, b.points[m - 1]!, b.points[m]!)
          if (p === undefined || shared.some((s) => distanceToBox(p, s) < 6)) continue
          if (layout.junctions.some((q) => Math.hypot(q.x - p[0], q.y - p[1]) < 6)) continue
          if (!found.some((q) => Math.hypot(q[0] - p[0], q[1] - p[1]) < 2)) found.push(p)
        }
      }
      crossings += found.length
      const name = (w: typeof a) => w.edges.map((e) => e.id).join('+')
      if (found.length > 0) details.push(`crossing: ${name(a)} × ${name(b)} (${found.length})`)
    }
  }

  let labelLabel = 0
  const labels = layout.edges.map((e) => ({ id: e.id, box: e.label as Box }))
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) {
      if (!overlaps(labels[i]!.box, labels[j]!.box)) continue
      labelLabel++
      details.push(`label overlap: ${labels[i]!.id} / ${labels[j]!.id}`)
    }
  }

  let labelNode = 0
  for (const { id, box } of labels) {
    for (const s of leaves) {
      if (!overlaps(box, s)) continue
      labelNode++
      details.push(`label on state: ${id} / ${s.id}`)
    }
    for (const s of compounds) {
      if (!overlaps(box, s) || contains(s, box)) continue
      labelNode++
      details.push(`label across frame: ${id} / ${s.id}`)
    }
  }

  let edgeNode = 0
  let edgeLabel = 0
  let detached = 0
  for (const { edge, points } of curves) {
    for (const s of leaves) {
      if (s.id === edge.source || s.id === edge.target) continue
      if (points.some((p, k) => k > 0 && segmentHitsBox(points[k - 1]!, p, s))) {
        edgeNode++
        details.push(`edge through state: ${edge.id} / ${s.id}`)
      }
    }
    for (const other of labels) {
      if (other.id === edge.id) continue
      const shrunk = { x: other.box.x + 1, y: other.box.y + 1, width: other.box.width - 2, height: other.box.height - 2 }
      if (points.some((p, k) => k > 0 && segmentHitsBox(points[k - 1]!, p, shrunk))) {
        edgeLabel++
        details.push(`edge under label: ${edge.id} / ${other.id}`)
      }
    }
    const box = edge.label as Box
    const corners: Point[] = [[box.x, box.y], [box.x + box.width, box.y], [box.x, box.y + box.height], [box.x + box.width, box.y + box.height]]
    const gap = Math.min(...points.map((p) => distanceToBox(p, box)), ...corners.flatMap((c) => points.slice(1).map((p, k) => distanceToSegment(c, points[k]!, p))))
    if (gap > 12) {
      detached++
      details.push(`label away from its edge: ${edge.id} (${gap.toFixed(0)})`)
    }
  }
  return { crossings, labelLabel, labelNode, edgeNode, edgeLabel, detached, details }
}
