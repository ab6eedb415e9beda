import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { afterEach, describe, expect, it } from 'vitest'
import { MemorySessionStore, nameFromQuery, type HeartbeatServerOptions } from '../../src/server/index.js'
import { cleanup, closeOf, connect, rawReliable, record, refusedUpgrade, startServer, tcp, waitFor, within } from './helpers.js'

afterEach(cleanup)

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

// Runs in a child process: a server and a client that talk, then close. If
// anything the server made (timer, socket, HTTP server) outlived close(), the
// child would not exit on its own.
const childProgram = `
import WebSocket from 'ws'
import { createHeartbeatServer } from './src/server/index.ts'

async function main() {
  const server = createHeartbeatServer({ port: 0, heartbeat: { interval: 20, timeout: 1000 } })
  const { port } = await server.listening
  const connected = new Promise((resolve) => server.on('connection', resolve))
  const client = new WebSocket('ws://127.0.0.1:' + port + '/?name=child')
  const opened = new Promise((resolve) => client.once('open', resolve))
  const closed = new Promise((resolve) => client.on('close', resolve))
  await Promise.all([connected, opened])
  client.send('ping')
  await new Promise((resolve) => setTimeout(resolve, 60))
  await server.close()
  console.log('close code ' + (await closed))
}
main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
`

function runNode(file: string, ms: number): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<{ code: number | null; output: string }>((resolve) => child.once('exit', (code) => resolve({ code, output })))
  return within(exited, ms, 'the child process to exit by itself').finally(() => child.kill('SIGKILL'))
}

describe('heartbeat server close()', () => {
  it('closes every client with 1001, reports server-close and empties the registry', async () => {
    const { server, url, port } = await startServer()
    const disconnects = record(server, 'disconnect')
    const a = await connect(url('/', 'a'))
    const b = await connect(url('/', 'b'))
    const closes = [closeOf(a), closeOf(b)]
    await server.close()
    expect((await Promise.all(closes)).map((c) => c.code)).toEqual([1001, 1001])
    expect(disconnects.map((d) => [d.name, d.reason, d.code])).toEqual([['a', 'server-close', 1001], ['b', 'server-close', 1001]])
    expect(server.clients.size).toBe(0)
    await expect(tcp(port)).rejects.toThrow()
  })

  it('returns the same promise when called twice', async () => {
    const { server } = await startServer()
    const first = server.close()
    expect(server.close()).toBe(first)
    await first
  })

  it('terminates a client that does not finish the close handshake within closeTimeout', async () => {
    const { server, url } = await startServer({ closeTimeout: 80 })
    const client = await connect(url('/', 'stuck'))
    ;(client as unknown as { _socket: { pause(): void } })._socket.pause()
    const started = performance.now()
    await within(server.close(), 1_000, 'close()')
    expect(performance.now() - started).toBeLessThan(500)
  })

  it('refuses an upgrade that is still waiting on verify with 503', async () => {
    let admit = (_ok: boolean): void => {}
    const { server, port } = await startServer({ verify: () => new Promise<boolean>((resolve) => (admit = resolve)) })
    const answer = refusedUpgrade(port, '/?name=late')
    await new Promise((resolve) => setTimeout(resolve, 20))
    const closing = server.close()
    expect((await answer).split('\r\n')[0]).toBe('HTTP/1.1 503 Service Unavailable')
    admit(true)
    await closing
    expect(server.clients.size).toBe(0)
  })

  const modes: Record<string, Partial<HeartbeatServerOptions>> = {
    plain: {},
    reliable: { delivery: 'reliable', identify: nameFromQuery },
    'reliable with a store': { delivery: 'reliable', identify: nameFromQuery, sessionStore: new MemorySessionStore() },
  }
  it.each(Object.keys(modes).flatMap((mode) => (['connection', 'message', 'disconnect', 'error'] as const).map((event) => ({ mode, event }))))(
    'can be called from inside a $event listener ($mode): it settles, and no client is left',
    async ({ mode, event }) => {
      const { server, url } = await startServer({ closeTimeout: 200, ...modes[mode] })
      let closing: Promise<void> | undefined
      server.on(event, () => {
        closing ??= server.close()
      })
      if (event === 'error') {
        server.on('message', () => {
          throw new Error('a listener that fails')
        })
      }
      const peer = mode === 'plain' ? { socket: await connect(url('/', 'alice')) } : await rawReliable(url('/', 'alice'))
      if ('welcome' in peer && event !== 'connection') await peer.welcome()
      if (event === 'message' || event === 'error') peer.socket.send(mode === 'plain' ? 'hi' : JSON.stringify(['d', 1, 0, 'hi']))
      if (event === 'disconnect') peer.socket.close()
      await waitFor(() => closing !== undefined, 2_000, `close() from the ${event} listener`)
      await within(closing!, 2_000, 'close() to settle')
      expect(server.clients.size).toBe(0)
      expect(peer.socket.readyState).toBeGreaterThanOrEqual(2)
      expect(server.close()).toBe(closing)
    },
  )

  it('leaves no open handles: a process that closes its server exits by itself', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifeline-server-'))
    try {
      const outfile = join(dir, 'child.cjs')
      // CommonJS, with ws bundled in: the child runs outside the repository, where 'ws' would not resolve.
      await build({
        stdin: { contents: childProgram, resolveDir: repoRoot, loader: 'ts', sourcefile: 'child.ts' },
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node20',
        outfile,
        logLevel: 'error',
      })
      const { code, output } = await runNode(outfile, 5_000)
      expect(output.trim()).toBe('close code 1001')
      expect(code).toBe(0)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
