import { createConnection } from '../connection.js'
import type { Connection, ConnectionOptions } from '../types.js'
import { withLatestCallbacks } from './key.js'

/**
 * A remount within this many milliseconds keeps the socket: StrictMode's
 * second mount, Fast Refresh, a parent that swaps one component for another
 * with the same options.
 */
export const RELEASE_DELAY = 250

/** A connection made by a render that never committed (concurrent rendering, Suspense) is let go after this. */
export const UNCLAIMED_DELAY = 5_000

/**
 * One connection outside React, shared by the components that render with
 * the same options and counted by them: created without a socket by the
 * first render, opened by the first mount, closed a short while after the last unmount.
 */
export interface Lease {
  readonly key: string
  readonly connection: Connection
  /**
   * Each holder's (a mounted component's) latest committed options, the
   * longest-standing holder first: its callbacks are the ones called, so a
   * sibling's render does not swap them.
   */
  readonly owners: Map<object, { options: ConnectionOptions; holds: number }>
  /** The options whose callbacks are called while nobody holds: the first render's, then the last holder's. */
  fallback: ConnectionOptions
  opened: boolean
  ended: boolean
  timer: ReturnType<typeof setTimeout> | undefined
}

const leases = new Map<string, Lease>()
const watchers = new Map<string, Set<() => void>>()

function create(key: string, options: ConnectionOptions): Lease {
  const current = () => lease.owners.values().next().value?.options ?? lease.fallback
  // The socket waits for a mount: a render alone must not open one.
  const connection = createConnection({ ...withLatestCallbacks(options, current), autoConnect: false })
  const lease: Lease = { key, connection, owners: new Map(), fallback: options, opened: false, ended: false, timer: undefined }
  lease.timer = setTimeout(() => end(lease), UNCLAIMED_DELAY)
  leases.set(key, lease)
  return lease
}

/** Closes the socket (with a handshake), then disposes of the connection once it is idle. */
function retire(connection: Connection): void {
  const atRest = () => connection.state === 'idle' || connection.state === 'failed'
  const dispose = () => connection.dispose()
  if (atRest()) return dispose()
  const stop = connection.on('state', () => {
    if (!atRest()) return
    stop()
    queueMicrotask(dispose)
  })
  connection.close()
}

function end(lease: Lease): void {
  if (lease.ended) return
  lease.ended = true
  clearTimeout(lease.timer)
  if (leases.get(lease.key) === lease) leases.delete(lease.key)
  retire(lease.connection)
  for (const notify of [...(watchers.get(lease.key) ?? [])]) notify()
}

/** The lease for `options`, created (without a socket) if there is none. For renders. */
export function leaseFor(key: string, options: ConnectionOptions): Lease {
  return leases.get(key) ?? create(key, options)
}

/** Takes a hold on the lease for `key` for `owner` (a mounted component); the first hold opens its socket. */
export function hold(key: string, owner: object, options: ConnectionOptions): Lease {
  const lease = leaseFor(key, options)
  const held = lease.owners.get(owner)
  if (held === undefined) lease.owners.set(owner, { options, holds: 1 })
  else Object.assign(held, { options, holds: held.holds + 1 })
  clearTimeout(lease.timer)
  lease.timer = undefined
  if (!lease.opened) {
    lease.opened = true
    if (options.autoConnect !== false) lease.connection.open()
  }
  return lease
}

/** Lets go of one of `owner`'s holds; the last hold ends the lease after {@link RELEASE_DELAY}, or at once with `now`. */
export function release(lease: Lease, owner: object, now = false): void {
  if (lease.ended) return
  const held = lease.owners.get(owner)
  if (held === undefined) return
  if (--held.holds === 0) {
    lease.owners.delete(owner)
    lease.fallback = held.options
  }
  if (lease.owners.size > 0) return
  clearTimeout(lease.timer)
  if (now) end(lease)
  else lease.timer = setTimeout(() => end(lease), RELEASE_DELAY)
}

/** Ends a lease nobody holds at once (its options changed: the old socket goes now). */
export function endIfUnheld(lease: Lease): void {
  if (lease.owners.size === 0) end(lease)
}

/** Calls `notify` when the lease for `key` ends, so that a render that took it can take the next. */
export function watch(key: string, notify: () => void): () => void {
  let set = watchers.get(key)
  if (set === undefined) watchers.set(key, (set = new Set()))
  set.add(notify)
  return () => {
    set.delete(notify)
    if (set.size === 0 && watchers.get(key) === set) watchers.delete(key)
  }
}

/** Makes `options` `owner`'s latest: their callbacks are called while `owner` is the longest-standing holder. */
export function update(lease: Lease, owner: object, options: ConnectionOptions): void {
  const held = lease.owners.get(owner)
  if (!lease.ended && held !== undefined) held.options = options
}
