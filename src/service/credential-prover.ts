import { apiKeyMethods } from "../domain/api-key.js";
import type { Clock } from "../domain/clock.js";
import { invalidArgument, KeycardError } from "../domain/errors.js";
import type { PasswordHasher, Store } from "../domain/ports.js";
import { type AuthMethod, type ClientInfo, validateDuration } from "../domain/session.js";
import { newId } from "../domain/token.js";
import { normalizeEmail, requiresTotp, type UserRecord } from "../domain/user.js";
import type { ApiKeyService } from "./api-key-service.js";
import type { PasskeyProof } from "./passkey-proof.js";
import {
  checkOneSecondFactor,
  type ProvenFactor,
  type SecondFactor,
  type SecondFactorInput,
} from "./second-factor.js";

/** The credentials of a login attempt and the lifetime the caller asked for. */
export interface LoginInput extends SecondFactorInput {
  readonly email: string;
  readonly password: string;
  readonly apiKey: string;
  readonly durationSeconds: number;
  /** A remember-me session (password logins only). */
  readonly rememberMe?: boolean;
}

/** A verified login before its session exists. */
export interface ProvenUser {
  readonly user: UserRecord;
  readonly methods: AuthMethod[];
  readonly apiKeyId?: string;
  /** Set for a session derived from another: the time of the login that began that one. */
  readonly authenticatedAt?: number;
  /** Set when a recovery code was the second factor: how many the account has left. */
  readonly recoveryCodesRemaining?: number;
  /** The passkeys that proved the login (its only credential, or its second factor). */
  readonly passkeyIds?: readonly string[];
}

const maxPasswordBytes = 1024;

/** The email of the built-in administrator account that ADMIN_PASSWORD logs in. */
export const builtInAdminEmail = "admin@keycard.local";

/** The refusal of a wrong email or password, the same whichever was wrong. */
export const invalidCredentials = (): KeycardError =>
  new KeycardError("INVALID_CREDENTIALS", "Invalid email or password");

/** What proving credentials needs. */
export interface CredentialProverDeps {
  readonly store: Store;
  readonly hasher: PasswordHasher;
  readonly apiKeys: ApiKeyService;
  readonly secondFactor: SecondFactor;
  /** Checks passkeys signing in alone. */
  readonly passkeyProof: PasskeyProof;
  readonly clock: Clock;
  /** ADMIN_PASSWORD: `password` alone logs in the built-in administrator account. */
  readonly adminPassword?: string;
}

/**
 * Proves who a login is, before any session exists: password (+ TOTP, a recovery code or
 * a passkey), API key (+ TOTP or a recovery code), a passkey alone, or the built-in
 * administrator's ADMIN_PASSWORD. An unknown email costs the same argon2 work as a known
 * one.
 */
export class CredentialProver {
  private dummyHash: Promise<string> | undefined;
  private adminHash: Promise<string> | undefined;

  constructor(private readonly deps: CredentialProverDeps) {}

  /**
   * Checks a login's credentials: a passkey alone, an API key (+ second factor),
   * ADMIN_PASSWORD, or email + password (+ second factor). Several second factors, or a
   * passkey with an API key, are refused first; a passkey on a server without passkeys too.
   */
  async prove(input: LoginInput, client: ClientInfo): Promise<ProvenUser> {
    checkOneSecondFactor(input);
    const { passkey } = input;
    if (passkey !== undefined) {
      this.deps.passkeyProof.requireConfigured();
      if (input.apiKey !== "") {
        throw invalidArgument("passkey", "Send api_key or passkey, not both");
      }
      if (isPasskeyAlone(input)) {
        validateDuration(input.durationSeconds);
        const proven = await this.deps.passkeyProof.signIn(passkey, client);
        return { user: proven.user, methods: [proven.method], passkeyIds: [proven.passkeyId] };
      }
      if (input.email.trim() === "") {
        throw invalidArgument("email", "Send a passkey alone, or with email and password");
      }
    }
    if (input.apiKey !== "") {
      return this.byApiKey(input, client);
    }
    if (input.email.trim() === "" && this.deps.adminPassword !== undefined) {
      return this.byAdminPassword(input);
    }
    return this.byPassword(input, client);
  }

