import type { PasskeyChallenge, PasskeyRecord } from "../../domain/passkey.js";
import type { PasskeyChallengeStore, PasskeyStore } from "../../domain/ports.js";
import type { DurableWrites } from "./durable-writes.js";
import { guarded } from "./guarded.js";
import type { RedisKeys } from "./keys.js";
import type { ScriptedRedis } from "./scripts.js";

/** What a passkey's JSON field holds: all but its id, user, counter and last use. */
type StoredPasskey = Omit<PasskeyRecord, "id" | "userId" | "counter" | "lastUsedAt">;

/**
 * Passkeys in Redis: one hash per user under the user's hash tag, holding per passkey its
 * JSON and, in fields of their own, the counter and last use a login changes (so a use is
 * one script comparing numbers, never a rewrite of the JSON). Adding and removing are
 * durable: a failover must neither lose a new passkey nor bring back a removed one.
 */
export class RedisPasskeyStore implements PasskeyStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keyOf: (userId: string) => string,
    private readonly durable: DurableWrites,
  ) {}

  add(passkey: PasskeyRecord): Promise<boolean> {
    const key = this.keyOf(passkey.userId);
    const { id, userId: _user, counter, lastUsedAt, ...stored } = passkey;
    return guarded(async () => {
      const added = await this.durable.run(
        key,
        (redis) => redis.kcAddPasskey(key, id, JSON.stringify(stored), counter, lastUsedAt),
        (done) => done === 1,
      );
      return added === 1;
    });
  }

  find(userId: string, id: string): Promise<PasskeyRecord | undefined> {
    return guarded(async () => {
      const [json, counter, lastUsedAt] = await this.redis.hmget(
        this.keyOf(userId),
        id,
        `${id}:n`,
        `${id}:u`,
      );
      return json === null || json === undefined
        ? undefined
        : decodePasskey(userId, id, json, counter, lastUsedAt);
    });
  }

  list(userId: string): Promise<PasskeyRecord[]> {
    return guarded(async () => {
      const hash = await this.redis.hgetall(this.keyOf(userId));
      return Object.keys(hash)
        .filter((field) => !field.includes(":"))
        .map((id) => decodePasskey(userId, id, hash[id] ?? "{}", hash[`${id}:n`], hash[`${id}:u`]))
        .sort((a, b) => a.createdAt - b.createdAt);
    });
  }

  recordUse(userId: string, id: string, counter: number, at: number): Promise<boolean> {
    return guarded(
      async () => (await this.redis.kcRecordPasskeyUse(this.keyOf(userId), id, counter, at)) === 1,
    );
  }

  remove(userId: string, id: string): Promise<boolean> {
    const key = this.keyOf(userId);
    return guarded(async () => {
      const removed = await this.durable.run(
        key,
        (redis) => redis.hdel(key, id, `${id}:n`, `${id}:u`),
        (count) => count > 0,
      );
      return removed > 0;
    });
  }
}

/** A passkey read back from its hash fields. */
function decodePasskey(
  userId: string,
  id: string,
  json: string,
  counter: string | null | undefined,
  lastUsedAt: string | null | undefined,
): PasskeyRecord {
  const stored = JSON.parse(json) as StoredPasskey;
  return {
    ...stored,
    id,
    userId,
    counter: Number(counter ?? 0),
    lastUsedAt: Number(lastUsedAt ?? 0),
  };
}

/**
 * WebAuthn challenges in Redis: one string key per challenge id holding it as JSON until
 * its expiry (PXAT). GETDEL takes one in one command, so of concurrent answers only one
 * reads it; the take is durable, so a failover cannot bring back an answered challenge.
 */
export class RedisPasskeyChallengeStore implements PasskeyChallengeStore {
  constructor(
    private readonly keys: Pick<RedisKeys, "passkeyChallenge">,
    private readonly redis: ScriptedRedis,
    private readonly durable: DurableWrites,
  ) {}

  save(id: string, challenge: PasskeyChallenge): Promise<void> {
    return guarded(async () => {
      await this.redis.set(
        this.keys.passkeyChallenge(id),
        JSON.stringify(challenge),
        "PXAT",
        challenge.expiresAt,
      );
    });
  }

  take(id: string): Promise<PasskeyChallenge | undefined> {
    return guarded(async () => {
      const key = this.keys.passkeyChallenge(id);
      const json = await this.durable.run(
        key,
        (redis) => redis.getdel(key),
        (taken) => taken !== null,
      );
      return json === null ? undefined : (JSON.parse(json) as PasskeyChallenge);
    });
  }
}
