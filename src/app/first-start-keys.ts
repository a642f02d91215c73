import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomSecret } from "./dev-mode.js";

/** The file, in the keys folder, holding the admin token and encryption key. */
export const keysFileName = "keys.env";

/** What {@link ensureKeysFile} did: made the file now (and what it holds), or found it. */
export type KeysOutcome =
  | { readonly made: true; readonly path: string; readonly text: string }
  | { readonly made: false; readonly path: string };

/**
 * A fresh admin token and encryption key as shell assignments: `set -a; . keys.env` exports
 * them, and the values need no quoting (base64 and base64url only).
 */
export function newKeysText(): string {
  return [
    `KEYCARD_ADMIN_TOKEN=${randomSecret()}`,
    `KEYCARD_ENCRYPTION_KEY=${randomBytes(32).toString("base64")}`,
    "",
  ].join("\n");
}

/**
 * Makes `folder`/keys.env with new keys unless it exists. The file is created exclusively
 * (readable by its owner only), so a start racing another makes no second pair of keys, and
 * an existing file is never read or rewritten: keys made once are kept for good, since data
 * encrypted under the key would be lost with it.
 */
export function ensureKeysFile(folder: string): KeysOutcome {
  const path = join(folder, keysFileName);
  const text = newKeysText();
  try {
    writeFileSync(path, text, { flag: "wx", mode: 0o600 });
    return { made: true, path, text };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      return { made: false, path };
    }
    throw error;
  }
}

/** What the one-shot keys service prints: the keys the first time, where they are after. */
export function keysReport(outcome: KeysOutcome): string {
  if (!outcome.made) {
    return `keycard: the keys in ${outcome.path} were made at the first start and are not shown again.\n`;
  }
  const exports = outcome.text
    .trim()
    .split("\n")
    .map((line) => `    export ${line}`);
  return [
    "",
    `  keycard: new keys made and stored in ${outcome.path}.`,
    "  They are shown this once: keep them in a password manager.",
    "",
    ...exports,
    "",
    "  The admin token calls AdminService; the encryption key protects TOTP secrets and API",
    "  keys at rest: without it they cannot be used, so never lose it.",
    "",
  ].join("\n");
}
