import { readFileSync } from "node:fs";
import { extname } from "node:path";
import type { Logger } from "pino";
import { parseDocument } from "yaml";
import type { Clock } from "../domain/clock.js";
import { KeycardError, StoreUnavailableError } from "../domain/errors.js";
import type { Store } from "../domain/ports.js";
import { isWellFormedToken } from "../domain/token.js";
import { normalizeEmail, type UserRecord } from "../domain/user.js";
import { maxRoles, userRules } from "../domain/user-rules.js";
import type { ApiKeyService } from "../service/api-key-service.js";
import { SecretKeeper } from "../service/secret-keeper.js";
import type { TotpService } from "../service/totp-service.js";
import type { UserService } from "../service/user-service.js";

/** An API key to import for a bootstrap user: a key minted elsewhere, kept as given. */
export interface BootstrapApiKey {
  readonly name: string;
  readonly key: string;
  readonly skipTotp: boolean;
  /** Epoch ms; zero for a key that does not expire. */
  readonly expiresAt: number;
}

/** An account the bootstrap file asks for, validated. */
export interface BootstrapUser {
  readonly email: string;
  readonly displayName: string;
  readonly password: string;
  readonly roles: readonly string[];
  readonly disabled: boolean;
  /** Base32 secret to store as confirmed TOTP; empty for none. */
  readonly totpSecret: string;
  readonly apiKeys: readonly BootstrapApiKey[];
}

/** A parsed and validated KEYCARD_BOOTSTRAP file. */
export interface BootstrapFile {
  readonly path: string;
  readonly users: readonly BootstrapUser[];
}

/** A bootstrap file that cannot be used, naming the file and every problem found. */
export class BootstrapError extends Error {
  override readonly name = "BootstrapError";

  constructor(
    readonly path: string,
    readonly problems: readonly string[],
  ) {
    super(
      problems.length === 1
        ? `bootstrap file ${path}: ${problems[0]}`
        : `bootstrap file ${path} is invalid:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`,
    );
  }
}

const userFields = ["email", "display_name", "password", "roles", "disabled", "totp_secret"];
const apiKeyFields = ["name", "key", "skip_totp", "expires_at"];
const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Reads and validates a bootstrap file (JSON for `.json`, YAML for `.yaml`/`.yml`) before
 * anything touches the store, so that a typo stops the start with every problem listed
 * instead of half-applying the file. Throws BootstrapError.
 */
export function loadBootstrapFile(
  path: string,
  options: { readonly tokenPrefix: string },
): BootstrapFile {
  const document = parseFile(path);
  const read = new Reader(options.tokenPrefix);
  const top = read.mapping(document, "the file", ["users"]);
  const users = top === undefined ? [] : read.list(top, "users", "the file", true);
  const file = { path, users: users.map((entry, index) => read.user(entry, `users[${index}]`)) };
  read.checkDuplicates(file.users);
  if (read.problems.length > 0) {
    throw new BootstrapError(path, read.problems);
  }
  return file;
}

function parseFile(path: string): unknown {
  const extension = extname(path).toLowerCase();
  if (![".json", ".yaml", ".yml"].includes(extension)) {
    throw new BootstrapError(path, ["the name must end in .json, .yaml or .yml"]);
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    const problem =
      code === "ENOENT" ? "does not exist" : `cannot be read (${code || (error as Error).message})`;
    throw new BootstrapError(path, [problem]);
  }
  if (extension === ".json") {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new BootstrapError(path, [`is not valid JSON: ${(error as Error).message}`]);
    }
  }
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const [first] = document.errors;
  if (first !== undefined) {
    const at = first.linePos?.[0];
    const where = at === undefined ? "" : ` at line ${at.line}, column ${at.col}`;
    const message = (first.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
    throw new BootstrapError(path, [`is not valid YAML${where}: ${message}`]);
  }
  return document.toJS() as unknown;
}

/** Validates the parsed document field by field, collecting every problem. */
class Reader {
  readonly problems: string[] = [];

  constructor(private readonly tokenPrefix: string) {}

  user(value: unknown, where: string): BootstrapUser {
    const fields = this.mapping(value, where, [...userFields, "api_keys"]) ?? {};
    const email = normalizeEmail(this.text(fields, "email", where) ?? "");
    this.check(
      email === "" || userRules.email.test(email),
      `${where}.email must be ${userRules.email.expected}`,
    );
    const displayName = (this.text(fields, "display_name", where) ?? "").trim();
    this.check(
      fields.display_name === undefined || userRules.displayName.test(displayName),
      `${where}.display_name must be ${userRules.displayName.expected}`,
    );
    const password = this.text(fields, "password", where) ?? "";
    this.check(
      fields.password === undefined || userRules.password.test(password),
      `${where}.password must be ${userRules.password.expected}`,
    );
    const roles = this.list(fields, "roles", where, false).map((role, index) => {
      const ok = typeof role === "string" && userRules.role.test(role);
      this.check(ok, `${where}.roles[${index}] must be ${userRules.role.expected}`);
      return ok ? role : "";
    });
    this.check(roles.length <= maxRoles, `${where}.roles must be at most ${maxRoles}`);
    const totpSecret = this.text(fields, "totp_secret", where, false) ?? "";
    const secretProblem = totpSecret === "" ? undefined : base32Problem(totpSecret);
    this.check(secretProblem === undefined, `${where}.totp_secret ${secretProblem}`);
    return {
      email,
      displayName,
      password,
      roles,
      disabled: this.flag(fields, "disabled", where),
      totpSecret,
      apiKeys: this.list(fields, "api_keys", where, false).map((entry, index) =>
        this.apiKey(entry, `${where}.api_keys[${index}]`),
      ),
    };
  }

