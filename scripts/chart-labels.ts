/**
 * Places edge labels after ELK has routed the edges: each label goes beside
 * its own edge, at the spot along it where it covers no other label, no
 * state, no frame and as few other edges as possible. ELK's own placement
 * is one candidate among them; a few greedy rounds settle the rest.
 */
import { sampleCurve, type ChartLayout, type LaidOutEdge } from '../src/inspector/layout.js'

type Point = [number, number]
interface Box { x: number; y: number; width: number; height: number }

const GAP = 3
const STOPS = [0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74, 0.18, 0.82, 0.1, 0.9]

const overlap = (a: Box, b: Box, margin = 1): boolean =>
  a.x - margin < b.x + b.width && b.x - margin < a.x + a.width && a.y - margin < b.y + b.height && b.y - margin < a.y + a.height
const inBox = (p: Point, b: Box): boolean => p[0] > b.x && p[0] < b.x + b.width && p[1] > b.y && p[1] < b.y + b.height
const containsBox = (outer: Box, inner: Box): boolean =>
  inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.width <= outer.x + outer.width && inner.y + inner.height <= outer.y + outer.height

/** The point at fraction `t` of a polyline's length. */
function along(points: Point[], t: number): Point {
  const lengths = points.slice(1).map((p, i) => Math.hypot(p[0] - points[i]![0], p[1] - points[i]![1]))
  let left = t * lengths.reduce((a, b) => a + b, 0)
  for (let i = 0; i < lengths.length; i++) {
    if (left <= lengths[i]! || i === lengths.length - 1) {
      const f = lengths[i]! === 0 ? 0 : Math.min(1, left / lengths[i]!)
      return [points[i]![0] + (points[i + 1]![0] - points[i]![0]) * f, points[i]![1] + (points[i + 1]![1] - points[i]![1]) * f]
    }
    left -= lengths[i]!
  }
  return points[0]!
}

/** The part of an edge no other edge shares: where its label belongs. */
function ownCurve(edge: LaidOutEdge, shared: Set<string>): Point[] {
  const own = edge.paths.filter((p) => !shared.has(key(p)))
  return (own.length > 0 ? own : edge.paths).flatMap((p) => sampleCurve(p, 1 / 12))
}

const key = (path: number[]): string => path.map((v) => v.toFixed(1)).join(',')

/** Moves each label of `layout` to its best spot; returns the layout with its size grown to hold them. */
export function placeLabels(layout: ChartLayout, rounds = 3): ChartLayout {
  const counts = new Map<string, number>()
  for (const e of layout.edges) for (const p of e.paths) counts.set(key(p), (counts.get(key(p)) ?? 0) + 1)
  const shared = new Set([...counts].filter(([, n]) => n > 1).map(([k]) => k))
  const wires = [...new Map(layout.edges.flatMap((e) => e.paths.map((p) => [key(p), { path: p, edges: new Set<string>() }] as const))).values()]
  for (const e of layout.edges) for (const p of e.paths) wires.find((w) => key(w.path) === key(p))!.edges.add(e.id)
  const sampled = wires.map((w) => ({ edges: w.edges, points: sampleCurve(w.path, 1 / 24) }))
  const leaves = layout.states.filter((s) => !s.compound)
  const frames = layout.states.filter((s) => s.compound)
  const boxes = new Map<string, Box>(layout.edges.map((e) => [e.id, { ...e.label }]))

  const cost = (edge: LaidOutEdge, box: Box): number => {
    let total = 0
    for (const [id, other] of boxes) if (id !== edge.id && overlap(box, other)) total += 1000
    for (const s of leaves) if (overlap(box, s, 2)) total += 1000
    for (const f of frames) if (overlap(box, f, 0) && !containsBox(f, box)) total += 1000
    for (const w of sampled) {
      if (w.edges.has(edge.id)) continue
      if (w.points.some((p) => inBox(p, box))) total += 60
    }
    if (box.x < 0 || box.y < 0 || box.x + box.width > layout.width || box.y + box.height > layout.height) total += 20
    return total
  }

  for (let round = 0; round < rounds; round++) {
    for (const edge of layout.edges) {
      const { width, height } = edge.label
      const curve = ownCurve(edge, shared)
      const candidates: Array<{ box: Box; bias: number }> = [{ box: { ...edge.label }, bias: 0 }]
      STOPS.forEach((t, i) => {
        const [x, y] = along(curve, t)
        const bias = 2 + i * 1.5
        candidates.push(
          { box: { x: x + GAP, y: y - height / 2, width, height }, bias },
          { box: { x: x - width - GAP, y: y - height / 2, width, height }, bias },
          { box: { x: x - width / 2, y: y - height - GAP, width, height }, bias: bias + 1 },
          { box: { x: x - width / 2, y: y + GAP, width, height }, bias: bias + 1 },
          // Corner to corner with the curve: where a wire runs close past both sides of a short edge.
          { box: { x: x + GAP, y: y - height - GAP, width, height }, bias: bias + 2 },
          { box: { x: x - width - GAP, y: y - height - GAP, width, height }, bias: bias + 2 },
          { box: { x: x + GAP, y: y + GAP, width, height }, bias: bias + 2 },
          { box: { x: x - width - GAP, y: y + GAP, width, height }, bias: bias + 2 },
        )
      })
      let best = candidates[0]!
      let bestCost = cost(edge, best.box) + best.bias
      for (const candidate of candidates.slice(1)) {
        const c = cost(edge, candidate.box) + candidate.bias
        if (c < bestCost) {
          best = candidate
          bestCost = c
        }
      }
      boxes.set(edge.id, best.box)
    }
  }

  const edges = layout.edges.map((e) => ({ ...e, label: { ...e.label, ...boxes.get(e.id)! } }))
  const all = [...boxes.values()]
  const minX = Math.min(0, ...all.map((b) => b.x)) - (Math.min(0, ...all.map((b) => b.x)) < 0 ? 8 : 0)
  const minY = Math.min(0, ...all.map((b) => b.y)) - (Math.min(0, ...all.map((b) => b.y)) < 0 ? 8 : 0)
  const width = Math.max(layout.width, ...all.map((b) => b.x + b.width + 8)) - minX
  const height = Math.max(layout.height, ...all.map((b) => b.y + b.height + 8)) - minY
  return translate({ ...layout, edges, width, height }, -minX, -minY)
}

function translate(layout: ChartLayout, dx: number, dy: number): ChartLayout {
  if (dx === 0 && dy === 0) return layout
  const shift = (path: number[]) => path.map((v, i) => v + (i % 2 === 0 ? dx : dy))
  return {
    ...layout,
    states: layout.states.map((s) => ({ ...s, x: s.x + dx, y: s.y + dy })),
    edges: layout.edges.map((e) => ({ ...e, paths: e.paths.map(shift), label: { ...e.label, x: e.label.x + dx, y: e.label.y + dy } })),
    initials: layout.initials.map((i) => ({ ...i, x: i.x + dx, y: i.y + dy, points: shift(i.points) })),
    junctions: layout.junctions.map((j) => ({ x: j.x + dx, y: j.y + dy })),
  }
}
