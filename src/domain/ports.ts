import type { ApiKeyPatch, ApiKeyRecord } from "./api-key.js";
import type { FailureCount, LoginCounterKey, WindowClaim } from "./login-throttle.js";
import type { PageRequest } from "./page.js";
import type {
  AssertionClaims,
  CeremonyOptions,
  CeremonyRefusal,
  NewCredential,
  PasskeyChallenge,
  PasskeyRecord,
  RelyingParty,
  VerifiedAssertion,
} from "./passkey.js";
import type { PasswordReset } from "./password-reset.js";
import type { SecurityEvent } from "./security-event.js";
import type { SessionListing, SessionRecord, TokenLookup } from "./session.js";
import type { Sighting, SightingRules } from "./sightings.js";
import type { SigningKeySet, StoredSigningKey } from "./signing-keys.js";
import type { UserPatch, UserRecord } from "./user.js";

/**
 * Where accounts live. Every method either does what it says or throws
 * StoreUnavailableError; none of them waits for a store that is down.
 */
export interface UserStore {
  /** Adds the user; false when the email is already taken (checked atomically). */
  create(user: UserRecord): Promise<boolean>;
  findByEmail(email: string): Promise<UserRecord | undefined>;
  findById(id: string): Promise<UserRecord | undefined>;
  /** Changes some fields of a user and returns it; undefined when there is no such user. */
  update(id: string, patch: UserPatch): Promise<UserRecord | undefined>;
  /**
   * Up to `size` users in creation order (then by id), those after the position `after`
   * (from the first when absent). A position holds its place whether or not a user is
   * there, so users created meanwhile (even with an earlier time, from another replica's
   * clock) make no other user skipped or listed twice.
   */
  list(page: PageRequest): Promise<UserRecord[]>;
  /**
   * Records that the user's TOTP code of time step `step` was used. False when that step
   * or a later one was already used: the code is a replay. Atomic across replicas.
   */
  claimTotpStep(id: string, step: number): Promise<boolean>;
}

/** Where API keys live: by id, by keyed hash, and per user. */
export interface ApiKeyStore {
  create(key: ApiKeyRecord): Promise<void>;
  findByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  findById(id: string): Promise<ApiKeyRecord | undefined>;
  /** The user's keys, newest first, revoked ones included. */
  listByUser(userId: string): Promise<ApiKeyRecord[]>;
  /** Changes some fields of a key and returns it; undefined when there is no such key. */
  update(id: string, patch: ApiKeyPatch): Promise<ApiKeyRecord | undefined>;
  /**
   * Files the key under `keyHash` instead of its current hash (after an encryption key
   * rotation); findable under the new hash before the old one is dropped.
   */
  rehash(id: string, keyHash: string): Promise<void>;
}

/**
 * Where sessions live: records by user, pointers by token hash, a per-user index. Every
 * key expires by itself; nothing outlives a session except its pointers' retention.
 */
export interface SessionStore {
  /**
   * Stores a new session, findable from its token hash until `retainUntil`. False when the
   * user is disabled (checked atomically with the write). All or nothing: throws
   * TokenNotStoredError when nothing could be written for that token (another token may
   * land elsewhere).
   */
  create(session: SessionRecord, retainUntil: number): Promise<boolean>;
  /** The pointer for a token hash and, if still live, its session. */
  lookup(tokenHash: string): Promise<TokenLookup>;
  /** The user's live sessions, newest first. */
  list(userId: string, now: number): Promise<SessionListing[]>;
  /**
   * Makes `next.tokenHash` the session's current token, keeps the presented one valid
   * until `next.graceUntil`, and moves the expiry. False when the presented token is no
   * longer the current one (a concurrent refresh won) or the session is gone.
   */
  rotate(next: SessionRecord, presentedHash: string, retainUntil: number): Promise<boolean>;
  /** Ends one session; false when it was not live. */
  revoke(userId: string, sessionId: string): Promise<boolean>;
  /** Ends all of a user's sessions but `keepSessionId`; returns how many ended. */
  revokeAll(userId: string, keepSessionId?: string): Promise<number>;
  /**
   * Gives one of the user's live sessions a label; false when it is not one of them or has
   * ended (an ended session is never brought back by it).
   */
  rename(userId: string, sessionId: string, label: string): Promise<boolean>;
  /** Records a use of a live session; does nothing if it has ended meanwhile. */
  touch(userId: string, sessionId: string, at: number): Promise<void>;
  /**
   * Ends the user's oldest sessions (by creation) until at most `keep` are live; returns
   * those it ended. Atomic per user, so racing logins never leave more.
   */
  trim(userId: string, keep: number, now: number): Promise<TrimmedSession[]>;
  /**
   * How many sessions of all users are live (not revoked, and not yet seen expired by a
   * sweep): exact at each sweep, which a running keycard does every 15 s.
   */
  countLive(): Promise<number>;
  /**
   * Takes up to `limit` sessions that reached their expiry by `now` (not revoked ones) off
   * the live list and returns them; each expired session is returned once, to one caller.
   */
  sweepExpired(now: number, limit: number): Promise<ExpiredSession[]>;
}

