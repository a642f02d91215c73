import type { Redis } from "ioredis";
import type { Clock } from "../../domain/clock.js";
import type { ExpiredSession, SessionStore, TrimmedSession } from "../../domain/ports.js";
import type { SessionListing, SessionRecord, TokenLookup } from "../../domain/session.js";
import { closeRedisClient } from "./keep-reconnecting.js";

/** How long and how many token look-ups a replica may answer from memory. */
export interface LookupCacheOptions {
  /** The bound on how long a revoked token can still look live here; 0 turns caching off. */
  readonly ttlMs: number;
  readonly maxEntries: number;
}

/** A revocation as replicas tell each other: sessions by id, or every session of a user. */
type Revocation = { readonly s: readonly string[] } | { readonly u: string };

interface Entry {
  readonly lookup: TokenLookup & { readonly session: SessionRecord };
  readonly until: number;
}

/**
 * Token look-ups of live sessions kept in memory for at most `ttlMs`, so that the hot
 * Validate path skips Redis for tokens it saw a moment ago. Every change that ends or
 * rotates a session evicts it here and is published on a Redis channel that every replica
 * subscribes to, so a revoked token dies everywhere at once; the TTL bounds the rest (a
 * message lost while a replica reconnects). Fail closed: entries are served only while the
 * subscription is up, and all are dropped the moment it goes down (Redis down means no
 * token validates). Expiry, idle timeout and the refresh grace are still judged on every
 * use from the cached record and the clock.
 */
export class CachedSessionStore implements SessionStore {
  private readonly entries = new Map<string, Entry>();
  private subscribed = false;

  constructor(
    private readonly inner: SessionStore,
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly channel: string,
    private readonly clock: Clock,
    private readonly options: LookupCacheOptions,
  ) {
    subscriber.on("ready", () => {
      this.entries.clear();
      subscriber.subscribe(channel).then(
        () => {
          this.subscribed = true;
        },
        () => this.stopServing(),
      );
    });
    for (const event of ["close", "end", "error", "reconnecting"]) {
      subscriber.on(event, () => this.stopServing());
    }
    subscriber.on("message", (_channel: string, text: string) => this.apply(text));
  }

  async lookup(tokenHash: string): Promise<TokenLookup> {
    const now = this.clock.now();
    const cached = this.entries.get(tokenHash);
    if (cached !== undefined && cached.until > now && this.subscribed) {
      return cached.lookup;
    }
    this.entries.delete(tokenHash);
    const found = await this.inner.lookup(tokenHash);
    if (found.session !== undefined && this.subscribed) {
      this.remember(tokenHash, { ...found, session: found.session }, now);
    }
    return found;
  }

  create(session: SessionRecord, retainUntil: number): Promise<boolean> {
    return this.inner.create(session, retainUntil);
  }

  list(userId: string, now: number): Promise<SessionListing[]> {
    return this.inner.list(userId, now);
  }

  async rotate(next: SessionRecord, presentedHash: string, retainUntil: number): Promise<boolean> {
    await this.announce({ s: [next.id] });
    const rotated = await this.inner.rotate(next, presentedHash, retainUntil);
    await this.announce({ s: [next.id] });
    return rotated;
  }

  async revoke(userId: string, sessionId: string): Promise<boolean> {
    const revoked = await this.inner.revoke(userId, sessionId);
    await this.announce({ s: [sessionId] });
    return revoked;
  }

  async revokeAll(userId: string, keepSessionId?: string): Promise<number> {
    const count = await this.inner.revokeAll(userId, keepSessionId);
    await this.announce({ u: userId });
    return count;
  }

  async trim(userId: string, keep: number, now: number): Promise<TrimmedSession[]> {
    const ended = await this.inner.trim(userId, keep, now);
    if (ended.length > 0) {
      await this.announce({ s: ended.map(({ sessionId }) => sessionId) });
    }
    return ended;
  }

  /**
   * Records a use, and at once in the cached records of the session too: otherwise every
   * cached hit after the touch interval would see the old last use and write again.
   */
  touch(userId: string, sessionId: string, at: number): Promise<void> {
    for (const [tokenHash, { lookup, until }] of this.entries) {
      if (lookup.session.id === sessionId) {
        const session = { ...lookup.session, lastUsedAt: at };
        this.entries.set(tokenHash, { lookup: { ...lookup, session }, until });
      }
    }
    return this.inner.touch(userId, sessionId, at);
  }

  /**
   * Labels the session, and its cached records too, so that a refresh from a cached record
   * does not write the old label back.
   */
  async rename(userId: string, sessionId: string, label: string): Promise<boolean> {
    const renamed = await this.inner.rename(userId, sessionId, label);
    for (const [tokenHash, { lookup, until }] of this.entries) {
      if (renamed && lookup.session.id === sessionId) {
        const session = { ...lookup.session, label };
        this.entries.set(tokenHash, { lookup: { ...lookup, session }, until });
      }
    }
    return renamed;
  }

  countLive(): Promise<number> {
    return this.inner.countLive();
  }

  sweepExpired(now: number, limit: number): Promise<ExpiredSession[]> {
    return this.inner.sweepExpired(now, limit);
  }

  /** Unsubscribes; the store's own connection is closed by the store. */
  close(): void {
    this.stopServing();
    void closeRedisClient(this.subscriber);
  }

  private remember(tokenHash: string, lookup: Entry["lookup"], now: number): void {
    if (this.entries.size >= this.options.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) {
        this.entries.delete(oldest);
      }
    }
    const until = Math.min(now + this.options.ttlMs, lookup.session.expiresAt);
    this.entries.set(tokenHash, { lookup, until });
  }

  /** Evicts here at once, then tells the other replicas; a failed publish is bounded by the TTL. */
  private async announce(revocation: Revocation): Promise<void> {
    this.evict(revocation);
    await this.publisher.publish(this.channel, JSON.stringify(revocation)).catch(() => 0);
  }

  private apply(text: string): void {
    try {
      this.evict(JSON.parse(text) as Revocation);
    } catch {
      this.entries.clear();
    }
  }

  private evict(revocation: Revocation): void {
    const ended = "s" in revocation ? new Set(revocation.s) : undefined;
    for (const [tokenHash, { lookup }] of this.entries) {
      const { session } = lookup;
      if (
        ended === undefined
          ? "u" in revocation && session.userId === revocation.u
          : ended.has(session.id)
      ) {
        this.entries.delete(tokenHash);
      }
    }
  }

  private stopServing(): void {
    this.subscribed = false;
    this.entries.clear();
  }
}
