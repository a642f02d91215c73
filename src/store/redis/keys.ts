import { keySlot, slotTags } from "./slots.js";

/**
 * The one place Redis key names are built. Keys of one user share the hash tag `{u:<id>}`
 * so that multi-key scripts over a user's data stay in one Cluster slot.
 */
export interface RedisKeys {
  /**
   * A session's record, named by its id (the start of its first token's hash, see
   * sessionIdOf), or a link from another token of it (`i`: the session id). Not under the
   * user's hash tag: a token names it without knowing its user.
   */
  readonly record: (sessionIdOrTokenStart: string) => string;
  readonly email: (email: string) => string;
  readonly user: (userId: string) => string;
  /** The sessions of a user, scored by expiry: the authority on which are live. */
  readonly index: (userId: string) => string;
  /**
   * Keycard 0.1.0's layout, still read (and ended) until its sessions are gone: a pointer
   * per token hash and a hash per session under the user's hash tag. Nothing writes a new
   * session this way.
   */
  readonly legacyPointer: (tokenHash: string) => string;
  readonly legacySession: (userId: string, sessionId: string) => string;
  readonly legacySessionPrefix: (userId: string) => string;
  readonly users: () => string;
  readonly apiKey: (id: string) => string;
  readonly apiKeyHash: (keyHash: string) => string;
  readonly userApiKeys: (userId: string) => string;
  readonly rateLimits: () => string;
  /** One delay counter of failed logins (`kind` pair or ip; `id` a fingerprint). */
  readonly loginFailures: (kind: string, id: string) => string;
  /** One account's failed logins within the lockout window: a sorted set scored by time. */
  readonly loginFailureWindow: (id: string) => string;
  /** The bookkeeping shard that counts a user's sessions (see SessionShard). */
  readonly shardOf: (userId: string) => SessionShard;
  /** Every bookkeeping shard, for the sweep and the live-session gauge. */
  readonly shards: () => readonly SessionShard[];
  /**
   * The single shard keycard 0.1.0 kept (before shards per slot): the sweep still visits
   * its owners and the gauge adds its count, so that sessions opened before an upgrade are
   * swept and counted; nothing writes it any more.
   */
  readonly unshardedBookkeeping: () => SessionShard;
  /** The pub/sub channel on which replicas announce revoked and rotated sessions. */
  readonly revocations: () => string;
  /** The time before which every session has ended (EndAllSessions). */
  readonly sessionEpoch: () => string;
  /** The JWT signing keys, one hash for the whole set. */
  readonly signingKeys: () => string;
  /** A pending password reset, named by the hash of its token. */
  readonly passwordReset: (tokenHash: string) => string;
  /** The token hash of a user's latest password reset: any other of theirs is void. */
  readonly latestPasswordReset: (userId: string) => string;
  /** The keyed hashes of a user's unused recovery codes: a set. */
  readonly recoveryCodes: (userId: string) => string;
  /**
   * The devices and places a user logged in from: a sorted set scored by when each was
   * last seen (ms), members `d:<device id>` and `l:<location>`, and `d` and `l` for the
   * last time a kind was seen at all.
   */
  readonly sightings: (userId: string) => string;
  /**
   * A user's passkeys: a hash with, per passkey id, the passkey as JSON (`<id>`), its
   * counter (`<id>:n`) and its last use (`<id>:u`), the two a use changes.
   */
  readonly passkeys: (userId: string) => string;
  /** A WebAuthn challenge handed out and not yet answered, named by its id. */
  readonly passkeyChallenge: (id: string) => string;
}

/**
 * Where sessions are counted and their owners filed for the expiry sweep: one shard per
 * Cluster slot (on one Redis too), named with a hash tag of that slot, so that a login, a
 * revocation and a sweep change a user's sessions and their count in one script, no key
 * every login needs lives on one shard, and each shard stays small enough for Redis's
 * compact encodings.
 */
export interface SessionShard {
  /** Users with sessions, each scored by the earliest expiry a sweep has still to see. */
  readonly owners: string;
  /** How many sessions the users' indexes list, changed by the scripts that change them. */
  readonly live: string;
}

/** Builds the key names under a namespace (default "keycard"). */
export function redisKeys(namespace: string): RedisKeys {
  const userTag = (userId: string): string => `${namespace}:{u:${userId}}`;
  const perSlot = (tag: string): SessionShard => ({
    owners: `${namespace}:{${tag}}:session-owners`,
    live: `${namespace}:{${tag}}:live-count`,
  });
  let slotShards: readonly SessionShard[] | undefined;
  const shards = (): readonly SessionShard[] => {
    slotShards ??= slotTags().map(perSlot);
    return slotShards;
  };
  return {
    record: (sessionIdOrTokenStart) => `${namespace}:s:${sessionIdOrTokenStart}`,
    email: (email) => `${namespace}:email:${email}`,
    user: (userId) => `${userTag(userId)}:user`,
    index: (userId) => `${userTag(userId)}:sessions`,
    legacyPointer: (tokenHash) => `${namespace}:tok:${tokenHash}`,
    legacySession: (userId, sessionId) => `${userTag(userId)}:sess:${sessionId}`,
    legacySessionPrefix: (userId) => `${userTag(userId)}:sess:`,
    users: () => `${namespace}:users`,
    apiKey: (id) => `${namespace}:apikey:${id}`,
    apiKeyHash: (keyHash) => `${namespace}:apikey-hash:${keyHash}`,
    userApiKeys: (userId) => `${userTag(userId)}:apikeys`,
    rateLimits: () => `${namespace}:ratelimit`,
    loginFailures: (kind, id) => `${namespace}:login-failures:${kind}:${id}`,
    loginFailureWindow: (id) => `${namespace}:login-failure-window:${id}`,
    shardOf: (userId) => shards()[keySlot(`u:${userId}`)] ?? perSlot(`u:${userId}`),
    shards,
    unshardedBookkeeping: () => ({
      owners: `${namespace}:session-owners`,
      live: `${namespace}:live-count`,
    }),
    revocations: () => `${namespace}:revocations`,
    sessionEpoch: () => `${namespace}:session-epoch`,
    signingKeys: () => `${namespace}:jwt-keys`,
    passwordReset: (tokenHash) => `${namespace}:password-reset:${tokenHash}`,
    latestPasswordReset: (userId) => `${userTag(userId)}:password-reset`,
    recoveryCodes: (userId) => `${userTag(userId)}:recovery-codes`,
    sightings: (userId) => `${userTag(userId)}:sightings`,
    passkeys: (userId) => `${userTag(userId)}:passkeys`,
    passkeyChallenge: (id) => `${namespace}:passkey-challenge:${id}`,
  };
}
