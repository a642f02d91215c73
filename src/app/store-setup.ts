import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { systemClock } from "../domain/clock.js";
import type { Store } from "../domain/ports.js";
import { createMemoryStore } from "../store/memory/memory-store.js";
import { createRedisStore } from "../store/redis/redis-store.js";
import { fewestReplicas } from "../store/redis/replica-check.js";
import { LogThrottle } from "../transport/log-throttle.js";
import { reworded } from "../transport/store-outage.js";
import type { Config } from "./config/config.js";

/**
 * The process's store: the embedded one in dev mode, else Redis, with its connection's
 * story in the log (errors in keycard's words, at most one line per 5 s; a reconnection;
 * a new master).
 */
export function openStore(config: Config, logger: Logger): Store & { readonly redis?: Redis } {
  if (config.redisUrl === undefined) {
    logger.warn("REDIS_URL is not set: DEV MODE on the embedded in-memory store");
    return createMemoryStore(systemClock);
  }
  const connectionErrors = new LogThrottle(undefined, 5_000);
  let failing = false;
  return createRedisStore({
    url: config.redisUrl,
    namespace: config.redisKeyPrefix,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    durability: config.redisDurability,
    ...(config.redisTlsCaFile === undefined ? {} : { tlsCaFile: config.redisTlsCaFile }),
    lookupCache: config.validateCache,
    onError: (error) => {
      failing = true;
      const count = connectionErrors.count();
      if (count > 0) {
        logger.error(
          { err: { message: reworded(error.message) }, count },
          "redis connection error",
        );
      }
    },
    onReady: () => {
      if (failing) {
        failing = false;
        logger.info({ event: "store_reconnected" }, "Redis connection restored");
      }
    },
    onMasterChange: ({ masters, previous }) =>
      logger.warn(
        { event: "store_master_changed", masters, previous },
        "Redis master changed: keycard now writes to the new master",
      ),
  });
}

/**
 * Says in the log, once Redis answers, when revocations wait for more replicas than a master
 * has: each would then answer 503 until one connects.
 */
export function warnWithoutReplicas(redis: Redis, wanted: number, logger: Logger): void {
  if (wanted === 0) {
    return;
  }
  const check = (): void => {
    fewestReplicas(redis).then(
      (replicas) => {
        if (replicas < wanted) {
          logger.warn(
            { replicas, wanted },
            `REDIS_WAIT_REPLICAS=${wanted} but a Redis master has ${replicas} connected replica(s): every revocation answers 503 until enough connect; set REDIS_WAIT_REPLICAS=0 for a deployment without replicas`,
          );
        }
      },
      () => undefined,
    );
  };
  if (redis.status === "ready") {
    check();
  } else {
    redis.once("ready", check);
  }
}
