import { KeycardError } from "../domain/errors.js";
import type { Store } from "../domain/ports.js";
import { retainUntil, type SessionPolicy, type SessionRecord } from "../domain/session.js";
import { hashToken } from "../domain/token.js";

/** `session` under a new `token`; the presented one keeps working for the refresh grace. */
export function withNewToken(
  session: SessionRecord,
  token: string,
  presentedHash: string,
  now: number,
  policy: SessionPolicy,
): SessionRecord {
  return {
    ...session,
    tokenHash: hashToken(token),
    previousTokenHash: presentedHash,
    graceUntil: now + policy.refreshGrace,
  };
}

/**
 * Stores a rotated session in place of the one the presented token led to; a token that
 * another request replaced first fails with SESSION_INVALID (one rotation per token).
 */
export async function storeRotation(
  store: Store,
  next: SessionRecord,
  presentedHash: string,
  policy: SessionPolicy,
): Promise<void> {
  if (!(await store.sessions.rotate(next, presentedHash, retainUntil(next, policy)))) {
    throw new KeycardError(
      "SESSION_INVALID",
      "This session token was already replaced; use the newer token",
    );
  }
}
