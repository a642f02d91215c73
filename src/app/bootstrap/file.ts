import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { parseDocument } from "yaml";
import {
  type BootstrapApiKey as BootstrapApiKeyMessage,
  type BootstrapFile as BootstrapFileMessage,
  BootstrapFileSchema,
  type BootstrapUser as BootstrapUserMessage,
} from "../../../gen/keycard/v1/bootstrap_pb.js";
import { isWellFormedToken } from "../../domain/token.js";
import { normalizeEmail } from "../../domain/user.js";
import { ruleProblems } from "../../transport/proto-rules.js";

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

/**
 * Reads and validates a bootstrap file (JSON for `.json`, YAML for `.yaml`/`.yml`) before
 * anything touches the store, so that a typo stops the start with every problem listed
 * instead of half-applying the file. Its shape is the proto message keycard.v1.BootstrapFile
 * and its fields follow that proto's rules, the same as the admin API's. Throws
 * BootstrapError.
 */
export function loadBootstrapFile(
  path: string,
  options: { readonly tokenPrefix: string },
): BootstrapFile {
  const message = decode(path, parseFile(path));
  const problems = [
    ...ruleProblems(BootstrapFileSchema, message).map((problem) => problem.message),
    ...message.users.flatMap((user, index) => userProblems(user, `users[${index}]`, options)),
    ...duplicates(message),
  ];
  if (problems.length > 0) {
    throw new BootstrapError(path, problems);
  }
  return { path, users: message.users.map(bootstrapUser) };
}

function parseFile(path: string): JsonValue {
  const extension = extname(path).toLowerCase();
  if (![".json", ".yaml", ".yml"].includes(extension)) {
    throw new BootstrapError(path, ["the name must end in .json, .yaml or .yml"]);
  }
  const text = readText(path);
  if (extension === ".json") {
    try {
      return JSON.parse(text) as JsonValue;
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
  // Through JSON, so that a YAML date becomes the RFC 3339 text a Timestamp reads.
  return JSON.parse(JSON.stringify(document.toJS() ?? null)) as JsonValue;
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    const problem =
      code === "ENOENT" ? "does not exist" : `cannot be read (${code || (error as Error).message})`;
    throw new BootstrapError(path, [problem]);
  }
}

/** The document as the proto message, or the decoder's account of what does not fit. */
function decode(path: string, document: JsonValue): BootstrapFileMessage {
  if (document === null || typeof document !== "object" || Array.isArray(document)) {
    throw new BootstrapError(path, ['must be a mapping with a "users" list']);
  }
  try {
    return fromJson(BootstrapFileSchema, document);
  } catch (error) {
    const reason = (error as Error).message.replace(
      /^cannot decode (?:message|field) keycard\.v1\.([\w.]+) from JSON: /,
      "$1: ",
    );
    throw new BootstrapError(path, [`does not fit the bootstrap format (${reason})`]);
  }
}

/** The rules that depend on settings (the token prefix) or on decoding (base32). */
function userProblems(
  user: BootstrapUserMessage,
  where: string,
  options: { readonly tokenPrefix: string },
): string[] {
  const secretProblem = user.totpSecret === "" ? undefined : base32Problem(user.totpSecret);
  const keyProblems = user.apiKeys
    .map((apiKey, index) => ({ apiKey, index }))
    .filter(({ apiKey }) => !isWellFormedToken(apiKey.key, options.tokenPrefix, "key"))
    .map(
      ({ index }) =>
        `${where}.api_keys[${index}].key must be a whole API key, ${options.tokenPrefix}_key_ and 43 base64url characters (TOKEN_PREFIX is "${options.tokenPrefix}")`,
    );
  return [
    ...(secretProblem === undefined ? [] : [`${where}.totp_secret ${secretProblem}`]),
    ...keyProblems,
  ];
}

/** Every email and every key may appear once in the file. */
function duplicates(file: BootstrapFileMessage): string[] {
  const problems: string[] = [];
  const emails = new Set<string>();
  const keys = new Set<string>();
  for (const [index, user] of file.users.entries()) {
    const email = normalizeEmail(user.email);
    if (email !== "" && emails.has(email)) {
      problems.push(`users[${index}].email ${email} appears more than once`);
    }
    emails.add(email);
    for (const [keyIndex, apiKey] of user.apiKeys.entries()) {
      if (apiKey.key !== "" && keys.has(apiKey.key)) {
        problems.push(
          `users[${index}].api_keys[${keyIndex}].key appears more than once in the file`,
        );
      }
      keys.add(apiKey.key);
    }
  }
  return problems;
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

function bootstrapUser(user: BootstrapUserMessage): BootstrapUser {
  return {
    email: normalizeEmail(user.email),
    displayName: user.displayName.trim(),
    password: user.password,
    roles: user.roles,
    disabled: user.disabled,
    totpSecret: user.totpSecret,
    apiKeys: user.apiKeys.map(bootstrapApiKey),
  };
}

function bootstrapApiKey(apiKey: BootstrapApiKeyMessage): BootstrapApiKey {
  return {
    name: apiKey.name.trim(),
    key: apiKey.key,
    skipTotp: apiKey.skipTotp,
    expiresAt: apiKey.expiresAt === undefined ? 0 : timestampMs(apiKey.expiresAt),
  };
}
