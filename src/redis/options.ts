import { randomUUID } from 'node:crypto'
import { describe, invalid } from '../errors.js'

/** Options of {@link redisCluster}. */
export interface RedisClusterOptions {
  /**
   * Where Redis listens, e.g. `redis://127.0.0.1:6379` (a single Redis or a
   * primary; the Lua scripts touch several keys, so Redis Cluster is not supported).
   */
  url?: string | undefined
  /**
   * Prefix of every key and channel, so that several applications can share one Redis.
   * @default 'lifeline'
   */
  prefix?: string | undefined
  /**
   * This node's id in the cluster (in keys, channels and error messages).
   * @default a random UUID
   */
  node?: string | undefined
  /**
   * Milliseconds between this node's beats. A node whose last beat is older
   * than `nodeTtl` is dead: its names are released and its sessions set to expire.
   * @default 1000
   */
  beatInterval?: number | undefined
  /**
   * Milliseconds after its last beat at which a node counts as dead.
   * @default 5000
   */
  nodeTtl?: number | undefined
  /**
   * Milliseconds a Redis command may take before it counts as failed.
   * @default 2000
   */
  commandTimeout?: number | undefined
}

export interface ResolvedRedisOptions {
  url: string
  prefix: string
  node: string
  beatInterval: number
  nodeTtl: number
  commandTimeout: number
}

function fail(name: string, expected: string, value: unknown): never {
  throw invalid('LIFELINE_INVALID_OPTION', `redisCluster() ${name} must be ${expected}, got ${describe(value)}`)
}

function ms(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 2_147_483_647) {
    fail(name, 'a positive number of milliseconds (at most 2147483647)', value)
  }
  return value
}

const KNOWN = new Set(['url', 'prefix', 'node', 'beatInterval', 'nodeTtl', 'commandTimeout'])

export function resolveRedisOptions(options: unknown): ResolvedRedisOptions {
  const o = (options ?? {}) as Record<string, unknown>
  if (typeof o !== 'object') fail('options', 'an object', options)
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw invalid('LIFELINE_INVALID_OPTION', `Unknown redisCluster() option ${key}; expected one of ${[...KNOWN].join(', ')}`)
  }
  const url = o.url ?? 'redis://127.0.0.1:6379'
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) fail('url', 'a redis:// or rediss:// URL', url)
  const prefix = o.prefix ?? 'lifeline'
  if (typeof prefix !== 'string' || !/^[\w.:-]{1,64}$/.test(prefix)) fail('prefix', 'a string of 1–64 letters, digits, _ . : -', prefix)
  const node = o.node ?? randomUUID()
  if (typeof node !== 'string' || !/^[\w.-]{1,64}$/.test(node)) fail('node', 'a string of 1–64 letters, digits, _ . -', node)
  const beatInterval = ms('beatInterval', o.beatInterval, 1_000)
  const nodeTtl = ms('nodeTtl', o.nodeTtl, 5_000)
  if (nodeTtl < beatInterval * 2) fail('nodeTtl', `at least twice beatInterval (${beatInterval * 2})`, nodeTtl)
  return { url, prefix, node, beatInterval, nodeTtl, commandTimeout: ms('commandTimeout', o.commandTimeout, 2_000) }
}
