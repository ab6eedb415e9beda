/**
 * Lays out a statechart with ELK (layered, spline routing) into the data the
 * inspector and the README's diagram draw. Runs at build time only: the
 * package ships the result, not ELK.
 *
 * Compound states are laid out on their own first (ELK's SEPARATE_CHILDREN),
 * and an edge that leaves one does so through a port on its frame shared by
 * every edge from inside to the same target: the edges from `open.waiting`,
 * `open.ackPending` and `open.probing` to `backoff` leave `open` as one line.
 * A reader follows one wire out of the frame instead of three parallel ones.
 */
import elk from 'elkjs/lib/elk.bundled.js'
import type { ElkExtendedEdge, ElkNode, LayoutOptions } from 'elkjs/lib/elk-api.js'
import type { ChartEdge, ChartGraph, ChartState } from '../src/inspector/graph.js'
import { labelSize, METRICS, type ChartLayout, type LaidOutEdge, type LaidOutInitial, type LaidOutState } from '../src/inspector/layout.js'

// elkjs is CommonJS: its default export is the constructor itself.
const ELK = elk as unknown as new () => { layout(graph: ElkNode): Promise<ElkNode> }

const STATE_HEIGHT = 34
const INITIAL = 10
const ROOT = '#root'
const initialId = (container: string) => `${container}#initial`

/** ELK options every candidate layout shares. */
export const BASE_OPTIONS: LayoutOptions = {
  'elk.algorithm': 'layered',
  'elk.hierarchyHandling': 'SEPARATE_CHILDREN',
  'elk.edgeRouting': 'SPLINES',
  'elk.json.edgeCoords': 'ROOT',
  'elk.json.shapeCoords': 'ROOT',
  'elk.layered.mergeEdges': 'false',
  'elk.randomSeed': '1',
}

interface Segment {
  id: string
  container: string
  source: string
  target: string
  /** The chart edges routed through this segment. */
  users: string[]
}

/** The compound states holding `id`, innermost first, then the root. */
function containers(id: string, byId: Map<string, ChartState>): string[] {
  const out: string[] = []
  for (let parent = byId.get(id)?.parent; parent !== undefined; parent = byId.get(parent)?.parent) out.push(parent)
  return [...out, ROOT]
}

/** Splits each edge at the frames it crosses: ports shared per frame and far end. */
function segmentsOf(edges: ChartEdge[], byId: Map<string, ChartState>, bundle: boolean): { segments: Map<string, Segment>; routes: Map<string, string[]> } {
  const segments = new Map<string, Segment>()
  const routes = new Map<string, string[]>()
  const add = (container: string, source: string, target: string, user: string): string => {
    const id = `${source}=>${target}`
    const segment = segments.get(id) ?? { id, container, source, target, users: [] }
    segment.users.push(user)
    segments.set(id, segment)
    return id
  }
  const compound = (id: string) => (byId.get(id)?.children.length ?? 0) > 0
  for (const edge of edges) {
    if (!bundle) {
      routes.set(edge.id, [add(ROOT, edge.source, edge.target, edge.id)])
      continue
    }
    const up = containers(edge.source, byId)
    const down = containers(edge.target, byId)
    const common = up.find((c) => down.includes(c))!
    const exits = up.slice(0, up.indexOf(common))
    const entries = down.slice(0, down.indexOf(common)).reverse()
    const route: string[] = []
    // A compound state's own edges leave and enter its frame at the ports its
    // children's edges to (or from) the same state use: one wire per neighbour.
    const own = edge.source !== edge.target
    let from = own && compound(edge.source) ? `${edge.source}@out:${edge.target}` : edge.source
    const to = own && compound(edge.target) ? `${edge.target}@in:${edge.source}` : edge.target
    for (const frame of exits) {
      const port = `${frame}@out:${edge.target}`
      route.push(add(frame, from, port, edge.id))
      from = port
    }
    for (const frame of entries) {
      const port = `${frame}@in:${edge.source}`
      route.push(add(byId.get(frame)?.parent ?? ROOT, from, port, edge.id))
      from = port
    }
    route.push(add(entries.at(-1) ?? common, from, to, edge.id))
    routes.set(edge.id, route)
  }
  return { segments, routes }
}

function flatten(edge: ElkExtendedEdge): number[] {
  const section = edge.sections?.[0]
  if (section === undefined) throw new Error(`ELK gave edge ${edge.id} no route`)
  return [section.startPoint, ...(section.bendPoints ?? []), section.endPoint].flatMap((p) => [p.x, p.y])
}

function collect(node: ElkNode, nodes: Map<string, ElkNode>, edges: Map<string, ElkExtendedEdge>): void {
  nodes.set(node.id, node)
  for (const port of node.ports ?? []) nodes.set(port.id, port as ElkNode)
  for (const edge of node.edges ?? []) edges.set(edge.id, edge)
  for (const child of node.children ?? []) collect(child, nodes, edges)
}

/**
 * Lays out `graph` with ELK; `options` are added to {@link BASE_OPTIONS} (on
 * the root and every compound state). `bundle: false` lays out the whole
 * hierarchy at once (INCLUDE_CHILDREN), every edge its own wire.
 */
