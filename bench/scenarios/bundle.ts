// 7. Bundle: what each client costs a browser page. esbuild, minified ESM for
// the browser, then gzip and brotli at their highest levels.
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { ROOT } from '../child.js'
import { CATALOG, PEERS, type PeerName } from '../peers/catalog.js'
import { cell, type Cell, type Scenario } from '../results.js'
import { fmt } from '../stats.js'

export interface BundleSize {
  minified: number
  gzip: number
  brotli: number
  /** Minified bytes by package (from esbuild's metafile). */
  byPackage: Record<string, number>
  /** Minified bytes from lifeline-ws/inspector's own files (src/inspector/). */
  inspector: number
  /** Minified bytes of lifeline's share stub (src/share/deferred.ts), which every page with createConnection holds. */
  shareStub: number
  /** What is loaded only on demand (`import()`: the share code), minified and gzip; 0 when nothing is. */
  lazy: { minified: number; gzip: number }
  /** Minified bytes by lifeline file (src/, machines/). */
  byFile: Record<string, number>
}

function packageOf(path: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)
  return match?.[1] ?? 'lifeline'
}

const OUT = '/bundle-out'

/**
 * Bundles `source` (an entry's exports) for the browser, minified, split at
 * `import()` as application bundlers do (Vite, Rollup, webpack): the sizes
 * are what a page loads up front (the entry and the chunks it imports
 * statically, as one file would hold them), and `lazy` what it loads only on
 * demand. Packages in `external` are left out (React, which the application
 * brings anyway).
 */
export async function measureBundle(source: string, external: string[] = []): Promise<BundleSize> {
  const { build } = await import('esbuild')
  const result = await build({
    external,
    stdin: { contents: source, resolveDir: ROOT, loader: 'ts', sourcefile: 'entry.ts' },
    bundle: true,
    splitting: true,
    outdir: OUT,
    platform: 'browser',
    format: 'esm',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  })
  const outputs = result.metafile.outputs
  const entry = Object.keys(outputs).find((name) => outputs[name]!.entryPoint !== undefined)!
  // Up front: the entry and what it imports statically, transitively.
  const upfront = new Set<string>()
  const visit = (name: string): void => {
    if (upfront.has(name)) return
    upfront.add(name)
    for (const imported of outputs[name]?.imports ?? []) if (imported.kind === 'import-statement' && !imported.external) visit(imported.path)
  }
  visit(entry)
  const contents = (names: string[]) => Buffer.concat(result.outputFiles.filter((file) => names.some((name) => file.path.endsWith(name.replace(/^.*?bundle-out/, '')))).map((file) => Buffer.from(file.contents)))
  const code = contents([...upfront])
  const lazyCode = contents(Object.keys(outputs).filter((name) => !upfront.has(name) && name.endsWith('.js')))
  const byPackage: Record<string, number> = {}
  const byFile: Record<string, number> = {}
  let inspector = 0
  let shareStub = 0
  for (const name of upfront) {
    for (const [path, { bytesInOutput }] of Object.entries(outputs[name]!.inputs)) {
      const pkg = packageOf(path)
      if (bytesInOutput > 0) byPackage[pkg] = (byPackage[pkg] ?? 0) + bytesInOutput
      if (bytesInOutput > 0 && pkg === 'lifeline') byFile[path] = bytesInOutput
      if (pkg === 'lifeline' && path.includes('src/inspector/')) inspector += bytesInOutput
      if (pkg === 'lifeline' && path.endsWith('src/share/deferred.ts')) shareStub += bytesInOutput
    }
  }
  return {
    minified: code.byteLength,
    gzip: gzipSync(code, { level: 9 }).byteLength,
    brotli: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).byteLength,
    byPackage,
    inspector,
    shareStub,
    lazy: { minified: lazyCode.byteLength, gzip: lazyCode.byteLength === 0 ? 0 : gzipSync(lazyCode, { level: 9 }).byteLength },
    byFile,
  }
}

