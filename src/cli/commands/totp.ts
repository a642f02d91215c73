import QRCode from "qrcode";
import {
  ConfirmTotpResponseSchema,
  EnrollTotpResponseSchema,
  GetRecoveryCodesResponseSchema,
  ResetRecoveryCodesResponseSchema,
  ResetTotpResponseSchema,
} from "../../../gen/keycard/v1/admin_service_pb.js";
import {
  ConfirmOwnTotpResponseSchema,
  EnrollOwnTotpResponseSchema,
  RemoveOwnTotpResponseSchema,
} from "../../../gen/keycard/v1/auth_service_pb.js";
import type { User } from "../../../gen/keycard/v1/session_pb.js";
import type { Command, CommandContext, CommandGroup } from "../command.js";
import { inOwnWords, type OwnWords } from "../errors.js";
import { OwnSession } from "../own-session.js";
import { isInteractive, promptLine } from "../terminal.js";
import { tokenFileOption } from "../token-file.js";
import { adminWithUserArgument } from "../users.js";

/** How the own-account forms say a refusal: only the password asked for a step-up can be wrong. */
const ownWords: OwnWords = { INVALID_CREDENTIALS: "wrong password" };

/**
 * Prints a new TOTP secret for people (the QR code, the secret and its URI) and, on a
 * terminal, asks for the first code. Answers the code, or "" when the enrollment is to be
 * confirmed later, as `confirmLater` then tells.
 */
async function showEnrollment(
  { io, out }: CommandContext,
  enrollment: { readonly secret: string; readonly otpauthUri: string },
  qr: string,
  confirmLater: string,
): Promise<string> {
  out.line("Scan this QR code with an authenticator app, or enter the secret by hand:");
  out.line();
  out.line(qr.trimEnd());
  out.line();
  out.line(`  secret  ${enrollment.secret}`);
  out.line(`  uri     ${enrollment.otpauthUri}`);
  out.line();
  const code = isInteractive(io)
    ? await promptLine(io, "Code from the authenticator (Enter to confirm later): ")
    : "";
  if (code === "") {
    out.note(`Confirm with: ${confirmLater}`);
  }
  return code;
}

/** What a change to one's own TOTP did, for people. */
function ownOutcome(done: string, user: User | undefined, revokedSessions: number): string {
  return `TOTP ${done} for ${user?.email ?? "your account"}; ended ${revokedSessions} other session(s)`;
}

async function enrollOwn(context: CommandContext): Promise<void> {
  const { out } = context;
  const session = await OwnSession.load(context);
  const response = await session.privileged((client) => client.enrollOwnTotp({}));
  out.result(EnrollOwnTotpResponseSchema, response, () => undefined);
  if (out.json) {
    return;
  }
  const code = await showEnrollment(
    context,
    response,
    response.qrCodeText,
    "keycard totp confirm <code>",
  );
  if (code !== "") {
    const confirmed = await session.privileged((client) => client.confirmOwnTotp({ code }));
    out.line(ownOutcome("enabled", confirmed.user, confirmed.revokedSessions));
  }
}

async function enrollForUser(context: CommandContext): Promise<void> {
  const { out } = context;
  const { client, reference, userId } = await adminWithUserArgument(context);
  const response = await client.enrollTotp({ userId });
  out.result(EnrollTotpResponseSchema, response, () => undefined);
  if (out.json) {
    return;
  }
  const qr = await QRCode.toString(response.otpauthUri, { type: "terminal", small: true });
  const code = await showEnrollment(
    context,
    response,
    qr,
    `keycard totp confirm ${reference} <code>`,
  );
  if (code !== "") {
    const confirmed = await client.confirmTotp({ userId, code });
    out.line(`TOTP enabled for ${confirmed.user?.email ?? reference}`);
  }
}

const enroll: Command = {
  name: "totp enroll",
  summary: "Start TOTP enrollment, yours or a user's (admin): print the secret and a QR code",
  description:
    'Start TOTP enrollment: print a new secret, its otpauth:// URI and a QR code to scan\nwith an authenticator app. On a terminal it then asks for the first code and confirms\nthe enrollment (press Enter to confirm later with "keycard totp confirm"). The current\nTOTP, if any, keeps working until then.\n\nWithout a user it enrolls your own account, on the session of "keycard login". That\nneeds a recent login (and your TOTP code, once TOTP is on): on a terminal you are asked\nfor your password, otherwise run "keycard reauth" first. Confirming ends your other\nsessions. With a user id or email, it enrolls that user (administrator token).',
  arguments: ["[user-id|email]"],
  options: { ...tokenFileOption },
  admin: true,
  examples: [
    "keycard totp enroll",
    "keycard totp enroll alice@example.com",
    "keycard totp enroll alice@example.com --json | jq -r .secret",
  ],
  run: (context) =>
    context.args.positionals.length === 0
      ? inOwnWords(enrollOwn(context), ownWords)
      : enrollForUser(context),
};

