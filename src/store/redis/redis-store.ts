import type { Redis } from "ioredis";
import type { ApiKeyPatch, ApiKeyRecord } from "../../domain/api-key.js";
import { type Clock, systemClock } from "../../domain/clock.js";
import { type Cursor, compareCursors, type PageRequest } from "../../domain/page.js";
import type { ApiKeyStore, SessionStore, Store, UserStore } from "../../domain/ports.js";
import type { UserPatch, UserRecord } from "../../domain/user.js";
import { CachedSessionStore, type LookupCacheOptions } from "./cached-sessions.js";
import { pingAnyMaster } from "./cluster-client.js";
import { decodeApiKey, decodeUser, encodeApiKey, encodeUser } from "./codec.js";
import { createRedisClient, parseRedisUrl } from "./connection.js";
import { type Durability, DurableWrites, noDurability } from "./durable-writes.js";
import { guarded } from "./guarded.js";
import { closeRedisClient, keepReconnecting } from "./keep-reconnecting.js";
import { type RedisKeys, redisKeys } from "./keys.js";
import { RedisLoginAttemptStore } from "./login-attempts.js";
import { type MasterChange, watchMasters } from "./master-watch.js";
import { RedisPasskeyChallengeStore, RedisPasskeyStore } from "./passkeys.js";
import { RedisPasswordResetStore } from "./password-resets.js";
import { readHashes } from "./read-hashes.js";
import { RedisRecoveryCodeStore } from "./recovery-codes.js";
import { defineScripts, type ScriptedRedis } from "./scripts.js";
import { RedisSessionStore } from "./session-store.js";
import { RedisSightingStore } from "./sightings.js";
import { RedisSigningKeyStore } from "./signing-keys.js";

class RedisUserStore implements UserStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
    private readonly durable: DurableWrites,
  ) {}

  create(user: UserRecord): Promise<boolean> {
    return guarded(async () => {
      await this.redis.hset(this.keys.user(user.id), ...encodeUser(user));
      const claimed = await this.redis.set(this.keys.email(user.email), user.id, "NX");
      if (claimed === null) {
        await this.redis.del(this.keys.user(user.id));
        return false;
      }
      await this.redis.zadd(this.keys.users(), user.createdAt, user.id);
      return true;
    });
  }

  findByEmail(email: string): Promise<UserRecord | undefined> {
    return guarded(async () => {
      const id = await this.redis.get(this.keys.email(email));
      return id === null ? undefined : this.read(id);
    });
  }

  findById(id: string): Promise<UserRecord | undefined> {
    return guarded(() => this.read(id));
  }

  /** Durable: a disabled account, a new password or a removed factor must survive failover. */
  update(id: string, patch: UserPatch): Promise<UserRecord | undefined> {
    const key = this.keys.user(id);
    return guarded(async () => {
      const found = await this.durable.run(key, (redis) =>
        redis.kcUpdateExisting(key, ...encodeUser(patch)),
      );
      return found === 1 ? this.read(id) : undefined;
    });
  }

  /**
   * The users index is scored by creation time, and Redis orders equal scores by id, which
   * is the listing's order: a page is one range read from the position's time on, with the
   * users of that very millisecond up to the position's id left out (one script, so that a
   * user created meanwhile cannot shorten the page).
   */
  list({ size, after }: PageRequest): Promise<UserRecord[]> {
    if (size <= 0) {
      return Promise.resolve([]);
    }
    return guarded(async () => {
      const ids =
        after === undefined
          ? await this.redis.zrange(this.keys.users(), "0", String(size - 1))
          : idsAfter(await this.redis.kcRangeFrom(this.keys.users(), after.createdAt, size), after);
      const hashes = await readHashes(this.redis, ids.slice(0, size).map(this.keys.user));
      return hashes.map(decodeUser).filter((user): user is UserRecord => user !== undefined);
    });
  }

  claimTotpStep(id: string, step: number): Promise<boolean> {
    return guarded(async () => (await this.redis.kcClaimStep(this.keys.user(id), step)) === 1);
  }

  private async read(id: string): Promise<UserRecord | undefined> {
    return decodeUser(await this.redis.hgetall(this.keys.user(id)));
  }
}

