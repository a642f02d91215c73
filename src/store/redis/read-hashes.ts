import type { ScriptedRedis } from "./scripts.js";

/**
 * HGETALL of several keys. The keys may lie in different Cluster slots, which one pipeline
 * cannot span there, so each is its own command; ioredis still writes them together.
 */
export function readHashes(
  redis: ScriptedRedis,
  keys: string[],
): Promise<Record<string, string>[]> {
  return Promise.all(keys.map((key) => redis.hgetall(key)));
}
