import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type LoginRequestSchema,
  LoginResponseSchema,
} from "../../../gen/keycard/v1/auth_service_pb.js";
import { ErrorReason } from "../../../gen/keycard/v1/error_reason_pb.js";
import type { Command, CommandContext } from "../command.js";
import { durationOption } from "../duration-option.js";
import { errorReasonOf, UsageError } from "../errors.js";
import { formatFromNow, formatTime } from "../output.js";
import { passwordOptions, readPassword } from "../password.js";
import { isInteractive, promptLine } from "../terminal.js";
import { saveToken, tokenFileOption, tokenFilePath } from "../token-file.js";

type LoginInit = MessageInitShape<typeof LoginRequestSchema>;

function needsTotpCode(error: unknown): boolean {
  return (
    error instanceof ConnectError &&
    error.code === Code.Unauthenticated &&
    errorReasonOf(error) === ErrorReason.TOTP_REQUIRED
  );
}

async function credentials({ args, io }: CommandContext): Promise<LoginInit> {
  const email = args.string("email");
  const apiKey = args.string("api-key");
  if (email !== undefined && apiKey !== undefined) {
    throw new UsageError("use either --email or --api-key, not both");
  }
  if (email === undefined && apiKey === undefined) {
    throw new UsageError("missing --email or --api-key (see keycard login --help)");
  }
  const common = {
    totpCode: args.string("totp-code") ?? "",
    recoveryCode: args.string("recovery-code") ?? "",
    durationSeconds: durationOption(args, "duration"),
  };
  if (common.totpCode !== "" && common.recoveryCode !== "") {
    throw new UsageError("use either --totp-code or --recovery-code, not both");
  }
  if (apiKey !== undefined) {
    return { ...common, apiKey };
  }
  const password = await readPassword(args, io, { confirm: false, command: "login" });
  return { ...common, email: email ?? "", password };
}

/** What was typed at the prompt: six digits are a TOTP code, anything else a recovery code. */
function secondFactorOf(typed: string): Pick<LoginInit, "totpCode" | "recoveryCode"> {
  return /^\d{6}$/.test(typed) ? { totpCode: typed } : { recoveryCode: typed };
}

/**
 * Logs in; a person at a terminal whose account turns out to need TOTP is asked for the
 * code (or a recovery code) once instead of having to start over.
 */
async function login(context: CommandContext, request: LoginInit) {
  const client = context.auth();
  try {
    return await client.login(request);
  } catch (error) {
    if (!needsTotpCode(error) || request.totpCode !== "" || !isInteractive(context.io)) {
      throw error;
    }
    const typed = await promptLine(context.io, "TOTP code (or a recovery code): ");
    return client.login({ ...request, ...secondFactorOf(typed) });
  }
}

/** `keycard login`: start a session and keep its token for whoami, logout and scripts. */
export const loginCommand: Command = {
  name: "login",
  summary: "Log in and save the session token (for whoami, logout and scripts)",
  description:
    "Log in with email and password, or with an API key, and save the session token to\na file only you can read (mode 0600, in a 0700 directory). A TOTP code is needed when\nthe account has TOTP, and with an API key unless the key skips TOTP; on a terminal it\nis asked for when needed. A recovery code (keycard recovery-codes) stands in for a\nTOTP code once, when the authenticator is lost.",
  usage:
    "login (--email <email> | --api-key <key>) [--totp-code <code> | --recovery-code <code>] [options]",
  arguments: [],
  options: {
    email: { type: "string", value: "<email>", help: "email address of the account" },
    ...passwordOptions,
    "api-key": {
      type: "string",
      value: "<key>",
      help: "log in with an API key (kc_key_...) instead of email and password",
    },
    "totp-code": { type: "string", value: "<code>", help: "the current 6-digit TOTP code" },
    "recovery-code": {
      type: "string",
      value: "<code>",
      help: "one of your recovery codes, in place of the TOTP code (used up)",
    },
    duration: {
      type: "string",
      value: "<duration>",
      help: "requested session lifetime (15m, 12h, 7d); default: the server's",
    },
    ...tokenFileOption,
  },
  admin: false,
  examples: [
    "keycard login --email alice@example.com",
    'keycard login --api-key "$KEYCARD_API_KEY" --totp-code "$(oathtool --totp -b "$SECRET")"',
    'curl -H "Authorization: Bearer $(cat ~/.keycard/session)" $KEYCARD_URL/auth/me',
  ],
  async run(context) {
    const { args, io, out } = context;
    const path = tokenFilePath(args.string("token-file"), io.env);
    const response = await login(context, await credentials(context));
    await saveToken(path, response.sessionToken);
    out.result(LoginResponseSchema, response, () => {
      out.line(`Logged in as ${response.user} (session ${response.sessionId}).`);
      out.line(
        `The session expires ${formatTime(response.expiresAt)} (${formatFromNow(response.expiresAt)}).`,
      );
    });
    out.note(`Session token saved to ${path}`);
    if (response.recoveryCodesRemaining !== undefined) {
      out.note(
        `That recovery code is used up; ${response.recoveryCodesRemaining} left. Make new ones with keycard recovery-codes.`,
      );
    }
  },
};
