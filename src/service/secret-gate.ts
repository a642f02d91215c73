import type { Clock } from "../domain/clock.js";
import type { LoginAttempt, LoginGuard } from "./login-guard.js";

/** How long an address found allowed is let through without reading its counters again. */
const allowedForMs = 1_000;
/** Addresses remembered at most; the oldest are forgotten first. */
const maxRemembered = 10_000;

/**
 * Checks the configured secrets (the admin token, INTROSPECTION_SECRET) within the login
 * guard's budget: a wrong secret counts against its address, which is then delayed and
 * locked out like a login, and an address must be allowed before its secret is compared.
 * A right secret costs no write, and an address found allowed is not read again for a
 * second (introspection is a hot path); any wrong secret forgets that at once.
 */
export class SecretGate {
  private readonly allowedUntil = new Map<string, number>();

  constructor(
    private readonly guard: LoginGuard,
    private readonly clock: Clock,
  ) {}

  /** True when `matches`; false (counted) when not; RATE_LIMITED while the address waits. */
  async prove(attempt: LoginAttempt, matches: () => boolean): Promise<boolean> {
    const now = this.clock.now();
    if ((this.allowedUntil.get(attempt.account) ?? 0) <= now) {
      await this.guard.checkAllowed(attempt);
      this.remember(attempt.account, now + allowedForMs);
    }
    if (matches()) {
      return true;
    }
    this.allowedUntil.delete(attempt.account);
    await this.guard.recordFailure(attempt);
    return false;
  }

  private remember(account: string, until: number): void {
    this.allowedUntil.delete(account);
    this.allowedUntil.set(account, until);
    if (this.allowedUntil.size > maxRemembered) {
      const oldest = this.allowedUntil.keys().next().value;
      if (oldest !== undefined) {
        this.allowedUntil.delete(oldest);
      }
    }
  }
}