export async function layoutChart(graph: ChartGraph, options: LayoutOptions = {}, bundle = true): Promise<ChartLayout> {
  const layoutOptions = { ...BASE_OPTIONS, ...options, ...(bundle ? {} : { 'elk.hierarchyHandling': 'INCLUDE_CHILDREN' }) }
  const byId = new Map(graph.states.map((s) => [s.id, s]))
  const { segments, routes } = segmentsOf(graph.edges, byId, bundle)
  const labelled = new Map<string, ChartEdge>()
  for (const edge of graph.edges) {
    // A label goes on the edge's own part: its first segment, unless that one is shared.
    const route = routes.get(edge.id)!
    const own = route.find((id) => segments.get(id)!.users.length === 1) ?? route[0]!
    labelled.set(own, edge)
  }
  const elkEdges = new Map<string, ElkExtendedEdge[]>()
  const ports = new Map<string, string[]>()
  for (const s of segments.values()) {
    const edge = labelled.get(s.id)
    const elkEdge: ElkExtendedEdge = { id: s.id, sources: [s.source], targets: [s.target] }
    if (edge !== undefined) elkEdge.labels = [{ id: `${s.id}#label`, text: edge.id, ...labelSize(edge.labels) }]
    elkEdges.set(s.container, [...(elkEdges.get(s.container) ?? []), elkEdge])
    for (const end of [s.source, s.target]) {
      const at = end.indexOf('@')
      if (at > 0 && !(ports.get(end.slice(0, at)) ?? []).includes(end)) ports.set(end.slice(0, at), [...(ports.get(end.slice(0, at)) ?? []), end])
    }
  }
  const initialEdges: ElkExtendedEdge[] = []
  const initial = (container: string, target: string | undefined): ElkNode[] => {
    if (target === undefined) return []
    const edge = { id: `${initialId(container)}->`, sources: [initialId(container)], targets: [target] }
    initialEdges.push(edge)
    const holder = bundle ? container : ROOT
    elkEdges.set(holder, [...(elkEdges.get(holder) ?? []), edge])
    return [{ id: initialId(container), width: INITIAL, height: INITIAL }]
  }
  const node = (state: ChartState): ElkNode => {
    if (state.children.length === 0) return { id: state.id, width: Math.ceil(state.key.length * METRICS.stateChar + 30), height: STATE_HEIGHT }
    const target = state.initial === undefined ? undefined : `${state.id}.${state.initial}`
    return {
      id: state.id,
      // Laid out on its own (bundle), a compound state needs every option; within the whole, only its padding.
      layoutOptions: { ...(bundle ? layoutOptions : {}), 'elk.padding': '[top=34,left=16,bottom=16,right=16]' },
      ports: (ports.get(state.id) ?? []).map((id) => ({ id, width: 1, height: 1 })),
      children: [...initial(state.id, target), ...state.children.map((id) => node(byId.get(id)!))],
      edges: elkEdges.get(state.id) ?? [],
    }
  }
  const top = graph.states.filter((s) => s.parent === undefined).map(node)
  const root: ElkNode = { id: ROOT, layoutOptions, children: [...initial(ROOT, graph.initial), ...top], edges: elkEdges.get(ROOT) ?? [] }
  const result = await new ELK().layout(root)

  const nodes = new Map<string, ElkNode>()
  const routed = new Map<string, ElkExtendedEdge>()
  collect(result, nodes, routed)
  const states: LaidOutState[] = graph.states.map((s) => {
    const n = nodes.get(s.id)!
    return { id: s.id, key: s.key, x: n.x!, y: n.y!, width: n.width!, height: n.height!, compound: s.children.length > 0 }
  })
  const edges: LaidOutEdge[] = graph.edges.map((e) => {
    const route = routes.get(e.id)!
    const own = route.find((id) => labelled.get(id) === e)!
    const label = routed.get(own)!.labels![0]!
    return {
      id: e.id,
      source: e.source,
      target: e.target,
      paths: route.map((id) => flatten(routed.get(id)!)),
      label: { x: label.x!, y: label.y!, width: label.width!, height: label.height!, lines: e.labels.map(({ eventType: _, ...line }) => line) },
    }
  })
  const initials: LaidOutInitial[] = initialEdges.map((e) => {
    const dot = nodes.get(e.sources[0]!)!
    return { target: e.targets[0]!, x: dot.x! + INITIAL / 2, y: dot.y! + INITIAL / 2, points: flatten(routed.get(e.id)!) }
  })
  // Where a bundle of edges meets a frame: a dot, as statecharts draw a junction.
  const junctions = [...new Set([...segments.values()].filter((s) => s.users.length > 1).flatMap((s) => [s.source, s.target]).filter((end) => end.includes('@')))]
    .map((id) => nodes.get(id)!)
    .map((p) => ({ x: p.x! + (p.width ?? 0) / 2, y: p.y! + (p.height ?? 0) / 2 }))
  return { machine: graph.machine, width: result.width!, height: result.height!, states, edges, initials, junctions }
}

/** A candidate layout: ELK options and whether edges leaving a frame are bundled. */
export interface LayoutCandidate {
  bundle: boolean
  options: LayoutOptions
}

/**
 * The configurations the generator tries. Every one reads top-down in the
 * order the machine declares its states (MODEL_ORDER cycle breaking: idle
 * at the top, then connecting, open...); they differ in what ELK's
 * heuristics try, and the metrics choose.
 */
export function candidates(): LayoutCandidate[] {
  const out: LayoutCandidate[] = []
  for (const bundle of [false, true]) {
    for (const layering of ['LONGEST_PATH', 'NETWORK_SIMPLEX']) {
      for (const order of ['NONE', 'NODES_AND_EDGES']) {
        for (const seed of ['1', '2', '3']) {
          out.push({
            bundle,
            options: {
              'elk.direction': 'DOWN',
              'elk.layered.cycleBreaking.strategy': 'MODEL_ORDER',
              'elk.layered.considerModelOrder.strategy': order,
              'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
              'elk.layered.layering.strategy': layering,
              'elk.layered.thoroughness': '40',
              'elk.randomSeed': seed,
            },
          })
        }
      }
    }
  }
  return out
}
