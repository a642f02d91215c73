import type { ApiKeyPatch, ApiKeyRecord } from "../../domain/api-key.js";
import type { Clock } from "../../domain/clock.js";
import { compareCursors, type PageRequest } from "../../domain/page.js";
import type {
  ApiKeyStore,
  ExpiredSession,
  SessionStore,
  Store,
  TrimmedSession,
  UserStore,
} from "../../domain/ports.js";
import {
  listingOf,
  type SessionListing,
  type SessionRecord,
  type TokenLookup,
  type TokenPointer,
} from "../../domain/session.js";
import type { UserPatch, UserRecord } from "../../domain/user.js";
import { ExpiringMap } from "./expiring-map.js";
import { MemoryLoginAttemptStore } from "./login-attempts.js";
import { MemoryPasskeyChallengeStore, MemoryPasskeyStore } from "./passkeys.js";
import { MemoryPasswordResetStore } from "./password-resets.js";
import { MemoryRecoveryCodeStore } from "./recovery-codes.js";
import { MemorySightingStore } from "./sightings.js";
import { MemorySigningKeyStore } from "./signing-keys.js";

const sweepIntervalMs = 60_000;

/** Users of the embedded store, kept in process memory. */
class MemoryUserStore implements UserStore {
  readonly byId = new Map<string, UserRecord>();
  private readonly idByEmail = new Map<string, string>();
  private readonly lastTotpStep = new Map<string, number>();

  async create(user: UserRecord): Promise<boolean> {
    if (this.idByEmail.has(user.email)) {
      return false;
    }
    this.idByEmail.set(user.email, user.id);
    this.byId.set(user.id, user);
    return true;
  }

  async findByEmail(email: string): Promise<UserRecord | undefined> {
    const id = this.idByEmail.get(email);
    return id === undefined ? undefined : this.byId.get(id);
  }

  async findById(id: string): Promise<UserRecord | undefined> {
    return this.byId.get(id);
  }

  async update(id: string, patch: UserPatch): Promise<UserRecord | undefined> {
    const user = this.byId.get(id);
    if (user === undefined) {
      return undefined;
    }
    const updated = { ...user, ...patch };
    this.byId.set(id, updated);
    return updated;
  }

  async list({ size, after }: PageRequest): Promise<UserRecord[]> {
    return [...this.byId.values()]
      .filter((user) => after === undefined || compareCursors(user, after) > 0)
      .sort(compareCursors)
      .slice(0, size);
  }

  async claimTotpStep(id: string, step: number): Promise<boolean> {
    if (!this.byId.has(id) || (this.lastTotpStep.get(id) ?? -1) >= step) {
      return false;
    }
    this.lastTotpStep.set(id, step);
    return true;
  }
}

/** API keys of the embedded store. */
class MemoryApiKeyStore implements ApiKeyStore {
  private readonly byId = new Map<string, ApiKeyRecord>();
  private readonly idByHash = new Map<string, string>();

  async create(key: ApiKeyRecord): Promise<void> {
    this.byId.set(key.id, key);
    this.idByHash.set(key.keyHash, key.id);
  }

  async findByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const id = this.idByHash.get(keyHash);
    return id === undefined ? undefined : this.byId.get(id);
  }

  async findById(id: string): Promise<ApiKeyRecord | undefined> {
    return this.byId.get(id);
  }

  async listByUser(userId: string): Promise<ApiKeyRecord[]> {
    return [...this.byId.values()]
      .filter((key) => key.userId === userId)
      .sort((a, b) => b.createdAt - a.createdAt);
  }

  async update(id: string, patch: ApiKeyPatch): Promise<ApiKeyRecord | undefined> {
    const key = this.byId.get(id);
    if (key === undefined) {
      return undefined;
    }
    const updated = { ...key, ...patch };
    this.byId.set(id, updated);
    return updated;
  }

  async rehash(id: string, keyHash: string): Promise<void> {
    const key = this.byId.get(id);
    if (key !== undefined) {
      this.idByHash.set(keyHash, id);
      this.byId.set(id, { ...key, keyHash });
      this.idByHash.delete(key.keyHash);
    }
  }
}

/** Sessions of the embedded store; same contract as the Redis adapter. */
class MemorySessionStore implements SessionStore {
  private readonly pointers: ExpiringMap<string, TokenPointer>;
  private readonly sessions: ExpiringMap<string, SessionRecord>;
  private readonly idsByUser = new Map<string, Set<string>>();
  /** Live sessions by id, with their expiry: what countLive and sweepExpired read. */
  private readonly live = new Map<string, ExpiredSession>();

  constructor(
    clock: Clock,
    private readonly users: MemoryUserStore,
  ) {
    this.pointers = new ExpiringMap(() => clock.now());
    this.sessions = new ExpiringMap(() => clock.now());
  }

  async create(session: SessionRecord, retainUntil: number): Promise<boolean> {
    if (this.users.byId.get(session.userId)?.disabled !== false) {
      return false;
    }
    this.save(session);
    this.pointTo(session, retainUntil);
    return true;
  }

  async lookup(tokenHash: string): Promise<TokenLookup> {
    const pointer = this.pointers.get(tokenHash);
    if (pointer === undefined) {
      return {};
    }
    const session = this.sessions.get(pointer.sessionId);
    return session === undefined ? { pointer } : { pointer, session: this.withOwner(session) };
  }

