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
-- Ends a session for good; returns its name and the messages it held.
local function finish(key)
  local h = hash(key)
  local name = redis.call('HGET', h, 'name')
  local owner = redis.call('HGET', h, 'owner')
  local messages = redis.call('LRANGE', out(key), 0, -1)
  redis.call('DEL', h, out(key))
  redis.call('ZREM', prefix .. ':expiring', key)
  if owner and owner ~= '' then redis.call('SREM', prefix .. ':node:' .. owner .. ':sessions', key) end
  if name and redis.call('HGET', prefix .. ':session-of', name) == key then redis.call('HDEL', prefix .. ':session-of', name) end
  return name, messages
end
-- Removes the first n messages; returns the bytes they took.
local function trim(key, n)
  if n <= 0 then return 0 end
  local bytes = 0
  local removed = redis.call('LPOP', out(key), n)
  if removed then for _, m in ipairs(removed) do bytes = bytes + #m end end
  return bytes
end
`

/**
 * The client of session `key` said hello on this node: claim the session
 * with a new epoch (creating it when there is none), forget what the client
 * acknowledged, and tell the previous owner to let go. ARGV: prefix, node,
 * key, name, id, client ack, ttl, client limit (0: unknown).
 * Returns { state, epoch, delivered, first, next, expired count, restarted
 * count, messages... } where state is 'resumed', 'created' or
 * 'inconsistent', and the messages are those of sessions the claim ended:
 * an expired copy of this one, then the name's previous session (the client
 * started over).
 */
export const CLAIM_SESSION = new Script(`${NOW}${SESSION}
local node, key, name, id, ack, ttl, limit = ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8]
local h = hash(key)
local ended = {}
local expired = 0
local state = 'created'
if redis.call('EXISTS', h) == 1 then
  local expires = field(key, 'expires')
  if expires > 0 and expires <= now() then
    local _, messages = finish(key)
    ended = messages
    expired = #messages
  else
    state = 'resumed'
  end
end
if state == 'resumed' then
  local first, nxt = field(key, 'first'), field(key, 'next')
  if ack > nxt - 1 then return { 'inconsistent' } end
  if ack >= first then
    local freed = trim(key, ack - first + 1)
    redis.call('HSET', h, 'first', ack + 1)
    redis.call('HINCRBY', h, 'bytes', -freed)
  end
  local previous = redis.call('HGET', h, 'owner')
  local epoch = redis.call('HINCRBY', h, 'epoch', 1)
  if previous ~= '' then
    redis.call('SREM', prefix .. ':node:' .. previous .. ':sessions', key)
    if previous ~= node then
      redis.call('PUBLISH', prefix .. ':node:' .. previous, cjson.encode({ t = 'drop', key = key, epoch = epoch }) .. '\\n')
    end
  end
  redis.call('HSET', h, 'owner', node, 'expires', 0, 'limit', limit, 'ttl', ttl)
  redis.call('PERSIST', h)
  redis.call('PERSIST', out(key))
  redis.call('ZREM', prefix .. ':expiring', key)
else
  redis.call('HSET', h, 'name', name, 'id', id, 'epoch', 1, 'owner', node, 'delivered', 0, 'first', 1, 'next', 1, 'bytes', 0, 'expires', 0, 'ttl', ttl, 'limit', limit)
end
redis.call('SADD', prefix .. ':node:' .. node .. ':sessions', key)
local before = redis.call('HGET', prefix .. ':session-of', name)
local restarted = 0
if before and before ~= key then
  local _, messages = finish(before)
  restarted = #messages
  for _, m in ipairs(messages) do table.insert(ended, m) end
end
redis.call('HSET', prefix .. ':session-of', name, key)
local reply = { state, field(key, 'epoch'), field(key, 'delivered'), field(key, 'first'), field(key, 'next'), expired, restarted }
for _, m in ipairs(ended) do table.insert(reply, m) end
return reply`)

/**
 * Appends a message to the current session of a name and wakes its owner.
 * ARGV: prefix, node, name, message, max messages, max bytes, frame bytes
 * of the message's envelope. Returns { seq, key, owner }, { 0 } for no
 * session, { -1, key, owner } when it is full, { -2, key, limit } when its
 * client cannot take a frame that large, { -3 } when no session could hold it.
 */
export const APPEND = new Script(`${NOW}${SESSION}
local node, name, message, maxMessages, maxBytes, frame = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local key = redis.call('HGET', prefix .. ':session-of', name)
if not key then return { 0 } end
local h = hash(key)
if redis.call('EXISTS', h) == 0 then
  redis.call('HDEL', prefix .. ':session-of', name)
  return { 0 }
