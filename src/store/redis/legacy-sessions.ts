import {
  listingOf,
  type SessionListing,
  type SessionRecord,
  type TokenLookup,
} from "../../domain/session.js";
import {
  decodePointer,
  decodeSession,
  decodeSessionReply,
  encodePointer,
  encodeSession,
  type SessionOwner,
} from "./codec.js";
import type { DurableWrites } from "./durable-writes.js";
import type { RedisKeys } from "./keys.js";
import { readHashes } from "./read-hashes.js";
import type { ScriptedRedis } from "./scripts.js";

/**
 * Sessions that keycard 0.1.0 stored (a pointer per token hash, a hash per session under
 * the user's hash tag), served until they have ended, so that an upgrade logs nobody out:
 * read, touched and refreshed in their own layout; ended, trimmed and swept with the new
 * ones (they share the user's index). Nothing opens a session in this layout any more.
 */
export class LegacySessions {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
    private readonly durable: DurableWrites,
  ) {}

  async lookup(tokenHash: string): Promise<TokenLookup> {
    const pointer = decodePointer(await this.redis.get(this.keys.legacyPointer(tokenHash)));
    if (pointer === undefined) {
      return {};
    }
    const { userId, sessionId } = pointer;
    const reply = await this.redis.kcReadLegacySession(
      this.keys.legacySession(userId, sessionId),
      this.keys.user(userId),
    );
    const session = decodeSessionReply(reply, userId, sessionId);
    return session === undefined ? { pointer } : { pointer, session };
  }

  /** The sessions among `ids` that this layout holds. */
  async list(userId: string, ids: string[], owner: SessionOwner): Promise<SessionListing[]> {
    const hashes = await readHashes(
      this.redis,
      ids.map((id) => this.keys.legacySession(userId, id)),
    );
    return hashes
      .map((hash, i) => decodeSession(hash, userId, ids[i] ?? "", owner))
      .filter((session): session is SessionRecord => session !== undefined)
      .map(listingOf);
  }

  async touch(userId: string, sessionId: string, at: number): Promise<void> {
    await this.redis.kcTouch(this.keys.legacySession(userId, sessionId), at);
  }

  /** SessionStore.rename for a session of this layout (its key names its user): 1 if done. */
  rename(userId: string, sessionId: string, label: string): Promise<number> {
    return this.redis.kcRelabel(this.keys.legacySession(userId, sessionId), "", label);
  }

  /** The creation time of each session of `ids` this layout holds (0 for the others). */
  async createdAt(userId: string, ids: string[]): Promise<number[]> {
    const times = await Promise.all(
      ids.map((id) => this.redis.hget(this.keys.legacySession(userId, id), "ca")),
    );
    return times.map((time) => Number(time ?? 0));
  }

  /** SessionStore.rotate for a session of this layout: it stays in it. */
  async rotate(next: SessionRecord, presentedHash: string, retainUntil: number) {
    await this.redis.set(
      this.keys.legacyPointer(next.tokenHash),
      encodePointer(next),
      "PXAT",
      retainUntil,
    );
    const index = this.keys.index(next.userId);
    const shard = this.keys.shardOf(next.userId);
    const write = (redis: ScriptedRedis) =>
      redis.kcRotateLegacy(
        this.keys.legacySession(next.userId, next.id),
        index,
        shard.owners,
        shard.live,
        presentedHash,
        next.expiresAt,
        next.id,
        next.userId,
        ...encodeSession(next),
      );
    const rotated =
      next.tokenHash === presentedHash
        ? await write(this.redis)
        : await this.durable.run(index, write);
    if (rotated !== 1) {
      await this.redis.del(this.keys.legacyPointer(next.tokenHash));
      return false;
    }
    return true;
  }
}
