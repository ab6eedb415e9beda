import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CHART_MODULE, CHART_SVG, chartModule, connectionGraph, docsSvg, layoutWith, withDiagram } from '../scripts/diagram.js'
import { connectionChart, connectionChartCandidate } from '../src/inspector/connection-chart.js'
import { connectionMachine } from '../machines/connection.machine.js'
import { reasonOf } from '../src/reasons.js'

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8')

describe('generated state diagrams (run npm run diagram to update them)', () => {
  it('README.md holds the current text form and shows docs/statechart.svg', () => {
    const readme = read('README.md')
    expect(withDiagram(readme)).toBe(readme)
    expect(readme).toContain(`](${CHART_SVG})`)
  })

  it('the shipped layout is what its configuration lays out from the machine today', async () => {
    const layout = await layoutWith(connectionGraph(), connectionChartCandidate as never)
    expect(layout).toEqual(connectionChart)
    expect(read(CHART_MODULE)).toBe(chartModule(layout, connectionChartCandidate as never))
  })

  it('docs/statechart.svg is drawn from the shipped layout', () => {
    expect(read(CHART_SVG)).toBe(docsSvg(connectionChart))
  })
})

describe('connection machine definition', () => {
  it('names a declared delay in every after transition', () => {
    const delays = Object.keys(connectionMachine.implementations.delays)
    const afterEvents = connectionMachine.events.filter((e) => e.startsWith('xstate.after.'))
    expect(afterEvents.length).toBeGreaterThan(0)
    for (const event of afterEvents) expect(delays).toContain(event.split('.')[2])
  })

  it('has a state change reason for every event it handles', () => {
    for (const type of connectionMachine.events) {
      // These never change the top-level state.
      if (['socket.error', 'heartbeat.proof', 'xstate.after.minUptime.connection.open.settling'].includes(type)) continue
      expect(() => reasonOf({ type }), type).not.toThrow()
    }
  })

  it('uses only declared actions and guards', () => {
    const source = readFileSync(new URL('../machines/connection.machine.ts', import.meta.url), 'utf8')
    const chart = source.slice(source.indexOf('.createMachine('))
    const actions = Object.keys(connectionMachine.implementations.actions)
    const guards = Object.keys(connectionMachine.implementations.guards)
    for (const [, name] of chart.matchAll(/(?:actions|entry): '(\w+)'/g)) expect(actions).toContain(name)
    for (const [, name] of chart.matchAll(/type: '(\w+)'/g)) expect(actions).toContain(name)
    for (const [, name] of source.matchAll(/guard: '(\w+)'/g)) expect(guards).toContain(name)
  })

  it('stays pure: no sockets, windows or timers of its own', () => {
    for (const file of ['connection.machine.ts', 'connection.types.ts']) {
      const source = readFileSync(new URL(`../machines/${file}`, import.meta.url), 'utf8')
      expect(source).not.toMatch(/setTimeout|setInterval|window\.|new WebSocket|from 'ws'|navigator\./)
    }
  })
})