const XSTATE_ALONE = "export { setup, createActor, assign } from 'xstate'"
const CREATE_ONLY = "export { createConnection } from './src/index.ts'"
// The floor of any design built on XState: the interpreter and the chart, nothing else.
const MACHINE_ONLY = "export { createActor } from 'xstate'; export { connectionMachine } from './machines/connection.machine.ts'"
const kb = (bytes: number): string => `${fmt(bytes / 1024)} KB`
const REACT = ['react', 'react-dom']
// lifeline-ws's entries as an application imports them (tree-shaken), and the peers' nearest equivalents.
const DROP_IN_ONLY = "export { ReconnectingWebSocket } from './src/index.ts'"
const REACT_ENTRY = "export * from './src/react/index.ts'"
const PARTYSOCKET_REACT = "export * from 'partysocket/react'"
const sized = (size: BundleSize): Cell => cell(size.gzip, `${kb(size.gzip)} gzip, ${kb(size.minified)} min (${size.gzip.toLocaleString('en-US')} B)`)
// lifeline-ws/inspector: alone, and on top of the connection it shows (what a page that already has lifeline pays for the panel).
const INSPECTOR_ALONE = "export * from './src/inspector/index.ts'"
const WITH_INSPECTOR = "export { createConnection } from './src/index.ts'; export { mountInspector, recordTrace } from './src/inspector/index.ts'"

