import {
  ChangePasswordResponseSchema,
  ResetPasswordResponseSchema,
} from "../../../gen/keycard/v1/auth_service_pb.js";
import type { ParsedArgs } from "../args.js";
import type { Command, CommandGroup } from "../command.js";
import { inOwnWords, UsageError } from "../errors.js";
import { OwnSession } from "../own-session.js";
import { passwordOptions, promptPassword, readPassword } from "../password.js";
import { type Io, isInteractive, promptSecret, readStdin } from "../terminal.js";
import { tokenFileOption } from "../token-file.js";

/** The two passwords of a change. */
interface PasswordChange {
  readonly current: string;
  readonly next: string;
}

/**
 * The current and the new password: two lines of stdin with --password-stdin, else typed
 * on the terminal without echo (the new one twice). Without a terminal and without
 * --password-stdin, a usage error rather than a hang.
 */
async function readPasswordChange(args: ParsedArgs, io: Io): Promise<PasswordChange> {
  if (args.flag("password-stdin")) {
    const [current = "", next = "", ...extra] = (await readStdin(io)).split(/\r?\n/);
    if (current === "" || next === "" || extra.length > 0) {
      throw new UsageError(
        "--password-stdin reads two lines: the current password, then the new one",
      );
    }
    return { current, next };
  }
  if (!isInteractive(io)) {
    throw new UsageError(
      "missing passwords: pass --password-stdin with the current and the new password on two lines (see keycard password --help)",
    );
  }
  const current = await promptSecret(io, "Current password: ");
  return { current, next: await promptPassword(io, "New password", true) };
}

const change: Command = {
  name: "password",
  summary: "Change your own password (your other sessions end)",
  description:
    'Change the password of your own account, on the session of "keycard login": the\ncurrent password, then the new one twice, typed without echo. The new one must be 8 to\n1024 bytes and not one of the most common passwords. Your other sessions end unless\n--keep-other-sessions; this one stays. A session logged in more than a few minutes ago\nis proven again with the current password first.\n\nForgot it? An administrator can issue a reset token: keycard password reset <token>.',
  usage: "password [--keep-other-sessions] [--password-stdin] [options]",
  arguments: [],
  options: {
    "keep-other-sessions": { type: "boolean", help: "keep your other sessions alive" },
    "password-stdin": {
      type: "boolean",
      help: "read the current password, then the new one, from two lines of stdin",
    },
    ...tokenFileOption,
  },
  admin: false,
  examples: [
    "keycard password",
    "keycard password --keep-other-sessions",
    'printf \'%s\\n%s\' "$OLD" "$NEW" | keycard password --password-stdin',
  ],
  async run(context) {
    const { args, io, out } = context;
    const session = await OwnSession.load(context);
    const { current, next } = await readPasswordChange(args, io);
    const request = {
      currentPassword: current,
      newPassword: next,
      keepOtherSessions: args.flag("keep-other-sessions"),
    };
    // A stale session is proven again with the current password just typed: asking for it
    // a second time would prove nothing more.
    const response = await inOwnWords(
      session.privileged((client) => client.changePassword(request), {
        password: current,
        totpCode: "",
      }),
      { INVALID_CREDENTIALS: "the current password is wrong" },
    );
    out.result(ChangePasswordResponseSchema, response, () => out.line(response.message));
  },
};

const reset: Command = {
  name: "password reset",
  summary: "Set a new password with a reset token from an administrator",
  description:
    "Set a new password with the one-time reset token an administrator issued (it works\nonce, within 15 minutes), without logging in. Every session of the account ends; log\nin again with the new password. Without --password or --password-stdin the new\npassword is asked for twice on the terminal.",
  arguments: ["<token>"],
  options: { ...passwordOptions },
  admin: false,
  examples: [
    "keycard password reset kc_reset_EXAMPLEtoken",
    'printf \'%s\' "$NEW_PASSWORD" | keycard password reset "$RESET_TOKEN" --password-stdin',
  ],
  async run({ args, io, out, auth }) {
    const token = args.arg(0) ?? "";
    const newPassword = await readPassword(args, io, {
      confirm: true,
      command: "password reset",
      label: "New password",
    });
    const response = await auth().resetPassword({ token, newPassword });
    out.result(ResetPasswordResponseSchema, response, () => out.line(response.message));
    out.note("Log in with the new password: keycard login --email <email>");
  },
};

/** `keycard password [reset]`: one's own password, changed or reset with a token. */
export const passwordCommands: CommandGroup = {
  name: "password",
  summary: "change your password, or set a new one with a reset token",
  commands: [change, reset],
  defaultCommand: change,
};
