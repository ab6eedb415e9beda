/**
 * Turns whatever an event or a context holds into plain, bounded JSON: a
 * trace must survive `JSON.stringify`, and nothing a peer sent (a close
 * reason, an error message, a frame) may make it grow without bound.
 */

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** Longest string kept (longer ones are cut and end with `…`). */
export const MAX_STRING = 240
const MAX_KEYS = 40
const MAX_ITEMS = 40
const MAX_DEPTH = 5

function cut(text: string): string {
  return text.length > MAX_STRING ? `${text.slice(0, MAX_STRING - 1)}…` : text
}

function errorJson(error: Error, depth: number, seen: Set<object>): Json {
  const out: { [key: string]: Json } = { name: cut(String(error.name)), message: cut(String(error.message)) }
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' || typeof code === 'number') out.code = typeof code === 'string' ? cut(code) : code
  const cause = (error as { cause?: unknown }).cause
  if (cause !== undefined && depth < MAX_DEPTH) out.cause = toJson(cause, depth + 1, seen)
  return out
}

/** `value` as bounded JSON; `undefined` and functions become `null` in arrays and are left out of objects. */
export function toJson(value: unknown, depth = 0, seen: Set<object> = new Set()): Json {
  switch (typeof value) {
    case 'string':
      return cut(value)
    case 'number':
      return Number.isFinite(value) ? value : String(value)
    case 'boolean':
      return value
    case 'bigint':
      return `${value}n`
    case 'symbol':
      return cut(String(value))
    case 'undefined':
    case 'function':
      return null
  }
  if (value === null) return null
  const object = value as object
  if (seen.has(object)) return '[circular]'
  if (depth >= MAX_DEPTH) return '[…]'
  seen.add(object)
  try {
    if (object instanceof Error) return errorJson(object, depth, seen)
    if (object instanceof ArrayBuffer || ArrayBuffer.isView(object)) return `[${(object as ArrayBuffer).byteLength} bytes]`
    if (typeof Blob !== 'undefined' && object instanceof Blob) return `[Blob, ${object.size} bytes]`
    if (typeof (object as { toJSON?: unknown }).toJSON === 'function') {
      try {
        return toJson((object as { toJSON(): unknown }).toJSON(), depth + 1, seen)
      } catch {
        return '[unserialisable]'
      }
    }
    if (Array.isArray(object)) {
      const items = Array.from({ length: Math.min(object.length, MAX_ITEMS) }, (_, i) => toJson(object[i], depth + 1, seen))
      if (object.length > MAX_ITEMS) items.push(`[${object.length - MAX_ITEMS} more]`)
      return items
    }
    const out: { [key: string]: Json } = {}
    let count = 0
    for (const key of Object.keys(object)) {
      let item: unknown
      try {
        item = (object as Record<string, unknown>)[key]
      } catch {
        item = '[unreadable]'
      }
      if (item === undefined || typeof item === 'function') continue
      if (count++ === MAX_KEYS) {
        out['…'] = 'more keys left out'
        break
      }
      out[cut(key)] = toJson(item, depth + 1, seen)
    }
    return out
  } catch {
    return '[unserialisable]' // a proxy or a getter that throws
  } finally {
    seen.delete(object)
  }
}

/** A snapshot's context as JSON, without the handle of the adapter that runs it (`adapter`). */
export function contextJson(context: unknown): { [key: string]: Json } {
  if (typeof context !== 'object' || context === null) return {}
  const { adapter: _adapter, ...rest } = context as Record<string, unknown>
  const json = toJson(rest)
  return typeof json === 'object' && json !== null && !Array.isArray(json) ? json : {}
}
