import type { Clock } from "../domain/clock.js";
import type { ClientInfo } from "../domain/session.js";
import { secretAttemptOf } from "./login-attempt.js";
import type { LoginGuard } from "./login-guard.js";

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

  /**
   * True when `matches`; false (counted) when not; RATE_LIMITED while the address waits.
   * The attempt (a fingerprint of the address) is built only to read or count counters.
   */
  async prove(
    credential: "admin_token" | "introspection_secret",
    client: ClientInfo,
    matches: () => boolean,
  ): Promise<boolean> {
    const now = this.clock.now();
    const remembered = `${credential} ${client.ip}`;
    if ((this.allowedUntil.get(remembered) ?? 0) <= now) {
      await this.guard.checkAllowed(secretAttemptOf(credential, client));
      this.remember(remembered, now + allowedForMs);
    }
    if (matches()) {
      return true;
    }
    this.allowedUntil.delete(remembered);
    await this.guard.recordFailure(secretAttemptOf(credential, client));
    return false;
  }

  private remember(address: string, until: number): void {
    this.allowedUntil.delete(address);
    this.allowedUntil.set(address, until);
    if (this.allowedUntil.size > maxRemembered) {
      const oldest = this.allowedUntil.keys().next().value;
      if (oldest !== undefined) {
        this.allowedUntil.delete(oldest);
      }
    }
  }
}
