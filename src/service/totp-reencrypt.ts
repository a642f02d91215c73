import { type Cursor, cursorOf } from "../domain/page.js";
import type { Store } from "../domain/ports.js";
import type { SecretKeeper } from "./secret-keeper.js";

/** What one re-encryption pass did. */
export interface ReencryptReport {
  readonly usersRead: number;
  readonly secretsMoved: number;
}

const pageSize = 100;

/**
 * Moves every stored TOTP secret (confirmed or pending) to the current encryption key, so
 * that the previous keys can be dropped from KEYCARD_PREVIOUS_ENCRYPTION_KEYS. Safe to run
 * again, and while keycard serves: a secret already under the current key is left alone.
 * `onPage` is told the running totals after each page of users.
 */
export async function reencryptTotpSecrets(
  store: Store,
  secrets: SecretKeeper,
  onPage: (report: ReencryptReport) => void = () => undefined,
): Promise<ReencryptReport> {
  let usersRead = 0;
  let secretsMoved = 0;
  let after: Cursor | undefined;
  for (;;) {
    const page = { size: pageSize, ...(after === undefined ? {} : { after }) };
    const users = await store.users.list(page);
    for (const user of users) {
      const moved = (stored: string): string | undefined =>
        stored === "" || secrets.isCurrent(stored)
          ? undefined
          : secrets.encrypt(secrets.decrypt(stored));
      const totpSecret = moved(user.totpSecret);
      const totpPending = moved(user.totpPending);
      if (totpSecret !== undefined || totpPending !== undefined) {
        await store.users.update(user.id, {
          ...(totpSecret === undefined ? {} : { totpSecret }),
          ...(totpPending === undefined ? {} : { totpPending }),
        });
        secretsMoved += (totpSecret === undefined ? 0 : 1) + (totpPending === undefined ? 0 : 1);
      }
    }
    usersRead += users.length;
    onPage({ usersRead, secretsMoved });
    const last = users.at(-1);
    if (users.length < pageSize || last === undefined) {
      return { usersRead, secretsMoved };
    }
    after = cursorOf(last);
  }
}
