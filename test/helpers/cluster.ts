/**
 * Server processes of a test cluster (test/fixtures/cluster-node.ts), each
 * a real child process with its own lifeline server on 127.0.0.1, joined
 * through a real Redis. Killed with SIGKILL when a test wants a crash;
 * every one is stopped by `stopNodes()`.
 */
import { fork, type ChildProcess } from 'node:child_process'
import type { HeartbeatServerOptions } from '../../src/server/index.js'
import type { RedisClusterOptions } from '../../src/redis/index.js'

const FIXTURE = new URL('../fixtures/cluster-node.ts', import.meta.url).pathname

export interface NodeEvent {
  type: 'connection' | 'message' | 'disconnect' | 'session-lost' | 'error'
  name?: string
  data?: string
  seq?: number
  session?: string
  code?: number | string
  reason?: string
  message?: string
  messages?: string[]
  lost?: number
}

export interface TestNode {
  port: number
  events: NodeEvent[]
  url(name: string): string
  send(name: string, data: string): Promise<boolean>
  broadcast(data: string): Promise<number>
  /** SIGKILL: no close, no goodbye to Redis. */
  kill(): Promise<void>
  /** SIGSTOP for `ms`, then SIGCONT: a stall (a long GC pause, a suspended VM). */
  stall(ms: number): Promise<void>
  /** A graceful close(). */
  close(): Promise<void>
  alive(): boolean
}

const running = new Set<ChildProcess>()

export async function startNode(settings: { redis: RedisClusterOptions; server?: Partial<HeartbeatServerOptions>; port?: number }): Promise<TestNode> {
  const child = fork(FIXTURE, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, LIFELINE_NODE: JSON.stringify({ server: {}, ...settings }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  running.add(child)
  child.once('exit', () => running.delete(child))
  const events: NodeEvent[] = []
  const results = new Map<number, (value: unknown) => void>()
  let next = 0
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the cluster node did not listen within 15 s')), 15_000)
    child.on('message', (message: Omit<NodeEvent, 'type'> & { type: NodeEvent['type'] | 'listening' | 'result'; port?: number; id?: number; value?: unknown }) => {
      if (message.type === 'listening') {
        clearTimeout(timer)
        resolve(message.port!)
      } else if (message.type === 'result') {
        results.get(message.id!)?.(message.value)
        results.delete(message.id!)
      } else events.push(message as NodeEvent)
    })
    child.once('exit', (code) => reject(new Error(`the cluster node exited with ${code} before listening`)))
  })
  const ask = <T>(command: Record<string, unknown>): Promise<T> => new Promise<T>((resolve, reject) => {
    const id = next++
    results.set(id, resolve as (value: unknown) => void)
    child.send({ ...command, id })
    const timer = setTimeout(() => reject(new Error(`the cluster node did not answer ${String(command.type)}`)), 10_000)
    timer.unref()
  })
  const exited = (): Promise<void> => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())))
  return {
    port,
    events,
    url: (name) => `ws://127.0.0.1:${port}/?name=${encodeURIComponent(name)}`,
    send: (name, data) => ask<boolean>({ type: 'send', name, data }),
    broadcast: (data) => ask<number>({ type: 'broadcast', data }),
    async kill() {
      child.kill('SIGKILL')
      await exited()
    },
    async stall(ms) {
      child.kill('SIGSTOP')
      await new Promise((resolve) => setTimeout(resolve, ms))
      child.kill('SIGCONT')
    },
    async close() {
      await ask({ type: 'close' })
      await exited()
    },
    alive: () => child.exitCode === null && child.signalCode === null,
  }
}

/** Kills every node still running. */
export async function stopNodes(): Promise<void> {
  await Promise.all([...running].map((child) => new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })))
}
