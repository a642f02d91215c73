import type { SessionRecord } from "../../domain/session.js";
import { sessionIdLength } from "../../domain/token.js";
import { encodeSession } from "./codec.js";
import type { RedisKeys } from "./keys.js";
import type { LegacySessions } from "./legacy-sessions.js";
import type { ScriptedRedis } from "./scripts.js";

/** A session's record as stored (hash fields), with the id its key names. */
export interface FoundRecord {
  readonly id: string;
  readonly fields: Record<string, string>;
}

/**
 * The records sessions keep outside their user's slot: one per session, named by its id
 * (the start of its first token's hash), and a link (`i`: the session id) from any token
 * whose start is not the id, so that every token reaches its session from its hash alone.
 * Both live until the retention after the session's end.
 */
export class SessionRecords {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
  ) {}

  /** The keys a new session writes: its record, and its token's link when it needs one. */
  keysOf(session: SessionRecord): string[] {
    const link = this.linkOf(session);
    return link === undefined
      ? [this.keys.record(session.id)]
      : [this.keys.record(session.id), link];
  }

  /** The link first (alone it leads to nothing), then the record. */
  async write(session: SessionRecord, retainUntil: number): Promise<void> {
    await this.writeLink(session, retainUntil);
    await this.redis.kcPutRecord(
      this.keys.record(session.id),
      retainUntil,
      ...this.fieldsOf(session),
    );
  }

  /** A link from the session's current token, if its start is not the session's id. */
  async writeLink(session: SessionRecord, retainUntil: number): Promise<string | undefined> {
    const link = this.linkOf(session);
    if (link !== undefined) {
      await this.redis.kcPutRecord(link, retainUntil, "i", session.id);
    }
    return link;
  }

  /**
   * The record a token hash leads to (through a link if need be); undefined when nothing
   * bears its name (a token of no session, or of keycard 0.1.0), `fields` empty when a link
   * leads to a record that is gone.
   */
  async find(tokenHash: string): Promise<FoundRecord | undefined> {
    const start = tokenHash.slice(0, sessionIdLength);
    const named = await this.redis.hgetall(this.keys.record(start));
    if (named.i !== undefined) {
      return { id: named.i, fields: await this.redis.hgetall(this.keys.record(named.i)) };
    }
    if (named.u === undefined) {
      return undefined;
    }
    // No token hash kept: the first token, whose hash's start names the record, is current.
    const fields =
      named.ca !== undefined && named.tk === undefined ? { ...named, tk: tokenHash } : named;
    return { id: start, fields };
  }

  /** Swaps the token if it is still `presentedHash`: 1 done, 0 refused, -1 no such record. */
  replaceToken(
    redis: ScriptedRedis,
    next: SessionRecord,
    presentedHash: string,
    retainUntil: number,
  ): Promise<number> {
    return redis.kcReplaceToken(
      this.keys.record(next.id),
      presentedHash,
      retainUntil,
      next.id,
      ...this.fieldsOf(next),
    );
  }

  /**
   * Shrinks the user's ended sessions' records to tombstones (a record of another user is
   * left alone: a caller may name a session that is not that user's). Only memory is at
   * stake (the index has already ended them, and a record expires by itself), so a record
   * that cannot be reached now is left to its expiry.
   */
  async bury(userId: string, sessionIds: string[]): Promise<void> {
    await Promise.all(
      sessionIds.map((id) => this.redis.kcTombstone(this.keys.record(id), userId).catch(() => 0)),
    );
  }

  /**
   * When each session of `ids` began, from its record or else its 0.1.0 hash. A record on a
   * Cluster node that is down counts as the newest: a cap is no reason to fail a login, nor
   * to end a session whose age is unknown before older ones.
   */
  async createdAt(userId: string, ids: string[], legacy: LegacySessions): Promise<number[]> {
    const times = await Promise.all(
      ids.map((id) =>
        this.redis.hget(this.keys.record(id), "ca").catch(() => String(Number.MAX_SAFE_INTEGER)),
      ),
    );
    const older = ids.filter((_, i) => times[i] === null);
    const olderTimes = older.length > 0 ? await legacy.createdAt(userId, older) : [];
    return times.map((time) => (time === null ? (olderTimes.shift() ?? 0) : Number(time)));
  }

  /**
   * The record's fields: the session's, with its user's id, and without its token's hash
   * while that starts with the record's name (the session's first token): the name holds
   * 132 bits of it, which no other token matches, and the 43 bytes saved keep the record
   * within a smaller allocation.
   */
  private fieldsOf(session: SessionRecord): string[] {
    const fields = encodeSession(session);
    const token = fields.indexOf("tk");
    if (this.linkOf(session) === undefined && token % 2 === 0) {
      fields.splice(token, 2);
    }
    return ["u", session.userId, ...fields];
  }

  private linkOf(session: SessionRecord): string | undefined {
    const start = session.tokenHash.slice(0, sessionIdLength);
    return start === session.id ? undefined : this.keys.record(start);
  }
}