  apiKey(value: unknown, where: string): BootstrapApiKey {
    const fields = this.mapping(value, where, apiKeyFields) ?? {};
    const name = (this.text(fields, "name", where) ?? "").trim();
    this.check(
      fields.name === undefined || (name.length > 0 && name.length <= 100),
      `${where}.name must be 1 to 100 characters`,
    );
    const key = this.text(fields, "key", where) ?? "";
    this.check(
      fields.key === undefined || isWellFormedToken(key, this.tokenPrefix, "key"),
      `${where}.key must be a whole API key, ${this.tokenPrefix}_key_ and 43 base64url characters (TOKEN_PREFIX is "${this.tokenPrefix}")`,
    );
    return {
      name,
      key,
      skipTotp: this.flag(fields, "skip_totp", where),
      expiresAt: this.timestamp(fields, "expires_at", where),
    };
  }

  /** Every email and every key may appear once in the file. */
  checkDuplicates(users: readonly BootstrapUser[]): void {
    const emails = new Set<string>();
    const keys = new Set<string>();
    for (const [index, user] of users.entries()) {
      this.check(
        user.email === "" || !emails.has(user.email),
        `users[${index}].email ${user.email} appears more than once`,
      );
      emails.add(user.email);
      for (const [keyIndex, apiKey] of user.apiKeys.entries()) {
        this.check(
          apiKey.key === "" || !keys.has(apiKey.key),
          `users[${index}].api_keys[${keyIndex}].key appears more than once in the file`,
        );
        keys.add(apiKey.key);
      }
    }
  }

  mapping(
    value: unknown,
    where: string,
    allowed: readonly string[],
  ): Record<string, unknown> | undefined {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      this.problems.push(`${where} must be a mapping of ${allowed.join(", ")}`);
      return undefined;
    }
    for (const field of Object.keys(value).filter((name) => !allowed.includes(name))) {
      this.problems.push(`${where} has an unknown field "${field}" (known: ${allowed.join(", ")})`);
    }
    return value as Record<string, unknown>;
  }

  list(fields: Record<string, unknown>, name: string, where: string, required: boolean): unknown[] {
    const value = fields[name];
    if (value === undefined || value === null) {
      this.check(!required, `${where} needs a "${name}" list`);
      return [];
    }
    if (!Array.isArray(value)) {
      this.problems.push(`${prefixed(where, name)} must be a list`);
      return [];
    }
    return value;
  }

  text(
    fields: Record<string, unknown>,
    name: string,
    where: string,
    required = true,
  ): string | undefined {
    const value = fields[name];
    if (value === undefined || value === null) {
      this.check(!required, `${where} needs "${name}"`);
      return undefined;
    }
    if (typeof value !== "string") {
      this.problems.push(`${prefixed(where, name)} must be a string`);
      return undefined;
    }
    return value;
  }

  flag(fields: Record<string, unknown>, name: string, where: string): boolean {
    const value = fields[name];
    if (value === undefined || value === null) {
      return false;
    }
    this.check(typeof value === "boolean", `${prefixed(where, name)} must be true or false`);
    return value === true;
  }

  timestamp(fields: Record<string, unknown>, name: string, where: string): number {
    const value = fields[name];
    if (value === undefined || value === null) {
      return 0;
    }
    if (value instanceof Date && !Number.isNaN(value.getTime())) {
      return value.getTime();
    }
    const ms = typeof value === "string" && rfc3339.test(value) ? Date.parse(value) : Number.NaN;
    this.check(
      !Number.isNaN(ms),
      `${prefixed(where, name)} must be an RFC 3339 time like 2030-01-31T00:00:00Z`,
    );
    return Number.isNaN(ms) ? 0 : ms;
  }

  check(ok: boolean, problem: string): void {
    if (!ok) {
      this.problems.push(problem);
    }
  }
}

function prefixed(where: string, name: string): string {
  return where === "the file" ? name : `${where}.${name}`;
}

/** Why text is not a usable TOTP secret (RFC 4648 base32 of 16 to 64 bytes), if it is not. */
function base32Problem(text: string): string | undefined {
  const secret = text.replace(/[\s=]/g, "").toUpperCase();
  if (!/^[A-Z2-7]+$/.test(secret)) {
    return "must be base32 (letters A-Z and digits 2-7)";
  }
  const bytes = Math.floor((secret.length * 5) / 8);
  if (bytes < 16 || bytes > 64) {
    return `must be 16 to 64 bytes of base32 (26 to 102 characters), not ${bytes} bytes`;
  }
  return undefined;
}

