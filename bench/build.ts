// lifeline is measured as users run it: compiled by tsc (as `npm run build`
// does), not through tsx. tsx compiles with esbuild's keepNames, which wraps
// every function in a `__name(fn, 'name')` call: a property store on each
// closure and a call per closure created, which inflated lifeline's heap per
// connection and its heartbeat CPU against peers that ship plain JavaScript.
// The copy goes to node_modules/.cache (ignored by git), never to dist/.
import { execFile } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { ROOT } from './child.js'

// LIFELINE_BENCH_BUILD names another compiled copy instead (an earlier commit's,
// inside this repository's node_modules so that ws and xstate resolve): two
// builds measured one after the other, on the same machine in the same hour.
const GIVEN = process.env.LIFELINE_BENCH_BUILD
export const BUILD_DIR = GIVEN ?? join(ROOT, 'node_modules', '.cache', 'lifeline-bench')

/** The compiled client entry (Node), server helper entry and Redis cluster entry, as file paths. */
export const BUILT = {
  client: join(BUILD_DIR, 'src', 'index.node.js'),
  server: join(BUILD_DIR, 'src', 'server', 'index.js'),
  redis: join(BUILD_DIR, 'src', 'redis', 'index.js'),
  /** lifeline-ws/machine: the bare statechart. */
  machine: join(BUILD_DIR, 'machines', 'index.js'),
  /** The clock behind every connection's timers. */
  clock: join(BUILD_DIR, 'src', 'clock.js'),
}

/**
 * The measured client processes (bench/worker.ts and what it imports: the
 * scenarios' worker halves, the peers' adapters), bundled by esbuild without
 * keepNames. Through tsx, every arrow function the harness made per
 * connection (a peer's send and close, the open handler, a deferred's
 * resolve) had its name redefined, which turned its properties into a
 * dictionary: 0.25 KB each, 1 KB per connection of every peer that was the
 * harness's, not the library's. Packages stay external, and each peer's
 * adapter its own chunk, loaded only by the worker that measures it.
 */
export const WORKER = join(ROOT, 'node_modules', '.cache', 'lifeline-bench-worker', 'worker.mjs')

export async function buildWorker(): Promise<void> {
  const { build } = await import('esbuild')
  await build({
    entryPoints: [join(ROOT, 'bench', 'worker.ts')],
    outdir: dirname(WORKER),
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    keepNames: false,
    logLevel: 'silent',
    // Only bench/child.ts reads it: the scripts it forks are named relative to bench/.
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(join(ROOT, 'bench', 'child.ts')).href) },
  })
}

/**
 * Compiles machines/ and src/ of the working tree into BUILD_DIR. Type errors
 * do not stop it (tsc still emits); they are returned as a warning.
 */
export async function buildLifeline(): Promise<string | null> {
  if (GIVEN !== undefined) return `measured the build in ${GIVEN} (LIFELINE_BENCH_BUILD), not the working tree`
  mkdirSync(BUILD_DIR, { recursive: true })
  // Outside the package's scope (node_modules ends it), .js would be CommonJS.
  writeFileSync(join(BUILD_DIR, 'package.json'), '{ "type": "module", "private": true }\n')
  // By package, not .bin/tsc: the typescript-5.9 alias installs a `tsc` too, and either may own the link.
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.json', '--outDir', BUILD_DIR, '--declaration', 'false', '--sourceMap', 'false'], { cwd: ROOT })
    return null
  } catch (error) {
    const out = (error as { stdout?: string }).stdout ?? String(error)
    return `tsc reported errors in the working tree (the emitted code is measured anyway): ${out.split('\n').slice(0, 5).join(' ')}`
  }
}
