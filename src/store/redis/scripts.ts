import type { Redis } from "ioredis";
import { accountScripts } from "./account-scripts.js";
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
 * Files a session in its user's index under its expiry, counts it if it is new there, and
 * files the user for the sweep no later than that expiry.
 */
const fileSession = `${fitIndexExpiry}
local function file(index, owners, live, expiry, id, userId)
  redis.call('INCRBY', live, redis.call('ZADD', index, expiry, id))
  redis.call('ZADD', owners, 'LT', expiry, userId)
  fit(index)
end
`;

/** The server's clock in ms, for scripts that tell a live session from an expired one. */
const serverNow = `
local function now()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
`;

/** Appends to a reply the user fields a session shows (empty ones for a user that is gone). */
const withOwner = `
local function withOwner(found, user)
  local owner = redis.call('HMGET', user, ${ownerFields.map((field) => `'${field}'`).join(", ")})
  for i = 1, #owner do table.insert(found, owner[i] or '') end
  return found
end
`;

/**
 * The first line of a script that reads many slots of one node (`acrossSlots`) on a Cluster
 * (Redis 7): it is routed by one key of the node, the others given as arguments. One Redis
 * runs such a script as it is (Redis 6.2 too).
 */
const crossSlotFlag = "#!lua flags=allow-cross-slot-keys\n";

/**
 * keycard's Lua scripts. Those that change a user's session index change several keys of
 * the user's slot atomically: each sets the index's expiry to its latest entry plus the
 * sweep margin, so the index never outlives the sessions it lists by more, and moves the
 * user's shard (its live count and owner entry) with it. Those that change a session record
 * (kcPutRecord, kcReplaceToken, kcTombstone, kcRelabel, kcTouch) touch that one key. So all of them
 * run on Redis Cluster too.
 */
const scripts = {
  kcCreateSession: {
    numberOfKeys: 4,
    lua: `${fileSession}
if redis.call('HGET', KEYS[1], 'di') ~= '0' then return 0 end
file(KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3])
return 1`,
  },
  kcPutRecord: {
    numberOfKeys: 1,
    lua: `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1`,
  },
  kcReplaceToken: {
    numberOfKeys: 1,
    lua: `${serverNow}
local current = redis.call('HMGET', KEYS[1], 'ca', 'tk', 'ea')
if not current[1] then return -1 end
local token = current[2] or (ARGV[3] .. string.sub(ARGV[1], #ARGV[3] + 1))
if token ~= ARGV[1] or tonumber(current[3]) <= now() then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1`,
  },
  kcMoveExpiry: {
    numberOfKeys: 3,
    lua: `${fileSession}${serverNow}
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not expiry or tonumber(expiry) <= now() then return 0 end
file(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3])
return 1`,
  },
  kcRotateLegacy: {
    numberOfKeys: 4,
    lua: `${fileSession}
if redis.call('HGET', KEYS[1], 'tk') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
file(KEYS[2], KEYS[3], KEYS[4], ARGV[2], ARGV[3], ARGV[4])
return 1`,
  },
  kcRevoke: {
    numberOfKeys: 3,
    lua: `${fitIndexExpiry}${serverNow}
local expiry = redis.call('ZSCORE', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('DECRBY', KEYS[3], redis.call('ZREM', KEYS[2], ARGV[1]))
fit(KEYS[2])
if expiry and tonumber(expiry) > now() then return 1 end
return 0`,
  },
  kcRevokeAll: {
    numberOfKeys: 2,
    lua: `${fitIndexExpiry}${serverNow}
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local at = now()
local removed = {}
for i = 1, #entries, 2 do
  local id = entries[i]
  if id ~= ARGV[1] then
    redis.call('DEL', ARGV[2] .. id)
    redis.call('ZREM', KEYS[1], id)
    redis.call('DECRBY', KEYS[2], 1)
    table.insert(removed, id)
    table.insert(removed, tonumber(entries[i + 1]) > at and '1' or '0')
  end
end
fit(KEYS[1])
return removed`,
  },
  kcEndOldest: {
    numberOfKeys: 2,
    lua: `${fitIndexExpiry}
local ended = {}
for i = 4, #ARGV do
  if redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], '+inf') <= tonumber(ARGV[1]) then break end
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    redis.call('DECRBY', KEYS[2], 1)
    redis.call('DEL', ARGV[3] .. ARGV[i])
    table.insert(ended, ARGV[i])
  end
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
  kcSessionStatus: {
    numberOfKeys: 2,
    lua: `${serverNow}${withOwner}
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
local live = expiry and tonumber(expiry) > now()
return withOwner({ live and expiry or '' }, KEYS[2])`,
  },
  kcReadLegacySession: {
    numberOfKeys: 2,
    lua: `${withOwner}
local found = redis.call('HGETALL', KEYS[1])
if #found == 0 then return found end
return withOwner(found, KEYS[2])`,
  },
  kcTombstone: {
    numberOfKeys: 1,
    lua: `
local ttl = redis.call('PTTL', KEYS[1])
local kept = redis.call('HMGET', KEYS[1], 'u', 'ea')
if ttl <= 0 or kept[1] ~= ARGV[1] or not kept[2] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'u', kept[1], 'ea', kept[2])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1`,
  },
  kcRelabel: {
    numberOfKeys: 1,
    lua: `${serverNow}
local kept = redis.call('HMGET', KEYS[1], 'ca', 'u', 'ea')
if not kept[1] then return -1 end
if (ARGV[1] ~= '' and kept[2] ~= ARGV[1]) or tonumber(kept[3]) <= now() then return 0 end
redis.call('HSET', KEYS[1], 'lb', ARGV[2])
return 1`,
  },
  kcTouch: {
    numberOfKeys: 1,
    lua: `
if redis.call('HEXISTS', KEYS[1], 'ca') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'lu', ARGV[1])
return 1`,
  },
  ...accountScripts,
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

/** The scripts that answer with a list (of ids, or of flags) rather than a count. */
type ListScript =
  | "kcSessionStatus"
  | "kcReadLegacySession"
  | "kcRevokeAll"
  | "kcEndOldest"
  | "kcSweepUser"
  | "kcClaimFailure"
  | "kcRangeFrom"
  | "kcRecordSightings"
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