async function confirmOwn(context: CommandContext): Promise<void> {
  const { args, out } = context;
  const session = await OwnSession.load(context);
  const code = args.arg(0) ?? "";
  const response = await inOwnWords(
    session.privileged((client) => client.confirmOwnTotp({ code })),
    ownWords,
  );
  out.result(ConfirmOwnTotpResponseSchema, response, () =>
    out.line(ownOutcome("enabled", response.user, response.revokedSessions)),
  );
}

async function confirmForUser(context: CommandContext): Promise<void> {
  const { args, out } = context;
  const { client, userId } = await adminWithUserArgument(context);
  const response = await client.confirmTotp({ userId, code: args.arg(1) ?? "" });
  out.result(ConfirmTotpResponseSchema, response, () =>
    out.line(`TOTP enabled for ${response.user?.email ?? userId}`),
  );
}

const confirm: Command = {
  name: "totp confirm",
  summary: "Finish TOTP enrollment, yours or a user's (admin), with a first code",
  description:
    'Finish TOTP enrollment with the first code from the authenticator. With the code\nalone it confirms your own enrollment on the session of "keycard login" (which needs\nthe same recent login as "keycard totp enroll") and ends your other sessions; with a\nuser id or email before the code, that user\'s (administrator token).',
  arguments: ["[user-id|email]", "<code>"],
  options: { ...tokenFileOption },
  admin: true,
  examples: ["keycard totp confirm 123456", "keycard totp confirm alice@example.com 123456"],
  run: (context) =>
    context.args.positionals.length === 1 ? confirmOwn(context) : confirmForUser(context),
};

const remove: Command = {
  name: "totp remove",
  summary: "Remove your own TOTP (an administrator uses keycard totp reset)",
  description:
    'Remove the TOTP of your own account, on the session of "keycard login", and end your\nother sessions. It needs a recent login with your TOTP code: on a terminal you are asked\nfor your password and a code, otherwise run "keycard reauth --totp-code <code>" first.',
  arguments: [],
  options: { ...tokenFileOption },
  admin: false,
  examples: ["keycard totp remove"],
  async run(context) {
    const { out } = context;
    const session = await OwnSession.load(context);
    const response = await inOwnWords(
      session.privileged((client) => client.removeOwnTotp({})),
      ownWords,
    );
    out.result(RemoveOwnTotpResponseSchema, response, () =>
      out.line(ownOutcome("removed", response.user, response.revokedSessions)),
    );
  },
};

const reset: Command = {
  name: "totp reset",
  summary:
    "Remove a user's TOTP, confirmed or pending (lost device), and its recovery codes (admin)",
  arguments: ["<user-id|email>"],
  options: {},
  admin: true,
  examples: ["keycard totp reset alice@example.com"],
  async run({ args, out, admin }) {
    const { client, userId } = await adminWithUserArgument({ args, admin });
    const response = await client.resetTotp({ userId });
    out.result(ResetTotpResponseSchema, response, () =>
      out.line(`TOTP removed for ${response.user?.email ?? userId}`),
    );
  },
};

const recoveryCodes: Command = {
  name: "totp recovery-codes",
  summary: "Show how many recovery codes a user has left, or delete them (--reset)",
  description:
    "Show how many unused recovery codes a user has left (never the codes). With --reset,\ndelete them all, for codes that may have leaked: the user makes new ones with\nkeycard recovery-codes. The user's TOTP and sessions stay.",
  arguments: ["<user-id|email>"],
  options: { reset: { type: "boolean", help: "delete all of the user's recovery codes" } },
  admin: true,
  examples: [
    "keycard totp recovery-codes alice@example.com",
    "keycard totp recovery-codes alice@example.com --reset",
  ],
  async run({ args, out, admin }) {
    const { client, reference, userId } = await adminWithUserArgument({ args, admin });
    if (args.flag("reset")) {
      const response = await client.resetRecoveryCodes({ userId });
      out.result(ResetRecoveryCodesResponseSchema, response, () =>
        out.line(`Deleted ${response.deleted} recovery code(s) of ${reference}`),
      );
      return;
    }
    const response = await client.getRecoveryCodes({ userId });
    out.result(GetRecoveryCodesResponseSchema, response, () =>
      out.line(`${reference} has ${response.remaining} unused recovery code(s)`),
    );
  },
};

/** `keycard totp ...`: your own TOTP; TOTP enrollment and recovery-code administration. */
export const totpCommands: CommandGroup = {
  name: "totp",
  summary:
    "enroll, confirm and remove your TOTP; enroll, confirm and reset a user's, count and reset their recovery codes (admin)",
  commands: [enroll, confirm, remove, reset, recoveryCodes],
};
