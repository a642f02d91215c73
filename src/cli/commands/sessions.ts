import { create } from "@bufbuild/protobuf";
import {
  EndAllSessionsResponseSchema,
  ListUserSessionsResponseSchema,
  RevokeUserSessionsResponseSchema,
} from "../../../gen/keycard/v1/admin_service_pb.js";
import {
  ListSessionsResponseSchema,
  RenameSessionResponseSchema,
} from "../../../gen/keycard/v1/auth_service_pb.js";
import type { Session } from "../../../gen/keycard/v1/session_pb.js";
import type { Command, CommandContext, CommandGroup } from "../command.js";
import { inOwnWords } from "../errors.js";
import { formatAuthMethods, formatTime, type Output } from "../output.js";
import { everyPage } from "../pages.js";
import { loadToken, tokenFileOption, tokenFilePath } from "../token-file.js";
import { adminWithUserArgument } from "../users.js";

/**
 * Sessions as people tell them apart: the name given with "sessions rename", the client
 * and where it was; with `markCurrent`, which one is the caller's.
 */
function printSessionTable(out: Output, sessions: readonly Session[], markCurrent: boolean): void {
  out.table(
    [
      "ID",
      ...(markCurrent ? ["CURRENT"] : []),
      "LABEL",
      "DEVICE",
      "LOCATION",
      "IP",
      "METHODS",
      "CREATED",
      "LAST USED",
      "EXPIRES",
    ],
    sessions.map((session) => [
      session.id,
      ...(markCurrent ? [session.current ? "yes" : "-"] : []),
      session.label || "-",
      session.deviceLabel || "-",
      session.location || "-",
      session.ipAddress || "-",
      formatAuthMethods(session.authenticationMethods),
      formatTime(session.createdAt),
      formatTime(session.lastUsedAt),
      formatTime(session.expiresAt),
    ]),
    "No live sessions.",
  );
}

/** The session token `keycard login` saved, for the commands on one's own sessions. */
function savedToken({ args, io }: CommandContext): Promise<string> {
  return loadToken(tokenFilePath(args.string("token-file"), io.env));
}

async function listOwn(context: CommandContext): Promise<void> {
  const { out } = context;
  const client = context.auth(await savedToken(context));
  const sessions = await everyPage(async (page) => {
    const { sessions, nextPageToken } = await client.listSessions(page);
    return { items: sessions, nextPageToken };
  });
  const response = create(ListSessionsResponseSchema, { sessions });
  out.result(ListSessionsResponseSchema, response, () =>
    printSessionTable(out, response.sessions, true),
  );
}

async function listForUser(context: CommandContext): Promise<void> {
  const { out } = context;
  const { client, userId } = await adminWithUserArgument(context);
  const sessions = await everyPage(async (page) => {
    const { sessions, nextPageToken } = await client.listUserSessions({ userId, ...page });
    return { items: sessions, nextPageToken };
  });
  const response = create(ListUserSessionsResponseSchema, { sessions });
  out.result(ListUserSessionsResponseSchema, response, () =>
    printSessionTable(out, response.sessions, false),
  );
}

const list: Command = {
  name: "sessions list",
  summary: "List your live sessions, or a user's (admin), newest first",
  description:
    'List live sessions, newest first, with their label, device, location and methods.\nWithout a user, your own, on the session of "keycard login" (the one making the request\nis marked current); with a user id or email, that user\'s (administrator token).',
  arguments: ["[user-id|email]"],
  options: { ...tokenFileOption },
  admin: true,
  examples: ["keycard sessions list", "keycard sessions list alice@example.com"],
  run: (context) =>
    context.args.positionals.length === 0 ? listOwn(context) : listForUser(context),
};

const rename: Command = {
  name: "sessions rename",
  summary: 'Give one of your sessions a label, such as "Work laptop"',
  description:
    'Give one of your own sessions (see "keycard sessions list") a label of 1 to 64\nprintable characters, shown when sessions are listed; a new label replaces the old one.\nQuote a label with spaces.',
  arguments: ["<session-id>", "<label>"],
  options: { ...tokenFileOption },
  admin: false,
  examples: ['keycard sessions rename 8c1bEXAMPLEsessionId "Work laptop"'],
  async run(context) {
    const { args, out } = context;
    const [sessionId = "", label = ""] = args.positionals;
    const client = context.auth(await savedToken(context));
    const response = await inOwnWords(client.renameSession({ sessionId, label }), {
      NOT_FOUND: `none of your live sessions has the id ${sessionId} (see keycard sessions list)`,
    });
    out.result(RenameSessionResponseSchema, response, () =>
      out.line(
        `Renamed session ${response.session?.id ?? sessionId} to "${response.session?.label ?? label}"`,
      ),
    );
  },
};

const revoke: Command = {
  name: "sessions revoke",
  summary: "End one session of a user by id, or all of them",
  description:
    'End one session of a user by id or, without a session id, every session of the\nuser. The user can log in again (use "keycard user disable" to prevent that).',
  arguments: ["<user-id|email>", "[session-id]"],
  options: {},
  admin: true,
  examples: [
    "keycard sessions revoke alice@example.com",
    "keycard sessions revoke alice@example.com 8c1bEXAMPLEsessionId",
  ],
  async run({ args, out, admin }) {
    const { client, userId } = await adminWithUserArgument({ args, admin });
    const sessionId = args.arg(1) ?? "";
    const response = await client.revokeUserSessions({ userId, sessionId });
    out.result(RevokeUserSessionsResponseSchema, response, () =>
      out.line(`Ended ${response.revokedCount} session(s)`),
    );
  },
};

const endAll: Command = {
  name: "sessions end-all",
  summary: "End every session of every user (after a breach)",
  description:
    "End every session of every user that began before now, on every replica within about\na second. Everyone must log in again; API keys and passwords keep working.",
  arguments: [],
  options: {},
  admin: true,
  examples: ["keycard sessions end-all"],
  async run({ out, admin }) {
    const response = await admin().endAllSessions({});
    out.result(EndAllSessionsResponseSchema, response, () =>
      out.line(`Ended every session that began before ${formatTime(response.notBefore)}`),
    );
  },
};

/** `keycard sessions ...`: one's own sessions, and forced revocation by an administrator. */
export const sessionCommands: CommandGroup = {
  name: "sessions",
  summary: "list and label your sessions; list and revoke a user's, or end them all (admin)",
  commands: [list, rename, revoke, endAll],
};