  async list(userId: string): Promise<SessionListing[]> {
    const live: SessionRecord[] = [];
    for (const id of this.idsOf(userId)) {
      const session = this.sessions.get(id);
      if (session === undefined) {
        this.idsOf(userId).delete(id);
      } else {
        live.push(this.withOwner(session));
      }
    }
    return live.sort((a, b) => b.createdAt - a.createdAt).map(listingOf);
  }

  /** A session with its owner's email, name and roles as the user record has them now. */
  private withOwner(session: SessionRecord): SessionRecord {
    const owner = this.users.byId.get(session.userId);
    return {
      ...session,
      email: owner?.email ?? "",
      displayName: owner?.displayName ?? "",
      roles: owner?.roles ?? [],
    };
  }

  async rotate(next: SessionRecord, presentedHash: string, retainUntil: number): Promise<boolean> {
    if (this.sessions.get(next.id)?.tokenHash !== presentedHash) {
      return false;
    }
    this.save(next);
    this.pointTo(next, retainUntil);
    return true;
  }

  async revoke(userId: string, sessionId: string): Promise<boolean> {
    const session = this.sessions.get(sessionId);
    if (session?.userId !== userId) {
      return false;
    }
    this.idsOf(userId).delete(sessionId);
    this.live.delete(sessionId);
    return this.sessions.delete(sessionId);
  }

  async revokeAll(userId: string, keepSessionId?: string): Promise<number> {
    let count = 0;
    for (const id of [...this.idsOf(userId)]) {
      if (id !== keepSessionId && (await this.revoke(userId, id))) {
        count += 1;
      }
    }
    return count;
  }

  async rename(userId: string, sessionId: string, label: string): Promise<boolean> {
    const session = this.sessions.get(sessionId);
    if (session?.userId !== userId) {
      return false;
    }
    this.sessions.set(sessionId, { ...session, label }, session.expiresAt);
    return true;
  }

  async touch(_userId: string, sessionId: string, at: number): Promise<void> {
    const session = this.sessions.get(sessionId);
    if (session !== undefined) {
      this.sessions.set(sessionId, { ...session, lastUsedAt: at }, session.expiresAt);
    }
  }

  async trim(userId: string, keep: number): Promise<TrimmedSession[]> {
    const oldestFirst = (await this.list(userId)).reverse();
    const ended = oldestFirst.slice(0, Math.max(0, oldestFirst.length - keep));
    for (const session of ended) {
      await this.revoke(userId, session.id);
    }
    return ended.map((session) => ({ sessionId: session.id, createdAt: session.createdAt }));
  }

  async countLive(): Promise<number> {
    return this.live.size;
  }

  async sweepExpired(now: number, limit: number): Promise<ExpiredSession[]> {
    const due = [...this.live.values()].filter((entry) => entry.expiresAt <= now).slice(0, limit);
    for (const entry of due) {
      this.live.delete(entry.sessionId);
    }
    return due;
  }

  sweep(): void {
    this.pointers.sweep();
    this.sessions.sweep();
    for (const [userId, ids] of this.idsByUser) {
      for (const id of ids) {
        if (this.sessions.get(id) === undefined) {
          ids.delete(id);
        }
      }
      if (ids.size === 0) {
        this.idsByUser.delete(userId);
      }
    }
  }

  private save(session: SessionRecord): void {
    this.sessions.set(session.id, session, session.expiresAt);
    this.idsOf(session.userId).add(session.id);
    const { userId, id: sessionId, createdAt, expiresAt } = session;
    this.live.set(sessionId, { userId, sessionId, createdAt, expiresAt });
  }

  private pointTo(session: SessionRecord, retainUntil: number): void {
    const pointer = { userId: session.userId, sessionId: session.id, expiresAt: session.expiresAt };
    this.pointers.set(session.tokenHash, pointer, retainUntil);
  }

  private idsOf(userId: string): Set<string> {
    let ids = this.idsByUser.get(userId);
    if (ids === undefined) {
      ids = new Set();
      this.idsByUser.set(userId, ids);
    }
    return ids;
  }
}

/**
 * The embedded, in-process store for development and tests: nothing survives a restart
 * and nothing is shared between replicas.
 */
export function createMemoryStore(clock: Clock): Store {
  const users = new MemoryUserStore();
  const sessions = new MemorySessionStore(clock, users);
  const loginAttempts = new MemoryLoginAttemptStore(clock);
  const passwordResets = new MemoryPasswordResetStore(clock);
  const sightings = new MemorySightingStore(clock);
  const passkeyChallenges = new MemoryPasskeyChallengeStore(clock);
  const sweeper = setInterval(() => {
    sessions.sweep();
    loginAttempts.sweep();
    passwordResets.sweep();
    sightings.sweep();
    passkeyChallenges.sweep();
  }, sweepIntervalMs);
  sweeper.unref();
  let epoch = 0;
  return {
    users,
    sessions,
    apiKeys: new MemoryApiKeyStore(),
    loginAttempts,
    sessionEpoch: {
      read: async () => epoch,
      set: async (notBefore) => {
        epoch = notBefore;
      },
    },
    signingKeys: new MemorySigningKeyStore(),
    passwordResets,
    recoveryCodes: new MemoryRecoveryCodeStore(),
    sightings,
    passkeys: new MemoryPasskeyStore(),
    passkeyChallenges,
    ping: async () => {},
    close: async () => clearInterval(sweeper),
  };
}
