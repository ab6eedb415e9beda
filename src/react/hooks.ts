import { useCallback, useEffect, useInsertionEffect, useRef, useSyncExternalStore } from 'react'
import type { Connection, ConnectionEventMap, ConnectionOptions, ConnectionStateName } from '../types.js'
import { connectionKey, hold, leaseFor, release, releaseIfUnheld, update, watch, type Lease } from './pool.js'

const NOTHING = (): void => {}
const noSubscription = (): (() => void) => NOTHING
const none = (): null => null

/**
 * The connection for `options`, or `null` for `null`. It stays the same
 * across renders while the options keep their values (callbacks may change:
 * the newest is called), and components rendering with equal options share
 * it. Its socket opens when the first of them mounts (unless `autoConnect`
 * is false) and closes shortly after the last unmounts: StrictMode's double
 * mount, Fast Refresh and quick remounts keep the one socket. New options
 * (a new `url`) close the old socket at once and open one for them.
 * During server rendering and hydration it is `null`.
 */
export function useConnection(options: ConnectionOptions | null): Connection | null {
  const key = options === null ? null : connectionKey(options)
  const subscribe = useCallback((notify: () => void) => (key === null ? NOTHING : watch(key, notify)), [key])
  // A render takes the lease (creating its connection, without a socket); a mount holds it.
  const snapshot = () => (options === null || key === null ? null : leaseFor(key, options).connection)
  const connection = useSyncExternalStore(key === null ? noSubscription : subscribe, snapshot, none)

  const held = useRef<Lease | undefined>(undefined)
  useEffect(() => {
    // New options: the socket for the old ones goes now, not after the remount delay.
    if (held.current !== undefined && held.current.key !== key) releaseIfUnheld(held.current)
    held.current = undefined
    if (options === null || key === null) return
    const lease = hold(key, options)
    held.current = lease
    return () => release(lease)
  }, [key])
  useEffect(() => {
    if (held.current !== undefined && options !== null) update(held.current, options)
  })
  return connection
}

/** The connection's top-level state, re-rendering on every change (`null` for no connection). */
export function useConnectionState(connection: Connection): ConnectionStateName
export function useConnectionState(connection: Connection | null): ConnectionStateName | null
export function useConnectionState(connection: Connection | null): ConnectionStateName | null {
  const subscribe = useCallback((notify: () => void) => (connection === null ? NOTHING : connection.on('state', notify)), [connection])
  const state = () => connection?.state ?? null
  return useSyncExternalStore(subscribe, state, state)
}

/**
 * Calls `listener` for every `type` event of the connection, synchronously,
 * the newest `listener` of the latest render, without subscribing again when
 * it changes. Nothing is batched or dropped, and nothing renders by itself:
 * set state in the listener to render.
 */
export function useConnectionEvent<K extends keyof ConnectionEventMap>(
  connection: Connection | null,
  type: K,
  listener: (event: ConnectionEventMap[K]) => void,
): void {
  const latest = useRef(listener)
  useInsertionEffect(() => {
    latest.current = listener
  })
  useEffect(() => (connection === null ? undefined : connection.on(type, (event) => latest.current(event))), [connection, type])
}
