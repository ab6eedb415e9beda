// The real redis-server of the cluster scenario: Debian's, on a free
// loopback port, as the tests start it (test/helpers/redis.ts). It must not
// outlive the bench however the bench ends: stop() on the way out, an 'exit'
// hook for process.exit() and the signals bench/child.ts turns into one, and
// a watchdog process that kills it when the bench's IPC channel closes, which
// covers a bench killed with SIGKILL (test/bench.test.ts's last resort).
import { spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { startRedis } from '../../test/helpers/redis.js'

export interface BenchRedis {
  url: string
  /** redis-server's version, for the report. */
  version: string
  /** CPU seconds redis-server has used so far (user + system, from INFO cpu). */
  cpuSeconds(): Promise<number>
  stop(): Promise<void>
}

// Runs with `node -e`: argv[1] is the redis-server's pid, argv[2] its (empty, temporary) directory.
const WATCHDOG = `
const pid = Number(process.argv[1])
process.on('disconnect', () => {
  try { process.kill(pid, 'SIGKILL') } catch {}
  require('node:fs').rmSync(process.argv[2], { recursive: true, force: true })
  process.exit(0)
})`

function connectTo(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 5_000 })
  client.on('error', () => {})
  return client
}

async function serverInfo(url: string): Promise<{ pid: number; version: string; dir: string }> {
  const client = connectTo(url)
  try {
    const info = await client.info('server')
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1])
    const version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown'
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`redis-server at ${url} did not say its process id`)
    const [, dir] = (await client.config('GET', 'dir')) as [string, string]
    // Only the directory startRedis() made is ever removed.
    if (typeof dir !== 'string' || !dir.startsWith(join(tmpdir(), 'lifeline-redis-'))) throw new Error(`redis-server at ${url} runs in ${String(dir)}, not in a directory of its own`)
    return { pid, version, dir }
  } finally {
    client.disconnect()
  }
}

export async function startBenchRedis(): Promise<BenchRedis> {
  const redis = await startRedis()
  let dir: string | undefined
  // kill() sends SIGKILL before its first await, so it works inside 'exit'.
  const onExit = (): void => {
    void redis.kill()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  }
  process.once('exit', onExit)
  try {
    const info = await serverInfo(redis.url)
    dir = info.dir
    const watchdog = spawn(process.execPath, ['-e', WATCHDOG, String(info.pid), info.dir], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    // Not waiting for the watchdog to be up would leave a moment with no guard; its 'spawn' is enough (the IPC channel exists).
    await new Promise<void>((resolve, reject) => {
      watchdog.once('spawn', resolve)
      watchdog.once('error', reject)
    })
    const stats = connectTo(redis.url)
    return {
      url: redis.url,
      version: info.version,
      async cpuSeconds() {
        const cpu = await stats.info('cpu')
        const field = (name: string): number => Number(cpu.split('\r\n').find((line) => line.startsWith(`${name}:`))?.slice(name.length + 1))
        return field('used_cpu_user') + field('used_cpu_sys')
      },
      async stop() {
        stats.disconnect()
        process.off('exit', onExit)
        // Killed first, so it cannot act on a pid that redis-server no longer holds.
        watchdog.kill('SIGKILL')
        await redis.stop()
      },
    }
  } catch (error) {
    process.off('exit', onExit)
    await redis.stop()
    throw error
  }
}
