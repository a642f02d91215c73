import type { Redis } from "ioredis";

const extendExpiry = `
local function extend(key, at)
  local ttl = redis.call('PTTL', key)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if ttl < 0 or now + ttl < tonumber(at) then
    redis.call('PEXPIREAT', key, at)
  end
end
`;

/**
 * The Lua scripts that change several keys of one user atomically. Each touches only keys
 * of that user's hash tag, so they also run on Redis Cluster.
 */
const scripts = {
  kcCreateSession: {
    numberOfKeys: 3,
    lua: `${extendExpiry}
if redis.call('HGET', KEYS[1], 'di') ~= '0' then return 0 end
redis.call('HSET', KEYS[2], unpack(ARGV, 3))
redis.call('PEXPIREAT', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
extend(KEYS[3], ARGV[1])
return 1`,
  },
  kcRotateSession: {
    numberOfKeys: 2,
    lua: `${extendExpiry}
if redis.call('HGET', KEYS[1], 'tk') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
extend(KEYS[2], ARGV[2])
return 1`,
  },
  kcRevokeAll: {
    numberOfKeys: 1,
    lua: `
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local n = 0
for _, id in ipairs(ids) do
  if id ~= ARGV[1] then
    n = n + redis.call('DEL', ARGV[2] .. id)
    redis.call('ZREM', KEYS[1], id)
  end
end
return n`,
  },
  kcTouch: {
    numberOfKeys: 1,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'lu', ARGV[1]) end
return 0`,
  },
  kcDisableUser: {
    numberOfKeys: 1,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'di', '1')
return 1`,
  },
} as const;

type ScriptName = keyof typeof scripts;

/** A Redis connection that knows keycard's scripts (EVALSHA with EVAL fallback). */
export type ScriptedRedis = Redis & {
  [name in ScriptName]: (...keysAndArgs: (string | number)[]) => Promise<number>;
};

/** Registers keycard's scripts on a connection. */
export function defineScripts(redis: Redis): ScriptedRedis {
  for (const [name, script] of Object.entries(scripts)) {
    redis.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
  }
  return redis as ScriptedRedis;
}
