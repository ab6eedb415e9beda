import { NOW, Script } from './script.js'

// A session lives in a hash P:s:<key> (name, id, epoch, owner, delivered,
// first, next, bytes, expires, ttl, limit) and a list P:s:<key>:out of the
// messages sent to the client and not acknowledged: out[i] is message
// first + i. P:session-of maps a name to its current session, P:expiring
// orders away sessions by expiry, P:node:<node>:sessions is what a node
// owns. Every script takes the prefix as ARGV[1]; Redis's clock decides.
const SESSION = `
local prefix = ARGV[1]
local function hash(key) return prefix .. ':s:' .. key end
local function out(key) return prefix .. ':s:' .. key .. ':out' end
local function field(key, name) return tonumber(redis.call('HGET', hash(key), name)) end
-- Epochs never repeat, across sessions and Redis restarts: a stale owner's write can never match.
local function epoch() return redis.call('INCR', prefix .. ':epoch') end
-- Bytes of a stored message's payload: after its type byte and its 4-byte frame size.
local function size(m) return #m - 5 end
local function frame(m) return struct.unpack('>I4', m, 2) end
-- Ends a session for good by turning it into a tombstone the sweeper reports
-- (once, from one node, with the reason); the key is free for a new session at once.
local function bury(key, reason)
  local h = hash(key)
  local name = redis.call('HGET', h, 'name')
  local owner = redis.call('HGET', h, 'owner')
  if owner and owner ~= '' then redis.call('SREM', prefix .. ':node:' .. owner .. ':sessions', key) end
  if name and redis.call('HGET', prefix .. ':session-of', name) == key then redis.call('HDEL', prefix .. ':session-of', name) end
  redis.call('ZREM', prefix .. ':expiring', key)
  local tomb = key .. '#' .. epoch()
  redis.call('HSET', h, 'owner', '', 'ended', reason)
  redis.call('RENAME', h, hash(tomb))
  if redis.call('EXISTS', out(key)) == 1 then redis.call('RENAME', out(key), out(tomb)) end
  redis.call('ZADD', prefix .. ':expiring', 0, tomb)
end
-- Ends a session and returns its name, reason and messages (the sweeper's part).
local function finish(key)
  local h = hash(key)
  local name = redis.call('HGET', h, 'name')
  local owner = redis.call('HGET', h, 'owner')
  local reason = redis.call('HGET', h, 'ended') or 'expired'
  local messages = redis.call('LRANGE', out(key), 0, -1)
  redis.call('DEL', h, out(key))
  redis.call('ZREM', prefix .. ':expiring', key)
  if owner and owner ~= '' then redis.call('SREM', prefix .. ':node:' .. owner .. ':sessions', key) end
  if name and redis.call('HGET', prefix .. ':session-of', name) == key then redis.call('HDEL', prefix .. ':session-of', name) end
  return name, reason, messages
end
-- Removes the first n messages; returns the bytes they took.
local function trim(key, n)
  if n <= 0 then return 0 end
  local bytes = 0
  local removed = redis.call('LPOP', out(key), n)
  if removed then for _, m in ipairs(removed) do bytes = bytes + size(m) end end
  return bytes
end
-- Appends a message to session key; returns its seq, or -1 (full), -2 (too large for the client), -3 (larger than any session holds).
local function append(key, message, maxMessages, maxBytes)
  local h = hash(key)
  local limit = field(key, 'limit')
  if limit > 0 and frame(message) > limit then return -2 end
  if size(message) > maxBytes then return -3 end
  local first, nxt, bytes = field(key, 'first'), field(key, 'next'), field(key, 'bytes')
  if nxt - first + 1 > maxMessages or bytes + size(message) > maxBytes then return -1 end
  redis.call('RPUSH', out(key), message)
  redis.call('HSET', h, 'next', nxt + 1, 'bytes', bytes + size(message))
  return nxt
end
-- Wakes the owner of a session, unless it is the caller.
local function wake(key, caller)
  local owner = redis.call('HGET', hash(key), 'owner')
  if owner and owner ~= '' and owner ~= caller then
    redis.call('PUBLISH', prefix .. ':node:' .. owner, cjson.encode({ t = 'pump', key = key }) .. '\\n')
  end
  return owner
end
`

/**
 * The client of session `key` said hello on this node: claim the session
 * under a new epoch (creating it when there is none, or when it expired),
 * forget what the client acknowledged, and tell the previous owner to let
 * go. A name's previous session (the client started over) and an expired
 * copy become tombstones the sweeper reports. ARGV: prefix, node, key,
 * name, id, client ack, ttl, client limit (0: unknown). Returns { state,
 * epoch, delivered } with state 'resumed', 'created' or 'inconsistent'.
 */
