import { useCallback, useEffect, useInsertionEffect, useRef, useState, useSyncExternalStore } from 'react'
import { invalid } from '../errors.js'
import type { Connection, ConnectionEventMap, ConnectionOptions, ConnectionStateName } from '../types.js'
import { leaseKey } from './key.js'
import { endIfUnheld, hold, leaseFor, release, update, watch, type Lease } from './pool.js'

const NOTHING = (): void => {}
const noSubscription = (): (() => void) => NOTHING
const none = (): null => null
const newOwner = (): object => ({})

/** How {@link useConnection} shares its connection. */
export interface UseConnectionOptions {
  /**
   * Components that give the same key and equal options share one
   * connection; a new key makes a new connection (the old socket closes at
   * once). Without one, components share by equal options, except when `url`
   * is a function: then the connection is the component's own.
   * @default undefined
   */
  key?: string | undefined
}

function keyOf(use: UseConnectionOptions | undefined): string | undefined {
  const key: unknown = use?.key
  if (key === undefined || typeof key === 'string') return key
  throw invalid('LIFELINE_INVALID_OPTION', `Expected useConnection's key to be a string, got ${typeof key === 'object' ? (key === null ? 'null' : 'an object') : typeof key}`)
}

/**
 * The connection for `options`, or `null` for `null`. It stays the same
 * across renders while the options keep their values (callbacks may change:
 * the newest is called), and components rendering with equal options share
 * it, unless `url` is a function and no `key` says which components share
 * (see {@link UseConnectionOptions}). Its socket opens when the first of them mounts (unless `autoConnect`
 * is false) and closes shortly after the last unmounts: StrictMode's double
 * mount, Fast Refresh and quick remounts keep the one socket. New options
 * (a new `url`) close the old socket at once and open one for them.
 * During server rendering and hydration it is `null`.
 */
export function useConnection(options: ConnectionOptions | null, use?: UseConnectionOptions): Connection | null {
  const [owner] = useState(newOwner)
  const key = options === null ? null : leaseKey(options, owner, keyOf(use))
  const subscribe = useCallback((notify: () => void) => (key === null ? NOTHING : watch(key, notify)), [key])
  // A render takes the lease (creating its connection, without a socket); a mount holds it.
  const snapshot = () => (options === null || key === null ? null : leaseFor(key, options).connection)
  const connection = useSyncExternalStore(key === null ? noSubscription : subscribe, snapshot, none)

  const held = useRef<Lease | undefined>(undefined)
  useEffect(() => {
    // New options: the socket for the old ones goes now, not after the remount delay.
    if (held.current !== undefined && held.current.key !== key) endIfUnheld(held.current)
    held.current = undefined
    if (options === null || key === null) return
    const lease = hold(key, owner, options)
    held.current = lease
    return () => release(lease, owner)
  }, [key])
  useEffect(() => {
    if (held.current !== undefined && options !== null) update(held.current, owner, options)
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
