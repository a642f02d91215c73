import { TokenNotStoredError } from "../../domain/errors.js";
import type { ExpiredSession, SessionStore, TrimmedSession } from "../../domain/ports.js";
import {
  listingOf,
  type SessionListing,
  type SessionRecord,
  type TokenLookup,
} from "../../domain/session.js";
import { decodeOwner, decodeSession, ownerFields, type SessionOwner } from "./codec.js";
import type { DurableWrites } from "./durable-writes.js";
import { guarded } from "./guarded.js";
import type { RedisKeys } from "./keys.js";
import { LegacySessions } from "./legacy-sessions.js";
import { servingNodeIsUp } from "./node-status.js";
import { readHashes } from "./read-hashes.js";
import type { ScriptedRedis } from "./scripts.js";
import { SessionRecords } from "./session-records.js";
import { ShardReads } from "./shard-reads.js";

/**
 * Sessions in Redis: one record per session, named by the start of its first token's hash
 * (its id), so that a token leads to its session in one read; a link from each later token;
 * the user's index (under the user's hash tag) says which sessions are live, and every
 * change of it moves the per-slot bookkeeping (live count, owners for the sweep) in the
 * same script. An ended session's record shrinks to a tombstone (its user and expiry) kept
 * until the retention ends, so that a late caller learns "expired" or "revoked".
 */
