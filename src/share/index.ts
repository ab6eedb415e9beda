/**
 * Sharing one connection across tabs (the `share` option). The main entry
 * loads this chunk on demand (see deferred.ts), so an application that never
 * shares never loads it.
 */
import type { ResolvedOptions } from '../options.js'
import type { Connection, WebSocketConstructor } from '../types.js'
import { SharedConnection } from './member.js'
import { pagePlatform, type SharePlatform } from './platform.js'

/** A shared connection on `platform` (the page's own unless given). */
export function shareConnection(options: ResolvedOptions, platformWebSocket?: WebSocketConstructor, platform?: SharePlatform): Connection | undefined {
  const resolved = platform ?? pagePlatform(options.clock)
  return resolved === undefined ? undefined : new SharedConnection(options, resolved, platformWebSocket)
}

export { SharedConnection } from './member.js'
export type { SharePlatform, LockManagerLike, ChannelLike, LifecycleSignal } from './platform.js'
export { BEAT_MS, LAPSE_MS, LAPSE_JITTER_MS, PROBE_MS, TERM_SLACK_MS, TERM_STEP } from './election.js'
export { SETTLE_MS, HIDDEN_HANDOVER_MS } from './group.js'