export const bundle: Scenario = {
  name: 'bundle',
  title: 'Bundle',
  async run({ log }) {
    const sizes: Partial<Record<PeerName, BundleSize>> = {}
    const errors: string[] = []
    for (const peer of PEERS) {
      const entry = CATALOG[peer].bundle
      if (!('source' in entry)) continue
      try {
        sizes[peer] = await measureBundle(entry.source)
        log(`  bundle ${peer}: ${JSON.stringify(sizes[peer])}`)
      } catch (error) {
        errors.push(`${peer}: ${String(error)}`)
      }
    }
    const xstate = await measureBundle(XSTATE_ALONE)
    // What an application that imports only createConnection pays (tree-shaken).
    const minimal = await measureBundle(CREATE_ONLY)
    const machineOnly = await measureBundle(MACHINE_ONLY)
    const dropIn = await measureBundle(DROP_IN_ONLY)
    const reactEntry = await measureBundle(REACT_ENTRY, REACT)
    const partysocketReact = await measureBundle(PARTYSOCKET_REACT, REACT)
    log(`  bundle entries: ${JSON.stringify({ dropIn, reactEntry, partysocketReact })}`)
    const inspectorAlone = await measureBundle(INSPECTOR_ALONE)
    const withInspector = await measureBundle(WITH_INSPECTOR)
    const row = (key: 'minified' | 'gzip' | 'brotli'): Partial<Record<PeerName, Cell>> => Object.fromEntries(PEERS.map((peer) => {
      const entry = CATALOG[peer].bundle
      const size = sizes[peer]
      if (!('source' in entry)) return [peer, cell(0, entry.none)]
      return [peer, size === undefined ? cell(null, 'failed') : cell(size[key], `${kb(size[key])} (${size[key].toLocaleString('en-US')} B)`)]
    }))
    const gzip = row('gzip')
    const lifelineGzip = sizes.lifeline?.gzip ?? null
    const reference: Partial<Record<PeerName, Cell>> = Object.fromEntries(PEERS.map((p) => [p, cell(null, 'n/a')]))
    reference.lifeline = cell(xstate.gzip, `${kb(xstate.gzip)} gzip, ${kb(xstate.minified)} min, ${kb(xstate.brotli)} br`)
    const ownBytes = sizes.lifeline?.byPackage.lifeline
    const none = (text: string): Partial<Record<PeerName, Cell>> => Object.fromEntries(PEERS.map((p) => [p, cell(null, text)]))
    const dropInRow: Partial<Record<PeerName, Cell>> = { ...none('n/a'), lifeline: sized(dropIn) }
    for (const peer of ['reconnecting-websocket', 'partysocket'] as const) if (sizes[peer] !== undefined) dropInRow[peer] = sized(sizes[peer]!)
    const reactRow: Partial<Record<PeerName, Cell>> = { ...none('no React binding'), lifeline: sized(reactEntry), partysocket: sized(partysocketReact) }
    // What a page that only connects pays: lifeline tree-shaken to createConnection, the peers their entry.
    const createRow: Partial<Record<PeerName, Cell>> = Object.fromEntries(PEERS.map((peer) => {
      const entry = CATALOG[peer].bundle
      if (!('source' in entry)) return [peer, cell(0, entry.none)]
      const size = peer === 'lifeline' ? minimal : sizes[peer]
      return [peer, size === undefined ? cell(null, 'failed') : sized(size)]
    }))
    const floorRow: Partial<Record<PeerName, Cell>> = {
      ...none('n/a'),
      lifeline: cell(machineOnly.gzip, `${kb(machineOnly.gzip)} gzip, ${kb(machineOnly.minified)} min: the rest of createConnection is ${kb(minimal.gzip - machineOnly.gzip)} gzip`),
    }
    const files = Object.entries(minimal.byFile).sort((a, b) => b[1] - a[1]).map(([file, bytes]) => `${file} ${kb(bytes)}`).join(', ')
    return {
      rows: [
        { metric: 'browser bundle, minified (esbuild, ESM, all of the entry\'s exports)', cells: row('minified') },
        { metric: 'browser bundle, gzip -9', cells: gzip, bar: { text: '≤ 15 KB gzip', pass: lifelineGzip === null ? null : lifelineGzip <= 15 * 1024 } },
        { metric: 'browser bundle, brotli -11', cells: row('brotli') },
        { metric: `reference: XState alone (${XSTATE_ALONE.replace('export ', '').replace(" from 'xstate'", '')})`, cells: reference },
        {
          metric: 'browser bundle of `import { createConnection }` (plain delivery), minified + gzip -9 (peers: their entry)',
          cells: createRow,
          bar: { text: '≤ 16 KB gzip', pass: minimal.gzip <= 16 * 1024 },
          target: 'browser bundle, `import { createConnection }`, min+gzip',
        },
        { metric: 'reference: XState\'s interpreter with the connection statechart and nothing else', cells: floorRow },
        { metric: 'entry: the drop-in ReconnectingWebSocket alone (lifeline: tree-shaken from lifeline-ws; peers: their entry, which is that class)', cells: dropInRow },
        { metric: 'entry: the React binding (lifeline-ws/react; partysocket/react), React itself left out', cells: reactRow },
        { metric: 'share across tabs: the share code, loaded on demand by a page that passes share (gzip); up front every page holds only the stub', cells: { ...none('no cross-tab sharing'), lifeline: cell(minimal.lazy.gzip, `${kb(minimal.lazy.gzip)} gzip on demand, ${kb(minimal.lazy.minified)} min; stub ${fmt(minimal.shareStub)} B min up front`) } },
      ],
      notes: [
        `Entries: ${PEERS.map((p) => { const e = CATALOG[p].bundle; return `${p}: ${'source' in e ? `\`${e.source}\`` : e.none}` }).join('; ')}.`,
        `XState's interpreter with the connection statechart and nothing else: ${kb(machineOnly.gzip)} gzip (${fmt(machineOnly.gzip)} B), leaving ${kb(Math.max(0, 15 * 1024 - machineOnly.gzip))} of the design's 15 KB bar, and ${kb(Math.max(0, 16 * 1024 - machineOnly.gzip))} of the 16 KB target for \`createConnection\`, for everything else.`,
        `lifeline with only \`${CREATE_ONLY}\`: ${kb(minimal.gzip)} gzip, ${kb(minimal.minified)} minified (${Object.entries(minimal.byPackage).map(([p, b]) => `${p} ${kb(b)}`).join(', ')}); lifeline's minified bytes by file: ${files}.`,
        ...(ownBytes === undefined ? [] : [`lifeline's own code is ${kb(ownBytes)} of its ${kb(sizes.lifeline!.minified)} minified; the rest is ${Object.entries(sizes.lifeline!.byPackage).filter(([p]) => p !== 'lifeline').map(([p, b]) => `${p} ${kb(b)}`).join(', ')}.`]),
        `Sharing across tabs (\`share\`): \`createConnection\` holds only its ${fmt(minimal.shareStub)} B stub (minified: the platform check and the stand-in until the share code loads); the share code is a chunk loaded on demand, ${kb(minimal.lazy.gzip)} gzip (${kb(minimal.lazy.minified)} minified), fetched only by a page that asks to share.`,
        `The main entry holds ${sizes.lifeline?.inspector ?? 0} B of lifeline-ws/inspector (it is its own subpath). lifeline-ws/inspector alone (\`${INSPECTOR_ALONE}\`): ${kb(inspectorAlone.gzip)} gzip, ${kb(inspectorAlone.minified)} minified, no XState in it (${Object.entries(inspectorAlone.byPackage).map(([p, b]) => `${p} ${kb(b)}`).join(', ')}); with \`createConnection\`: ${kb(withInspector.gzip)} gzip against ${kb(minimal.gzip)}, so the panel adds ${kb(withInspector.gzip - minimal.gzip)} gzip to a page that has a connection.`,
        ...errors,
      ],
      raw: { sizes, xstate, createConnectionOnly: minimal, dropInOnly: dropIn, reactEntry, partysocketReact, inspectorAlone, withInspector },
    }
  },
}