export const CLAIM_SESSION = new Script(`${NOW}${SESSION}
local node, key, name, id, ack, ttl, limit = ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8]
local h = hash(key)
local state = 'created'
if redis.call('EXISTS', h) == 1 then
  local expires = field(key, 'expires')
  if expires > 0 and expires <= now() then bury(key, 'expired') else state = 'resumed' end
end
local current = epoch()
if state == 'resumed' then
  local first, nxt = field(key, 'first'), field(key, 'next')
  if ack > nxt - 1 then return { 'inconsistent' } end
  if ack >= first then
    local freed = trim(key, ack - first + 1)
    redis.call('HSET', h, 'first', ack + 1)
    redis.call('HINCRBY', h, 'bytes', -freed)
  end
  local previous = redis.call('HGET', h, 'owner')
  if previous ~= '' then
    redis.call('SREM', prefix .. ':node:' .. previous .. ':sessions', key)
    if previous ~= node then
      redis.call('PUBLISH', prefix .. ':node:' .. previous, cjson.encode({ t = 'drop', key = key, epoch = current }) .. '\\n')
    end
  end
  redis.call('HSET', h, 'owner', node, 'expires', 0, 'limit', limit, 'ttl', ttl, 'epoch', current)
  redis.call('ZREM', prefix .. ':expiring', key)
else
  redis.call('HSET', h, 'name', name, 'id', id, 'epoch', current, 'owner', node, 'delivered', 0, 'first', 1, 'next', 1, 'bytes', 0, 'expires', 0, 'ttl', ttl, 'limit', limit)
end
redis.call('SADD', prefix .. ':node:' .. node .. ':sessions', key)
local before = redis.call('HGET', prefix .. ':session-of', name)
if before and before ~= key and redis.call('EXISTS', hash(before)) == 1 then bury(before, 'restarted') end
redis.call('HSET', prefix .. ':session-of', name, key)
return { state, current, field(key, 'delivered') }`)

/**
 * Appends a message to the current session of a name and wakes its owner.
 * ARGV: prefix, node, name, message, max messages, max bytes. Returns
 * { seq, key }, { 0 } for no session, { -1, key, owner } when it is full,
 * { -2, key, limit } when its client cannot take a frame that large, { -3 }
 * when no session could hold it.
 */
export const APPEND = new Script(`${NOW}${SESSION}
local node, name, message = ARGV[2], ARGV[3], ARGV[4]
local key = redis.call('HGET', prefix .. ':session-of', name)
if not key then return { 0 } end
if redis.call('EXISTS', hash(key)) == 0 then
  redis.call('HDEL', prefix .. ':session-of', name)
  return { 0 }
end
local expires = field(key, 'expires')
if expires > 0 and expires <= now() then return { 0 } end
local seq = append(key, message, tonumber(ARGV[5]), tonumber(ARGV[6]))
if seq == -1 then return { -1, key, redis.call('HGET', hash(key), 'owner') } end
if seq == -2 then return { -2, key, field(key, 'limit') } end
if seq == -3 then return { -3 } end
wake(key, node)
return { seq, key }`)

/**
 * A broadcast: the message goes into every session of the cluster, once
 * each, in one step (a client moving meanwhile gets it exactly once), but
 * those of names whose new socket on the caller has not said hello (it
 * queued the message for their welcome). ARGV: prefix, node, message, max
 * messages, max bytes, names to skip... Returns flat pairs
 * { key, seq } for the sessions this node owns (it sends those itself),
 * then 'full' and the keys of sessions that were full.
 */
export const BROADCAST = new Script(`${NOW}${SESSION}
local node, message, maxMessages, maxBytes = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local t = now()
local mine, full, skip = {}, {}, {}
for i = 6, #ARGV do skip[ARGV[i]] = true end
local all = redis.call('HGETALL', prefix .. ':session-of')
for i = 2, #all, 2 do
  local key = all[i]
  if not skip[all[i - 1]] and redis.call('EXISTS', hash(key)) == 1 then
    local expires = field(key, 'expires')
    if expires == 0 or expires > t then
      local seq = append(key, message, maxMessages, maxBytes)
      if seq > 0 then
        if wake(key, node) == node then
          table.insert(mine, key)
          table.insert(mine, seq)
        end
      elseif seq == -1 then
        table.insert(full, key)
      end
    end
  end
end
table.insert(mine, 'full')
for _, key in ipairs(full) do table.insert(mine, key) end
return mine`)

/**
 * Reads what a session holds from `from` on, at most `max` messages.
 * ARGV: prefix, key, from, max. Returns { first, next, messages... }, or {} when the session is gone.
 */
