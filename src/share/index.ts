/**
 * Sharing one connection across tabs (the `share` option). The main entry
 * loads this chunk on demand (see deferred.ts), so an application that never
 * shares never loads it.
 */
import type { ResolvedOptions } from '../options.js'
import type { Connection, WebSocketConstructor } from '../types.js'
import { SharedConnection } from './member.js'
import { pagePlatform, type SharePlatform } from './platform.js'
import { SHARE_VERSION } from './protocol.js'

/**
 * A shared connection on `platform` (the page's own unless given), or
 * undefined where it has no Web Locks or BroadcastChannel. Rejects where the
 * lock manager refuses the page (an opaque origin: a sandboxed document or
 * frame), or where the connection cannot be made: the caller then makes one
 * of its own and says why.
 */
export async function shareConnection(options: ResolvedOptions, platformWebSocket?: WebSocketConstructor, platform?: SharePlatform): Promise<Connection | undefined> {
  const resolved = platform ?? pagePlatform(options.clock)
  if (resolved === undefined) return undefined
  try {
    // One request, granted at once or not at all (ifAvailable), proves the lock manager takes this page's.
    await resolved.locks.request(`lifeline-ws/share/${SHARE_VERSION}/probe`, { mode: 'exclusive', ifAvailable: true }, async () => {})
  } catch (error) {
    throw new Error(`share: Web Locks refuse this page (${describeError(error)}), so it cannot share: it has a connection of its own`, { cause: error })
  }
  return new SharedConnection(options, resolved, platformWebSocket)
}

function describeError(error: unknown): string {
  const { name, message } = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; message?: unknown }
  return typeof name === 'string' && typeof message === 'string' ? `${name}: ${message}`.slice(0, 200) : String(error).slice(0, 200)
}

export { SharedConnection } from './member.js'
export type { SharePlatform, LockManagerLike, ChannelLike, LifecycleSignal } from './platform.js'
export { BEAT_MS, LAPSE_MS, LAPSE_JITTER_MS, PROBE_MS, TERM_SLACK_MS, TERM_STEP } from './election.js'
export { SETTLE_MS, HIDDEN_HANDOVER_MS } from './group.js'
