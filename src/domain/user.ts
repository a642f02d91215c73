/**
 * An account as the store keeps it. The password is present only as an argon2id hash and
 * TOTP secrets only encrypted (AES-256-GCM); empty strings mean "none".
 */
export interface UserRecord {
  readonly id: string;
  readonly email: string;
  readonly displayName: string;
  readonly passwordHash: string;
  readonly roles: readonly string[];
  readonly disabled: boolean;
  readonly createdAt: number;
  /** The confirmed TOTP secret, encrypted; empty when TOTP is off. */
  readonly totpSecret: string;
  /** A secret awaiting its first code (ConfirmTotp), encrypted; empty when none. */
  readonly totpPending: string;
}

/** The fields of an account that may change after creation. */
export type UserPatch = Partial<
  Pick<UserRecord, "passwordHash" | "disabled" | "totpSecret" | "totpPending" | "roles">
>;

/** Lower-cases and trims an email so that lookups are case-insensitive. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Whether a password login of this user needs a TOTP code. */
export function requiresTotp(user: UserRecord): boolean {
  return user.totpSecret !== "";
}
