import { create } from "@bufbuild/protobuf";
import {
  EndAllSessionsResponseSchema,
  ListUserSessionsResponseSchema,
  RevokeUserSessionsResponseSchema,
} from "../../../gen/keycard/v1/admin_service_pb.js";
import type { Command, CommandGroup } from "../command.js";
import { formatAuthMethods, formatTime } from "../output.js";
import { everyPage } from "../pages.js";
import { adminWithUserArgument } from "../users.js";

const list: Command = {
  name: "sessions list",
  summary: "List the live sessions of a user, newest first",
  arguments: ["<user-id|email>"],
  options: {},
  admin: true,
  examples: ["keycard sessions list alice@example.com"],
  async run({ args, out, admin }) {
    const { client, userId } = await adminWithUserArgument({ args, admin });
    const sessions = await everyPage(async (page) => {
      const { sessions, nextPageToken } = await client.listUserSessions({ userId, ...page });
      return { items: sessions, nextPageToken };
    });
    const response = create(ListUserSessionsResponseSchema, { sessions });
    out.result(ListUserSessionsResponseSchema, response, () =>
      out.table(
        ["ID", "CREATED", "LAST USED", "EXPIRES", "IP", "METHODS", "USER AGENT"],
        response.sessions.map((session) => [
          session.id,
          formatTime(session.createdAt),
          formatTime(session.lastUsedAt),
          formatTime(session.expiresAt),
          session.ipAddress || "-",
          formatAuthMethods(session.authenticationMethods),
          session.userAgent || "-",
        ]),
        "No live sessions.",
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

/** `keycard sessions ...`: forced revocation by an administrator. */
export const sessionCommands: CommandGroup = {
  name: "sessions",
  summary: "list and revoke the sessions of a user, or end them all (admin)",
  commands: [list, revoke, endAll],
};
