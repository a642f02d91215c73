import type { Redis } from "ioredis";
import type { ApiKeyPatch, ApiKeyRecord } from "../../domain/api-key.js";
import { StoreUnavailableError } from "../../domain/errors.js";
import type {
  ApiKeyStore,
  ExpiredSession,
  SessionStore,
  Store,
  UserStore,
} from "../../domain/ports.js";
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
import { createRedisClient, parseRedisUrl } from "./connection.js";
import { type RedisKeys, redisKeys } from "./keys.js";
import { RedisLoginAttemptStore } from "./login-attempts.js";
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

/**
 * HGETALL of several keys. The keys may lie in different Cluster slots, which one pipeline
 * cannot span there, so each is its own command; ioredis still writes them together.
 */
function readHashes(redis: ScriptedRedis, keys: string[]): Promise<Record<string, string>[]> {
  return Promise.all(keys.map((key) => redis.hgetall(key)));
}

/** A session's entry in the live list. */
function liveMember(userId: string, sessionId: string): string {
  return `${userId} ${sessionId}`;
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
        await Promise.all([this.writePointer(session, retainUntil), this.listLive(session)]);
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
        return false;
      }
      await this.listLive(next, "XX");
      return true;
    });
  }

  revoke(userId: string, sessionId: string): Promise<boolean> {
    return guarded(async () => {
      const deleted = await this.redis.kcRevoke(
        this.keys.session(userId, sessionId),
        this.keys.index(userId),
        sessionId,
      );
      await this.forget(userId, [sessionId]);
      return deleted === 1;
    });
  }

  revokeAll(userId: string, keepSessionId?: string): Promise<number> {
    return guarded(async () => {
      const ended = await this.redis.kcRevokeAll(
        this.keys.index(userId),
        keepSessionId ?? "",
        this.keys.sessionPrefix(userId),
      );
      await this.forget(userId, ended);
      return ended.length;
    });
  }

  trim(userId: string, keep: number, now: number): Promise<string[]> {
    return guarded(async () => {
      const ended = await this.redis.kcTrim(
        this.keys.index(userId),
        keep,
        now,
        this.keys.sessionPrefix(userId),
      );
      await this.forget(userId, ended);
      return ended;
    });
  }

  countLive(now: number): Promise<number> {
    return guarded(() => this.redis.zcount(this.keys.liveSessions(), `(${now}`, "+inf"));
  }

  sweepExpired(now: number, limit: number): Promise<ExpiredSession[]> {
    return guarded(async () => {
      const due = await this.redis.kcSweep(this.keys.liveSessions(), now, limit);
      const expired: ExpiredSession[] = [];
      for (let i = 0; i + 1 < due.length; i += 2) {
        const [userId = "", sessionId = ""] = (due[i] ?? "").split(" ");
        expired.push({ userId, sessionId, expiresAt: Number(due[i + 1]) });
      }
      return expired;
    });
  }

  touch(userId: string, sessionId: string, at: number): Promise<void> {
    return guarded(async () => {
      await this.redis.kcTouch(this.keys.session(userId, sessionId), at);
    });
  }

  /**
   * Puts a session on the live list with its expiry (`XX`: only if still listed), and keeps
   * the list's own deadline at its latest expiry so that an idle namespace leaves nothing.
   */
  private async listLive(session: SessionRecord, only: "XX" | "" = ""): Promise<void> {
    const key = this.keys.liveSessions();
    const member = liveMember(session.userId, session.id);
    await Promise.all([
      only === ""
        ? this.redis.zadd(key, session.expiresAt, member)
        : this.redis.zadd(key, only, session.expiresAt, member),
      this.redis.pexpireat(key, session.expiresAt, "NX"),
      this.redis.pexpireat(key, session.expiresAt, "GT"),
    ]);
  }

  /** Takes ended sessions off the live list (they did not expire: no expiry event). */
  private async forget(userId: string, sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length > 0) {
      const members = sessionIds.map((id) => liveMember(userId, id));
      await this.redis.zrem(this.keys.liveSessions(), ...members);
    }
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
  /** REDIS_URL: `redis://`, `rediss://`, `redis+sentinel://…/<master>` or `redis+cluster://…`. */
  readonly url: string;
  readonly namespace: string;
  readonly commandTimeoutMs: number;
  /** REDIS_TLS_CA_FILE: PEM file of the CA that signed Redis's certificates. */
  readonly tlsCaFile?: string;
  readonly onError?: (error: Error) => void;
}

/**
 * The production store: one Redis, a Sentinel group or a Redis Cluster, shared by replicas.
 * Throws RedisConfigError for a URL or CA file it cannot use.
 */
export function createRedisStore(options: RedisStoreOptions): Store & { readonly redis: Redis } {
  const redis = defineScripts(
    createRedisClient(parseRedisUrl(options.url), {
      commandTimeoutMs: options.commandTimeoutMs,
      ...(options.tlsCaFile === undefined ? {} : { tlsCaFile: options.tlsCaFile }),
    }),
  );
  redis.on("error", (error: Error) => options.onError?.(error));
  // A Cluster client reports a failing node this way instead of through "error".
  redis.on("node error", (error: Error) => options.onError?.(error));
  const keys = redisKeys(options.namespace);
  return {
    redis,
    users: new RedisUserStore(redis, keys),
    sessions: new RedisSessionStore(redis, keys),
    apiKeys: new RedisApiKeyStore(redis, keys),
    loginAttempts: new RedisLoginAttemptStore(redis, keys),
    ping: () =>
      guarded(async () => {
        await redis.ping();
      }),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