/** A session ended by {@link SessionStore.trim}. */
export interface TrimmedSession {
  readonly sessionId: string;
  /** When it began; 0 when its record could not be read. */
  readonly createdAt: number;
}

/** A session that ended by reaching its expiry. */
export interface ExpiredSession {
  readonly userId: string;
  readonly sessionId: string;
  /** When it began (what its lifetime counts from); 0 when its record could not be read. */
  readonly createdAt: number;
  readonly expiresAt: number;
}

/**
 * Counters of failed logins (see login-throttle.ts), shared by every replica. Each counter
 * is its own key with a TTL; updates of one counter are atomic.
 */
export interface LoginAttemptStore {
  /** Counts one failure at `at` on each delay counter, dropped `retainMs` after its last. */
  record(keys: readonly LoginCounterKey[], at: number, retainMs: number): Promise<void>;
  /** The counters' states, in the order asked; `noFailures` for a counter that is absent. */
  read(keys: readonly LoginCounterKey[]): Promise<FailureCount[]>;
  /** Resets the counters (an account key: its window of failures). */
  clear(keys: readonly LoginCounterKey[]): Promise<void>;
  /**
   * Adds the failure named `failure` at `at` to an account's rolling window of `windowMs`,
   * unless the window already holds `limit` failures (a `limit` of 0 always adds; an empty
   * `failure` only looks), atomically, so concurrent claims never overfill it. Answers the
   * window before: its count, and when full, the time it will have room again.
   */
  claim(
    key: LoginCounterKey,
    failure: string,
    at: number,
    window: { readonly windowMs: number; readonly limit: number },
  ): Promise<WindowClaim>;
  /** Takes a claimed failure back out of its window (the secret was right, or never checked). */
  unclaim(key: LoginCounterKey, failure: string): Promise<void>;
}

/**
 * The time before which no session is valid any more (an emergency end of every session),
 * shared by every replica; 0 until one is set.
 */
export interface SessionEpochStore {
  read(): Promise<number>;
  set(notBefore: number): Promise<void>;
}

/** The JWT signing keys every replica signs with and publishes (see signing-keys.ts). */
export interface SigningKeyStore {
  /** The stored keys; an empty set at generation 0 until the first key is added. */
  read(): Promise<SigningKeySet>;
  /**
   * Adds `key` and drops the keys named in `retire`, unless the set is no longer at
   * `generation` (another replica changed it first); answers whether it did. Atomic.
   */
  add(generation: number, key: StoredSigningKey, retire: readonly string[]): Promise<boolean>;
}

/**
 * Pending password resets, each filed under the hash of its token (never the token) and
 * gone by itself at its expiry.
 */
export interface PasswordResetStore {
  /**
   * Files `reset` under `tokenHash` until its expiry, as its user's latest: every earlier
   * reset of that user stops working.
   */
  save(tokenHash: string, reset: PasswordReset): Promise<void>;
  /**
   * Takes the reset filed under `tokenHash` out of the store and answers it; undefined when
   * there is none (never filed, already taken, expired, or no longer its user's latest).
   * Atomic across replicas: of concurrent takes of one token, exactly one gets the reset.
   */
  take(tokenHash: string): Promise<PasswordReset | undefined>;
}

/**
 * Each user's unused recovery codes, filed as keyed hashes (never the codes). A set per user
 * with no expiry: codes last until used, replaced or deleted.
 */
export interface RecoveryCodeStore {
  /** Makes `hashes` the user's codes in one step: the codes they replace stop working at once. */
  replace(userId: string, hashes: readonly string[]): Promise<void>;
  /**
   * Takes whichever of `hashes` the user has (one code's hash under the current key and the
   * previous ones: at most one is filed) out of their codes, and answers how many are left;
   * undefined when none of them is filed (never made, already used, or replaced). Atomic
   * across replicas: of concurrent uses of one code, exactly one gets an answer.
   */
  redeem(userId: string, hashes: readonly string[]): Promise<number | undefined>;
  /** How many unused codes the user has. */
  count(userId: string): Promise<number>;
  /** Deletes all of the user's codes and answers how many there were. */
  clear(userId: string): Promise<number>;
}

/**
 * The devices and places each user logged in from, each with when it was last seen, so
 * that a login from a new one can be told apart (see sightings.ts).
 */
