/**
 * The CLI as the package ships it: compiled to JavaScript (as `npm run
 * build` compiles it, into a scratch directory), started as the `bin` of
 * package.json starts it. Its page loads the package's compiled modules
 * only: every module the page imports, transitively, is served, and none
 * imports a bare specifier (the page has no import map and no bundle).
 * Also: its arguments.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = new URL('../..', import.meta.url).pathname
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; exports: Record<string, unknown> }

function cli(entry: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [entry, ...args], { cwd: root, timeout: 15_000 })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => (stdout += String(c)))
    child.stderr.on('data', (c) => (stderr += String(c)))
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('npx lifeline-ws inspect, compiled', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-cli-'))
  const entry = join(dir, pkg.bin['lifeline-ws']!.replace(/^\.\/dist\//, ''))

  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', dir], { cwd: root })
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
  }, 60_000)

  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('is the package\'s bin, with a shebang, next to the entry points it serves', () => {
    expect(pkg.bin).toEqual({ 'lifeline-ws': './dist/src/inspector/cli.js' })
    expect(Object.keys(pkg.exports)).toEqual(expect.arrayContaining(['./inspector', './inspector/node']))
    expect(readFileSync(entry, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true)
  })

  it('serves a page whose every module resolves to the compiled package', async () => {
    const child = spawn(process.execPath, [entry, 'inspect', '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk) => {
          const match = /lifeline inspector: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(String(chunk))
          if (match) resolve(match[1]!)
        })
        child.once('exit', (code) => reject(new Error(`exited with ${code}`)))
      })
      const html = await (await fetch(url)).text()
      const queue = [...html.matchAll(/src="([^"]+\.js)"/g)].map((m) => m[1]!)
      const seen = new Set<string>()
      while (queue.length > 0) {
        const path = queue.shift()!
        if (seen.has(path)) continue
        seen.add(path)
        const response = await fetch(new URL(path, url))
        expect(response.status, path).toBe(200)
        const code = await response.text()
        for (const [, specifier] of code.matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g)) {
          expect(specifier, `${path} imports ${specifier}`).toMatch(/^\.\.?\//)
          queue.push(new URL(specifier!, new URL(path, url)).pathname)
        }
      }
      expect([...seen]).toEqual(expect.arrayContaining(['/src/inspector/page.js', '/src/inspector/panel.js', '/src/inspector/connection-chart.js', '/machines/labels.js']))
    } finally {
      child.kill()
    }
  })

  it('explains its arguments and refuses unknown ones', async () => {
    const help = await cli(entry, ['--help'])
    expect(help).toMatchObject({ code: 0 })
    expect(help.stdout).toContain('Usage: lifeline-ws inspect [--port <port>] [--host <host>]')
    for (const args of [[], ['serve'], ['inspect', '--port'], ['inspect', '--port', 'eighty'], ['inspect', '--port', '70000'], ['inspect', '--colour']]) {
      const ran = await cli(entry, args)
      expect(ran.code, args.join(' ')).toBe(2)
      expect(ran.stderr).toMatch(/^lifeline-ws: /)
    }
  })

  it('says so when its port is taken', async () => {
    const first = spawn(process.execPath, [entry, 'inspect', '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] })
    try {
      const port = await new Promise<string>((resolve) => first.stdout.on('data', (c) => {
        const match = /127\.0\.0\.1:(\d+)/.exec(String(c))
        if (match) resolve(match[1]!)
      }))
      const second = await cli(entry, ['inspect', '--port', port])
      expect(second.code).toBe(1)
      expect(second.stderr).toContain(`port ${port} is in use`)
    } finally {
      first.kill()
    }
  })
})
