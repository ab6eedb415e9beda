// The real redis-server of the cluster scenario: Debian's, on a free
// loopback port, as the tests start it (test/helpers/redis.ts). It must not
// outlive the bench however the bench ends: stop() on the way out, an 'exit'
// hook for process.exit() and the signals bench/child.ts turns into one, and
// a watchdog process that kills it when the bench's IPC channel closes, which
// covers a bench killed with SIGKILL (test/bench.test.ts's last resort).
import { spawn } from 'node:child_process'
import { Redis } from 'ioredis'
import { startRedis } from '../../test/helpers/redis.js'

export interface BenchRedis {
  url: string
  /** redis-server's version, for the report. */
  version: string
  stop(): Promise<void>
}

// Runs with `node -e`: argv[1] is the redis-server's pid.
const WATCHDOG = `
const pid = Number(process.argv[1])
process.on('disconnect', () => {
  try { process.kill(pid, 'SIGKILL') } catch {}
  process.exit(0)
})`

async function serverInfo(url: string): Promise<{ pid: number; version: string }> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, commandTimeout: 5_000 })
  client.on('error', () => {})
  try {
    await client.connect()
    const info = await client.info('server')
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1])
    const version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown'
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`redis-server at ${url} did not say its process id`)
    return { pid, version }
  } finally {
    client.disconnect()
  }
}

export async function startBenchRedis(): Promise<BenchRedis> {
  const redis = await startRedis()
  // kill() sends SIGKILL before its first await, so it works inside 'exit'.
  const onExit = (): void => void redis.kill()
  process.once('exit', onExit)
  try {
    const { pid, version } = await serverInfo(redis.url)
    const watchdog = spawn(process.execPath, ['-e', WATCHDOG, String(pid)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    // Not waiting for the watchdog to be up would leave a moment with no guard; its 'spawn' is enough (the IPC channel exists).
    await new Promise<void>((resolve, reject) => {
      watchdog.once('spawn', resolve)
      watchdog.once('error', reject)
    })
    return {
      url: redis.url,
      version,
      async stop() {
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
