/**
 * What sharing needs from the platform: Web Locks to elect one tab, a
 * BroadcastChannel to talk, and the page's lifecycle to leave in time.
 * Browsers supply them; tests supply fakes.
 */
import type { Clock } from '../types.js'

/** The part of `navigator.locks` sharing uses. */
export interface LockManagerLike {
  request(name: string, options: LockRequestOptions, callback: (lock: unknown) => Promise<unknown>): Promise<unknown>
  query(): Promise<{ held?: readonly LockInfoLike[]; pending?: readonly LockInfoLike[] }>
}

/** A request's options, as `navigator.locks.request()` takes them. */
export interface LockRequestOptions {
  mode?: 'exclusive'
  signal?: AbortSignal
  steal?: boolean
  ifAvailable?: boolean
}

/** What `navigator.locks.query()` says of a lock. */
export interface LockInfoLike {
  name?: string
  clientId?: string
}

/** A BroadcastChannel, as sharing uses it. */
export interface ChannelLike {
  postMessage(message: unknown): void
  close(): void
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void
}

/** What the page says about its own life: leaving (`pagehide`, `freeze`) and coming back (`pageshow` from the cache, `resume`). */
export type LifecycleSignal = 'leave' | 'return'

/** Everything a shared connection needs from its platform. */
export interface SharePlatform {
  locks: LockManagerLike
  channel(name: string): ChannelLike
  /** Calls `listener` when the page leaves or comes back; returns the unsubscribe function. */
  lifecycle: ((listener: (signal: LifecycleSignal) => void) => () => void) | undefined
  /** Whether the page is visible now, and a subscription to changes (the step-down rule). */
  visibility: { isVisible(): boolean; subscribe(listener: () => void): () => void } | undefined
  /** Timers and time; real ones unless a test gives its own. */
  clock: Clock
  /** 16 random hex digits: member ids. */
  randomId(): string
}

interface PageGlobals {
  navigator?: { locks?: Partial<LockManagerLike> }
  BroadcastChannel?: new (name: string) => ChannelLike
  document?: { visibilityState?: string; addEventListener(type: string, listener: () => void): void; removeEventListener(type: string, listener: () => void): void }
  addEventListener?: (type: string, listener: (event: { persisted?: boolean }) => void) => void
  removeEventListener?: (type: string, listener: (event: { persisted?: boolean }) => void) => void
  crypto?: { getRandomValues(array: Uint8Array): Uint8Array }
}

const REAL_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (id) => globalThis.clearTimeout(id as ReturnType<typeof setTimeout>),
}

function randomId(crypto: PageGlobals['crypto']): string {
  const bytes = new Uint8Array(8)
  if (crypto !== undefined) crypto.getRandomValues(bytes)
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256)
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** The page's own platform, or undefined where Web Locks or BroadcastChannel is missing. */
export function pagePlatform(clock: Clock | undefined, page: PageGlobals = globalThis as PageGlobals): SharePlatform | undefined {
  const locks = page.navigator?.locks
  const Channel = page.BroadcastChannel
  if (typeof locks?.request !== 'function' || typeof locks.query !== 'function' || typeof Channel !== 'function') return undefined
  const { document } = page
  const hasPage = typeof page.addEventListener === 'function' && typeof document?.addEventListener === 'function'
  return {
    locks: locks as LockManagerLike,
    channel: (name) => new Channel(name),
    lifecycle: hasPage
      ? (listener) => {
          const leave = (): void => listener('leave')
          const show = (event: { persisted?: boolean }): void => {
            if (event.persisted === true) listener('return')
          }
          const resume = (): void => listener('return')
          page.addEventListener!('pagehide', leave)
          page.addEventListener!('pageshow', show)
          document!.addEventListener('freeze', leave)
          document!.addEventListener('resume', resume)
          return () => {
            page.removeEventListener?.('pagehide', leave)
            page.removeEventListener?.('pageshow', show)
            document!.removeEventListener('freeze', leave)
            document!.removeEventListener('resume', resume)
          }
        }
      : undefined,
    visibility: hasPage
      ? {
          isVisible: () => document!.visibilityState !== 'hidden',
          subscribe(listener) {
            document!.addEventListener('visibilitychange', listener)
            return () => document!.removeEventListener('visibilitychange', listener)
          },
        }
      : undefined,
    clock: clock ?? REAL_CLOCK,
    randomId: () => randomId(page.crypto),
  }
}
