import type { ServerCluster } from '../server/cluster.js'
import { RedisCluster } from './cluster.js'
import { resolveRedisOptions, type RedisClusterOptions } from './options.js'

export type { RedisClusterOptions } from './options.js'
export type { ServerCluster } from '../server/cluster.js'

/**
 * A cluster of lifeline servers over one Redis, for
 * `createHeartbeatServer({ cluster: redisCluster({ url }) })` in every
 * process: names are cluster-wide, `send()` and `broadcast()` reach clients
 * on any node, and with `delivery: 'reliable'` sessions live in Redis,
 * written as they change, so a client resumes on any node and a node
 * killed outright loses nothing it had acknowledged. Needs the `ioredis`
 * package (a peer dependency). Options are validated at once.
 */
export function redisCluster(options: RedisClusterOptions = {}): ServerCluster {
  return new RedisCluster(resolveRedisOptions(options))
}