end
local expires = field(key, 'expires')
if expires > 0 and expires <= now() then return { 0 } end
local owner = redis.call('HGET', h, 'owner')
local limit = field(key, 'limit')
if limit > 0 and frame > limit then return { -2, key, limit } end
local first, nxt, bytes = field(key, 'first'), field(key, 'next'), field(key, 'bytes')
if #message > maxBytes then return { -3 } end
if nxt - first + 1 > maxMessages or bytes + #message > maxBytes then return { -1, key, owner } end
redis.call('RPUSH', out(key), message)
redis.call('HSET', h, 'next', nxt + 1, 'bytes', bytes + #message)
if owner ~= '' and owner ~= node then
  redis.call('PUBLISH', prefix .. ':node:' .. owner, cjson.encode({ t = 'pump', key = key }) .. '\\n')
end
return { nxt, key, owner }`)

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
 * messages) and what it delivered of the client's. Refused (-1) when `epoch`
 * is no longer the session's: another node owns it now, or it is gone.
 * ARGV: prefix, key, epoch, ack, delivered. Returns 1, or -2 for an ack of a message never sent.
 */
export const RECORD = new Script(`${SESSION}
local key, epoch, ack, delivered = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local h = hash(key)
if redis.call('EXISTS', h) == 0 or field(key, 'epoch') ~= epoch then return -1 end
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
 * expires. ARGV: prefix, node, key, epoch. Returns 1, or -1 when it is no longer this node's.
 */
export const PARK = new Script(`${NOW}${SESSION}
local node, key, epoch = ARGV[2], ARGV[3], tonumber(ARGV[4])
local h = hash(key)
if redis.call('EXISTS', h) == 0 or field(key, 'epoch') ~= epoch then return -1 end
local expires = now() + field(key, 'ttl')
redis.call('HSET', h, 'owner', '', 'expires', expires)
redis.call('ZADD', prefix .. ':expiring', expires, key)
redis.call('SREM', prefix .. ':node:' .. node .. ':sessions', key)
return 1`)

/**
 * Sessions whose owner died wait their ttl from now; sessions past their
 * expiry end. ARGV: prefix, node ttl. Returns ended sessions as
 * { name, count, messages... } groups, at most 16 per call.
 */
export const SWEEP_SESSIONS = new Script(`${NOW}${SESSION}
local ttl = tonumber(ARGV[2])
local t = now()
local dead = redis.call('ZRANGEBYSCORE', prefix .. ':nodes', '-inf', '(' .. (t - ttl), 'LIMIT', 0, 16)
for _, node in ipairs(dead) do
  local owned = prefix .. ':node:' .. node .. ':sessions'
  for _, key in ipairs(redis.call('SMEMBERS', owned)) do
    local h = hash(key)
    if redis.call('HGET', h, 'owner') == node then
      local expires = t + field(key, 'ttl')
      redis.call('HSET', h, 'owner', '', 'expires', expires)
      redis.call('ZADD', prefix .. ':expiring', expires, key)
    end
  end
  redis.call('DEL', owned)
end
local reply = {}
for _, key in ipairs(redis.call('ZRANGEBYSCORE', prefix .. ':expiring', '-inf', t, 'LIMIT', 0, 16)) do
  local name, messages = finish(key)
  table.insert(reply, name or '')
  table.insert(reply, #messages)
  for _, m in ipairs(messages) do table.insert(reply, m) end
end
return reply`)

/** Ends a session (full, or inconsistent); returns { name, messages... }. ARGV: prefix, key. */
export const END_SESSION = new Script(`${SESSION}
local key = ARGV[2]
if redis.call('EXISTS', hash(key)) == 0 then return {} end
local name, messages = finish(key)
local reply = { name or '' }
for _, m in ipairs(messages) do table.insert(reply, m) end
return reply`)

/**
 * Removes the messages whose frame the client cannot take (learnt from its
 * hello) and numbers the rest on. Safe only right after the claim: the
 * client has delivered exactly what it acknowledged, so none of the
 * renumbered messages has reached it. ARGV: prefix, key, limit. Returns the removed messages.
 */
export const DROP_OVERSIZED = new Script(`${SESSION}
local key, limit = ARGV[2], tonumber(ARGV[3])
local list = out(key)
local removed = {}
local bytes = 0
local marker = '\\0removed'
for i, m in ipairs(redis.call('LRANGE', list, 0, -1)) do
  local frame
  if string.byte(m, 1) == 116 then frame = 40 + #cjson.encode(string.sub(m, 2)) else frame = 17 + #m - 1 end
  if frame > limit then
    table.insert(removed, m)
    bytes = bytes + #m
    redis.call('LSET', list, i - 1, marker)
  end
end
if #removed > 0 then
  redis.call('LREM', list, 0, marker)
  redis.call('HINCRBY', hash(key), 'next', -#removed)
  redis.call('HINCRBY', hash(key), 'bytes', -bytes)
end
return removed`)
