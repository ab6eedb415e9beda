/**
 * The README's examples as a newcomer runs them from a clone: examples/*.ts
 * through tsx, from source (tsconfig.json maps `lifeline-ws` to src/), no
 * build. The README shows each file as it is and what it prints.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { until } from './helpers/servers.js'

const root = new URL('..', import.meta.url)
const readme = readFileSync(new URL('README.md', root), 'utf8')

/** The fenced block that follows `<!-- marker -->` in the README. */
function shown(marker: string): string | undefined {
  return readme.split(`<!-- ${marker} -->\n`)[1]?.match(/^```\w*\n([\s\S]*?)```/)?.[1]
}

interface Run {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

const children: ChildProcess[] = []
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})

/** Runs an example as `npx tsx examples/<file>` would; killed after `ms`. */
function run(file: string, env: Record<string, string> = {}, ms = 15_000): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', `examples/${file}`], { cwd: root, env: { ...process.env, ...env } })
  children.push(child)
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), ms)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => (clearTimeout(timer), resolve(code))))
  return { child, output: () => output, exited }
}

describe('examples', () => {
  it.each(['server.ts', 'client.ts', 'machine.ts', 'drop-in.ts', 'react-room.tsx'])('README shows examples/%s as it is', (file) => {
    expect(shown(`example:examples/${file}`)).toBe(readFileSync(new URL(`examples/${file}`, root), 'utf8'))
  })

  it('examples/client.ts prints what the README says against examples/server.ts, and both exit by themselves', async () => {
    const server = run('server.ts', { PORT: '0' })
    const listening = /listening on ws:\/\/127\.0\.0\.1:(\d+)\/live/
    await until(() => listening.test(server.output()), 15_000, 'the example server')
    const port = listening.exec(server.output())![1]!

    const client = run('client.ts', { PORT: port })
    expect(await client.exited).toBe(0)
    expect(client.output()).toBe(shown('output:examples/client.ts'))

    await until(() => server.output().includes('alice left'), 5_000, 'the disconnect')
    server.child.kill('SIGINT')
    expect(await server.exited).toBe(0)
    expect(server.output().replace(`:${port}/`, ':8080/')).toBe(shown('output:examples/server.ts'))
  })

  it('examples/drop-in.ts prints what the README says against examples/server.ts, and exits by itself', async () => {
    const server = run('server.ts', { PORT: '0' })
    const listening = /listening on ws:\/\/127\.0\.0\.1:(\d+)\/live/
    await until(() => listening.test(server.output()), 15_000, 'the example server')
    const dropIn = run('drop-in.ts', { PORT: listening.exec(server.output())![1]! })
    expect(await dropIn.exited).toBe(0)
    expect(dropIn.output()).toBe(shown('output:examples/drop-in.ts'))
    server.child.kill('SIGINT')
    expect(await server.exited).toBe(0)
  })

  it('examples/machine.ts prints what the README says', async () => {
    const machine = run('machine.ts')
    expect(await machine.exited).toBe(0)
    expect(machine.output()).toBe(shown('output:examples/machine.ts'))
  })
})
