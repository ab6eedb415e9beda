// Small async helpers with bounds: every wait in the bench has a deadline.
import { performance } from 'node:perf_hooks'

export const now = (): number => performance.now()

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export interface Deferred<T> {
  promise: Promise<T>
  resolve(value: T): void
  settled: boolean
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  const d: Deferred<T> = {
    promise: new Promise<T>((r) => (resolve = r)),
    resolve: (value) => {
      if (d.settled) return
      d.settled = true
      resolve(value)
    },
    settled: false,
  }
  return d
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** `promise`'s value, or `null` when it has not settled after `ms`. */
export async function orNull<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)))
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Runs `count` tasks, `concurrency` at a time. */
export async function inBatches(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < count; start += concurrency) {
    await Promise.all(Array.from({ length: Math.min(concurrency, count - start) }, (_, k) => task(start + k)))
  }
}

/**
 * Runs `task` for every item: one after another (measurements must not share
 * the machine), or all at once in --quick mode, where only completion counts.
 */
export async function each<T>(items: readonly T[], parallel: boolean, task: (item: T) => Promise<void>): Promise<void> {
  if (parallel) {
    await Promise.all(items.map(task))
    return
  }
  for (const item of items) await task(item)
}
