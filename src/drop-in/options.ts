import { describe, invalid } from '../errors.js'
import type { ReconnectingWebSocketOptions } from './types.js'

const ARGUMENTS = { url: 'the URL as its first argument', protocols: 'the subprotocols as its second argument' } as const

/**
 * Checks what only the drop-in knows about its options; `createConnection`
 * checks the rest. Copied, so that changing the caller's object later changes nothing.
 */
export function dropInOptions(options: unknown): ReconnectingWebSocketOptions {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw invalid('LIFELINE_INVALID_OPTION', `ReconnectingWebSocket options must be an object, got ${describe(options)}`)
  }
  for (const key of ['url', 'protocols'] as const) {
    if (key in options) throw invalid('LIFELINE_INVALID_OPTION', `Unknown option ${key} for ReconnectingWebSocket: pass ${ARGUMENTS[key]}`)
  }
  const { autoConnect } = options as { autoConnect?: unknown }
  if (autoConnect !== undefined && typeof autoConnect !== 'boolean') {
    throw invalid('LIFELINE_INVALID_OPTION', `autoConnect must be true or false, got ${describe(autoConnect)}`)
  }
  return { ...(options as ReconnectingWebSocketOptions) }
}
