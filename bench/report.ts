// Turns scenario results into the printed settings, the markdown table,
// bench/results.json and bench/RESULTS.md.
import { readFileSync } from 'node:fs'
import { cpus, loadavg, totalmem, type as osType, release } from 'node:os'
import { join } from 'node:path'
import { ROOT } from './child.js'
import { CATALOG, PEERS, type PeerName } from './peers/catalog.js'
import type { ScenarioResult } from './results.js'
import { COMMON } from './settings.js'

export function versionOf(peer: PeerName): string {
  const pkg = CATALOG[peer].pkg
  const file = pkg === 'lifeline-ws' ? join(ROOT, 'package.json') : join(ROOT, 'node_modules', pkg, 'package.json')
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
}

export function machine(): Record<string, string | number> {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${osType()} ${release()}`,
    node: process.version,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100).join(' '),
  }
}

export function settingsText(): string {
  const lines = [
    `Comparable settings: heartbeat interval ${COMMON.heartbeatInterval} ms, timeout ${COMMON.heartbeatTimeout} ms, reconnect delay ~${COMMON.reconnectDelay} ms; herd: each library's defaults. Loopback only (127.0.0.1). Every measured client runs in a worker process bundled by esbuild without keepNames (through tsx, each closure the harness made per connection cost 0.25 KB of heap, which every peer was charged).`,
    '',
  ]
  for (const peer of PEERS) {
    const info = CATALOG[peer]
    lines.push(`- **${peer}** ${versionOf(peer)}: ${info.common}`)
    lines.push(`  - herd: ${info.defaults}`)
    for (const note of info.notes) lines.push(`  - ${note}`)
  }
  return lines.join('\n')
}

const escape = (text: string): string => text.replaceAll('|', '\\|')

export interface TitledResult {
  name: string
  title: string
  result: ScenarioResult | { error: string }
}

export function table(results: readonly TitledResult[]): string {
  const header = ['Scenario', 'Metric', ...PEERS.map((p) => (p === 'ws' ? 'ws (floor)' : p)), 'Bar', 'lifeline']
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`]
  for (const { title, result } of results) {
    if ('error' in result) {
      lines.push(`| ${title} | failed: ${escape(result.error.split('\n')[0] ?? '')} | ${PEERS.map(() => '').join(' | ')} | | |`)
      continue
    }
    for (const row of result.rows) {
      const cells = PEERS.map((p) => escape(row.cells[p]?.text ?? '—'))
      const verdict = row.bar === undefined ? '' : row.bar.pass === null ? 'no figure' : row.bar.pass ? 'pass' : '**FAIL**'
      lines.push(`| ${title} | ${escape(row.metric)} | ${cells.join(' | ')} | ${escape(row.bar?.text ?? '')} | ${verdict} |`)
    }
  }
  return lines.join('\n')
}

/**
 * The cost targets alone, one line each: lifeline's figure beside bare ws's
 * (the floor of every ratio) and the verdict; the peers are in the table above.
 */
export function targetsTable(results: readonly TitledResult[]): string {
  const lines = ['| Target | lifeline | bare ws | Bar | Result |', '| --- | --- | --- | --- | --- |']
  for (const { result } of results) {
    if ('error' in result) continue
    for (const row of result.rows) {
      if (row.target === undefined) continue
      const verdict = row.bar === undefined || row.bar.pass === null ? 'no figure' : row.bar.pass ? 'pass' : '**FAIL**'
      lines.push(`| ${escape(row.target)} | ${escape(row.cells.lifeline?.text ?? '—')} | ${escape(row.cells.ws?.text ?? '—')} | ${escape(row.bar?.text ?? '')} | ${verdict} |`)
    }
  }
  return lines.length > 2 ? lines.join('\n') : ''
}

export function notesText(results: readonly TitledResult[]): string {
  const lines: string[] = []
  for (const { title, result } of results) {
    if ('error' in result) continue
    for (const note of result.notes) lines.push(`- ${title}: ${note}`)
  }
  return lines.join('\n')
}
