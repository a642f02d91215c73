import type { Redis } from "ioredis";
import { clusterOf } from "./cluster-client.js";
import { ownerFields } from "./codec.js";

/**
 * How long a session index outlives its latest entry: expired entries stay listed until a
 * sweep takes them off (and audits each expiry), which a running keycard does every 15 s.
 */
export const indexSweepMarginMs = 3_600_000;

const fitIndexExpiry = `
local function fit(key)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #last == 0 then
    redis.call('DEL', key)
  else
    redis.call('PEXPIREAT', key, tonumber(last[2]) + ${indexSweepMarginMs})
  end
end
`;

/**
 * The first line of a script that reads many slots of one node (`acrossSlots`) on a Cluster
 * (Redis 7): it is routed by one key of the node, the others given as arguments. One Redis
 * runs such a script as it is (Redis 6.2 too).
 */
const crossSlotFlag = "#!lua flags=allow-cross-slot-keys\n";

/**
 * The Lua scripts that change several keys of one user atomically. Every script that
 * changes the session index sets its expiry to its latest entry plus the sweep margin, so
 * the index never outlives the sessions it lists by more, and moves the user's shard (its
 * live count and owner entry) with it. Each touches only keys of that user's slot, so they
 * also run on Redis Cluster.
 */
const scripts = {
  kcCreateSession: {
    numberOfKeys: 5,
    lua: `${fitIndexExpiry}
if redis.call('HGET', KEYS[1], 'di') ~= '0' then return 0 end
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('PEXPIREAT', KEYS[2], ARGV[1])
redis.call('INCRBY', KEYS[5], redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2]))
redis.call('ZADD', KEYS[4], 'LT', ARGV[1], ARGV[3])
fit(KEYS[3])
return 1`,
  },
  kcRotateSession: {
    numberOfKeys: 4,
    lua: `${fitIndexExpiry}
if redis.call('HGET', KEYS[1], 'tk') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('INCRBY', KEYS[4], redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3]))
redis.call('ZADD', KEYS[3], 'LT', ARGV[2], ARGV[4])
fit(KEYS[2])
return 1`,
  },
  kcRevoke: {
    numberOfKeys: 3,
    lua: `${fitIndexExpiry}
local n = redis.call('DEL', KEYS[1])
redis.call('DECRBY', KEYS[3], redis.call('ZREM', KEYS[2], ARGV[1]))
fit(KEYS[2])
return n`,
  },
  kcRevokeAll: {
    numberOfKeys: 2,
    lua: `${fitIndexExpiry}
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local ended = {}
for _, id in ipairs(ids) do
  if id ~= ARGV[1] then
    if redis.call('DEL', ARGV[2] .. id) == 1 then table.insert(ended, id) end
    redis.call('DECRBY', KEYS[2], redis.call('ZREM', KEYS[1], id))
  end
end
fit(KEYS[1])
return ended`,
  },
  kcTrim: {
    numberOfKeys: 2,
    lua: `${fitIndexExpiry}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[2], '+inf')
local excess = #ids - tonumber(ARGV[1])
local ended = {}
if excess <= 0 then return ended end
local byAge = {}
for _, id in ipairs(ids) do
  table.insert(byAge, { tonumber(redis.call('HGET', ARGV[3] .. id, 'ca') or '0'), id })
end
table.sort(byAge, function(a, b) return a[1] < b[1] end)
for i = 1, excess do
  local id = byAge[i][2]
  redis.call('DEL', ARGV[3] .. id)
  redis.call('DECRBY', KEYS[2], redis.call('ZREM', KEYS[1], id))
  table.insert(ended, id)
end
fit(KEYS[1])
return ended`,
  },
  kcSweepUser: {
    numberOfKeys: 3,
    lua: `${fitIndexExpiry}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[2])
for i = 1, #due, 2 do redis.call('ZREM', KEYS[1], due[i]) end
redis.call('DECRBY', KEYS[3], #due / 2)
fit(KEYS[1])
local next = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if next[2] then
  redis.call('ZADD', KEYS[2], next[2], ARGV[3])
else
  redis.call('ZREM', KEYS[2], ARGV[3])
end
return due`,
  },
  kcReadSession: {
    numberOfKeys: 2,
    lua: `
local found = redis.call('HGETALL', KEYS[1])
if #found == 0 then return found end
local owner = redis.call('HMGET', KEYS[2], ${ownerFields.map((field) => `'${field}'`).join(", ")})
for i = 1, #owner do table.insert(found, owner[i] or '') end
return found`,
  },
  kcTouch: {
    numberOfKeys: 1,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'lu', ARGV[1]) end
return 0`,
  },
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
  kcSumCounts: {
    numberOfKeys: 1,
    acrossSlots: true,
    lua: `
local n = 0
for _, key in ipairs(ARGV) do n = n + tonumber(redis.call('GET', key) or '0') end
return n`,
  },
  kcDueOwners: {
    numberOfKeys: 1,
    acrossSlots: true,
    lua: `
local limit = tonumber(ARGV[2])
local due = {}
for i = 3, #ARGV do
  if #due >= limit then break end
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', ARGV[i], '-inf', ARGV[1], 'LIMIT', 0, limit - #due)) do
    table.insert(due, id)
  end
end
return due`,
  },
} as const;

type ScriptName = keyof typeof scripts;

/** The scripts that answer with a list of ids rather than a count. */
type ListScript =
  | "kcReadSession"
  | "kcRevokeAll"
  | "kcTrim"
  | "kcSweepUser"
  | "kcClaimFailure"
  | "kcDueOwners";

/** A Redis connection that knows keycard's scripts (EVALSHA with EVAL fallback). */
export type ScriptedRedis = Redis & {
  [name in Exclude<ScriptName, ListScript>]: (
    ...keysAndArgs: (string | number)[]
  ) => Promise<number>;
} & {
  [name in ListScript]: (...keysAndArgs: (string | number)[]) => Promise<string[]>;
};

/** Registers keycard's scripts on a connection. */
export function defineScripts(redis: Redis): ScriptedRedis {
  const cluster = clusterOf(redis) !== undefined;
  for (const [name, script] of Object.entries(scripts)) {
    const flag = cluster && "acrossSlots" in script ? crossSlotFlag : "";
    redis.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua: flag + script.lua });
  }
  return redis as ScriptedRedis;
}
