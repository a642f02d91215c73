import { type ApiKeyRecord, apiKeyProblem, keyHint } from "../domain/api-key.js";
import type { Clock } from "../domain/clock.js";
import { type ErrorReason, invalidArgument, KeycardError } from "../domain/errors.js";
import { type Page, type PageRequest, pageOf } from "../domain/page.js";
import type { Store } from "../domain/ports.js";
import type { ClientInfo, InactiveReason } from "../domain/session.js";
import { isWellFormedToken, mintToken, newId } from "../domain/token.js";
import { requiresTotp, type UserRecord } from "../domain/user.js";
import type { AuditLog } from "./audit.js";
import { loginAttemptOf } from "./login-attempt.js";
import type { LoginGuard } from "./login-guard.js";
import { existingUser } from "./own-account.js";
import type { ProvenFactor, SecondFactor, SecondFactorInput } from "./second-factor.js";
import type { SecretKeeper } from "./secret-keeper.js";

/** What a new key needs. */
export interface NewApiKey {
  readonly userId: string;
  readonly name: string;
  /** Epoch ms; zero for a key that does not expire. */
  readonly expiresAt: number;
  readonly skipTotp: boolean;
  /** A key to import (bootstrap); a new one is minted when absent. */
  readonly key?: string;
}

/** An API key together with the user it proves, after every check passed. */
export interface ApiKeyIdentity {
  readonly user: UserRecord;
  readonly apiKey: ApiKeyRecord;
  /** The second factor that came with the key; absent for a key that skips TOTP. */
  readonly factor?: ProvenFactor;
}

const lastUsedWriteInterval = 60_000;

/** API keys: issue, list, revoke, and check a presented key (+ TOTP code). */
export class ApiKeyService {
  constructor(
    private readonly deps: {
      readonly store: Store;
      readonly secrets: SecretKeeper;
      readonly secondFactor: SecondFactor;
      readonly clock: Clock;
      readonly tokenPrefix: string;
      readonly audit: AuditLog;
      /** Counts guessed keys and codes outside Login (Login guards its own attempts). */
      readonly guard?: LoginGuard;
    },
  ) {}

  /** Issues a key; returns its record and the secret key, which is never stored. */
  async create(input: NewApiKey): Promise<{ record: ApiKeyRecord; key: string }> {
    const name = input.name.trim();
    const now = this.deps.clock.now();
    if (input.expiresAt !== 0 && input.expiresAt <= now) {
      throw invalidArgument("expires_at", "expires_at must be in the future");
    }
    await existingUser(this.deps.store.users, input.userId);
    const key = input.key ?? mintToken(this.deps.tokenPrefix, "key");
    const record: ApiKeyRecord = {
      id: newId(),
      userId: input.userId,
      name,
      keyHash: this.deps.secrets.hashApiKey(key),
      hint: keyHint(key),
      createdAt: now,
      lastUsedAt: 0,
      expiresAt: input.expiresAt,
      revoked: false,
      skipTotp: input.skipTotp,
    };
    await this.deps.store.apiKeys.create(record);
    this.deps.audit("apikey.created", {
      userId: record.userId,
      apiKeyId: record.id,
      skipTotp: String(record.skipTotp),
    });
    return { record, key };
  }

  /**
   * One page of the user's keys, newest first (by creation, then id), revoked ones
   * included. Cut from the user's whole set of keys, which the store keeps unordered and
   * which grows only as an administrator issues keys.
   */
  async list(userId: string, page: PageRequest): Promise<Page<ApiKeyRecord>> {
    await existingUser(this.deps.store.users, userId);
    return pageOf(await this.deps.store.apiKeys.listByUser(userId), page, "newest-first");
  }

  /** Revokes a key for good; the sessions it opened are revoked by the caller. */
  async revoke(id: string): Promise<ApiKeyRecord> {
    const key = await this.deps.store.apiKeys.update(id, { revoked: true });
    if (key === undefined) {
      throw new KeycardError("NOT_FOUND", "No API key with this id");
    }
    this.deps.audit("apikey.revoked", { userId: key.userId, apiKeyId: key.id });
    return key;
  }

  /** Whether text has the shape of one of our API keys. */
  isApiKey(text: string): boolean {
    return isWellFormedToken(text, this.deps.tokenPrefix, "key");
  }

