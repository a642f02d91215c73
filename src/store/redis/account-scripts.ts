/**
 * The Lua scripts of accounts rather than sessions, each on one key: an update that never
 * creates (kcUpdateExisting), a TOTP step used once (kcClaimStep), failed logins counted
 * and claimed (kcRecordFailure, kcClaimFailure), a page of the users index from a
 * position, ties at its millisecond included (kcRangeFrom), and a set of recovery-code
 * hashes replaced whole (kcReplaceSet), used a member at a time (kcTakeMember, -1 when
 * none of the given members is there, else how many are left) and deleted with its count
 * (kcDeleteSet).
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
  kcRangeFrom: {
    numberOfKeys: 1,
    lua: `
local ties = redis.call('ZCOUNT', KEYS[1], ARGV[1], ARGV[1])
return redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, ties + tonumber(ARGV[2]))`,
  },
} as const;
