/**
 * A real redis-server for the tests: Debian's `redis-server`, started on a
 * free loopback port with no persistence, stopped by pid. Missing
 * `redis-server` is a failure, never a skip (`npm test` installs it with
 * apt-get when run as root; `.ci/run` installs it).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const REDIS_SERVER = '/usr/bin/redis-server'

export interface TestRedis {
  port: number
  url: string
  /** Kills the server (SIGKILL: everything in it is gone). */
  kill(): Promise<void>
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>
  stop(): Promise<void>
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * Resolves once the redis-server with process id `pid` answers on `port`;
 * rejects when another process holds the port (two test files picked the
 * same free port at once) or nothing answers in time.
 */
function ready(port: number, pid: number | undefined, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const socket = net.connect(port, '127.0.0.1')
      let text = ''
      socket.once('connect', () => socket.write('INFO server\r\n'))
      socket.on('data', (chunk) => {
        text += chunk.toString()
        const match = /process_id:(\d+)/.exec(text)
        if (match === null) return
        socket.destroy()
        if (Number(match[1]) === pid) resolve()
        else reject(new Error(`port ${port} is held by another redis-server`))
      })
      socket.once('error', () => retry())
    }
    const retry = (): void => {
      if (Date.now() > deadline) reject(new Error(`redis-server on port ${port} did not answer within ${ms} ms`))
      else setTimeout(attempt, 20)
    }
    attempt()
  })
}

/** Starts a redis-server on a free port; it is yours to stop. */
export async function startRedis(): Promise<TestRedis> {
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(`${REDIS_SERVER} is missing: install it (Debian: apt-get install redis-server); the Redis tests never skip`)
  }
  let port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-redis-'))
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' })
    await ready(port, child.pid, 5_000)
  }
  const kill = async (): Promise<void> => {
    const running = child
    child = undefined
    if (running === undefined || running.exitCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGKILL')
    await exited
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await start()
      break
    } catch (error) {
      await kill()
      if (attempt === 4) throw error
      port = await freePort()
    }
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: start,
    async stop() {
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
