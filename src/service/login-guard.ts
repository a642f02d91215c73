import { randomBytes } from "node:crypto";
import type { Clock } from "../domain/clock.js";
import { secondsText } from "../domain/duration.js";
import { KeycardError } from "../domain/errors.js";
import {
  type AttemptCounts,
  counterKeysOf,
  counterRetention,
  judgeAttempt,
  type LoginCounterKey,
  type LoginCounterKind,
  type LoginThrottlePolicy,
  noFailures,
  type WindowClaim,
} from "../domain/login-throttle.js";
import type { LoginAttemptStore, UserStore } from "../domain/ports.js";
import type { AuditLog } from "./audit.js";
import { isGuessFailure, type LoginAttempt, passwordAccountOf } from "./login-attempt.js";

/** What the guard needs: the counters, the users (for the audit), time, policy and audit. */
export interface LoginGuardDeps {
  readonly attempts: LoginAttemptStore;
  readonly users: UserStore;
  readonly clock: Clock;
  readonly policy: LoginThrottlePolicy;
  readonly audit: AuditLog;
  /** Told when the audit's background user lookup failed; the event is still written. */
  readonly onBackgroundError?: (error: unknown) => void;
}

/** A guess let through by {@link LoginGuard.admit}, counted on its account until settled. */
export interface GuessReservation {
  /** The secret was wrong: it counts against this address too. */
  fail(): Promise<void>;
  /** The secret was right: this address's pair starts over and the claim is given back. */
  succeed(): Promise<void>;
  /** The secret was never judged: the guess is taken back from every counter. */
  withdraw(): Promise<void>;
}

const scopeMessages: Record<LoginCounterKind, string> = {
  pair: "Too many failed logins",
  ip: "Too many failed logins from this address",
  account: "Too many failed logins; this account is temporarily locked",
};

/** A name for one failure in an account's window, unique across replicas. */
function newFailureId(now: number): string {
  return `${now.toString(36)}.${randomBytes(9).toString("base64url")}`;
}

/**
 * Brute-force protection of Login (policy in domain/login-throttle.ts), with the counters
 * in the store so every replica sees the same ones. A store failure is never ignored: it
 * fails the login with STORE_UNAVAILABLE, as any other store call of a login does.
 */
export class LoginGuard {
  private readonly retainMs: number;
  private readonly window: { readonly windowMs: number; readonly limit: number };

  constructor(private readonly deps: LoginGuardDeps) {
    this.retainMs = counterRetention(deps.policy);
    this.window = { windowMs: deps.policy.window, limit: deps.policy.lockoutThreshold };
  }

  /**
   * Lets an attempt check its secret, or refuses one that must still wait with RATE_LIMITED
   * and the seconds to wait (counting nothing) and audits `login.locked`. The account's
   * window takes the attempt as a failure before the check (a claim, so a burst from many
   * addresses checks no more secrets than the lockout threshold in any window); the address
   * counters are read, so that a user's own parallel logins from one address never delay
   * each other. Settle the attempt with the returned reservation.
   */
  async admit(attempt: LoginAttempt): Promise<GuessReservation> {
    const keys = counterKeysOf(attempt.account, attempt.client.ip);
    const now = this.deps.clock.now();
    const failure = newFailureId(now);
    const counts = await this.countsOf(keys, failure, now);
    const giveBack = async () => {
      if (counts.account.claimed) {
        await this.deps.attempts.unclaim(keys.account, failure);
      }
    };
    await this.enforce(attempt, keys, counts, now, giveBack);
    return {
      fail: () =>
        this.deps.attempts.record([keys.pair, keys.ip], this.deps.clock.now(), this.retainMs),
      succeed: async () => {
        await Promise.all([this.deps.attempts.clear([keys.pair]), giveBack()]);
      },
      withdraw: giveBack,
    };
  }

  /**
   * Runs `check` (which proves a secret) as one admitted attempt: a wrong secret counts as
   * a failure, a right one resets this address's pair, and a check that failed for another
   * reason (a malformed call, the store) counts nothing.
   */
  async guard<T>(attempt: LoginAttempt, check: () => Promise<T>): Promise<T> {
    const reservation = await this.admit(attempt);
    let result: T;
    try {
      result = await check();
    } catch (error) {
      if (isGuessFailure(error)) {
        await reservation.fail();
        this.auditFailure(attempt, (error as KeycardError).reason);
      } else {
        await reservation.withdraw().catch(() => undefined);
      }
      throw error;
    }
    await reservation.succeed();
    return result;
  }