/** What applying a bootstrap file needs: the use cases, the store to look keys up in. */
export interface BootstrapDeps {
  readonly users: UserService;
  readonly apiKeys: ApiKeyService;
  readonly totp: TotpService;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  /** KEYCARD_ENCRYPTION_KEY: API keys are looked up by its keyed hash, TOTP encrypted by it. */
  readonly encryptionKey: Buffer | undefined;
}

/** What a bootstrap run did. */
export interface BootstrapSummary {
  readonly usersCreated: number;
  readonly usersExisting: number;
  readonly keysImported: number;
  readonly keysExisting: number;
  readonly keysExpired: number;
}

/**
 * Applies a bootstrap file idempotently, as every replica does at each start: a user whose
 * email exists is left exactly as it is (password, roles, TOTP), and an API key whose hash
 * is already stored (even revoked) is not added again. Only the keys of a user are looked
 * at again, so keys added to the file later are imported for existing users too.
 * Throws BootstrapError for data the services refuse, and StoreUnavailableError when the
 * store cannot be written to.
 */
export async function applyBootstrap(
  file: BootstrapFile,
  deps: BootstrapDeps,
): Promise<BootstrapSummary> {
  const needsKey = file.users.some((user) => user.totpSecret !== "" || user.apiKeys.length > 0);
  if (needsKey && deps.encryptionKey === undefined) {
    throw new BootstrapError(file.path, [
      "api_keys and totp_secret need KEYCARD_ENCRYPTION_KEY to be set",
    ]);
  }
  const run = new BootstrapRun(file.path, deps, new SecretKeeper(deps.encryptionKey));
  for (const [index, user] of file.users.entries()) {
    await run.apply(user, `users[${index}]`);
  }
  deps.logger.info({ bootstrap: file.path, ...run.summary }, "bootstrap applied");
  return { ...run.summary };
}

/** One pass over a file, counting what it did. */
class BootstrapRun {
  readonly summary = {
    usersCreated: 0,
    usersExisting: 0,
    keysImported: 0,
    keysExisting: 0,
    keysExpired: 0,
  };

  constructor(
    private readonly path: string,
    private readonly deps: BootstrapDeps,
    private readonly secrets: SecretKeeper,
  ) {}

  async apply(entry: BootstrapUser, where: string): Promise<void> {
    try {
      const user = await this.ensureUser(entry);
      for (const apiKey of entry.apiKeys) {
        await this.ensureApiKey(user, apiKey);
      }
    } catch (error) {
      if (error instanceof KeycardError && !(error instanceof StoreUnavailableError)) {
        throw new BootstrapError(this.path, [`${where}: ${error.message}`]);
      }
      throw error;
    }
  }

  private async ensureUser(entry: BootstrapUser): Promise<UserRecord> {
    const { users, totp, logger } = this.deps;
    const found = await users.findByEmail(entry.email);
    if (found !== undefined) {
      return this.existing(found);
    }
    let user: UserRecord;
    try {
      user = await users.create(entry);
    } catch (error) {
      const raced = error instanceof KeycardError && error.reason === "USER_EXISTS";
      const other = raced ? await users.findByEmail(entry.email) : undefined;
      if (other === undefined) {
        throw error;
      }
      return this.existing(other);
    }
    if (entry.totpSecret !== "") {
      user = await totp.importSecret(user.id, entry.totpSecret);
    }
    if (entry.disabled) {
      user = (await users.disable(user.id)).user;
    }
    this.summary.usersCreated += 1;
    logger.info(
      { bootstrap: this.path, userId: user.id, email: user.email },
      "bootstrap: user created",
    );
    return user;
  }

  private existing(user: UserRecord): UserRecord {
    this.summary.usersExisting += 1;
    this.deps.logger.info(
      { bootstrap: this.path, userId: user.id, email: user.email },
      "bootstrap: user exists, left unchanged",
    );
    return user;
  }

  private async ensureApiKey(user: UserRecord, entry: BootstrapApiKey): Promise<void> {
    const { store, apiKeys, clock, logger } = this.deps;
    const fields = { bootstrap: this.path, userId: user.id, name: entry.name };
    const stored = await store.apiKeys.findByHash(this.secrets.hashApiKey(entry.key));
    if (stored !== undefined) {
      this.summary.keysExisting += 1;
      if (stored.userId === user.id) {
        logger.info(
          { ...fields, apiKeyId: stored.id },
          "bootstrap: API key exists, left unchanged",
        );
      } else {
        logger.warn(
          { ...fields, apiKeyId: stored.id, ownerId: stored.userId },
          "bootstrap: API key exists but belongs to another user; left unchanged",
        );
      }
      return;
    }
    if (entry.expiresAt !== 0 && entry.expiresAt <= clock.now()) {
      this.summary.keysExpired += 1;
      logger.warn(fields, "bootstrap: API key expired; not imported");
      return;
    }
    const { record } = await apiKeys.create({ userId: user.id, ...entry });
    this.summary.keysImported += 1;
    logger.info({ ...fields, apiKeyId: record.id }, "bootstrap: API key imported");
  }
}
