import { accessSync, constants } from "node:fs";
import { parseRedisUrl, type RedisTarget } from "../../store/redis/connection.js";
import type { Durability } from "../../store/redis/durable-writes.js";
import type { EnvReader } from "./env-reader.js";

/** Where the store lives and how long its calls may take. */
export interface StoreSettings {
  /** Absent means dev mode: the embedded in-process store. */
  readonly redisUrl?: string;
  readonly redisKeyPrefix: string;
  readonly redisCommandTimeoutMs: number;
  /** REDIS_WAIT_REPLICAS / REDIS_WAIT_TIMEOUT: replicas that must hold a revocation first. */
  readonly redisDurability: Durability;
  /** STORE_DEADLINE: how long all of one request's store calls may take together. */
  readonly storeDeadlineMs: number;
  /**
   * VALIDATE_CACHE_TTL / VALIDATE_CACHE_SIZE: token look-ups a replica answers from memory,
   * and for how long at most (the bound on a revoked token elsewhere; 0 turns it off).
   */
  readonly validateCache: { readonly ttlMs: number; readonly maxEntries: number };
  /** REDIS_TLS_CA_FILE: PEM file of the CA that signed Redis's certificates (rediss schemes). */
  readonly redisTlsCaFile?: string;
}

/**
 * REDIS_WAIT_REPLICAS and REDIS_WAIT_TIMEOUT: how many replicas must hold a revocation
 * before keycard acknowledges it. By default 1 behind Sentinel or on a Cluster (their
 * masters have replicas that a failover promotes) and 0 on a single Redis. The wait (half
 * of REDIS_COMMAND_TIMEOUT by default) must end before the command timeout would cut it.
 */
function readDurability(
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

/** REDIS_URL parsed, or the message saying why it cannot be used. */
function redisUrlOrProblem(url: string): RedisTarget | string {
  try {
    return parseRedisUrl(url);
  } catch (error) {
    return (error as Error).message;
  }
}

/** Whether this process may read the file at `path`. */
function isReadable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** REDIS_TLS_CA_FILE: only with a TLS REDIS_URL, and readable by this process. */
function readTlsCaFile(read: EnvReader, target: RedisTarget | undefined): string | undefined {
  const caFile = read.optional("REDIS_TLS_CA_FILE");
  read.check(
    caFile === undefined || target?.tls === true,
    "REDIS_TLS_CA_FILE needs a TLS REDIS_URL (rediss://, rediss+sentinel:// or rediss+cluster://)",
  );
  read.check(
    caFile === undefined || isReadable(caFile),
    `REDIS_TLS_CA_FILE "${caFile}" cannot be read`,
  );
  return caFile;
}

/** REDIS_*, STORE_DEADLINE and VALIDATE_CACHE_*: the store's settings. */
export function readStoreSettings(read: EnvReader): StoreSettings {
  const redisUrl = read.optional("REDIS_URL");
  const parsed = redisUrl === undefined ? undefined : redisUrlOrProblem(redisUrl);
  read.check(typeof parsed !== "string", String(parsed));
  const target = typeof parsed === "object" ? parsed : undefined;
  const redisTlsCaFile = readTlsCaFile(read, target);
  const redisCommandTimeoutMs = read.duration("REDIS_COMMAND_TIMEOUT", "1s");
  return {
    ...(redisUrl === undefined ? {} : { redisUrl }),
    redisKeyPrefix: read.text("REDIS_KEY_PREFIX", "keycard"),
    redisCommandTimeoutMs,
    redisDurability: readDurability(read, target, redisCommandTimeoutMs),
    storeDeadlineMs: read.duration("STORE_DEADLINE", "1s"),
    validateCache: {
      ttlMs: read.duration("VALIDATE_CACHE_TTL", "1s", true),
      maxEntries: read.integer("VALIDATE_CACHE_SIZE", 10_000, 1, 10_000_000),
    },
    ...(redisTlsCaFile === undefined ? {} : { redisTlsCaFile }),
  };
}
