import { SecretKeeper } from "../service/secret-keeper.js";
import { reencryptTotpSecrets } from "../service/totp-reencrypt.js";
import { waitUntilReachable } from "../store/reachable.js";
import { createLogger } from "./logger.js";
import { readConfig } from "./server-main.js";
import { openStore } from "./store-setup.js";

/**
 * `keycard reencrypt`: after KEYCARD_ENCRYPTION_KEY was rotated (the old key moved to
 * KEYCARD_PREVIOUS_ENCRYPTION_KEYS), moves every stored TOTP secret to the new key, with
 * progress on `say`. Resolves with the exit code: 0 done, 1 the store failed, 2 settings.
 */
export async function runReencrypt(
  env: Record<string, string | undefined>,
  say: (line: string) => void,
): Promise<number> {
  const config = readConfig({ ...env, KEYCARD_DEV: "0" });
  if (config.encryptionKey === undefined || config.redisUrl === undefined) {
    say("keycard reencrypt needs REDIS_URL and KEYCARD_ENCRYPTION_KEY (the new key)");
    return 2;
  }
  const store = openStore(config, createLogger("error"));
  try {
    if (!(await waitUntilReachable(store, 5_000))) {
      say("the store is unreachable");
      return 1;
    }
    const secrets = new SecretKeeper(config.encryptionKey, config.previousEncryptionKeys);
    const report = await reencryptTotpSecrets(store, secrets, ({ usersRead, secretsMoved }) =>
      say(`${usersRead} users read, ${secretsMoved} TOTP secrets moved to the new key`),
    );
    say(
      `done: ${report.secretsMoved} TOTP secrets re-encrypted. API keys move to the new key when next used; keep the previous key until the keys you still need have been used once.`,
    );
    return 0;
  } catch (error) {
    say(`re-encryption stopped: ${(error as Error).message}; run it again to go on`);
    return 1;
  } finally {
    await store.close();
  }
}