export class RedisSessionStore implements SessionStore {
  private readonly shardReads: ShardReads;
  private readonly legacy: LegacySessions;
  private readonly records: SessionRecords;

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
    private readonly durable: DurableWrites,
  ) {
    this.shardReads = new ShardReads(redis, keys);
    this.legacy = new LegacySessions(redis, keys, durable);
    this.records = new SessionRecords(redis, keys);
  }

  /**
   * The record first (alone it is not live: the index does not list it), unless the Cluster
   * node of its slot is down, then the index entry and its count in one script in the
   * user's slot. A session whose script failed is taken back in case it ran.
   */
  create(session: SessionRecord, retainUntil: number): Promise<boolean> {
    return guarded(async () => {
      const written = this.records.keysOf(session);
      if (!written.every((key) => servingNodeIsUp(this.redis, key))) {
        throw new TokenNotStoredError();
      }
      try {
        await this.records.write(session, retainUntil);
      } catch (error) {
        throw new TokenNotStoredError({ cause: error });
      }
      const { userId, id, expiresAt } = session;
      const shard = this.keys.shardOf(userId);
      try {
        const created = await this.redis.kcCreateSession(
          this.keys.user(userId),
          this.keys.index(userId),
          shard.owners,
          shard.live,
          expiresAt,
          id,
          userId,
        );
        if (created !== 1) {
          await this.forget(written);
        }
        return created === 1;
      } catch (error) {
        await this.discard(session).catch(() => undefined);
        throw error;
      }
    });
  }

  /** The record the token leads to, then the index's word on whether it is live. */
  lookup(tokenHash: string): Promise<TokenLookup> {
    return guarded(async () => {
      const found = await this.records.find(tokenHash);
      if (found === undefined) {
        return this.legacy.lookup(tokenHash);
      }
      const { id, fields } = found;
      const userId = fields.u;
      if (userId === undefined) {
        return {};
      }
      const [expiry, ...owner] = await this.redis.kcSessionStatus(
        this.keys.index(userId),
        this.keys.user(userId),
        id,
      );
      const pointer = { userId, sessionId: id, expiresAt: Number(fields.ea) };
      const session =
        expiry === "" ? undefined : decodeSession(fields, userId, id, decodeOwner(owner));
      return session === undefined ? { pointer } : { pointer, session };
    });
  }

  list(userId: string, now: number): Promise<SessionListing[]> {
    return guarded(async () => {
      const ids = await this.redis.zrevrangebyscore(this.keys.index(userId), "+inf", `(${now}`);
      const [records, owner] = await Promise.all([
        readHashes(
          this.redis,
          ids.map((id) => this.keys.record(id)),
        ),
        this.owner(userId),
      ]);
      const current = records.map((record, i) =>
        record.u === userId ? decodeSession(record, userId, ids[i] ?? "", owner) : undefined,
      );
      const older = ids.filter((_, i) => current[i] === undefined);
      const legacy = older.length > 0 ? await this.legacy.list(userId, older, owner) : [];
      return [...current.filter(isSession).map(listingOf), ...legacy].sort(
        (a, b) => b.createdAt - a.createdAt,
      );
    });
  }

  /**
   * A link from the new token first (alone it leads to a session that does not have that
   * token), then the record's token swapped only if it is still the presented one (waiting
   * for the replicas: the presented token is now on its way out), then the index's expiry.
   */
  rotate(next: SessionRecord, presentedHash: string, retainUntil: number): Promise<boolean> {
    return guarded(async () => {
      const link = await this.records.writeLink(next, retainUntil);
      const write = (redis: ScriptedRedis) =>
        this.records.replaceToken(redis, next, presentedHash, retainUntil);
      const replaced =
        next.tokenHash === presentedHash
          ? await write(this.redis)
          : await this.durable.run(this.keys.record(next.id), write, (done) => done === 1);
      if (replaced !== 1) {
        if (link !== undefined) {
          await this.redis.del(link);
        }
        // No record: a session of keycard 0.1.0, refreshed in its own layout.
        return replaced === -1 && this.legacy.rotate(next, presentedHash, retainUntil);
      }
      const shard = this.keys.shardOf(next.userId);
      const moved = await this.redis.kcMoveExpiry(
        this.keys.index(next.userId),
        shard.owners,
        shard.live,
        next.expiresAt,
        next.id,
        next.userId,
      );
      return moved === 1;
    });
  }

  revoke(userId: string, sessionId: string): Promise<boolean> {
    return guarded(async () => {
      const index = this.keys.index(userId);
      const live = this.keys.shardOf(userId).live;
      const legacy = this.keys.legacySession(userId, sessionId);
      const ended = await this.durable.run(index, (redis) =>
        redis.kcRevoke(legacy, index, live, sessionId),
      );
      await this.records.bury(userId, [sessionId]);
      return ended === 1;
    });
  }

  /** Ends them all in one script; counts those that had not yet expired. */
  revokeAll(userId: string, keepSessionId?: string): Promise<number> {
    return guarded(async () => {
      const index = this.keys.index(userId);
      const live = this.keys.shardOf(userId).live;
      const prefix = this.keys.legacySessionPrefix(userId);
      const removed = await this.durable.run(index, (redis) =>
        redis.kcRevokeAll(index, live, keepSessionId ?? "", prefix),
      );
      const ids = removed.filter((_, i) => i % 2 === 0);
      await this.records.bury(userId, ids);
      return removed.filter((flag, i) => i % 2 === 1 && flag === "1").length;
    });
  }

  /**
   * Reads the live sessions' creation times, then ends the oldest in one script that
   * counts again, so that racing logins each end only what is still over the limit.
   */
  trim(userId: string, keep: number, now: number): Promise<TrimmedSession[]> {
    return guarded(async () => {
      const index = this.keys.index(userId);
      const ids = await this.redis.zrangebyscore(index, `(${now}`, "+inf");
      if (ids.length <= keep) {
        return [];
      }
      const created = await this.records.createdAt(userId, ids, this.legacy);
      const byAge = ids
        .map((sessionId, i) => ({ sessionId, createdAt: created[i] ?? 0 }))
        .sort((a, b) => a.createdAt - b.createdAt);
      const oldestFirst = byAge.map(({ sessionId }) => sessionId);
      const live = this.keys.shardOf(userId).live;
      const prefix = this.keys.legacySessionPrefix(userId);
      const ended = await this.durable.run(
        index,
        (redis) => redis.kcEndOldest(index, live, keep, now, prefix, ...oldestFirst),
        (ended) => ended.length > 0,
      );
      await this.records.bury(userId, ended);
      return byAge.filter(({ sessionId }) => ended.includes(sessionId));
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

  /**
   * Labels the record only while it is the user's and unexpired (a tombstone has no `ca`:
   * nothing to label), or else the 0.1.0 hash; then asks the index whether the session is
   * still live, so a revocation that came first answers false whatever its record shows.
   */
  rename(userId: string, sessionId: string, label: string): Promise<boolean> {
    return guarded(async () => {
      let labelled = await this.redis.kcRelabel(this.keys.record(sessionId), userId, label);
      if (labelled === -1) {
        labelled = await this.legacy.rename(userId, sessionId, label);
      }
      return (
        labelled === 1 && (await this.redis.zscore(this.keys.index(userId), sessionId)) !== null
      );
    });
  }

  touch(userId: string, sessionId: string, at: number): Promise<void> {
    return guarded(async () => {
      if ((await this.redis.kcTouch(this.keys.record(sessionId), at)) !== 1) {
        await this.legacy.touch(userId, sessionId, at);
      }
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
    const ids = due.filter((_, i) => i % 2 === 0);
    // Read before the records shrink to tombstones, which keep no creation time; a failed
    // read leaves it unknown (0) rather than losing sessions already taken off the index.
    const created =
      ids.length > 0 ? await this.records.createdAt(userId, ids, this.legacy).catch(() => []) : [];
    await this.records.bury(userId, ids);
    return ids.map((sessionId, i) => ({
      userId,
      sessionId,
      createdAt: created[i] ?? 0,
      expiresAt: Number(due[2 * i + 1]),
    }));
  }

  /** The fields of a user that their sessions show, as the user record has them now. */
  private async owner(userId: string): Promise<SessionOwner> {
    return decodeOwner(await this.redis.hmget(this.keys.user(userId), ...ownerFields));
  }

  /**
   * Deletes a session's record and token link one key at a time: they lie in different
   * Cluster slots (their names are token hashes, with no user hash tag), where one DEL of
   * both fails with CROSSSLOT.
   */
  private async forget(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((key) => this.redis.del(key)));
  }

  /** Takes back a session whose creation script failed, in case it ran nonetheless. */
  private async discard(session: SessionRecord): Promise<void> {
    await this.forget(this.records.keysOf(session));
    await this.redis.kcRevoke(
      this.keys.legacySession(session.userId, session.id),
      this.keys.index(session.userId),
      this.keys.shardOf(session.userId).live,
      session.id,
    );
  }
}

function isSession(session: SessionRecord | undefined): session is SessionRecord {
  return session !== undefined;
}
