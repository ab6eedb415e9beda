// npm run bench [-- --scenario NAME[,NAME...]] [--trials N] [--quick] [--out FILE.json]
//
// Runs the scenarios for lifeline and its peers, prints the settings and one
// markdown table. A full run (every scenario, not --quick) writes
// bench/results.json and bench/RESULTS.md; other runs write only to --out.
// Progress goes to stderr, the report to stdout.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { buildLifeline, buildWorker } from './build.js'
import { ROOT } from './child.js'
import { CATALOG, PEERS } from './peers/catalog.js'
import { machine, notesText, settingsText, table, targetsTable, versionOf, type TitledResult } from './report.js'
import type { Scenario } from './results.js'
import { ON_DEMAND, SCENARIOS } from './scenarios/index.js'
import { COMMON, FULL, QUICK } from './settings.js'
import { now } from './util.js'

interface Args {
  scenarios: Scenario[]
  trials: number | undefined
  quick: boolean
  out: string | undefined
}

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`)
  process.exit(2)
}

function parseArgs(argv: readonly string[]): Args {
  const names: string[] = []
  let trials: number | undefined
  let quick = false
  let out: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string?]
    const value = (): string => inline ?? argv[++i] ?? fail(`${flag} needs a value`)
    if (flag === '--scenario') names.push(...value().split(','))
    else if (flag === '--trials') {
      trials = Number(value())
      if (!Number.isInteger(trials) || trials < 1 || trials > 50) fail('--trials must be an integer from 1 to 50')
    } else if (flag === '--quick') quick = true
    else if (flag === '--out') out = value()
    else fail(`unknown argument ${argv[i]}; use --scenario NAME, --trials N, --quick, --out FILE`)
  }
  const scenarios = names.length === 0 ? [...SCENARIOS] : names.map((name) => [...SCENARIOS, ...ON_DEMAND].find((s) => s.name === name) ?? fail(`unknown scenario ${name}; one of ${[...SCENARIOS, ...ON_DEMAND].map((s) => s.name).join(', ')}`))
  return { scenarios, trials, quick, out }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`
  const date = new Date().toISOString()
  const log = (line: string): void => void process.stderr.write(`${line}\n`)
  const loadBefore = machine().loadAverage
  const started = now()
  log('bench: compiling lifeline (tsc) into node_modules/.cache/lifeline-bench...')
  const buildWarning = await buildLifeline()
  await buildWorker()
  if (buildWarning !== null) log(`bench: ${buildWarning}`)
  const results: Array<TitledResult & { seconds: number }> = []
  for (const scenario of args.scenarios) {
    log(`bench: ${scenario.name}${args.quick ? ' (quick)' : ''}...`)
    const t0 = now()
    let result: TitledResult['result']
    try {
      result = await scenario.run({ quick: args.quick, trials: args.trials, log })
    } catch (error) {
      result = { error: error instanceof Error ? error.stack ?? error.message : String(error) }
      log(`bench: ${scenario.name} failed: ${result.error}`)
    }
    const seconds = (now() - t0) / 1_000
    log(`bench: ${scenario.name} done in ${seconds.toFixed(1)} s`)
    results.push({ name: scenario.name, title: scenario.title, result, seconds })
  }
  const seconds = (now() - started) / 1_000
  const info = machine()
  const heading = [
    `Measured ${date.slice(0, 10)} with \`${command}\` in ${Math.round(seconds)} s on ${info.cpu} (${info.cores} cores), Node ${info.node}, ${info.os}; load average ${loadBefore} before, ${info.loadAverage} after${args.quick ? ' — QUICK MODE: tiny sizes, the figures mean nothing' : ''}.`,
    'Medians over trials; ratios are to the bare ws client measured in the same run.',
  ].join(' ')
  const warnings = buildWarning === null ? '' : `\n- Build: ${buildWarning}`
  const targets = targetsTable(results)
  const report = [heading, '', settingsText(), '', table(results), '', ...(targets === '' ? [] : ['Cost targets (every ratio is to bare ws in this run):', '', targets, '']), notesText(results) + warnings, ''].join('\n')
  process.stdout.write(`\n${report}\n`)

  const json = {
    date,
    command,
    quick: args.quick,
    seconds,
    buildWarning,
    machine: { ...info, loadAverageBefore: loadBefore },
    settings: {
      common: COMMON,
      sizes: args.quick ? QUICK : FULL,
      trialsOverride: args.trials ?? null,
      peers: Object.fromEntries(PEERS.map((p) => [p, { version: versionOf(p), ...CATALOG[p] }])),
    },
    scenarios: Object.fromEntries(results.map(({ name, title, result, seconds: s }) => [name, { title, seconds: s, ...result }])),
  }
  const full = !args.quick && args.scenarios.length === SCENARIOS.length
  const out = args.out ?? (full ? join(ROOT, 'bench', 'results.json') : undefined)
  if (out !== undefined) {
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`)
    // The default run's table goes to bench/RESULTS.md (for the README); an --out FILE.json gets FILE.md.
    const md = args.out === undefined ? join(dirname(out), 'RESULTS.md') : `${out.replace(/\.json$/, '')}.md`
    writeFileSync(md, `# lifeline benchmarks\n\n${report}`)
    log(`bench: wrote ${out} and ${md}`)
  } else {
    log('bench: partial or quick run: nothing written (pass --out FILE.json to keep it)')
  }
  log(`bench: finished in ${seconds.toFixed(1)} s`)
  const failed = results.filter((r) => 'error' in r.result)
  process.exit(failed.length > 0 ? 1 : 0)
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
