import { weakSecretProblem } from "../../domain/secret-strength.js";
import type { EnvReader } from "./env-reader.js";

/** The secrets keycard is given: each absent one turns its feature off (or dev mode makes one). */
export interface SecretSettings {
  /** Absent means the AdminService refuses every call (or, in dev mode, one is generated). */
  readonly adminToken?: string;
  /** 32 bytes; absent means API keys and TOTP are refused (dev mode generates one). */
  readonly encryptionKey?: Buffer;
  /** KEYCARD_PREVIOUS_ENCRYPTION_KEYS: older keys, which still decrypt and find API keys. */
  readonly previousEncryptionKeys: readonly Buffer[];
  /** ADMIN_PASSWORD: the password of the built-in administrator account (reference 003). */
  readonly adminPassword?: string;
  /** INTROSPECTION_SECRET: what RFC 7662 callers present; absent means introspection answers 401. */
  readonly introspectionSecret?: string;
}

/** A 32-byte key from hex or base64; undefined when unset, null when malformed. */
function parseKey(text: string | undefined): Buffer | undefined | null {
  if (text === undefined) {
    return undefined;
  }
  const key = /^[0-9a-fA-F]{64}$/.test(text)
    ? Buffer.from(text, "hex")
    : Buffer.from(text, "base64");
  return key.length === 32 ? key : null;
}

/** A configured secret, refused when too short or too predictable to guard keycard. */
export function checkedSecret(read: EnvReader, name: string): string | undefined {
  const secret = read.optional(name);
  const problem = secret === undefined ? undefined : weakSecretProblem(name, secret);
  if (problem !== undefined) {
    read.problems.push(problem);
  }
  return secret;
}

/** KEYCARD_ENCRYPTION_KEY and the previous keys, each checked for its 32 bytes. */
function readEncryptionKeys(
  read: EnvReader,
): Pick<SecretSettings, "encryptionKey" | "previousEncryptionKeys"> {
  const encryptionKey = parseKey(read.optional("KEYCARD_ENCRYPTION_KEY"));
  const previous = read.list("KEYCARD_PREVIOUS_ENCRYPTION_KEYS").map(parseKey);
  read.check(
    previous.every((key) => key instanceof Buffer),
    "KEYCARD_PREVIOUS_ENCRYPTION_KEYS must be keys like KEYCARD_ENCRYPTION_KEY, separated by commas",
  );
  read.check(
    encryptionKey !== null,
    "KEYCARD_ENCRYPTION_KEY must be 32 bytes as 64 hex digits or base64 (try: openssl rand -base64 32)",
  );
  return {
    ...(encryptionKey ? { encryptionKey } : {}),
    previousEncryptionKeys: previous.filter((key): key is Buffer => key instanceof Buffer),
  };
}

/** The configured secrets; a weak or malformed one is a problem of the configuration. */
export function readSecrets(read: EnvReader): SecretSettings {
  const adminToken = checkedSecret(read, "KEYCARD_ADMIN_TOKEN");
  const introspectionSecret = checkedSecret(read, "INTROSPECTION_SECRET");
  const adminPassword = read.optional("ADMIN_PASSWORD");
  return {
    ...(adminToken === undefined ? {} : { adminToken }),
    ...readEncryptionKeys(read),
    ...(adminPassword === undefined ? {} : { adminPassword }),
    ...(introspectionSecret === undefined ? {} : { introspectionSecret }),
  };
}
