import { create } from "@bufbuild/protobuf";
import {
  CreateUserResponseSchema,
  DisableUserResponseSchema,
  ListUsersResponseSchema,
  SetPasswordResponseSchema,
} from "../../../gen/keycard/v1/admin_service_pb.js";
import type { User } from "../../../gen/keycard/v1/session_pb.js";
import type { Command, CommandGroup } from "../command.js";
import { formatTime, type Output } from "../output.js";
import { passwordOptions, readPassword } from "../password.js";
import { adminWithUserArgument, listAllUsers } from "../users.js";

/** One line describing an account, for confirmations. */
function describeUser(user: User | undefined): string {
  return user === undefined ? "(no user in the response)" : `${user.email} (id ${user.id})`;
}

function printUserTable(out: Output, users: readonly User[]): void {
  out.table(
    ["ID", "EMAIL", "NAME", "ROLES", "TOTP", "STATUS", "CREATED"],
    users.map((user) => [
      user.id,
      user.email,
      user.displayName,
      user.roles.join(",") || "-",
      user.totpEnabled ? "on" : "off",
      user.disabled ? "disabled" : "active",
      formatTime(user.createdAt),
    ]),
    "No users.",
  );
}

const add: Command = {
  name: "user add",
  summary: "Create a user who logs in with email and password",
  description:
    "Create a user who logs in with email and password. Without --password or\n--password-stdin the password is asked for twice on the terminal.",
  usage: "user add --email <email> --name <name> [--role <role>]... [options]",
  arguments: [],
  options: {
    email: { type: "string", value: "<email>", help: "email address to log in with (required)" },
    name: { type: "string", value: "<name>", help: "display name, such as Alice (required)" },
    ...passwordOptions,
    role: {
      type: "string",
      multiple: true,
      value: "<role>",
      help: "grant a role; repeat the option for several",
    },
  },
  admin: true,
  examples: [
    "keycard user add --email alice@example.com --name Alice --role admin",
    "printf '%s' \"$PASSWORD\" | keycard user add --email ci@example.com --name CI --password-stdin",
  ],
  async run({ args, io, out, admin }) {
    const email = args.required("email");
    const displayName = args.required("name");
    const client = admin();
    const password = await readPassword(args, io, { confirm: true, command: "user add" });
    const response = await client.createUser({
      email,
      displayName,
      password,
      roles: args.strings("role"),
    });
    out.result(CreateUserResponseSchema, response, () =>
      out.line(`Created user ${describeUser(response.user)}`),
    );
  },
};

const list: Command = {
  name: "user list",
  summary: "List every user, oldest first",
  arguments: [],
  options: {},
  admin: true,
  examples: ["keycard user list", "keycard user list --json | jq -r '.users[].email'"],
  async run({ out, admin }) {
    const users = await listAllUsers(admin());
    const response = create(ListUsersResponseSchema, { users });
    out.result(ListUsersResponseSchema, response, () => printUserTable(out, users));
  },
};

const disable: Command = {
  name: "user disable",
  summary: "Stop a user from logging in and end all of their sessions",
  arguments: ["<user-id|email>"],
  options: {},
  admin: true,
  examples: ["keycard user disable alice@example.com"],
  async run({ args, out, admin }) {
    const { client, userId } = await adminWithUserArgument({ args, admin });
    const response = await client.disableUser({ userId });
    out.result(DisableUserResponseSchema, response, () =>
      out.line(
        `Disabled user ${describeUser(response.user)}; ended ${response.revokedSessions} session(s)`,
      ),
    );
  },
};

const passwd: Command = {
  name: "user passwd",
  summary: "Set a user's password and end all of their sessions",
  description:
    "Set a user's password and end all of their sessions. Without --password or\n--password-stdin the new password is asked for twice on the terminal.",
  arguments: ["<user-id|email>"],
  options: { ...passwordOptions },
  admin: true,
  examples: [
    "keycard user passwd alice@example.com",
    "printf '%s' \"$NEW_PASSWORD\" | keycard user passwd alice@example.com --password-stdin",
  ],
  async run({ args, io, out, admin }) {
    const { client, userId } = await adminWithUserArgument({ args, admin });
    const password = await readPassword(args, io, { confirm: true, command: "user passwd" });
    const response = await client.setPassword({ userId, password });
    out.result(SetPasswordResponseSchema, response, () =>
      out.line(`Password changed; ended ${response.revokedSessions} session(s)`),
    );
  },
};

/** `keycard user ...`: account administration. */
export const userCommands: CommandGroup = {
  name: "user",
  summary: "create, list and disable users, set passwords (admin)",
  commands: [add, list, disable, passwd],
};
