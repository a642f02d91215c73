import { createHash } from "node:crypto";

/**
 * The brute-force policy of Login. Three counters of failed attempts decide whether an
 * attempt may even be checked:
 * - per (account, IP) pair: after `pairDelayAfter` failures every further attempt of that
 *   pair waits a delay that starts at `baseDelay` and doubles per failure up to `maxDelay`;
 * - per IP over all accounts (password spraying): the same growing delay after
 *   `ipDelayAfter` failures, counted in a fixed `window` so a busy NAT is never slowed for
 *   longer than that;
 * - per account from every IP: at most `lockoutThreshold` (ASVS 2.2.1 and NIST SP 800-63B:
 *   100) failures in any rolling `window`; the account is locked for everyone until the
 *   oldest of them leaves the window, whatever the timing of the attempts.
 * A success resets the pair (never the account's window, or a user's own login would give
 * an attacker a fresh hundred). A threshold of 0 turns its rule off. Durations are in
 * milliseconds.
 */
export interface LoginThrottlePolicy {
  readonly pairDelayAfter: number;
  readonly ipDelayAfter: number;
  readonly lockoutThreshold: number;
  readonly baseDelay: number;
  readonly maxDelay: number;
  /**
   * The account's rolling window; pair counters forget after this long without a failure,
   * IP counters after this long since their first.
   */
  readonly window: number;
}

/** The production defaults (README, "Brute-force protection"). */
export const defaultLoginThrottle: LoginThrottlePolicy = {
  pairDelayAfter: 5,
  ipDelayAfter: 50,
  lockoutThreshold: 100,
  baseDelay: 1_000,
  maxDelay: 15 * 60_000,
  window: 60 * 60_000,
};

/** Which counter: one account from one IP, one IP over all accounts, one account from all IPs. */
export type LoginCounterKind = "pair" | "ip" | "account";

/** The counters that delay an attempt (as opposed to the account's lock). */
export type DelayKind = "pair" | "ip";

/** The name of one counter; `id` is a hash, so store keys carry no email, key or address. */
export interface LoginCounterKey {
  readonly kind: LoginCounterKind;
  readonly id: string;
}

/** A pair or IP counter's state: failures since it was reset, and when the first and last were. */
export interface FailureCount {
  readonly count: number;
  readonly firstAt: number;
  readonly lastAt: number;
}

/** The state of a counter that has never failed, or was reset. */
export const noFailures: FailureCount = { count: 0, firstAt: 0, lastAt: 0 };

/**
 * An account's failures within its rolling window: how many, and when the window will have
 * room for another (0 while it has room).
 */
export interface FailureWindow {
  readonly count: number;
  readonly openAt: number;
}

/** A window asked to take a failure: whether it took it, and its state before. */
export interface WindowClaim extends FailureWindow {
  readonly claimed: boolean;
}

/** The delay counters of one attempt (the account has its window instead). */
export const delayKinds = ["pair", "ip"] as const;

/** The counters' state for one attempt. */
export interface AttemptCounts {
  readonly pair: FailureCount;
  readonly ip: FailureCount;
  readonly account: FailureWindow;
}

/** Whether an attempt may be checked, and which delay counters have run out and must be reset. */
export type ThrottleVerdict =
  | { readonly allowed: true; readonly expired: readonly DelayKind[] }
  | {
      readonly allowed: false;
      readonly expired: readonly DelayKind[];
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

/** How long the store must keep a delay counter after its last failure for the policy to see it. */
export function counterRetention(policy: LoginThrottlePolicy): number {
  return Math.max(policy.window, policy.maxDelay);
}

/** The wait after the `failures`-th failure of a counter whose delay starts after `after`. */
export function delayAfter(failures: number, after: number, policy: LoginThrottlePolicy): number {
  if (after <= 0 || failures < after) {
    return 0;
  }
  const doublings = Math.min(failures - after, 40);
  return Math.min(policy.baseDelay * 2 ** doublings, policy.maxDelay);
}

function hasRunOut(
  kind: DelayKind,
  state: FailureCount,
  now: number,
  policy: LoginThrottlePolicy,
): boolean {
  if (state.count === 0) {
    return false;
  }
  const since = kind === "ip" ? state.firstAt : state.lastAt;
  return now - since >= policy.window;
}

function delayWait(kind: DelayKind, state: FailureCount, now: number, policy: LoginThrottlePolicy) {
  const after = kind === "pair" ? policy.pairDelayAfter : policy.ipDelayAfter;
  const span = delayAfter(state.count, after, policy);
  return span === 0 ? 0 : Math.max(0, state.lastAt + span - now);
}

function lockWait(account: FailureWindow, now: number, policy: LoginThrottlePolicy): number {
  return policy.lockoutThreshold > 0 ? Math.max(0, account.openAt - now) : 0;
}

/**
 * Judges an attempt at `now` from its counters: refused while any rule still makes it wait
 * (reporting the longest wait), else allowed. Delay counters whose window is over are
 * listed in `expired` and count as zero.
 */
export function judgeAttempt(
  counts: AttemptCounts,
  now: number,
  policy: LoginThrottlePolicy,
): ThrottleVerdict {
  const expired = delayKinds.filter((kind) => hasRunOut(kind, counts[kind], now, policy));
  const waits: [LoginCounterKind, number][] = [
    ...delayKinds.map((kind): [LoginCounterKind, number] => [
      kind,
      expired.includes(kind) ? 0 : delayWait(kind, counts[kind], now, policy),
    ]),
    ["account", lockWait(counts.account, now, policy)],
  ];
  const [scope, retryAfterMs] = waits.reduce((longest, wait) =>
    wait[1] > longest[1] ? wait : longest,
  );
  return retryAfterMs === 0
    ? { allowed: true, expired }
    : { allowed: false, expired, scope, retryAfterMs };
}
