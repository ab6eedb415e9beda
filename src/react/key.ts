import type { ConnectionOptions } from '../types.js'

// Objects compared by identity get a number each (held weakly).
const ids = new WeakMap<object, number>()
let nextId = 1

function identity(value: object): string {
  let id = ids.get(value)
  if (id === undefined) ids.set(value, (id = nextId++))
  return `#${id}`
}

// The option groups compared member by member, and whose functions are callbacks.
// Every other object (network, environment, clock, an inspector, binary ping
// data) is the application's own thing: compared by identity, passed as it is.
const GROUPS = new Set(['heartbeat', 'reconnect', 'buffer'])
// Constructors are the implementation itself, not a callback to keep current.
const BY_IDENTITY = new Set(['WebSocket'])

const isGroup = (value: unknown, name: string): value is object =>
  GROUPS.has(name) && typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype

function describe(value: unknown, name: string): unknown {
  if (typeof value === 'function') return BY_IDENTITY.has(name) ? identity(value) : 'ƒ'
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'symbol') return `${typeof value}:${String(value)}`
  if (typeof value !== 'object' || value === null) return value
  if (value instanceof URL) return value.href
  if (Array.isArray(value)) return value.map((item) => describe(item, name))
  if (!isGroup(value, name)) return identity(value)
  return describeMembers(value)
}

function describeMembers(bag: object): Record<string, unknown> {
  const members = Object.entries(bag).filter(([, value]) => value !== undefined)
  members.sort(([a], [b]) => (a < b ? -1 : 1))
  return Object.fromEntries(members.map(([key, value]) => [key, describe(value, key)]))
}

/**
 * What makes one connection different from another: every option by value,
 * except callbacks (the newest is always called, so an inline `url: () => …`
 * or `shouldReconnect` does not make a new socket per render), the
 * `WebSocket` constructor and objects such as `network`, `environment` and
 * `clock` (by identity: make them once, not per render).
 */
export function connectionKey(options: ConnectionOptions): string {
  return JSON.stringify(describeMembers(options))
}

/**
 * The pool's key for a component's options. A `url` function says nothing
 * comparable about where it connects (two rooms' token providers look alike),
 * so without an explicit `key` such a connection is its `owner`'s alone (a
 * component instance); with one, it is shared by the components that give the
 * same key and equal options, and a new key makes a new connection.
 */
export function leaseKey(options: ConnectionOptions, owner: object, key: string | undefined): string {
  const values = connectionKey(options)
  if (key !== undefined) return `${values} key:${JSON.stringify(key)}`
  return typeof options.url === 'function' ? `${values} owner:${identity(owner)}` : values
}

/** Calls the function at `path` of `current()` (the latest render's options), or `original` if there is none now. */
function latestAt(original: (...args: unknown[]) => unknown, path: readonly string[], current: () => ConnectionOptions) {
  return (...args: unknown[]): unknown => {
    let value: unknown = current()
    for (const key of path) value = (value as Record<string, unknown> | undefined)?.[key]
    return (typeof value === 'function' ? (value as typeof original) : original)(...args)
  }
}

/**
 * `options` with each callback (a function at the top level or in
 * `heartbeat`, `reconnect`, `buffer`, but not `WebSocket`) replaced by one
 * that calls the callback at the same place in `current()`.
 */
export function withLatestCallbacks(options: ConnectionOptions, current: () => ConnectionOptions): ConnectionOptions {
  const wrap = (bag: object, path: readonly string[]): Record<string, unknown> =>
    Object.fromEntries(Object.entries(bag).map(([key, value]: [string, unknown]) => {
      if (typeof value === 'function' && !BY_IDENTITY.has(key)) return [key, latestAt(value as (...args: unknown[]) => unknown, [...path, key], current)]
      if (path.length === 0 && isGroup(value, key)) return [key, wrap(value, [key])]
      return [key, value]
    }))
  return Object.assign({}, options, wrap(options, []))
}
