import { NOW, Script } from './script.js'

// Keys: KEYS[1] the node zset (node -> last beat, Redis time), KEYS[2] the
// names hash (name -> "node connection"). ARGV[1] is always the key prefix,
// from which per-node sets and channels are named.
const OWNER = `local function owner(value) return string.match(value, '^(%S+)') end
local function alive(node, ttl) local seen = redis.call('ZSCORE', KEYS[1], node) return seen ~= false and now() - tonumber(seen) < ttl end
`

/**
 * This node is alive: its beat, in Redis time. ARGV: prefix, node. Returns
 * 1 when the node was not among the live ones any more (a stall longer than
 * the node ttl let another node sweep it): it must claim what it holds again.
 */
export const BEAT = new Script(`${NOW}
return redis.call('ZADD', KEYS[1], now(), ARGV[2])`)

/**
 * Claims a name for a connection of this node. ARGV: prefix, node,
 * "node connection", name, policy, node ttl. A live holder elsewhere makes
 * 'reject' fail and is told to evict under 'replace'; a dead node's hold counts for nothing.
 */
export const CLAIM = new Script(`${NOW}${OWNER}
local prefix, me, value, name, policy, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local current = redis.call('HGET', KEYS[2], name)
if current and current ~= value then
  local holder = owner(current)
  if alive(holder, ttl) then
    if policy == 'reject' then return 0 end
    if holder ~= me then
      redis.call('PUBLISH', prefix .. ':node:' .. holder, cjson.encode({ t = 'evict', name = name, connection = string.sub(current, #holder + 2) }) .. '\\n')
    end
  end
  if holder ~= me then redis.call('SREM', prefix .. ':node:' .. holder .. ':names', name) end
end
redis.call('HSET', KEYS[2], name, value)
redis.call('SADD', prefix .. ':node:' .. me .. ':names', name)
return 1`)

/** Lets go of a name if this connection still holds it. ARGV: prefix, node, "node connection", name. */
export const RELEASE = new Script(`
if redis.call('HGET', KEYS[2], ARGV[4]) == ARGV[3] then
  redis.call('HDEL', KEYS[2], ARGV[4])
  redis.call('SREM', ARGV[1] .. ':node:' .. ARGV[2] .. ':names', ARGV[4])
  return 1
end
return 0`)

/**
 * Routes a message to the live node holding a name. ARGV: prefix, node,
 * name, envelope, node ttl. Returns 1 when published to another node, 2
 * when this node holds it, 0 when no live node does (or none listened).
 */
export const ROUTE = new Script(`${NOW}${OWNER}
local current = redis.call('HGET', KEYS[2], ARGV[3])
if not current then return 0 end
local holder = owner(current)
if holder == ARGV[2] then return 2 end
if not alive(holder, tonumber(ARGV[5])) then return 0 end
if redis.call('PUBLISH', ARGV[1] .. ':node:' .. holder, ARGV[4]) == 0 then return 0 end
return 1`)

/**
 * Forgets nodes whose beat is older than the node ttl, in one step with all
 * they held: their names are released, and the reliable sessions they owned
 * are set to expire, each under a new epoch, so that a node that was only
 * stalled finds its writes refused when it wakes and lets its clients go.
 * ARGV: prefix, node ttl, and a node leaving of its own accord (swept alone,
 * whatever other nodes lapsed), or ''. Returns the nodes swept.
 */
export const SWEEP = new Script(`${NOW}${OWNER}
local prefix, ttl, leaving = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local t = now()
local dead
if leaving ~= '' then dead = { leaving } else dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (t - ttl), 'LIMIT', 0, 16) end
for _, node in ipairs(dead) do
  local held = prefix .. ':node:' .. node .. ':names'
  for _, name in ipairs(redis.call('SMEMBERS', held)) do
    local current = redis.call('HGET', KEYS[2], name)
    if current and owner(current) == node then redis.call('HDEL', KEYS[2], name) end
  end
  redis.call('DEL', held)
  local owned = prefix .. ':node:' .. node .. ':sessions'
  for _, key in ipairs(redis.call('SMEMBERS', owned)) do
    local h = prefix .. ':s:' .. key
    if redis.call('HGET', h, 'owner') == node then
      local expires = t + tonumber(redis.call('HGET', h, 'ttl'))
      redis.call('HSET', h, 'owner', '', 'expires', expires, 'epoch', redis.call('INCR', prefix .. ':epoch'))
      redis.call('ZADD', prefix .. ':expiring', expires, key)
    end
  end
  redis.call('DEL', owned)
  redis.call('ZREM', KEYS[1], node)
end
return dead`)