/** The ids of a `WITHSCORES` range that come after the position, in order. */
function idsAfter(range: readonly string[], after: Cursor): string[] {
  const ids: string[] = [];
  for (let i = 0; i + 1 < range.length; i += 2) {
    const id = range[i] ?? "";
    if (compareCursors({ createdAt: Number(range[i + 1]), id }, after) > 0) {
      ids.push(id);
    }
  }
  return ids;
}

class RedisApiKeyStore implements ApiKeyStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
    private readonly durable: DurableWrites,
  ) {}

  create(key: ApiKeyRecord): Promise<void> {
    return guarded(async () => {
      // Three slots on a Cluster, so no MULTI: the record first and the hash lookup last,
      // so that a key is only findable once complete.
      await this.redis.hset(this.keys.apiKey(key.id), ...encodeApiKey(key));
      await this.redis.sadd(this.keys.userApiKeys(key.userId), key.id);
      await this.redis.set(this.keys.apiKeyHash(key.keyHash), key.id);
    });
  }

  findByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    return guarded(async () => {
      const id = await this.redis.get(this.keys.apiKeyHash(keyHash));
      return id === null ? undefined : this.read(id);
    });
  }

  findById(id: string): Promise<ApiKeyRecord | undefined> {
    return guarded(() => this.read(id));
  }

  listByUser(userId: string): Promise<ApiKeyRecord[]> {
    return guarded(async () => {
      const ids = await this.redis.smembers(this.keys.userApiKeys(userId));
      const hashes = await readHashes(this.redis, ids.map(this.keys.apiKey));
      return hashes
        .map(decodeApiKey)
        .filter((key): key is ApiKeyRecord => key !== undefined)
        .sort((a, b) => b.createdAt - a.createdAt);
    });
  }

  /** A revocation is durable (it must survive failover); a last-use time is not waited for. */
  update(id: string, patch: ApiKeyPatch): Promise<ApiKeyRecord | undefined> {
    const key = this.keys.apiKey(id);
    const write = (redis: ScriptedRedis) => redis.kcUpdateExisting(key, ...encodeApiKey(patch));
    return guarded(async () => {
      const found =
        patch.revoked === true ? await this.durable.run(key, write) : await write(this.redis);
      return found === 1 ? this.read(id) : undefined;
    });
  }

  rehash(id: string, keyHash: string): Promise<void> {
    return guarded(async () => {
      const key = await this.read(id);
      if (key === undefined) {
        return;
      }
      // Different slots on a Cluster: the new lookup first, the old one dropped last.
      await this.redis.set(this.keys.apiKeyHash(keyHash), id);
      await this.redis.hset(this.keys.apiKey(id), ...encodeApiKey({ keyHash }));
      await this.redis.del(this.keys.apiKeyHash(key.keyHash));
    });
  }

  private async read(id: string): Promise<ApiKeyRecord | undefined> {
    return decodeApiKey(await this.redis.hgetall(this.keys.apiKey(id)));
  }
}

/** How to reach Redis and how long any command may take. */
export interface RedisStoreOptions {
  /** REDIS_URL: `redis://`, `rediss://`, `redis+sentinel://…/<master>` or `redis+cluster://…`. */
  readonly url: string;
  readonly namespace: string;
  readonly commandTimeoutMs: number;
  /** REDIS_TLS_CA_FILE: PEM file of the CA that signed Redis's certificates. */
  readonly tlsCaFile?: string;
  /** VALIDATE_CACHE_TTL and _SIZE: token look-ups answered from memory for a moment. */
  readonly lookupCache?: LookupCacheOptions;
  readonly clock?: Clock;
  readonly onError?: (error: Error) => void;
  /** Told each time the main connection is ready: at start, and after each reconnection. */
  readonly onReady?: () => void;
  /** Told when the node (or a Cluster's set of masters) keycard writes to changes. */
  readonly onMasterChange?: (change: MasterChange) => void;
  /** REDIS_WAIT_*: how many replicas must hold a revocation before it is acknowledged. */
  readonly durability?: Durability;
}

