import type { NetworkSource } from './types.js'

/** A network source you drive by hand, for Node and tests. */
export interface ManualNetwork extends NetworkSource {
  /** Sets the status and tells subscribers when it changes. */
  set(online: boolean): void
}

/** Creates a {@link ManualNetwork}, online unless told otherwise. */
export function createManualNetwork(online = true): ManualNetwork {
  const listeners = new Set<(online: boolean) => void>()
  return {
    isOnline: () => online,
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    set(next) {
      if (next === online) return
      online = next
      for (const listener of [...listeners]) listener(online)
    },
  }
}

interface BrowserGlobals {
  navigator?: { onLine?: boolean }
  addEventListener?: (type: string, listener: () => void) => void
  removeEventListener?: (type: string, listener: () => void) => void
}

/**
 * The browser's network status: `navigator.onLine` and the window's
 * `online`/`offline` events. Returns undefined where they do not exist (Node).
 */
export function browserNetwork(target: BrowserGlobals = globalThis as BrowserGlobals): NetworkSource | undefined {
  const { navigator } = target
  if (typeof target.addEventListener !== 'function' || typeof navigator?.onLine !== 'boolean') return undefined
  return {
    isOnline: () => navigator.onLine !== false,
    subscribe(listener) {
      const online = (): void => listener(true)
      const offline = (): void => listener(false)
      target.addEventListener?.('online', online)
      target.addEventListener?.('offline', offline)
      return () => {
        target.removeEventListener?.('online', online)
        target.removeEventListener?.('offline', offline)
      }
    },
  }
}
