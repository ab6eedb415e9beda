/**
 * The statechart as a graph a person can read, from the machine's definition:
 * its states, and one edge per pair of states holding every transition
 * between them (parallel transitions merged into one edge with a list of
 * labels). Targetless transitions change no state and are not drawn.
 *
 * Only the shape of XState's state nodes is read (no import of xstate), so
 * the inspector page needs nothing but this package's own files.
 */
import { describeTransition, type TransitionLabel } from '../../machines/labels.js'

/** What is read of an XState state node. */
export interface StateNodeLike {
  id: string
  key: string
  config: { initial?: unknown }
  states: Record<string, StateNodeLike>
  transitions: Map<string, ReadonlyArray<{ target?: ReadonlyArray<StateNodeLike> | undefined; guard?: unknown }>>
}

/** A state of the chart. */
export interface ChartState {
  /** The state node id, e.g. `connection.open.waiting`. */
  id: string
  /** Its name within its parent, e.g. `waiting`. */
  key: string
  /** The enclosing state's id; undefined for top-level states. */
  parent?: string
  /** Ids of its child states (compound states only). */
  children: string[]
  /** The key of its initial child (compound states only). */
  initial?: string
}

/** Every transition from one state to another, drawn as one edge. */
export interface ChartEdge {
  /** `source->target`. */
  id: string
  source: string
  target: string
  labels: TransitionLabel[]
}

/** The chart of a machine: its states in document order and its merged edges. */
export interface ChartGraph {
  /** The machine's id, e.g. `connection`. */
  machine: string
  /** The id of the state the machine starts in. */
  initial?: string
  states: ChartState[]
  edges: ChartEdge[]
}

/** `source->target`: the id of the edge between two states. */
export const edgeId = (source: string, target: string): string => `${source}->${target}`

function collect(node: StateNodeLike, parent: string | undefined, out: ChartState[]): void {
  const children = Object.values(node.states)
  const state: ChartState = { id: node.id, key: node.key, children: children.map((c) => c.id) }
  if (parent !== undefined) state.parent = parent
  if (typeof node.config.initial === 'string') state.initial = node.config.initial
  out.push(state)
  for (const child of children) collect(child, node.id, out)
}

function descendants(node: StateNodeLike): StateNodeLike[] {
  return Object.values(node.states).flatMap((child) => [child, ...descendants(child)])
}

/** Builds the chart of the machine whose root state node is `root` (`machine.root`). */
export function chartGraph(root: StateNodeLike): ChartGraph {
  const states: ChartState[] = []
  for (const child of Object.values(root.states)) collect(child, undefined, states)
  const edges = new Map<string, ChartEdge>()
  for (const source of descendants(root)) {
    for (const [eventType, transitions] of source.transitions) {
      transitions.forEach((transition, index) => {
        const fallback = transition.guard === undefined && transitions.slice(0, index).some((t) => t.guard !== undefined)
        for (const target of transition.target ?? []) {
          const id = edgeId(source.id, target.id)
          const label = describeTransition(eventType, transition.guard, fallback)
          const edge = edges.get(id) ?? { id, source: source.id, target: target.id, labels: [] }
          edge.labels.push(label)
          edges.set(id, edge)
        }
      })
    }
  }
  const graph: ChartGraph = { machine: root.id, states, edges: [...edges.values()] }
  if (typeof root.config.initial === 'string') graph.initial = root.states[root.config.initial]?.id ?? root.config.initial
  return graph
}

/** The ids of a chart's states and edges: what {@link chartDifference} compares. */
export interface ChartIds {
  states: ReadonlyArray<{ id: string }>
  edges: ReadonlyArray<{ id: string }>
}

/** What one chart has that the other lacks: states and edges by id (empty lists when they match). */
export function chartDifference(expected: ChartIds, actual: ChartIds): { states: string[]; edges: string[] } {
  const ids = (graph: ChartIds) => ({ states: new Set(graph.states.map((s) => s.id)), edges: new Set(graph.edges.map((e) => e.id)) })
  const a = ids(expected)
  const b = ids(actual)
  const symmetric = (x: Set<string>, y: Set<string>) => [...x].filter((v) => !y.has(v)).concat([...y].filter((v) => !x.has(v)))
  return { states: symmetric(a.states, b.states), edges: symmetric(a.edges, b.edges) }
}
