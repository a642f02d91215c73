import type { Redis } from "ioredis";

/** Every key matching `pattern`, by SCAN. */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  return keys;
}

/** Everything stored at `key`, whatever its type: hash fields and values, zset scores too. */
export async function valuesOf(redis: Redis, key: string): Promise<string[]> {
  const type = await redis.type(key);
  switch (type) {
    case "string":
      return [String(await redis.get(key))];
    case "hash":
      return Object.entries(await redis.hgetall(key)).flat();
    case "zset":
      return redis.zrange(key, "0", "-1", "WITHSCORES");
    case "set":
      return redis.smembers(key);
    case "list":
      return redis.lrange(key, 0, -1);
    default:
      return [];
  }
}

/** The keys of a store namespace and a text dump of each key followed by its values. */
export async function dumpNamespace(
  redis: Redis,
  namespace: string,
): Promise<{ keys: string[]; text: string }> {
  const keys = await scanKeys(redis, `${namespace}:*`);
  const dump: string[] = [];
  for (const key of keys) {
    dump.push(key, ...(await valuesOf(redis, key)));
  }
  return { keys, text: dump.join("\n") };
}