/**
 * The production store: one Redis, a Sentinel group or a Redis Cluster, shared by replicas.
 * Throws RedisConfigError for a URL or CA file it cannot use.
 */
export function createRedisStore(options: RedisStoreOptions): Store & { readonly redis: Redis } {
  const target = parseRedisUrl(options.url);
  const redis = defineScripts(
    createRedisClient(target, {
      commandTimeoutMs: options.commandTimeoutMs,
      ...(options.tlsCaFile === undefined ? {} : { tlsCaFile: options.tlsCaFile }),
    }),
  );
  reportErrors(redis, options);
  redis.on("ready", () => options.onReady?.());
  if (options.onMasterChange !== undefined) {
    watchMasters(redis, options.onMasterChange);
  }
  const durability = options.durability ?? noDurability;
  const durableRedis =
    durability.replicas > 0 ? defineScripts(keepReconnecting(redis.duplicate())) : redis;
  if (durableRedis !== redis) {
    reportErrors(durableRedis, options);
  }
  const durable = new DurableWrites(durableRedis, durability);
  const keys = redisKeys(options.namespace);
  const sessions = cachedIfAsked(new RedisSessionStore(redis, keys, durable), redis, keys, options);
  return {
    redis,
    users: new RedisUserStore(redis, keys, durable),
    sessions,
    apiKeys: new RedisApiKeyStore(redis, keys, durable),
    loginAttempts: new RedisLoginAttemptStore(redis, keys),
    sessionEpoch: {
      read: () => guarded(async () => Number((await redis.get(keys.sessionEpoch())) ?? 0)),
      set: (notBefore) =>
        guarded(async () => {
          const key = keys.sessionEpoch();
          await durable.run(key, (client) => client.set(key, String(notBefore)));
        }),
    },
    signingKeys: new RedisSigningKeyStore(redis, keys.signingKeys(), durable),
    passwordResets: new RedisPasswordResetStore(redis, keys, durable),
    recoveryCodes: new RedisRecoveryCodeStore(redis, keys.recoveryCodes, durable),
    sightings: new RedisSightingStore(redis, keys.sightings),
    passkeys: new RedisPasskeyStore(redis, keys.passkeys, durable),
    passkeyChallenges: new RedisPasskeyChallengeStore(keys, redis, durable),
    ping: () => guarded(() => pingAnyMaster(redis)),
    close: async () => {
      if (sessions instanceof CachedSessionStore) {
        sessions.close();
      }
      await Promise.all(
        [...new Set([redis, durableRedis])].map((client) => closeRedisClient(client)),
      );
    },
  };
}

/** Passes a client's connection errors on (a Cluster client reports a failing node apart). */
function reportErrors(redis: Redis, options: RedisStoreOptions): void {
  redis.on("error", (error: Error) => options.onError?.(error));
  redis.on("node error", (error: Error) => options.onError?.(error));
}

/** The session store, behind a look-up cache kept honest over pub/sub when one is asked for. */
function cachedIfAsked(
  sessions: SessionStore,
  redis: Redis,
  keys: RedisKeys,
  options: RedisStoreOptions,
): SessionStore {
  const cache = options.lookupCache;
  if (cache === undefined || cache.ttlMs <= 0) {
    return sessions;
  }
  const subscriber = keepReconnecting(redis.duplicate());
  subscriber.on("error", (error: Error) => options.onError?.(error));
  const clock = options.clock ?? systemClock;
  return new CachedSessionStore(sessions, redis, subscriber, keys.revocations(), clock, cache);
}
