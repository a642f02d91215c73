import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import {
  CreateApiKeyResponseSchema,
  ListApiKeysResponseSchema,
  RevokeApiKeyResponseSchema,
} from "../../../gen/keycard/v1/admin_service_pb.js";
import type { ApiKey } from "../../../gen/keycard/v1/session_pb.js";
import { parseDuration } from "../../domain/duration.js";
import type { Command, CommandGroup } from "../command.js";
import { UsageError } from "../errors.js";
import { formatTime } from "../output.js";
import { everyPage } from "../pages.js";
import { adminWithUserArgument } from "../users.js";

/** The expiry of --expires: a duration from now (30d, 12h) or an RFC 3339 time. */
function expiryOf(text: string, now = Date.now()): number {
  const duration = parseDuration(text);
  if (duration !== undefined && duration > 0) {
    return now + duration;
  }
  const at = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at)) {
    throw new UsageError(
      `--expires "${text}" is neither a duration like 30d or 12h nor a time like 2030-01-31T00:00:00Z`,
    );
  }
  return at;
}

function statusOf(key: ApiKey, now = Date.now()): string {
  if (key.revoked) {
    return "revoked";
  }
  return key.expiresAt !== undefined && timestampMs(key.expiresAt) <= now ? "expired" : "active";
}

const createKey: Command = {
  name: "apikey create",
  summary: "Issue an API key for a user; the key is shown this once",
  description:
    "Issue an API key for a user. The key is printed this once: keycard keeps only a\nkeyed hash of it. By default a key logs in only together with its user's TOTP code;\n--skip-totp makes it log in alone (for machines without an authenticator).",
  usage: "apikey create <user-id|email> --name <name> [--expires <when>] [--skip-totp] [options]",
  arguments: ["<user-id|email>"],
  options: {
    name: { type: "string", value: "<name>", help: "a name to recognise the key by (required)" },
    expires: {
      type: "string",
      value: "<when>",
      help: "expiry: a duration from now (90d, 12h) or an RFC 3339 time; default never",
    },
    "skip-totp": { type: "boolean", help: "let the key log in without a TOTP code" },
  },
  admin: true,
  examples: [
    "keycard apikey create alice@example.com --name laptop --expires 90d",
    "keycard apikey create ci@example.com --name ci-pipeline --skip-totp --json | jq -r .key",
  ],
  async run({ args, out, admin }) {
    const name = args.required("name");
    const expires = args.string("expires");
    const expiresAt = expires === undefined ? undefined : timestampFromMs(expiryOf(expires));
    const { client, userId } = await adminWithUserArgument({ args, admin });
    const response = await client.createApiKey({
      userId,
      name,
      skipTotp: args.flag("skip-totp"),
      ...(expiresAt === undefined ? {} : { expiresAt }),
    });
    out.result(CreateApiKeyResponseSchema, response, () => {
      const key = response.apiKey;
      out.line(
        `Created API key ${key?.id ?? ""} "${key?.name ?? name}", expires ${formatTime(key?.expiresAt, "never")}, ${
          key?.skipTotp === true ? "logs in without TOTP" : "needs the user's TOTP code"
        }:`,
      );
      out.line();
      out.line(`  ${response.key}`);
      out.line();
    });
    out.note("Store this key now: it cannot be shown again.");
  },
};

const listKeys: Command = {
  name: "apikey list",
  summary: "List a user's API keys, revoked ones included, newest first",
  arguments: ["<user-id|email>"],
  options: {},
  admin: true,
  examples: ["keycard apikey list alice@example.com"],
  async run({ args, out, admin }) {
    const { client, userId } = await adminWithUserArgument({ args, admin });
    const apiKeys = await everyPage(async (page) => {
      const { apiKeys, nextPageToken } = await client.listApiKeys({ userId, ...page });
      return { items: apiKeys, nextPageToken };
    });
    const response = create(ListApiKeysResponseSchema, { apiKeys });
    out.result(ListApiKeysResponseSchema, response, () =>
      out.table(
        ["ID", "NAME", "HINT", "STATUS", "TOTP", "CREATED", "LAST USED", "EXPIRES"],
        response.apiKeys.map((key) => [
          key.id,
          key.name,
          `${key.hint}...`,
          statusOf(key),
          key.skipTotp ? "skipped" : "required",
          formatTime(key.createdAt),
          formatTime(key.lastUsedAt, "never"),
          formatTime(key.expiresAt, "never"),
        ]),
        "No API keys.",
      ),
    );
  },
};

const revoke: Command = {
  name: "apikey revoke",
  summary: "Revoke an API key for good and end the sessions it opened",
  arguments: ["<key-id>"],
  options: {},
  admin: true,
  examples: ["keycard apikey revoke 3q2-7wEXAMPLEkeyId"],
  async run({ args, out, admin }) {
    const response = await admin().revokeApiKey({ apiKeyId: args.arg(0) ?? "" });
    out.result(RevokeApiKeyResponseSchema, response, () =>
      out.line(
        `Revoked API key ${response.apiKey?.id ?? ""} "${response.apiKey?.name ?? ""}"; ended ${
          response.revokedSessions
        } session(s)`,
      ),
    );
  },
};

/** `keycard apikey ...`: API key administration. */
export const apiKeyCommands: CommandGroup = {
  name: "apikey",
  summary: "issue, list and revoke API keys (admin)",
  commands: [createKey, listKeys, revoke],
};
