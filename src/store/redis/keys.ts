/**
 * The one place Redis key names are built. Keys of one user share the hash tag `{u:<id>}`
 * so that multi-key scripts over a user's data stay in one Cluster slot.
 */
export interface RedisKeys {
  readonly pointer: (tokenHash: string) => string;
  readonly email: (email: string) => string;
  readonly user: (userId: string) => string;
  readonly session: (userId: string, sessionId: string) => string;
  readonly sessionPrefix: (userId: string) => string;
  readonly index: (userId: string) => string;
  readonly users: () => string;
  readonly apiKey: (id: string) => string;
  readonly apiKeyHash: (keyHash: string) => string;
  readonly userApiKeys: (userId: string) => string;
  readonly rateLimits: () => string;
  /** One delay counter of failed logins (`kind` pair or ip; `id` a fingerprint). */
  readonly loginFailures: (kind: string, id: string) => string;
  /** One account's failed logins within the lockout window: a sorted set scored by time. */
  readonly loginFailureWindow: (id: string) => string;
  /** Users with sessions, each scored by the earliest expiry a sweep has still to see. */
  readonly sessionOwners: () => string;
  /** How many sessions are live, counted up on login and down on revocation and expiry. */
  readonly liveCount: () => string;
  /** The pub/sub channel on which replicas announce revoked and rotated sessions. */
  readonly revocations: () => string;
  /** The time before which every session has ended (EndAllSessions). */
  readonly sessionEpoch: () => string;
}

/** Builds the key names under a namespace (default "keycard"). */
export function redisKeys(namespace: string): RedisKeys {
  const userTag = (userId: string): string => `${namespace}:{u:${userId}}`;
  return {
    pointer: (tokenHash) => `${namespace}:tok:${tokenHash}`,
    email: (email) => `${namespace}:email:${email}`,
    user: (userId) => `${userTag(userId)}:user`,
    session: (userId, sessionId) => `${userTag(userId)}:sess:${sessionId}`,
    sessionPrefix: (userId) => `${userTag(userId)}:sess:`,
    index: (userId) => `${userTag(userId)}:sessions`,
    users: () => `${namespace}:users`,
    apiKey: (id) => `${namespace}:apikey:${id}`,
    apiKeyHash: (keyHash) => `${namespace}:apikey-hash:${keyHash}`,
    userApiKeys: (userId) => `${userTag(userId)}:apikeys`,
    rateLimits: () => `${namespace}:ratelimit`,
    loginFailures: (kind, id) => `${namespace}:login-failures:${kind}:${id}`,
    loginFailureWindow: (id) => `${namespace}:login-failure-window:${id}`,
    sessionOwners: () => `${namespace}:session-owners`,
    liveCount: () => `${namespace}:live-count`,
    revocations: () => `${namespace}:revocations`,
    sessionEpoch: () => `${namespace}:session-epoch`,
  };
}
