import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createConnection } from '../src/index.node.js'
import { until } from './helpers/servers.js'

const root = new URL('..', import.meta.url)

describe('examples', () => {
  it('README shows examples/server.ts as it is', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8')
    const file = readFileSync(new URL('examples/server.ts', root), 'utf8')
    const shown = readme.split('<!-- example:examples/server.ts -->\n```ts\n')[1]?.split('```')[0]
    expect(shown).toBe(file)
  })

  it('examples/server.ts runs and answers a lifeline client', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/server.ts'], { cwd: root, env: { ...process.env, PORT: '0' } })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    try {
      await until(() => /listening on ws:\/\/127.0.0.1:(\d+)/.test(output), 15_000, 'the example server')
      const port = /listening on ws:\/\/127.0.0.1:(\d+)/.exec(output)![1]
      const conn = createConnection({ url: `ws://127.0.0.1:${port}/live?name=alice` })
      const messages: unknown[] = []
      conn.on('message', (data) => messages.push(data))
      conn.on('open', () => conn.send('hello everyone'))
      await until(() => messages.length === 1, 5_000, 'the broadcast')
      expect(messages).toEqual(['alice: hello everyone'])
      conn.dispose()
      await until(() => output.includes('alice left'), 5_000, 'the disconnect')
    } finally {
      child.kill('SIGINT')
    }
  })
})
