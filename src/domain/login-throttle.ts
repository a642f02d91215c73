import { createHash } from "node:crypto";

/**
 * The brute-force policy of Login. Three counters of failed attempts decide whether an
 * attempt may even be checked:
 * - per (account, IP) pair: after `pairDelayAfter` failures every further attempt of that
 *   pair waits a delay that starts at `baseDelay` and doubles per failure up to `maxDelay`;
 * - per IP over all accounts (password spraying): the same growing delay after
 *   `ipDelayAfter` failures, counted in a fixed `window` so a busy NAT is never slowed for
 *   longer than that;
 * - per account from every IP: `lockoutThreshold` consecutive failures (NIST SP 800-63B:
 *   at most 100) lock the account for everyone for `lockoutDuration`; the lock then uses
 *   the count up, so the next lock needs as many failures again.
 * A success resets the pair and the account. A threshold of 0 turns its rule off.
 * Durations are in milliseconds.
 */
export interface LoginThrottlePolicy {
  readonly pairDelayAfter: number;
  readonly ipDelayAfter: number;
  readonly lockoutThreshold: number;
  readonly lockoutDuration: number;
  readonly baseDelay: number;
  readonly maxDelay: number;
  /** Pair and account counters forget after this long without a failure; IP counters after this long since their first. */
  readonly window: number;
}

/** The production defaults (README, "Brute-force protection"). */
export const defaultLoginThrottle: LoginThrottlePolicy = {
  pairDelayAfter: 5,
  ipDelayAfter: 50,
  lockoutThreshold: 100,
  lockoutDuration: 15 * 60_000,
  baseDelay: 1_000,
  maxDelay: 15 * 60_000,
  window: 60 * 60_000,
};

/** Which counter: one account from one IP, one IP over all accounts, one account from all IPs. */
export type LoginCounterKind = "pair" | "ip" | "account";

/** The name of one counter; `id` is a hash, so store keys carry no email, key or address. */
export interface LoginCounterKey {
  readonly kind: LoginCounterKind;
  readonly id: string;
}

/** A counter's state: failures since it was last reset, and when the first and last were. */
export interface FailureCount {
  readonly count: number;
  readonly firstAt: number;
  readonly lastAt: number;
}

/** The state of a counter that has never failed, or was reset. */
export const noFailures: FailureCount = { count: 0, firstAt: 0, lastAt: 0 };

/** The three counters of one attempt, in the order of `counterKinds`. */
export const counterKinds: readonly LoginCounterKind[] = ["pair", "ip", "account"];

/** The counters' state for one attempt. */
export type AttemptCounts = Readonly<Record<LoginCounterKind, FailureCount>>;

/** Whether an attempt may be checked, and which counters have run out and must be reset. */
export type ThrottleVerdict =
  | { readonly allowed: true; readonly expired: readonly LoginCounterKind[] }
  | {
      readonly allowed: false;
      readonly expired: readonly LoginCounterKind[];
      /** The rule that refuses for longest: `account` is the lockout, the others a delay. */
      readonly scope: LoginCounterKind;
      readonly retryAfterMs: number;
    };

/**
 * A short SHA-256 fingerprint of an email, key or address, for store keys that must not
 * hold the text itself.
 */
export function fingerprint(text: string): string {
  return createHash("sha256").update(text).digest("base64url").slice(0, 22);
}

/**
 * The account an attempt names: the normalized email of a password login, or the SHA-256
 * of the presented API key (its id is unknown until the key is checked, and a wrong key is
 * any random string). The result is a fingerprint: it never contains the email or key.
 */
export function accountFingerprint(account: string): string {
  return fingerprint(account);
}

/** The counters an attempt on `account` (a fingerprint) from `ip` counts against. */
export function counterKeysOf(
  account: string,
  ip: string,
): Record<LoginCounterKind, LoginCounterKey> {
  return {
    pair: { kind: "pair", id: fingerprint(`${account}\n${ip}`) },
    ip: { kind: "ip", id: fingerprint(ip) },
    account: { kind: "account", id: account },
  };
}

/** How long the store must keep a counter after its last failure for the policy to see it. */
export function counterRetention(policy: LoginThrottlePolicy): number {
  return Math.max(policy.window, policy.lockoutDuration, policy.maxDelay);
}

/** The wait after the `failures`-th failure of a counter whose delay starts after `after`. */
export function delayAfter(failures: number, after: number, policy: LoginThrottlePolicy): number {
  if (after <= 0 || failures < after) {
    return 0;
  }
  const doublings = Math.min(failures - after, 40);
  return Math.min(policy.baseDelay * 2 ** doublings, policy.maxDelay);
}

function isLocked(account: FailureCount, policy: LoginThrottlePolicy): boolean {
  return policy.lockoutThreshold > 0 && account.count >= policy.lockoutThreshold;
}

function hasRunOut(
  kind: LoginCounterKind,
  state: FailureCount,
  now: number,
  policy: LoginThrottlePolicy,
): boolean {
  if (state.count === 0) {
    return false;
  }
  if (kind === "ip") {
    return now - state.firstAt >= policy.window;
  }
  if (kind === "account" && isLocked(state, policy)) {
    return now - state.lastAt >= policy.lockoutDuration;
  }
  return now - state.lastAt >= policy.window;
}

function waitOf(
  kind: LoginCounterKind,
  state: FailureCount,
  now: number,
  policy: LoginThrottlePolicy,
): number {
  const span =
    kind === "account"
      ? isLocked(state, policy)
        ? policy.lockoutDuration
        : 0
      : delayAfter(
          state.count,
          kind === "pair" ? policy.pairDelayAfter : policy.ipDelayAfter,
          policy,
        );
  return span === 0 ? 0 : Math.max(0, state.lastAt + span - now);
}

/**
 * Judges an attempt at `now` from its counters: refused while any rule still makes it wait
 * (reporting the longest wait), else allowed. Counters whose window or lock is over are
 * listed in `expired` and count as zero.
 */
export function judgeAttempt(
  counts: AttemptCounts,
  now: number,
  policy: LoginThrottlePolicy,
): ThrottleVerdict {
  const expired = counterKinds.filter((kind) => hasRunOut(kind, counts[kind], now, policy));
  let scope: LoginCounterKind | undefined;
  let retryAfterMs = 0;
  for (const kind of counterKinds) {
    const wait = expired.includes(kind) ? 0 : waitOf(kind, counts[kind], now, policy);
    if (wait > retryAfterMs) {
      scope = kind;
      retryAfterMs = wait;
    }
  }
  return scope === undefined
    ? { allowed: true, expired }
    : { allowed: false, expired, scope, retryAfterMs };
}
