import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'

type Argument = string | Buffer | number

/**
 * A Lua script run by its SHA1, sent whole only when Redis does not know it
 * (first use, or a Redis that restarted empty). Each runs atomically: that is
 * what makes a claim, an append or a sweep one step for every node.
 */
export class Script {
  /** Every script made, to load them all into a Redis at once. */
  static readonly all: Script[] = []

  private readonly sha: string

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex')
    Script.all.push(this)
  }

  /**
   * Loads every script into `redis`, as soon as it is (again) reachable:
   * a script sent whole after a NOSCRIPT answer would run after commands
   * issued later, and scripts must run in the order they were called.
   */
  static async loadAll(redis: Redis): Promise<void> {
    await Promise.all(Script.all.map((script) => redis.script('LOAD', script.lua)))
  }

  run(redis: Redis, keys: readonly string[], args: readonly Argument[]): Promise<unknown> {
    return redis.evalsha(this.sha, keys.length, ...keys, ...args).catch((error: unknown) => {
      if (!isNoScript(error)) throw error
      return redis.eval(this.lua, keys.length, ...keys, ...args)
    })
  }

  /** The same, with string replies as Buffers (for binary messages). */
  runBuffer(redis: Redis, keys: readonly string[], args: readonly Argument[]): Promise<unknown> {
    return redis.callBuffer('EVALSHA', this.sha, keys.length, ...keys, ...args).catch((error: unknown) => {
      if (!isNoScript(error)) throw error
      return redis.callBuffer('EVAL', this.lua, keys.length, ...keys, ...args)
    })
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT')
}

/** Lua shared by every script: Redis's own clock, so that nodes with skewed clocks agree on time. */
export const NOW = `local function now() local t = redis.call('TIME') return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
`
