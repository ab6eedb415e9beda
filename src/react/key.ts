import type { ConnectionOptions } from '../types.js'

// Objects compared by identity get a number each (held weakly).
const ids = new WeakMap<object, number>()
let nextId = 1

function identity(value: object): string {
  let id = ids.get(value)
  if (id === undefined) ids.set(value, (id = nextId++))
  return `#${id}`
}

const isPlainObject = (value: object): boolean => {
  const prototype = Object.getPrototypeOf(value) as object | null
  return prototype === Object.prototype || prototype === null
}

// Constructors are the implementation itself, not a callback to keep current.
const BY_IDENTITY = new Set(['WebSocket'])

function describe(value: unknown, name: string): unknown {
  if (typeof value === 'function') return BY_IDENTITY.has(name) ? identity(value) : 'ƒ'
  if (typeof value !== 'object' || value === null) {
    return typeof value === 'number' || typeof value === 'bigint' || typeof value === 'symbol' ? `${typeof value}:${String(value)}` : value
  }
  if (value instanceof URL) return `url:${value.href}`
  if (Array.isArray(value)) return value.map((item) => describe(item, name))
  if (!isPlainObject(value)) return identity(value)
  const entries = Object.keys(value)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map((key) => [key, describe((value as Record<string, unknown>)[key], key)])
  return Object.fromEntries(entries)
}

/**
 * What makes one connection different from another: every option by value,
 * except functions (callbacks: the newest is always called, so an inline
 * `url: () => …` or `shouldReconnect` does not make a new socket per render),
 * objects that are not plain (network, environment, clock: by identity) and
 * the `WebSocket` constructor (by identity).
 */
export function connectionKey(options: ConnectionOptions): string {
  return JSON.stringify(describe(options, ''))
}

type Path = readonly string[]

function at(options: unknown, path: Path): unknown {
  let value = options
  for (const key of path) value = (value as Record<string, unknown> | undefined)?.[key]
  return value
}

/**
 * `options` with each callback replaced by one that calls the callback at the
 * same place in `current()`: the options of the latest render.
 */
export function withLatestCallbacks(options: ConnectionOptions, current: () => ConnectionOptions): ConnectionOptions {
  const wrap = (value: unknown, path: Path): unknown => {
    if (typeof value === 'function') {
      if (BY_IDENTITY.has(path.at(-1) ?? '')) return value
      return (...args: unknown[]) => {
        const latest = at(current(), path)
        return (typeof latest === 'function' ? latest : value)(...args)
      }
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !isPlainObject(value)) return value
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, wrap(item, [...path, key])]))
  }
  return wrap(options, []) as ConnectionOptions
}
