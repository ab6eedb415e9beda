/**
 * Draws the connection statechart from the machine definition itself
 * (`toDirectedGraph`), laid out by ELK, as SVG; then highlights the active
 * states and the transition just taken.
 */
import elk from 'elkjs/lib/elk.bundled.js'
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js'
import type { AnyStateNode } from 'xstate'
import { toDirectedGraph } from 'xstate/graph'
import { connectionMachine } from '../../machines/connection.machine.js'
import { transitionLabel } from '../../machines/labels.js'

type GraphNode = ReturnType<typeof toDirectedGraph>
type Edge = { id: string; source: string; target: string; labels: string[] }

// elkjs is CommonJS: its default export is the constructor itself.
const ELK = elk as unknown as new () => { layout(graph: ElkNode): Promise<ElkNode> }
const SVG = 'http://www.w3.org/2000/svg'
const CHAR = 6.4 // average label glyph width at 11px

function collect(node: GraphNode, edges: Map<string, Edge>): void {
  for (const edge of node.edges) {
    // Targetless transitions (socket.error, handled everywhere) change no state: not drawn.
    if (!edge.transition.target || edge.transition.target.length === 0) continue
    const source = edge.source.id
    const target = edge.target.id
    const key = `${source}->${target}`
    const label = transitionLabel(edge.transition.eventType, edge.transition.guard)
    const existing = edges.get(key)
    if (existing) {
      if (!existing.labels.includes(label)) existing.labels.push(label)
    } else {
      edges.set(key, { id: key, source, target, labels: [label] })
    }
  }
  for (const child of node.children) collect(child, edges)
}

function elkNode(node: GraphNode): ElkNode {
  const name = (node.stateNode as AnyStateNode).key
  if (node.children.length === 0) return { id: node.id, width: Math.max(104, name.length * 9 + 32), height: 40 }
  return {
    id: node.id,
    layoutOptions: { 'elk.padding': '[top=34,left=16,bottom=16,right=16]' },
    children: node.children.map(elkNode),
  }
}

// One line per transition, its guard on a line of its own: narrow labels keep the layout compact.
function labelBox(labels: string[]): { text: string; width: number; height: number } {
  const lines = labels.flatMap((label) => label.replace(' [', '\n  [').split('\n'))
  return { text: lines.join('\n'), width: Math.max(...lines.map((l) => l.length)) * CHAR, height: 13 * lines.length }
}

export interface Chart {
  /** Marks the states in `ids` (state node ids such as `connection.open.waiting`) active. */
  setActive(ids: string[]): void
  /** Briefly highlights the transition from `source` to `target`. */
  flash(source: string, target: string): void
}

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, parent?: Element): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, name)
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, String(value))
  parent?.appendChild(element)
  return element
}

export async function drawChart(container: HTMLElement): Promise<Chart> {
  const graph = toDirectedGraph(connectionMachine)
  const edges = new Map<string, Edge>()
  collect(graph, edges)
  const root: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '56',
      'elk.spacing.nodeNode': '44',
      'elk.spacing.edgeEdge': '9',
      'elk.spacing.edgeNode': '16',
      'elk.layered.spacing.edgeEdgeBetweenLayers': '9',
      'elk.layered.spacing.edgeNodeBetweenLayers': '16',
      'elk.spacing.edgeLabel': '4',
      'elk.edgeLabels.inline': 'false',
      'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.json.edgeCoords': 'ROOT',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      'elk.layered.cycleBreaking.strategy': 'MODEL_ORDER',
      'elk.layered.mergeEdges': 'false',
    },
    children: graph.children.map(elkNode),
    edges: [...edges.values()].map(
      (e): ElkExtendedEdge => ({
        id: e.id,
        sources: [e.source],
        targets: [e.target],
        labels: [labelBox(e.labels)],
      }),
    ),
  }
  const layout = await new ELK().layout(root)

  const svg = el('svg', { viewBox: `0 0 ${layout.width ?? 0} ${layout.height ?? 0}`, class: 'chart', role: 'img', 'aria-label': 'Connection statechart' })
  const defs = el('defs', {}, svg)
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' }, defs)
  el('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }, marker)
  // Compound states under the edges, simple states over them: edges inside `open` stay visible.
  const compoundLayer = el('g', { class: 'compounds' }, svg)
  const edgeLayer = el('g', { class: 'edges' }, svg)
  const nodeLayer = el('g', { class: 'nodes' }, svg)
  const nodes = new Map<string, SVGGElement>()
  const offsets = new Map<string, { x: number; y: number }>()

  const drawNode = (node: ElkNode, dx: number, dy: number) => {
    const x = dx + (node.x ?? 0)
    const y = dy + (node.y ?? 0)
    offsets.set(node.id, { x, y })
    const compound = (node.children?.length ?? 0) > 0
    const group = el('g', { class: compound ? 'state compound' : 'state', 'data-id': node.id }, compound ? compoundLayer : nodeLayer)
    el('rect', { x, y, width: node.width ?? 0, height: node.height ?? 0, rx: compound ? 14 : 10 }, group)
    const name = node.id.split('.').at(-1) ?? node.id
    el('text', compound ? { x: x + 14, y: y + 22, class: 'title' } : { x: x + (node.width ?? 0) / 2, y: y + 25, 'text-anchor': 'middle' }, group).textContent = name
    nodes.set(node.id, group)
    for (const child of node.children ?? []) drawNode(child, x, y)
  }
  for (const child of layout.children ?? []) drawNode(child, 0, 0)

  const edgePaths = new Map<string, SVGGElement>()
  const drawEdges = (node: ElkNode, dx: number, dy: number) => {
    for (const edge of node.edges ?? []) {
      const origin = { x: 0, y: 0 } // elk.json.edgeCoords: ROOT
      const group = el('g', { class: 'edge', 'data-id': edge.id }, edgeLayer)
      for (const section of edge.sections ?? []) {
        const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint]
        const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'} ${p.x + origin.x} ${p.y + origin.y}`).join(' ')
        el('path', { d, 'marker-end': 'url(#arrow)' }, group)
      }
      for (const label of edge.labels ?? []) {
        const lines = (label.text ?? '').split('\n')
        lines.forEach((line, i) => {
          el('text', { x: (label.x ?? 0) + origin.x, y: (label.y ?? 0) + origin.y + 10 + i * 13, class: 'label' }, group).textContent = line
        })
      }
      edgePaths.set(edge.id, group)
    }
    for (const child of node.children ?? []) drawEdges(child, dx + (child.x ?? 0), dy + (child.y ?? 0))
  }
  drawEdges(layout, 0, 0)
  container.replaceChildren(svg)

  return {
    setActive(ids) {
      const active = new Set(ids)
      for (const [id, group] of nodes) group.classList.toggle('active', active.has(id))
    },
    flash(source, target) {
      const group = edgePaths.get(`${source}->${target}`)
      if (!group) return
      group.classList.remove('taken')
      void group.getBoundingClientRect() // restart the animation
      group.classList.add('taken')
    },
  }
}
