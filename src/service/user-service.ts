import type { Clock } from "../domain/clock.js";
import { KeycardError } from "../domain/errors.js";
import { type Page, type PageRequest, pageFrom } from "../domain/page.js";
import type { PasswordHasher, Store } from "../domain/ports.js";
import type { SessionListing } from "../domain/session.js";
import { newId } from "../domain/token.js";
import { normalizeEmail, type UserPatch, type UserRecord } from "../domain/user.js";
import type { AuditLog } from "./audit.js";
import { existingUser } from "./own-account.js";
import { creationTimes, reportLifetimes, type SessionEndListener } from "./session-lifetimes.js";

/** What a new account needs. */
export interface NewUser {
  readonly email: string;
  readonly displayName: string;
  readonly password: string;
  readonly roles: readonly string[];
}

/** Account administration: create, list, disable users and set their passwords. */
export class UserService {
  constructor(
    private readonly deps: {
      readonly store: Store;
      readonly hasher: PasswordHasher;
      readonly clock: Clock;
      readonly audit: AuditLog;
      /** Told how long each session lived when disabling or a new password ended it. */
      readonly onSessionEnd?: SessionEndListener;
    },
  ) {}

  /**
   * Adds an account; USER_EXISTS when the email is taken. Its fields were checked against
   * the proto's rules on the way in (proto/keycard/v1/rules.proto).
   */
  async create(input: NewUser): Promise<UserRecord> {
    const email = normalizeEmail(input.email);
    const user: UserRecord = {
      id: newId(),
      email,
      displayName: input.displayName.trim(),
      passwordHash: await this.deps.hasher.hash(input.password),
      roles: [...new Set(input.roles)],
      disabled: false,
      createdAt: this.deps.clock.now(),
      totpSecret: "",
      totpPending: "",
    };
    if (!(await this.deps.store.users.create(user))) {
      throw new KeycardError("USER_EXISTS", "A user with this email already exists");
    }
    this.deps.audit("user.created", { userId: user.id });
    return user;
  }

  /** The account with this email, if any. */
  findByEmail(email: string): Promise<UserRecord | undefined> {
    return this.deps.store.users.findByEmail(normalizeEmail(email));
  }

  /** One page of accounts in creation order (then by id), oldest first. */
  async list(page: PageRequest): Promise<Page<UserRecord>> {
    const following = await this.deps.store.users.list({ ...page, size: page.size + 1 });
    return pageFrom(following, page.size);
  }

  /** Disables an account and revokes all its sessions at once. */
  async disable(userId: string): Promise<{ user: UserRecord; revokedSessions: number }> {
    const user = await this.updated(userId, { disabled: true });
    const revokedSessions = await this.endSessions(userId, "user_disabled");
    this.deps.audit("user.disabled", { userId, revokedSessions });
    return { user, revokedSessions };
  }

  /** Replaces a password and revokes every session of the user. */
  async setPassword(userId: string, password: string): Promise<number> {
    await this.updated(userId, { passwordHash: await this.deps.hasher.hash(password) });
    const revokedSessions = await this.endSessions(userId, "password_changed");
    this.deps.audit("password.changed", { userId, revokedSessions });
    return revokedSessions;
  }

  /** Ends all of a user's sessions and reports their lifetimes under `reason`. */
  private async endSessions(userId: string, reason: string): Promise<number> {
    const began = await creationTimes(this.deps.store, userId, this.deps.clock.now());
    const count = await this.deps.store.sessions.revokeAll(userId);
    reportLifetimes(this.deps.onSessionEnd, reason, began.values(), this.deps.clock.now());
    return count;
  }

  /**
   * Replaces an account's roles; `changed` says whether they differ from before (ignoring
   * order and repeats), so that the caller can end the sessions holding the old ones.
   */
  async setRoles(
    userId: string,
    roles: readonly string[],
  ): Promise<{ user: UserRecord; changed: boolean }> {
    const before = await this.existing(userId);
    const next = [...new Set(roles)];
    const user = await this.updated(userId, { roles: next });
    const changed = [...before.roles].sort().join(" ") !== [...next].sort().join(" ");
    if (changed) {
      this.deps.audit("user.roles_changed", { userId, roles: next.join(" ") });
    }
    return { user, changed };
  }

  /** Revokes the sessions a given API key opened; returns how many. */
  revokeSessionsOfKey(userId: string, apiKeyId: string): Promise<number> {
    return this.revokeSessionsWhere(
      userId,
      (session) => session.apiKeyId === apiKeyId,
      "api_key_revoked",
    );
  }

  /** Revokes the sessions a given passkey opened or stepped up; returns how many. */
  revokeSessionsOfPasskey(userId: string, passkeyId: string): Promise<number> {
    return this.revokeSessionsWhere(
      userId,
      (session) => session.passkeyIds?.includes(passkeyId) === true,
      "passkey_removed",
    );
  }

  /**
   * Revokes the user's live sessions that `matches` picks (those a removed credential
   * proved), each observed under `reason`; returns how many ended.
   */
  private async revokeSessionsWhere(
    userId: string,
    matches: (session: SessionListing) => boolean,
    reason: string,
  ): Promise<number> {
    const sessions = await this.deps.store.sessions.list(userId, this.deps.clock.now());
    let count = 0;
    for (const session of sessions.filter(matches)) {
      if (await this.deps.store.sessions.revoke(userId, session.id)) {
        count += 1;
        const now = this.deps.clock.now();
        reportLifetimes(this.deps.onSessionEnd, reason, [session.createdAt], now);
      }
    }
    return count;
  }

  /** Fails with NOT_FOUND unless the account exists. */
  existing(userId: string): Promise<UserRecord> {
    return existingUser(this.deps.store.users, userId);
  }

  private async updated(userId: string, patch: UserPatch): Promise<UserRecord> {
    await this.existing(userId);
    const user = await this.deps.store.users.update(userId, patch);
    if (user === undefined) {
      throw new KeycardError("NOT_FOUND", "No user with this id");
    }
    return user;
  }
}
