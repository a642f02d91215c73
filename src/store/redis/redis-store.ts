import { Redis, type RedisOptions } from "ioredis";
import type { ApiKeyPatch, ApiKeyRecord } from "../../domain/api-key.js";
import { StoreUnavailableError } from "../../domain/errors.js";
import type { ApiKeyStore, SessionStore, Store, UserStore } from "../../domain/ports.js";
import type { SessionRecord, TokenLookup } from "../../domain/session.js";
import type { UserPatch, UserRecord } from "../../domain/user.js";
import {
  decodeApiKey,
  decodePointer,
  decodeSession,
  decodeUser,
  encodeApiKey,
  encodePointer,
  encodeSession,
  encodeUser,
} from "./codec.js";
import { type RedisKeys, redisKeys } from "./keys.js";
import { defineScripts, type ScriptedRedis } from "./scripts.js";

/**
 * Runs one store operation, turning any Redis failure (down, timed out, refused) into
 * StoreUnavailableError so that callers see one typed, retryable error.
 */
async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw new StoreUnavailableError({ cause: error });
  }
}

class RedisUserStore implements UserStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
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

  update(id: string, patch: UserPatch): Promise<UserRecord | undefined> {
    return guarded(async () => {
      const found = await this.redis.kcUpdateExisting(this.keys.user(id), ...encodeUser(patch));
      return found === 1 ? this.read(id) : undefined;
    });
  }

  list(offset: number, limit: number): Promise<UserRecord[]> {
    if (limit <= 0) {
      return Promise.resolve([]);
    }
    return guarded(async () => {
      const ids = await this.redis.zrange(
        this.keys.users(),
        String(offset),
        String(offset + limit - 1),
      );
      const hashes = await readHashes(this.redis, ids.map(this.keys.user));
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

class RedisApiKeyStore implements ApiKeyStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
  ) {}

  create(key: ApiKeyRecord): Promise<void> {
    return guarded(async () => {
      await this.redis
        .multi()
        .hset(this.keys.apiKey(key.id), ...encodeApiKey(key))
        .set(this.keys.apiKeyHash(key.keyHash), key.id)
        .sadd(this.keys.userApiKeys(key.userId), key.id)
        .exec();
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

  update(id: string, patch: ApiKeyPatch): Promise<ApiKeyRecord | undefined> {
    return guarded(async () => {
      const found = await this.redis.kcUpdateExisting(this.keys.apiKey(id), ...encodeApiKey(patch));
      return found === 1 ? this.read(id) : undefined;
    });
  }

  private async read(id: string): Promise<ApiKeyRecord | undefined> {
    return decodeApiKey(await this.redis.hgetall(this.keys.apiKey(id)));
  }
}

/** HGETALL of several keys in one round trip. */
async function readHashes(redis: ScriptedRedis, keys: string[]): Promise<Record<string, string>[]> {
  if (keys.length === 0) {
    return [];
  }
  const pipeline = redis.pipeline();
  for (const key of keys) {
    pipeline.hgetall(key);
  }
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([, hash]) => (hash ?? {}) as Record<string, string>);
}

class RedisSessionStore implements SessionStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
  ) {}

  create(session: SessionRecord, retainUntil: number): Promise<boolean> {
    return guarded(async () => {
      const { userId, id, expiresAt } = session;
      const created = await this.redis.kcCreateSession(
        this.keys.user(userId),
        this.keys.session(userId, id),
        this.keys.index(userId),
        expiresAt,
        id,
        ...encodeSession(session),
      );
      if (created === 1) {
        await this.writePointer(session, retainUntil);
      }
      return created === 1;
    });
  }

  lookup(tokenHash: string): Promise<TokenLookup> {
    return guarded(async () => {
      const pointer = decodePointer(await this.redis.get(this.keys.pointer(tokenHash)));
      if (pointer === undefined) {
        return {};
      }
      const hash = await this.redis.hgetall(this.keys.session(pointer.userId, pointer.sessionId));
      const session = decodeSession(hash);
      return session === undefined ? { pointer } : { pointer, session };
    });
  }

  list(userId: string, now: number): Promise<SessionRecord[]> {
    return guarded(async () => {
      const index = this.keys.index(userId);
      const ids = await this.redis.zrevrangebyscore(index, "+inf", `(${now}`);
      await this.redis.zremrangebyscore(index, "-inf", now);
      const hashes = await readHashes(
        this.redis,
        ids.map((id) => this.keys.session(userId, id)),
      );
      return hashes
        .map(decodeSession)
        .filter((session): session is SessionRecord => session !== undefined)
        .sort((a, b) => b.createdAt - a.createdAt);
    });
  }

  rotate(next: SessionRecord, presentedHash: string, retainUntil: number): Promise<boolean> {
    return guarded(async () => {
      await this.writePointer(next, retainUntil);
      const rotated = await this.redis.kcRotateSession(
        this.keys.session(next.userId, next.id),
        this.keys.index(next.userId),
        presentedHash,
        next.expiresAt,
        next.id,
        ...encodeSession(next),
      );
      if (rotated !== 1) {
        await this.redis.del(this.keys.pointer(next.tokenHash));
      }
      return rotated === 1;
    });
  }

  revoke(userId: string, sessionId: string): Promise<boolean> {
    return guarded(async () => {
      const deleted = await this.redis.kcRevoke(
        this.keys.session(userId, sessionId),
        this.keys.index(userId),
        sessionId,
      );
      return deleted === 1;
    });
  }

  revokeAll(userId: string, keepSessionId?: string): Promise<number> {
    return guarded(() =>
      this.redis.kcRevokeAll(
        this.keys.index(userId),
        keepSessionId ?? "",
        this.keys.sessionPrefix(userId),
      ),
    );
  }

  touch(userId: string, sessionId: string, at: number): Promise<void> {
    return guarded(async () => {
      await this.redis.kcTouch(this.keys.session(userId, sessionId), at);
    });
  }

  private async writePointer(session: SessionRecord, retainUntil: number): Promise<void> {
    await this.redis.set(
      this.keys.pointer(session.tokenHash),
      encodePointer(session),
      "PXAT",
      retainUntil,
    );
  }
}

/** How to reach Redis and how long any command may take. */
export interface RedisStoreOptions {
  readonly url: string;
  readonly namespace: string;
  readonly commandTimeoutMs: number;
  readonly onError?: (error: Error) => void;
}

/**
 * Connection settings that never let a request wait for a Redis that is down: no offline
 * queue, a timeout on every command, and reconnection in the background forever.
 */
export function redisConnectionOptions(options: RedisStoreOptions): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: Math.max(options.commandTimeoutMs, 1000),
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  };
}

/** The production store: one Redis (standalone or behind Sentinel) shared by replicas. */
export function createRedisStore(options: RedisStoreOptions): Store & { readonly redis: Redis } {
  const redis = defineScripts(
    new Redis(options.url, { ...redisConnectionOptions(options), replyMapping: "legacy" }),
  );
  redis.on("error", (error: Error) => options.onError?.(error));
  const keys = redisKeys(options.namespace);
  return {
    redis,
    users: new RedisUserStore(redis, keys),
    sessions: new RedisSessionStore(redis, keys),
    apiKeys: new RedisApiKeyStore(redis, keys),
    ping: () =>
      guarded(async () => {
        await redis.ping();
      }),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
