/**
 * `npm run bench -- --quick` in CI: every scenario completes and yields a
 * figure (or a stated reason) for every peer, and so do the on-demand
 * scenarios named in QUICK_ON_DEMAND. Quick mode measures nothing worth
 * reading, so nothing here looks at a number's size: the real figures come
 * from a full `npm run bench` on a quiet machine.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { PEERS } from '../bench/peers/catalog.js'
import type { Row } from '../bench/results.js'
import { ON_DEMAND, SCENARIOS } from '../bench/scenarios/index.js'

const root = new URL('..', import.meta.url).pathname
/** On-demand scenarios short enough in --quick mode to run here too (cluster starts its own redis-server). */
const QUICK_ON_DEMAND = ['cluster']
const dir = mkdtempSync(join(tmpdir(), 'lifeline-bench-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Results {
  quick: boolean
  machine: { node: string; cpu: string }
  scenarios: Record<string, { rows?: Row[]; error?: string }>
}

function runQuickBench(out: string, args: readonly string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    // The bench bounds itself; this is the last resort that keeps CI moving.
    const timer = setTimeout(() => child.kill('SIGKILL'), 200_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** Every row has a cell for every peer: a finite number, or words that say why there is none. */
function expectFigures(results: Results): void {
  for (const [name, scenario] of Object.entries(results.scenarios)) {
    expect(scenario.error, `${name} failed`).toBeUndefined()
    expect(scenario.rows?.length, `${name} has rows`).toBeGreaterThan(0)
    for (const row of scenario.rows ?? []) {
      for (const peer of PEERS) {
        const cell = row.cells[peer]
        expect(cell, `${name} / ${row.metric} / ${peer}`).toBeDefined()
        expect(cell!.text, `${name} / ${row.metric} / ${peer}`).not.toBe('')
        expect(cell!.text, `${name} / ${row.metric} / ${peer}`).not.toMatch(/failed/)
        // A number, or words that say why there is none (feature missing, never happened).
        if (cell!.value === null) expect(cell!.text).toMatch(/[a-z]/)
        else expect(Number.isFinite(cell!.value)).toBe(true)
      }
    }
  }
}

describe('bench --quick', () => {
  it('runs every scenario for every peer and writes a figure or a reason for each', async () => {
    const out = join(dir, 'results.json')
    const { code, stdout, stderr } = await runQuickBench(out)
    expect(code, stderr.slice(-4_000)).toBe(0)

    const results = JSON.parse(readFileSync(out, 'utf8')) as Results
    expect(results.quick).toBe(true)
    expect(results.machine.node).toBe(process.version)
    expect(Object.keys(results.scenarios)).toEqual(SCENARIOS.map((s) => s.name))
    expectFigures(results)
    // lifeline has every feature: each of its main figures is a number.
    const lifelineFigures = Object.values(results.scenarios).flatMap((s) => (s.rows ?? []).filter((r) => r.bar !== undefined).map((r) => r.cells.lifeline?.value))
    expect(lifelineFigures.length).toBeGreaterThanOrEqual(7)
    for (const value of lifelineFigures) expect(typeof value).toBe('number')

    // The report: settings, then one table with a column per peer.
    expect(stdout).toContain('Comparable settings')
    expect(stdout).toContain(`| Scenario | Metric | ws (floor) | ${PEERS.slice(1).join(' | ')} | Bar | lifeline |`)
    expect(readFileSync(join(dir, 'results.md'), 'utf8')).toContain('| Scenario | Metric |')
  }, 220_000)

  it('runs the short on-demand scenarios and writes a figure or a reason for each', async () => {
    expect(ON_DEMAND.map((s) => s.name)).toEqual(expect.arrayContaining(QUICK_ON_DEMAND))
    const out = join(dir, 'on-demand.json')
    const { code, stderr } = await runQuickBench(out, ['--scenario', QUICK_ON_DEMAND.join(',')])
    expect(code, stderr.slice(-4_000)).toBe(0)

    const results = JSON.parse(readFileSync(out, 'utf8')) as Results
    expect(Object.keys(results.scenarios)).toEqual(QUICK_ON_DEMAND)
    expectFigures(results)
    // Its bars judge lifeline alone: each has a number (whether it passes is for the full run to say).
    const bars = Object.values(results.scenarios).flatMap((s) => (s.rows ?? []).filter((r) => r.bar !== undefined))
    expect(bars.length).toBeGreaterThan(0)
    for (const row of bars) expect(typeof row.cells.lifeline?.value, row.metric).toBe('number')
  }, 120_000)
})
