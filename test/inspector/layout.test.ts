/**
 * The chart a person can read: every transition of the machine is on
 * exactly one edge (parallel ones merged, listed on it), and the shipped
 * layout is measured — edge crossings, labels overlapping labels or states,
 * edges through states or under labels — and kept low. The figures are
 * printed for the record.
 */
import { describe, expect, it } from 'vitest'
import type { AnyStateNode } from 'xstate'
import { connectionMachine } from '../../machines/connection.machine.js'
import { formatTransition } from '../../machines/labels.js'
import { chartMetrics } from '../../scripts/chart-metrics.js'
import { connectionGraph } from '../../scripts/diagram.js'
import { connectionChart } from '../../src/inspector/connection-chart.js'
import { chartDifference, chartGraph, type StateNodeLike } from '../../src/inspector/graph.js'
import { labelSize } from '../../src/inspector/layout.js'

function descendants(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states as Record<string, AnyStateNode>).flatMap((c) => [c, ...descendants(c)])
}

describe('the chart graph', () => {
  it('has one edge per pair of states, holding every transition between them', () => {
    const graph = connectionGraph()
    const ids = graph.edges.map((e) => e.id)
    expect(new Set(ids).size).toBe(ids.length)
    let transitions = 0
    for (const source of descendants(connectionMachine.root)) {
      for (const [eventType, list] of source.transitions) {
        for (const t of list) {
          for (const target of t.target ?? []) {
            transitions++
            const edge = graph.edges.find((e) => e.source === source.id && e.target === target.id)
            expect(edge, `${source.id} -> ${target.id}`).toBeDefined()
            expect(edge!.labels.map((l) => l.eventType)).toContain(eventType)
          }
        }
      }
    }
    expect(graph.edges.reduce((n, e) => n + e.labels.length, 0)).toBe(transitions)
    expect(graph.edges.length).toBeLessThan(transitions) // parallel transitions were merged
  })

  it('labels timers compactly and names the fallback of guarded transitions [else]', () => {
    const labels = connectionGraph().edges.flatMap((e) => e.labels.map(formatTransition))
    expect(labels).toContain('⏱ heartbeatTimeout [canRetry]')
    expect(labels).toContain('⏱ heartbeatInterval [isServerDriven && canRetry]')
    expect(labels).toContain('socket.close [else]')
    expect(labels.some((l) => l.includes('xstate.after'))).toBe(false)
  })

  it('is the graph the shipped layout was drawn from (run npm run diagram when the machine changes)', () => {
    expect(chartDifference(connectionChart, chartGraph(connectionMachine.root as unknown as StateNodeLike))).toEqual({ states: [], edges: [] })
    for (const edge of connectionChart.edges) {
      expect(edge.label.lines).toEqual(connectionGraph().edges.find((e) => e.id === edge.id)!.labels.map(({ eventType: _, ...line }) => line))
    }
  })
})

describe('the shipped layout', () => {
  const metrics = chartMetrics(connectionChart)

  it('reports its crossings and overlaps', () => {
    const { details, ...counts } = metrics
    console.log(`chart layout: ${JSON.stringify(counts)} (${connectionChart.edges.length} edges, ${connectionChart.states.length} states, ${Math.round(connectionChart.width)}×${Math.round(connectionChart.height)})\n  ${details.join('\n  ')}`)
    expect(counts).toEqual({
      crossings: expect.any(Number),
      labelLabel: expect.any(Number),
      labelNode: expect.any(Number),
      edgeNode: expect.any(Number),
      edgeLabel: expect.any(Number),
      detached: expect.any(Number),
    })
  })

  it('has no label over another label or a state, and no edge through a state or under a label', () => {
    expect(metrics.labelLabel).toBe(0)
    expect(metrics.labelNode).toBe(0)
    expect(metrics.edgeNode).toBe(0)
    expect(metrics.edgeLabel).toBe(0)
    expect(metrics.detached).toBe(0)
  })

  // 9 crossings of 36 edges before `reauthorizing`, whose edges run beside connecting's; 19 of 45 with it.
  it('has at most one crossing per two edges', () => {
    expect(metrics.crossings).toBeLessThanOrEqual(Math.floor(connectionChart.edges.length / 2))
  })

  it('gives every label the room its lines need', () => {
    for (const edge of connectionChart.edges) {
      const needed = labelSize(edge.label.lines)
      expect(edge.label.width, edge.id).toBeGreaterThanOrEqual(needed.width - 0.1)
      expect(edge.label.height, edge.id).toBeGreaterThanOrEqual(needed.height - 0.1)
    }
  })

  it('counts what it should: two crossing edges, a label on a state, a label on a label', () => {
    const box = { x: 0, y: 0, width: 20, height: 20 }
    const edge = (id: string, points: number[], label = { x: 500, y: 500 }) => ({ id, source: 'a', target: 'b', paths: [points], label: { ...label, width: 10, height: 10, lines: [] } })
    const crossed = chartMetrics({
      machine: 'm', width: 600, height: 600, initials: [], junctions: [],
      states: [{ id: 'a', key: 'a', compound: false, ...box }, { id: 'b', key: 'b', compound: false, ...box, x: 300, y: 300 }, { id: 'c', key: 'c', compound: false, ...box, x: 100, y: 400 }],
      edges: [
        { ...edge('x', [100, 0, 200, 200]), source: 'c', target: 'c' },
        { ...edge('y', [0, 200, 300, 100], { x: 103, y: 403 }), source: 'c', target: 'c' },
        { ...edge('z', [400, 0, 400, 50], { x: 105, y: 405 }), source: 'c', target: 'c' },
      ],
    })
    expect(crossed).toMatchObject({ crossings: 1, labelLabel: 1, labelNode: 2 })
  })
})
