/** How long an administrator's password-reset token may be redeemed: 15 minutes. */
export const passwordResetTtlMs = 15 * 60_000;

/** A pending password reset, as the store keeps it under the hash of its token. */
export interface PasswordReset {
  readonly userId: string;
  /** When the token stops working (epoch ms). */
  readonly expiresAt: number;
}

/** Whether a reset taken from the store may still be redeemed at `now`. */
export function isRedeemable(reset: PasswordReset, now: number): boolean {
  return now < reset.expiresAt;
}
