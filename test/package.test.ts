/**
 * The package as users get it: packed once from a fresh checkout (packing
 * builds dist/), installed into fresh projects (test/consumers/), and used
 * there the way the README says: a Node app, a CommonJS require, strict
 * TypeScript under nodenext and bundler resolution with TypeScript 7 and
 * 5.9, a Vite page. publint and attw judge the same tarball.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { measureBundle } from '../bench/scenarios/bundle.js'
import { bin, installConsumer, node, packFreshCheckout, scratch } from './helpers/package.js'

let dir: string
let tarball: string
let repository: string
let nodeApp: string
let webApp: string

beforeAll(async () => {
  dir = scratch()
  ;({ tarball, repository } = await packFreshCheckout(dir))
  ;[nodeApp, webApp] = await Promise.all([installConsumer('node', tarball, dir), installConsumer('web', tarball, dir)])
}, 180_000)

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

/** Every file under `base`, relative to it. */
function filesUnder(base: string): string[] {
  return readdirSync(base, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(base, join(entry.parentPath, entry.name)))
}

describe('package', () => {
  it('packs dist/ with .js, .d.ts and source maps that resolve to shipped sources', () => {
    const packed = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((path) => path.replace(/^package\//, ''))
    for (const entry of ['src/index', 'src/index.node', 'src/server/index', 'src/react/index', 'machines/index']) {
      expect(packed).toEqual(expect.arrayContaining([`dist/${entry}.js`, `dist/${entry}.js.map`, `dist/${entry}.d.ts`, `dist/${entry}.d.ts.map`]))
    }
    expect(packed).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'src/index.ts', 'machines/connection.machine.ts']))
    expect(packed.filter((path) => /^(test|bench|demo|examples|scripts|docs|node_modules)\//.test(path))).toEqual([])

    const installed = join(nodeApp, 'node_modules/lifeline-ws')
    const maps = filesUnder(installed).filter((path) => path.endsWith('.map'))
    expect(maps.length).toBeGreaterThan(20)
    const unresolved = maps.flatMap((map) => {
      const { sources } = JSON.parse(readFileSync(join(installed, map), 'utf8')) as { sources: string[] }
      return sources.map((source) => join(dirname(map), source)).filter((source) => !existsSync(join(installed, source)))
    })
    expect(unresolved).toEqual([])
    const compiled = filesUnder(join(installed, 'dist')).filter((path) => path.endsWith('.js'))
    expect(compiled.filter((path) => !maps.includes(join('dist', `${path}.map`)))).toEqual([])

    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>
    expect(manifest).toMatchObject({ name: 'lifeline-ws', type: 'module', license: 'MIT', engines: { node: '>=20.19' } })
    expect(manifest.dependencies).toHaveProperty('@types/ws')
  })

  it('passes publint (strict)', async () => {
    const lint = await node([bin.publint, 'run', tarball, '--strict'], dir)
    console.log(lint.stdout.trim())
    expect(lint).toMatchObject({ code: 0 })
    expect(lint.stdout).toContain('All good!')
  })

  it('passes attw --profile esm-only', async () => {
    const attw = await node([bin.attw, tarball, '--profile', 'esm-only', '--format', 'table-flipped'], dir)
    console.log(attw.stdout.trim())
    expect(attw).toMatchObject({ code: 0, stderr: '' })
    // The profile ignores only what ESM-only means: no node10 resolution, no require() in TypeScript's node16-cjs.
    const json = await node([bin.attw, tarball, '--profile', 'esm-only', '--format', 'json'], dir)
    const { problems } = JSON.parse(json.stdout) as { problems: Record<string, { entrypoint: string; resolutionKind: string }[]> }
    const kinds = Object.values(problems).flat().map((problem) => problem.resolutionKind)
    expect(kinds.filter((kind) => kind !== 'node10' && kind !== 'node16-cjs')).toEqual([])
  })

  it('runs a Node ESM app against createHeartbeatServer on 127.0.0.1, and it exits by itself', async () => {
    const app = await node(['app.mjs'], nodeApp, 15_000)
    console.log(app.stdout.trim())
    expect(app).toMatchObject({ code: 0, stderr: '' })
    const lines = app.stdout.trim().split('\n')
    // Client and server lines interleave as the sockets' events land; each side's own order is fixed.
    expect(lines.filter((line) => line.startsWith('client:'))).toEqual([
      'client: connecting → open (socket-open)',
      'client: got echo hello',
      'client: heartbeat answered',
      'client: open → closing (close)',
      'client: closing → idle (socket-close)',
      'client: LIFELINE_SOCKET_ERROR, cause ECONNREFUSED',
      'client: failed (not-retried)',
    ])
    expect(lines.filter((line) => line.startsWith('server:'))).toEqual(['server: app joined', 'server: app left (closed)'])
    expect(lines).toHaveLength(9)
  })

  it('loads every entry point with require() from CommonJS', async () => {
    const cjs = await node(['require.cjs'], nodeApp, 15_000)
    console.log(cjs.stdout.trim(), cjs.stderr.trim())
    expect(cjs).toEqual({ code: 0, stdout: 'function function function connection function function\n', stderr: '' })
  })

  it.each([
    ['TypeScript 7', 'node', 'module nodenext'],
    ['TypeScript 5.9', 'node', 'module nodenext'],
    ['TypeScript 7', 'web', 'moduleResolution bundler'],
    ['TypeScript 5.9', 'web', 'moduleResolution bundler'],
  ])('%s type-checks the strict %s consumer (%s)', async (version, consumer) => {
    const tsc = version === 'TypeScript 7' ? bin.tsc7 : bin.tsc59
    const project = consumer === 'node' ? nodeApp : webApp
    const checked = await node([tsc, '-p', 'tsconfig.json', '--version'], project)
    expect(checked.stdout).toContain(version === 'TypeScript 7' ? 'Version 7.' : 'Version 5.9.')
    const result = await node([tsc, '-p', 'tsconfig.json'], project)
    expect(result.stdout + result.stderr).toBe('')
    expect(result.code).toBe(0)
  })

  it('builds a Vite page importing lifeline-ws and lifeline-ws/react without ws', async () => {
    const build = await node([bin.vite, 'build', '--sourcemap', '--emptyOutDir', '--logLevel', 'warn'], webApp)
    expect(build).toMatchObject({ code: 0, stderr: '' })
    const assets = join(webApp, 'dist/assets')
    const map = readdirSync(assets).find((name) => name.endsWith('.js.map'))!
    const { sources } = JSON.parse(readFileSync(join(assets, map), 'utf8')) as { sources: string[] }
    const modules = sources.map((source) => source.replace(/^(\.\.\/)+/, ''))
    console.log(`vite bundled ${modules.length} modules: ${modules.filter((m) => !m.includes('/xstate/')).join(', ')} and xstate`)
    expect(modules).toEqual(expect.arrayContaining([
      'node_modules/lifeline-ws/dist/src/connection.js',
      'node_modules/lifeline-ws/dist/src/adapter.js',
      'node_modules/lifeline-ws/dist/src/drop-in/reconnecting-websocket.js',
      'node_modules/lifeline-ws/dist/src/react/hooks.js',
      'main.ts',
    ]))
    expect(modules).toContain('node_modules/xstate/dist/xstate.esm.js')
    expect(modules.filter((m) => /node_modules\/(ws|@types)\//.test(m) || m.includes('index.node') || m.includes('/server/'))).toEqual([])
    const code = readFileSync(join(assets, map.replace(/\.map$/, '')), 'utf8')
    expect(code).not.toContain('ws does not work in the browser')
  })

  it('installs from a git URL, building dist/ through prepare', async () => {
    const project = await installConsumer('node', `git+file://${repository}`, dir, 'git')
    const installed = join(project, 'node_modules/lifeline-ws')
    expect(existsSync(join(installed, 'dist/src/index.node.js'))).toBe(true)
    const app = await node(['app.mjs'], project, 15_000)
    expect(app).toMatchObject({ code: 0, stderr: '' })
    expect(app.stdout).toContain('client: heartbeat answered')
  }, 120_000)

  it('builds for the browser from source without ws', async () => {
    const size = await measureBundle("export * from './src/index.ts'")
    expect(Object.keys(size.byPackage)).toContain('xstate')
    expect(Object.keys(size.byPackage)).not.toContain('ws')
    console.log(`browser bundle: ${size.minified} bytes minified, ${size.gzip} gzip (${Object.entries(size.byPackage).map(([p, b]) => `${p} ${b}`).join(', ')})`)
  })
})