  /** The built-in administrator: ADMIN_PASSWORD, hashed in memory only, never stored. */
  private async byAdminPassword(input: LoginInput): Promise<ProvenUser> {
    validateDuration(input.durationSeconds);
    if (input.password === "" || Buffer.byteLength(input.password) > maxPasswordBytes) {
      throw invalidArgument("password", "password is required");
    }
    this.adminHash ??= this.deps.hasher.hash(this.deps.adminPassword ?? "");
    if (!(await this.deps.hasher.verify(await this.adminHash, input.password))) {
      throw new KeycardError("INVALID_CREDENTIALS", "Invalid password");
    }
    return { user: await this.adminAccount(), methods: ["password"] };
  }

  /** The administrator's account record, created on first use; it has no password of its own. */
  private async adminAccount(): Promise<UserRecord> {
    const account: UserRecord = {
      id: newId(),
      email: builtInAdminEmail,
      displayName: "Administrator",
      passwordHash: "",
      roles: ["admin"],
      disabled: false,
      createdAt: this.deps.clock.now(),
      totpSecret: "",
      totpPending: "",
    };
    if (await this.deps.store.users.create(account)) {
      return account;
    }
    const existing = await this.deps.store.users.findByEmail(builtInAdminEmail);
    if (existing === undefined || existing.disabled) {
      throw new KeycardError("INVALID_CREDENTIALS", "Invalid password");
    }
    return existing;
  }

  private async byPassword(input: LoginInput, client: ClientInfo): Promise<ProvenUser> {
    const email = normalizeEmail(input.email);
    validateLogin(email, input);
    const user = await this.deps.store.users.findByEmail(email);
    const passwordHash = user?.passwordHash ?? (await this.dummyPasswordHash());
    const matches = await this.deps.hasher.verify(passwordHash, input.password);
    if (user === undefined || !matches || user.disabled) {
      throw invalidCredentials();
    }
    if (!requiresTotp(user) && input.passkey === undefined) {
      return { user, methods: ["password"] };
    }
    const factor = await this.deps.secondFactor.prove(user, input, client, "login");
    return {
      user,
      methods: ["password", factor.method],
      ...remainingOf(factor),
      ...(factor.passkeyId === undefined ? {} : { passkeyIds: [factor.passkeyId] }),
    };
  }

  private async byApiKey(input: LoginInput, client: ClientInfo): Promise<ProvenUser> {
    validateDuration(input.durationSeconds);
    const { user, apiKey, factor } = await this.deps.apiKeys.authenticate(
      input.apiKey,
      input,
      client,
    );
    return {
      user,
      methods: apiKeyMethods(factor?.method),
      apiKeyId: apiKey.id,
      ...remainingOf(factor),
    };
  }

  private dummyPasswordHash(): Promise<string> {
    this.dummyHash ??= this.deps.hasher.hash(newId());
    return this.dummyHash;
  }
}

/** Whether a login presents a passkey and nothing else to prove it: a passkey sign-in. */
export function isPasskeyAlone(input: LoginInput): boolean {
  return (
    input.passkey !== undefined &&
    input.email.trim() === "" &&
    input.password === "" &&
    input.apiKey === ""
  );
}

/** The count of recovery codes left, when the factor was one. */
function remainingOf(factor?: ProvenFactor): { recoveryCodesRemaining?: number } {
  const remaining = factor?.recoveryCodesRemaining;
  return remaining === undefined ? {} : { recoveryCodesRemaining: remaining };
}

function validateLogin(email: string, input: LoginInput): void {
  if (email === "") {
    throw invalidArgument("email", "email (or api_key) is required");
  }
  if (input.password === "") {
    throw invalidArgument("password", "password is required");
  }
  if (Buffer.byteLength(input.password) > maxPasswordBytes) {
    throw invalidArgument("password", `password must be at most ${maxPasswordBytes} bytes`);
  }
  validateDuration(input.durationSeconds);
}