export const READ = new Script(`${SESSION}
local key, from, max = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('EXISTS', hash(key)) == 0 then return {} end
local first, nxt = field(key, 'first'), field(key, 'next')
if from < first then from = first end
local reply = { first, nxt }
if from < nxt then
  for _, m in ipairs(redis.call('LRANGE', out(key), from - first, math.min(from - first + max, nxt - first) - 1)) do table.insert(reply, m) end
end
return reply`)

/**
 * The owner records what the client acknowledged (and forgets those
 * messages) and what it delivered of the client's. Refused (-1) when this
 * node is no longer the owner under `epoch` (another node claimed it, a
 * sweep took it from a stalled node, or Redis lost it). ARGV: prefix, node,
 * key, epoch, ack, delivered. Returns 1, or -2 for an ack of a message never sent.
 */
export const RECORD = new Script(`${SESSION}
local node, key, current, ack, delivered = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local h = hash(key)
if redis.call('EXISTS', h) == 0 or field(key, 'epoch') ~= current or redis.call('HGET', h, 'owner') ~= node then return -1 end
local first, nxt = field(key, 'first'), field(key, 'next')
if ack > nxt - 1 then return -2 end
if ack >= first then
  local freed = trim(key, ack - first + 1)
  redis.call('HSET', h, 'first', ack + 1)
  redis.call('HINCRBY', h, 'bytes', -freed)
end
if delivered > field(key, 'delivered') then redis.call('HSET', h, 'delivered', delivered) end
return 1`)

/**
 * The client left the owner: its session waits `ttl` from now, and then
 * expires. ARGV: prefix, node, key, epoch ('' for "whatever epoch, if this
 * node owns it and serves no client of it": a claim whose answer was lost).
 * Returns 1, or -1 when it is no longer this node's.
 */
export const PARK = new Script(`${NOW}${SESSION}
local node, key, current = ARGV[2], ARGV[3], ARGV[4]
local h = hash(key)
if redis.call('EXISTS', h) == 0 or redis.call('HGET', h, 'owner') ~= node then return -1 end
if current ~= '' and field(key, 'epoch') ~= tonumber(current) then return -1 end
local expires = now() + field(key, 'ttl')
redis.call('HSET', h, 'owner', '', 'expires', expires)
redis.call('ZADD', prefix .. ':expiring', expires, key)
redis.call('SREM', prefix .. ':node:' .. node .. ':sessions', key)
return 1`)

/**
 * Ends the sessions past their expiry, and the tombstones of ended ones.
 * ARGV: prefix. Returns groups { name, reason, count, messages... }, at
 * most 4 sessions per call (the caller calls again while it gets 4).
 */
export const SWEEP_SESSIONS = new Script(`${NOW}${SESSION}
local reply = {}
for _, key in ipairs(redis.call('ZRANGEBYSCORE', prefix .. ':expiring', '-inf', now(), 'LIMIT', 0, 4)) do
  local name, reason, messages = finish(key)
  table.insert(reply, name or '')
  table.insert(reply, reason)
  table.insert(reply, #messages)
  for _, m in ipairs(messages) do table.insert(reply, m) end
end
return reply`)

/** Ends a session for good (full, or inconsistent); the sweeper reports it. ARGV: prefix, key, reason. Returns its owner. */
export const END_SESSION = new Script(`${SESSION}
local key, reason = ARGV[2], ARGV[3]
if redis.call('EXISTS', hash(key)) == 0 then return '' end
local owner = redis.call('HGET', hash(key), 'owner')
bury(key, reason)
return owner`)

/**
 * Removes the messages whose frame the client cannot take (learnt from its
 * hello; every stored message carries its exact frame size) and numbers the
 * rest on. Safe only right after the claim: the client has delivered
 * exactly what it acknowledged, so none of the renumbered messages has
 * reached it. ARGV: prefix, key, limit. Returns the removed messages.
 */
export const DROP_OVERSIZED = new Script(`${SESSION}
local key, limit = ARGV[2], tonumber(ARGV[3])
local list = out(key)
local removed = {}
local bytes = 0
local marker = '\\0removed'
for i, m in ipairs(redis.call('LRANGE', list, 0, -1)) do
  if frame(m) > limit then
    table.insert(removed, m)
    bytes = bytes + size(m)
    redis.call('LSET', list, i - 1, marker)
  end
end
if #removed > 0 then
  redis.call('LREM', list, 0, marker)
  redis.call('HINCRBY', hash(key), 'next', -#removed)
  redis.call('HINCRBY', hash(key), 'bytes', -bytes)
end
return removed`)
