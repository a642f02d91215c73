/**
 * The Lua scripts of accounts rather than sessions, each on one key: an update that never
 * creates (kcUpdateExisting), a TOTP step used once (kcClaimStep), failed logins counted
 * and claimed (kcRecordFailure, kcClaimFailure), a page of the users index from a
 * position, ties at its millisecond included (kcRangeFrom), a set of recovery-code hashes
 * replaced whole (kcReplaceSet), used a member at a time (kcTakeMember, -1 when none of
 * the given members is there, else how many are left) and deleted with its count
 * (kcDeleteSet), a login's devices and places recorded (kcRecordSightings), and a
 * passkey added only when new (kcAddPasskey) and its use recorded only when its counter
 * moved forward (kcRecordPasskeyUse, see counterAdvanced).
 */
export const accountScripts = {
  kcUpdateExisting: {
    numberOfKeys: 1,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1`,
  },
  kcClaimStep: {
    numberOfKeys: 1,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local last = tonumber(redis.call('HGET', KEYS[1], 'lt') or '-1')
if last >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'lt', ARGV[1])
return 1`,
  },
  kcRecordFailure: {
    numberOfKeys: 1,
    lua: `
redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSETNX', KEYS[1], 'f', ARGV[1])
redis.call('HSET', KEYS[1], 'l', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0`,
  },
  kcClaimFailure: {
    numberOfKeys: 1,
    lua: `
local at = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', at - window)
local count = redis.call('ZCARD', KEYS[1])
if limit > 0 and count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  return {0, count, tonumber(oldest[2]) + window}
end
if ARGV[4] == '' then return {0, count, 0} end
redis.call('ZADD', KEYS[1], at, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, count, 0}`,
  },
  kcReplaceSet: {
    numberOfKeys: 1,
    lua: `
redis.call('DEL', KEYS[1])
if #ARGV > 0 then redis.call('SADD', KEYS[1], unpack(ARGV)) end
return #ARGV`,
  },
  kcTakeMember: {
    numberOfKeys: 1,
    lua: `
if redis.call('SREM', KEYS[1], unpack(ARGV)) == 0 then return -1 end
return redis.call('SCARD', KEYS[1])`,
  },
  kcDeleteSet: {
    numberOfKeys: 1,
    lua: `
local count = redis.call('SCARD', KEYS[1])
redis.call('DEL', KEYS[1])
return count`,
  },
  kcAddPasskey: {
    numberOfKeys: 1,
    lua: `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1] .. ':n', ARGV[3], ARGV[1] .. ':u', ARGV[4])
return 1`,
  },
  kcRecordPasskeyUse: {
    numberOfKeys: 1,
    lua: `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local stored = tonumber(redis.call('HGET', KEYS[1], ARGV[1] .. ':n') or '0')
local counter = tonumber(ARGV[2])
if not ((stored == 0 and counter == 0) or counter > stored) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1] .. ':n', ARGV[2], ARGV[1] .. ':u', ARGV[3])
return 1`,
  },
  kcRangeFrom: {
    numberOfKeys: 1,
    lua: `
local ties = redis.call('ZCOUNT', KEYS[1], ARGV[1], ARGV[1])
return redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, ties + tonumber(ARGV[2]))`,
  },
  // ARGV: now, the window's start, how many of a kind to keep, the key's retention, then
  // the sightings (members like d:<id>). Answers '1' for each that is new, '0' otherwise.
  kcRecordSightings: {
    numberOfKeys: 1,
    lua: `
local now = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
local perKind = tonumber(ARGV[3])
local fresh = {}
for i = 5, #ARGV do
  local last = redis.call('ZSCORE', KEYS[1], ARGV[i])
  local kindSeen = redis.call('ZSCORE', KEYS[1], string.sub(ARGV[i], 1, 1))
  local new = kindSeen and (not last or tonumber(last) < horizon)
  table.insert(fresh, new and '1' or '0')
end
for i = 5, #ARGV do
  redis.call('ZADD', KEYS[1], 'GT', now, ARGV[i], now, string.sub(ARGV[i], 1, 1))
end
local counts = {}
local all = redis.call('ZREVRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #all, 2 do
  local member = all[i]
  if #member > 1 then
    local kind = string.sub(member, 1, 1)
    counts[kind] = (counts[kind] or 0) + 1
    if tonumber(all[i + 1]) < horizon or counts[kind] > perKind then
      redis.call('ZREM', KEYS[1], member)
    end
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return fresh`,
  },
} as const;
