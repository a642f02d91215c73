import { TokenNotStoredError } from "../../domain/errors.js";
import type { ExpiredSession, SessionStore } from "../../domain/ports.js";
import type { SessionRecord, TokenLookup } from "../../domain/session.js";
import {
  decodeOwner,
  decodePointer,
  decodeSession,
  decodeSessionReply,
  encodePointer,
  encodeSession,
  ownerFields,
  type SessionOwner,
} from "./codec.js";
import type { DurableWrites } from "./durable-writes.js";
import { guarded } from "./guarded.js";
import type { RedisKeys } from "./keys.js";
import { servingNodeIsUp } from "./node-status.js";
import { readHashes } from "./read-hashes.js";
import type { ScriptedRedis } from "./scripts.js";
import { ShardReads } from "./shard-reads.js";

/**
 * Sessions in Redis: a hash per session and an index per user under the user's hash tag,
 * a pointer per token hash, and per-slot bookkeeping (live count, owners for the sweep).
 */
export class RedisSessionStore implements SessionStore {
  private readonly shardReads: ShardReads;

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
    private readonly durable: DurableWrites,
  ) {
    this.shardReads = new ShardReads(redis, keys);
  }

  /**
   * The pointer first (alone it is harmless: it leads to no session), unless the Cluster
   * node of its slot is down, then the session, its index entry and its count in one script
   * in the user's slot. A session whose script failed is taken back in case it ran.
   */
  create(session: SessionRecord, retainUntil: number): Promise<boolean> {
    return guarded(async () => {
      if (!servingNodeIsUp(this.redis, this.keys.pointer(session.tokenHash))) {
        throw new TokenNotStoredError();
      }
      try {
        await this.writePointer(session, retainUntil);
      } catch (error) {
        throw new TokenNotStoredError({ cause: error });
      }
      const { userId, id, expiresAt } = session;
      const shard = this.keys.shardOf(userId);
      try {
        const created = await this.redis.kcCreateSession(
          this.keys.user(userId),
          this.keys.session(userId, id),
          this.keys.index(userId),
          shard.owners,
          shard.live,
          expiresAt,
          id,
          userId,
          ...encodeSession(session),
        );
        if (created !== 1) {
          await this.redis.del(this.keys.pointer(session.tokenHash));
        }
        return created === 1;
      } catch (error) {
        await this.discard(session).catch(() => undefined);
        throw error;
      }
    });
  }

  lookup(tokenHash: string): Promise<TokenLookup> {
    return guarded(async () => {
      const pointer = decodePointer(await this.redis.get(this.keys.pointer(tokenHash)));
      if (pointer === undefined) {
        return {};
      }
      const { userId, sessionId } = pointer;
      const reply = await this.redis.kcReadSession(
        this.keys.session(userId, sessionId),
        this.keys.user(userId),
      );
      const session = decodeSessionReply(reply, userId, sessionId);
      return session === undefined ? { pointer } : { pointer, session };
    });
  }

  list(userId: string, now: number): Promise<SessionRecord[]> {
    return guarded(async () => {
      const index = this.keys.index(userId);
      const ids = await this.redis.zrevrangebyscore(index, "+inf", `(${now}`);
      const [hashes, owner] = await Promise.all([
        readHashes(
          this.redis,
          ids.map((id) => this.keys.session(userId, id)),
        ),
        this.owner(userId),
      ]);
      return hashes
        .map((hash, i) => decodeSession(hash, userId, ids[i] ?? "", owner))
        .filter((session): session is SessionRecord => session !== undefined)
        .sort((a, b) => b.createdAt - a.createdAt);
    });
  }

  rotate(next: SessionRecord, presentedHash: string, retainUntil: number): Promise<boolean> {
    return guarded(async () => {
      await this.writePointer(next, retainUntil);
      const index = this.keys.index(next.userId);
      const shard = this.keys.shardOf(next.userId);
      const write = (redis: ScriptedRedis) =>
        redis.kcRotateSession(
          this.keys.session(next.userId, next.id),
          index,
          shard.owners,
          shard.live,
          presentedHash,
          next.expiresAt,
          next.id,
          next.userId,
          ...encodeSession(next),
        );
      // A new token revokes the presented one (durable); a renewal only moves the expiry.
      const rotated =
        next.tokenHash === presentedHash
          ? await write(this.redis)
          : await this.durable.run(index, write);
      if (rotated !== 1) {
        await this.redis.del(this.keys.pointer(next.tokenHash));
        return false;
      }
      return true;
    });
  }

  revoke(userId: string, sessionId: string): Promise<boolean> {
    return guarded(async () => {
      const index = this.keys.index(userId);
      const live = this.keys.shardOf(userId).live;
      const deleted = await this.durable.run(index, (redis) =>
        redis.kcRevoke(this.keys.session(userId, sessionId), index, live, sessionId),
      );
      return deleted === 1;
    });
  }

  revokeAll(userId: string, keepSessionId?: string): Promise<number> {
    return guarded(async () => {
      const index = this.keys.index(userId);
      const live = this.keys.shardOf(userId).live;
      const ended = await this.durable.run(index, (redis) =>
        redis.kcRevokeAll(index, live, keepSessionId ?? "", this.keys.sessionPrefix(userId)),
      );
      return ended.length;
    });
  }

  trim(userId: string, keep: number, now: number): Promise<string[]> {
    return guarded(async () => {
      const index = this.keys.index(userId);
      const live = this.keys.shardOf(userId).live;
      // Every login trims: only a trim that ended sessions waits for the replicas.
      return this.durable.run(
        index,
        (redis) => redis.kcTrim(index, live, keep, now, this.keys.sessionPrefix(userId)),
        (ended) => ended.length > 0,
      );
    });
  }

  countLive(): Promise<number> {
    return guarded(async () => Math.max(0, await this.shardReads.countLive()));
  }

  /**
   * Visits the users whose earliest unswept expiry has passed, at most `limit` of them, and
   * takes their expired sessions off their index, each user in one script (so every expiry
   * is seen by one sweep only, and counted down with it) that files the user again under
   * their next expiry, or drops them.
   */
  sweepExpired(now: number, limit: number): Promise<ExpiredSession[]> {
    return guarded(async () => {
      const { users, unsharded } = await this.shardReads.dueOwners(now, limit);
      const swept = await Promise.all(users.map((userId) => this.sweepUser(userId, now, limit)));
      if (unsharded.length > 0) {
        await this.redis.zrem(this.keys.unshardedBookkeeping().owners, ...unsharded);
      }
      return swept.flat();
    });
  }

  touch(userId: string, sessionId: string, at: number): Promise<void> {
    return guarded(async () => {
      await this.redis.kcTouch(this.keys.session(userId, sessionId), at);
    });
  }

  private async sweepUser(userId: string, now: number, limit: number): Promise<ExpiredSession[]> {
    const shard = this.keys.shardOf(userId);
    const due = await this.redis.kcSweepUser(
      this.keys.index(userId),
      shard.owners,
      shard.live,
      now,
      limit,
      userId,
    );
    const expired: ExpiredSession[] = [];
    for (let i = 0; i + 1 < due.length; i += 2) {
      expired.push({ userId, sessionId: due[i] ?? "", expiresAt: Number(due[i + 1]) });
    }
    return expired;
  }

  /** The fields of a user that their sessions show, as the user record has them now. */
  private async owner(userId: string): Promise<SessionOwner> {
    return decodeOwner(await this.redis.hmget(this.keys.user(userId), ...ownerFields));
  }

  /** Takes back a session whose creation script failed, in case it ran nonetheless. */
  private async discard(session: SessionRecord): Promise<void> {
    await this.redis.del(this.keys.pointer(session.tokenHash));
    await this.redis.kcRevoke(
      this.keys.session(session.userId, session.id),
      this.keys.index(session.userId),
      this.keys.shardOf(session.userId).live,
      session.id,
    );
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
