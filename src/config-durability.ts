import type { EnvReader } from "./config.js";
import type { RedisTarget } from "./store/redis/connection.js";
import type { Durability } from "./store/redis/durable-writes.js";

/**
 * REDIS_WAIT_REPLICAS and REDIS_WAIT_TIMEOUT: how many replicas must hold a revocation
 * before keycard acknowledges it. By default 1 behind Sentinel or on a Cluster (their
 * masters have replicas that a failover promotes) and 0 on a single Redis. The wait (half
 * of REDIS_COMMAND_TIMEOUT by default) must end before the command timeout would cut it.
 */
export function readDurability(
  read: EnvReader,
  target: RedisTarget | undefined,
  commandTimeoutMs: number,
): Durability {
  const replicated = target !== undefined && target.kind !== "standalone";
  const replicas = read.integer("REDIS_WAIT_REPLICAS", replicated ? 1 : 0, 0, 16);
  const timeoutMs = read.duration("REDIS_WAIT_TIMEOUT", `${Math.ceil(commandTimeoutMs / 2)}ms`);
  read.check(
    timeoutMs < commandTimeoutMs,
    "REDIS_WAIT_TIMEOUT must be shorter than REDIS_COMMAND_TIMEOUT, or the command timeout cuts the wait",
  );
  return { replicas, timeoutMs };
}