  /**
   * Refuses an attempt that must still wait (RATE_LIMITED), reading its counters only and
   * counting nothing: for configured secrets, whose entropy makes bursts pointless and
   * whose right answers must not cost a write. Count a wrong one with {@link recordFailure}.
   */
  async checkAllowed(attempt: LoginAttempt): Promise<void> {
    const keys = counterKeysOf(attempt.account, attempt.client.ip);
    const now = this.deps.clock.now();
    const counts = await this.countsOf(keys, "", now);
    await this.enforce(attempt, keys, counts, now, async () => undefined);
  }

  /** Counts a wrong secret against the attempt's account, pair and address. */
  async recordFailure(attempt: LoginAttempt): Promise<void> {
    const keys = counterKeysOf(attempt.account, attempt.client.ip);
    const now = this.deps.clock.now();
    await Promise.all([
      this.deps.attempts.record([keys.pair, keys.ip], now, this.retainMs),
      this.deps.attempts.claim(keys.account, newFailureId(now), now, {
        windowMs: this.window.windowMs,
        limit: 0,
      }),
    ]);
    this.auditFailure(attempt, "INVALID_CREDENTIALS");
  }

  /**
   * Lifts the lockout of the password account of `email` (normalized): its window of
   * failures is forgotten, for an owner who has just proved control of the account
   * another way (a password reset). Address counters are left: they slow the guesser.
   */
  async forgetAccountFailures(email: string): Promise<void> {
    await this.deps.attempts.clear([{ kind: "account", id: passwordAccountOf(email) }]);
  }

  /** Audits a wrong secret checked at a door other than Login (which audits its own). */
  private auditFailure(attempt: LoginAttempt, reason: string): void {
    if (attempt.door !== undefined) {
      this.deps.audit("login.failed", {
        credential: attempt.credential,
        reason,
        door: attempt.door,
        ...attempt.client,
      });
    }
  }

  /**
   * The attempt's counters: its pair and address read (absent ones have no failures), and
   * its account's window asked to take `failure` (an empty one only looks).
   */
  private async countsOf(
    keys: Record<LoginCounterKind, LoginCounterKey>,
    failure: string,
    now: number,
  ): Promise<AttemptCounts & { readonly account: WindowClaim }> {
    const [[pair = noFailures, ip = noFailures], account] = await Promise.all([
      this.deps.attempts.read([keys.pair, keys.ip]),
      this.deps.attempts.claim(keys.account, failure, now, this.window),
    ]);
    return { pair, ip, account };
  }

  /**
   * Judges `counts` at `now`: restarts delay counters whose window is over, and refuses an
   * attempt that must still wait with RATE_LIMITED (after `undo`), auditing it.
   */
  private async enforce(
    attempt: LoginAttempt,
    keys: Record<LoginCounterKind, LoginCounterKey>,
    counts: AttemptCounts,
    now: number,
    undo: () => Promise<void>,
  ): Promise<void> {
    const verdict = judgeAttempt(counts, now, this.deps.policy);
    if (verdict.expired.length > 0) {
      await this.deps.attempts.clear(verdict.expired.map((kind) => keys[kind]));
    }
    if (verdict.allowed) {
      return;
    }
    await undo();
    const retryAfterSeconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
    this.auditLocked(attempt, verdict.scope, retryAfterSeconds);
    throw new KeycardError(
      "RATE_LIMITED",
      `${scopeMessages[verdict.scope]}; try again in ${secondsText(retryAfterSeconds)}`,
      undefined,
      retryAfterSeconds,
    );
  }

  /**
   * Writes `login.locked` once the account's user id is known (if the email has one). The
   * lookup runs after the refusal is answered, so a 429 takes as long for an unknown email
   * as for a real one.
   */
  private auditLocked(
    attempt: LoginAttempt,
    scope: LoginCounterKind,
    retryAfterSeconds: number,
  ): void {
    const fields = {
      credential: attempt.credential,
      scope,
      retryAfterSeconds,
      account: attempt.account,
      ...attempt.client,
    };
    const email = attempt.email;
    if (email === undefined || email === "") {
      this.deps.audit("login.locked", fields);
      return;
    }
    setImmediate(() => {
      this.deps.users.findByEmail(email).then(
        (user) =>
          this.deps.audit(
            "login.locked",
            user === undefined ? fields : { userId: user.id, ...fields },
          ),
        (error: unknown) => {
          this.deps.onBackgroundError?.(error);
          this.deps.audit("login.locked", fields);
        },
      );
    });
  }
}