export interface SightingStore {
  /**
   * Records that the user logged in at `at` from each of `seen`, and answers, in the same
   * order, which were new: last seen more than `rules.windowMs` before `at` or never, while something
   * of their kind was seen before (the first device or place of an account is not new, and
   * neither is the first after `rules.retainMs` without a login). Forgets sightings older
   * than the window and all but the `rules.perKind` newest of each kind. Atomic per user:
   * of concurrent logins with one new sighting, exactly one is told it is new.
   */
  record(
    userId: string,
    seen: readonly Sighting[],
    at: number,
    rules: SightingRules,
  ): Promise<boolean[]>;
}

/**
 * Each user's passkeys, by keycard's id of each (passkeyIdOf), with no expiry: a passkey
 * lasts until its owner or an administrator removes it.
 */
export interface PasskeyStore {
  /** Registers `passkey` to its user; false when that user already has this credential. */
  add(passkey: PasskeyRecord): Promise<boolean>;
  /** One of the user's passkeys; undefined when the user has none with this id. */
  find(userId: string, id: string): Promise<PasskeyRecord | undefined>;
  /** The user's passkeys, oldest first. */
  list(userId: string): Promise<PasskeyRecord[]>;
  /**
   * Records a use of the passkey: its counter becomes `counter` and its last use `at`,
   * unless the stored counter shows the use is not newer than the last one (counterAdvanced
   * is false) or the passkey is gone; answers whether it recorded it. Atomic across
   * replicas: of concurrent uses reporting one counter, at most one is recorded (unless
   * the authenticator keeps no counter).
   */
  recordUse(userId: string, id: string, counter: number, at: number): Promise<boolean>;
  /** Removes one of the user's passkeys; false when the user has none with this id. */
  remove(userId: string, id: string): Promise<boolean>;
}

/**
 * WebAuthn challenges handed out and not yet answered, each under its id until its expiry.
 */
export interface PasskeyChallengeStore {
  /** Files `challenge` under `id` until its expiry. */
  save(id: string, challenge: PasskeyChallenge): Promise<void>;
  /**
   * Takes the challenge filed under `id` out of the store and answers it; undefined when
   * there is none (never filed, already taken, or expired). Atomic across replicas: of
   * concurrent takes of one id, exactly one gets the challenge.
   */
  take(id: string): Promise<PasskeyChallenge | undefined>;
}

/** The whole store: every port plus its own health and lifecycle. */
export interface Store {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly apiKeys: ApiKeyStore;
  readonly loginAttempts: LoginAttemptStore;
  readonly sessionEpoch: SessionEpochStore;
  readonly signingKeys: SigningKeyStore;
  readonly passwordResets: PasswordResetStore;
  readonly recoveryCodes: RecoveryCodeStore;
  readonly sightings: SightingStore;
  readonly passkeys: PasskeyStore;
  readonly passkeyChallenges: PasskeyChallengeStore;
  /** Resolves when the store answers; throws StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The cryptography of WebAuthn ceremonies: options for the browser, and verification of
 * its answers against a challenge, the relying party's id and origins, and (for an
 * assertion) the stored public key and counter. Never throws for a malformed answer: it
 * refuses it.
 */
export interface WebAuthnVerifier {
  /**
   * Options to create a discoverable passkey for `user` (its id as the user handle),
   * preferring user verification, without attestation, excluding `existing`.
   */
  registrationOptions(
    rp: RelyingParty,
    user: { readonly id: string; readonly email: string; readonly displayName: string },
    existing: readonly PasskeyRecord[],
  ): Promise<CeremonyOptions>;
  /** The new credential of a registration answer, or why it was refused. */
  verifyRegistration(
    rp: RelyingParty,
    responseJson: string,
    challenge: string,
  ): Promise<NewCredential | CeremonyRefusal>;
  /** Options to sign in with any discoverable passkey of this site, preferring user verification. */
  authenticationOptions(rp: RelyingParty): Promise<CeremonyOptions>;
  /** Which credential (and user) an assertion names; undefined when it is not one in form. */
  readAssertion(responseJson: string): AssertionClaims | undefined;
  /** Verifies an assertion with `passkey`'s public key and counter, or says why it was refused. */
  verifyAssertion(
    rp: RelyingParty,
    responseJson: string,
    challenge: string,
    passkey: PasskeyRecord,
  ): Promise<VerifiedAssertion | CeremonyRefusal>;
}

/** Hashes and verifies passwords; slow on purpose, and never on the event loop. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

/**
 * Tells someone outside keycard about security events (SECURITY_WEBHOOK_URL): in the
 * background, never holding up or failing the login that caused them.
 */
export interface SecurityNotifier {
  /** Queues the event for delivery and returns at once. */
  notify(event: SecurityEvent): void;
  /** Waits a short while for pending deliveries, then gives up the rest. */
  close(): Promise<void>;
}