  /**
   * {@link authenticate} outside Login (Validate, forward auth, ext_authz, `X-API-Key` on
   * any route): guessed keys and codes count against the same budget as at Login, and a
   * key Login has locked out is refused here too (RATE_LIMITED). Only a TOTP code comes
   * with the key here: a recovery code sent with every request would be used up by the first.
   */
  authenticateGuarded(
    key: string,
    totpCode: string,
    client: ClientInfo,
    door: "validate" | "api_key_header",
  ): Promise<ApiKeyIdentity> {
    const check = () => this.authenticate(key, { totpCode }, client);
    const guard = this.deps.guard;
    const attempt = { ...loginAttemptOf({ email: "", apiKey: key }, client), door };
    return guard === undefined ? check() : guard.guard(attempt, check);
  }

  /**
   * Checks a presented key and, unless the key skips TOTP, the user's TOTP code or recovery
   * code (consumed). Unknown, revoked and expired keys, and disabled users, fail with
   * INVALID_CREDENTIALS and one message.
   */
  async authenticate(
    key: string,
    secondFactor: SecondFactorInput,
    client: ClientInfo,
  ): Promise<ApiKeyIdentity> {
    const now = this.deps.clock.now();
    const found = this.isApiKey(key) ? await this.findKey(key) : undefined;
    const problem = apiKeyProblem(found, now);
    if (found === undefined || problem !== undefined) {
      throw new ApiKeyRefused(problem ?? "unknown", "INVALID_CREDENTIALS", unusableKeyMessage);
    }
    const user = await this.deps.store.users.findById(found.userId);
    if (user === undefined || user.disabled) {
      throw new ApiKeyRefused("revoked", "INVALID_CREDENTIALS", unusableKeyMessage);
    }
    const factor = found.skipTotp
      ? undefined
      : await this.proveSecondFactor(user, secondFactor, client);
    if (now - found.lastUsedAt >= lastUsedWriteInterval) {
      await this.deps.store.apiKeys.update(found.id, { lastUsedAt: now });
    }
    return { user, apiKey: found, ...(factor === undefined ? {} : { factor }) };
  }

  /**
   * The stored key a presented one is: under its hash by the current encryption key, else
   * under a previous key's, in which case it is filed under the current hash from now on.
   */
  private async findKey(key: string): Promise<ApiKeyRecord | undefined> {
    const current = this.deps.secrets.hashApiKey(key);
    const found = await this.deps.store.apiKeys.findByHash(current);
    if (found !== undefined) {
      return found;
    }
    for (const previous of this.deps.secrets.previousApiKeyHashes(key)) {
      const filed = await this.deps.store.apiKeys.findByHash(previous);
      if (filed !== undefined) {
        await this.deps.store.apiKeys.rehash(filed.id, current);
        return { ...filed, keyHash: current };
      }
    }
    return undefined;
  }

  /** The user's second factor, refused with the inactive reason Validate reports for it. */
  private async proveSecondFactor(
    user: UserRecord,
    input: SecondFactorInput,
    client: ClientInfo,
  ): Promise<ProvenFactor> {
    if (!requiresTotp(user)) {
      throw new ApiKeyRefused(
        "totp_required",
        "TOTP_NOT_ENROLLED",
        "This API key needs a TOTP code, but its user has not enrolled TOTP",
      );
    }
    try {
      return await this.deps.secondFactor.prove(user, input, client, "login");
    } catch (error) {
      if (error instanceof KeycardError && error.kind === "unauthenticated") {
        const reason = error.reason === "TOTP_REQUIRED" ? "totp_required" : "totp_invalid";
        throw new ApiKeyRefused(reason, error.reason, error.message);
      }
      throw error;
    }
  }
}

/**
 * The one answer for every key that cannot be used (unknown, revoked, expired, its user
 * disabled), so that the answer does not tell a guesser that a key once existed.
 */
const unusableKeyMessage = "Invalid API key";

/** A refused API key, with the inactive reason Validate reports for it. */
export class ApiKeyRefused extends KeycardError {
  constructor(
    readonly inactiveReason: InactiveReason,
    reason: ErrorReason,
    message: string,
  ) {
    super(reason, message);
  }
}
