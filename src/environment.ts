import type { EnvironmentSource } from './types.js'

/** An environment you drive by hand, for Node and tests. */
export interface ManualEnvironment extends EnvironmentSource {
  /** Hides or shows the page; showing it is a wake-up. */
  setVisible(visible: boolean): void
  /** Signals a wake-up (back/forward cache, resume after freeze). */
  wake(): void
}

/** Creates a {@link ManualEnvironment}, visible unless told otherwise. */
export function createManualEnvironment(visible = true): ManualEnvironment {
  const listeners = new Set<(signal: 'visible' | 'hidden' | 'wake') => void>()
  const tell = (signal: 'visible' | 'hidden' | 'wake'): void => {
    for (const listener of [...listeners]) listener(signal)
  }
  return {
    isVisible: () => visible,
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    setVisible(next) {
      if (next === visible) return
      visible = next
      tell(visible ? 'visible' : 'hidden')
    },
    wake: () => tell('wake'),
  }
}

interface PageGlobals {
  document?: { visibilityState?: string; addEventListener(type: string, listener: () => void): void; removeEventListener(type: string, listener: () => void): void }
  addEventListener?: (type: string, listener: (event: { persisted?: boolean }) => void) => void
  removeEventListener?: (type: string, listener: (event: { persisted?: boolean }) => void) => void
}

/**
 * The page's own signals: `visibilitychange`, `pageshow` from the
 * back/forward cache, and the document's `resume` after a freeze. Returns
 * undefined where there is no document (Node).
 */
export function browserEnvironment(target: PageGlobals = globalThis as PageGlobals): EnvironmentSource | undefined {
  const { document } = target
  if (document === undefined || typeof document.addEventListener !== 'function' || typeof target.addEventListener !== 'function') return undefined
  const isVisible = (): boolean => document.visibilityState !== 'hidden'
  return {
    isVisible,
    subscribe(listener) {
      const visibility = (): void => listener(isVisible() ? 'visible' : 'hidden')
      const pageshow = (event: { persisted?: boolean }): void => {
        if (event.persisted === true) listener('wake')
      }
      const resume = (): void => listener('wake')
      document.addEventListener('visibilitychange', visibility)
      document.addEventListener('resume', resume)
      target.addEventListener?.('pageshow', pageshow)
      return () => {
        document.removeEventListener('visibilitychange', visibility)
        document.removeEventListener('resume', resume)
        target.removeEventListener?.('pageshow', pageshow)
      }
    },
  }
}
