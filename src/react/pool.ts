import { createConnection } from '../connection.js'
import type { Connection, ConnectionOptions } from '../types.js'
import { connectionKey, withLatestCallbacks } from './key.js'

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
  /** The options of the latest committed render: its callbacks are the ones called. */
  readonly latest: { current: ConnectionOptions }
  holders: number
  opened: boolean
  ended: boolean
  timer: ReturnType<typeof setTimeout> | undefined
}

const leases = new Map<string, Lease>()
const watchers = new Map<string, Set<() => void>>()

function create(key: string, options: ConnectionOptions): Lease {
  const latest = { current: options }
  // The socket waits for a mount: a render alone must not open one.
  const connection = createConnection({ ...withLatestCallbacks(options, () => latest.current), autoConnect: false })
  const lease: Lease = { key, connection, latest, holders: 0, opened: false, ended: false, timer: undefined }
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

/** Takes a hold on the lease for `key` (a mounted component); the first hold opens its socket. */
export function hold(key: string, options: ConnectionOptions): Lease {
  const lease = leaseFor(key, options)
  lease.latest.current = options
  lease.holders++
  clearTimeout(lease.timer)
  lease.timer = undefined
  if (!lease.opened) {
    lease.opened = true
    if (options.autoConnect !== false) lease.connection.open()
  }
  return lease
}

/** Lets go of a hold; the last one ends the lease after {@link RELEASE_DELAY}, or at once with `now`. */
export function release(lease: Lease, now = false): void {
  if (lease.ended) return
  if (lease.holders > 0) lease.holders--
  if (lease.holders > 0) return
  clearTimeout(lease.timer)
  if (now) end(lease)
  else lease.timer = setTimeout(() => end(lease), RELEASE_DELAY)
}

/** Ends a lease nobody holds at once (its options changed: the old socket goes now). */
export function releaseIfUnheld(lease: Lease): void {
  if (lease.holders === 0) release(lease, true)
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

/** Makes `options` the ones whose callbacks the lease's connection calls. */
export function update(lease: Lease, options: ConnectionOptions): void {
  if (!lease.ended) lease.latest.current = options
}

export { connectionKey }
