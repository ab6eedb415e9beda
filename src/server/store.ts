import type { SessionState, SessionStore } from './types.js'

/**
 * A {@link SessionStore} in this process's memory, with expiry. A server
 * without a `sessionStore` needs none (its away sessions stay in its own
 * memory); this one serves as a reference implementation and lets several
 * servers in one process share their sessions.
 */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, { state: SessionState; timer: NodeJS.Timeout }>()

  load(key: string): SessionState | undefined {
    return this.sessions.get(key)?.state
  }

  save(key: string, state: SessionState, ttl: number): void {
    this.delete(key)
    // setTimeout wraps delays above 2^31 - 1 ms to 1 ms: a longer ttl is kept that long.
    const timer = setTimeout(() => this.sessions.delete(key), Math.min(ttl, 2_147_483_647)).unref()
    this.sessions.set(key, { state, timer })
  }

  delete(key: string): void {
    const entry = this.sessions.get(key)
    if (entry === undefined) return
    clearTimeout(entry.timer)
    this.sessions.delete(key)
  }

  /** Sessions held. */
  get size(): number {
    return this.sessions.size
  }

  /** Forgets every session. */
  clear(): void {
    for (const key of [...this.sessions.keys()]) this.delete(key)
  }
}

/** Why a store call counts as failed when it did not settle in time. */
export class StoreTimeout extends Error {
  override name = 'StoreTimeout'
}

/**
 * Calls a store method so that nothing it does can escape: a synchronous
 * throw becomes a rejection, and a call that has not settled within `ms`
 * rejects with {@link StoreTimeout} (its late result is ignored).
 */
export function callStore<T>(call: () => T | PromiseLike<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StoreTimeout(`${what} did not settle within sessionStoreTimeout (${ms} ms)`)), ms)
    timer.unref()
    new Promise<T>((settle) => settle(call())).then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}
