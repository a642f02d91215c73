import QRCode from "qrcode";
import {
  ConfirmTotpResponseSchema,
  EnrollTotpResponseSchema,
  GetRecoveryCodesResponseSchema,
  ResetRecoveryCodesResponseSchema,
  ResetTotpResponseSchema,
} from "../../../gen/keycard/v1/admin_service_pb.js";
import type { Command, CommandGroup } from "../command.js";
import { isInteractive, promptLine } from "../terminal.js";
import { adminWithUserArgument } from "../users.js";

const enroll: Command = {
  name: "totp enroll",
  summary: "Start TOTP enrollment: print the secret, otpauth URI and a QR code",
  description:
    'Start TOTP enrollment for a user: print a new secret, its otpauth:// URI and a QR\ncode to scan with an authenticator app. On a terminal it then asks for the first\ncode and confirms the enrollment (press Enter to confirm later with\n"keycard totp confirm"). The user\'s current TOTP, if any, keeps working until then.',
  arguments: ["<user-id|email>"],
  options: {},
  admin: true,
  examples: [
    "keycard totp enroll alice@example.com",
    "keycard totp enroll alice@example.com --json | jq -r .secret",
  ],
  async run({ args, io, out, admin }) {
    const { client, reference, userId } = await adminWithUserArgument({ args, admin });
    const response = await client.enrollTotp({ userId });
    out.result(EnrollTotpResponseSchema, response, () => undefined);
    if (out.json) {
      return;
    }
    const qr = await QRCode.toString(response.otpauthUri, { type: "terminal", small: true });
    out.line("Scan this QR code with an authenticator app, or enter the secret by hand:");
    out.line();
    out.line(qr.trimEnd());
    out.line();
    out.line(`  secret  ${response.secret}`);
    out.line(`  uri     ${response.otpauthUri}`);
    out.line();
    const code = isInteractive(io)
      ? await promptLine(io, "Code from the authenticator (Enter to confirm later): ")
      : "";
    if (code === "") {
      out.note(`Confirm with: keycard totp confirm ${reference} <code>`);
      return;
    }
    const confirmed = await client.confirmTotp({ userId, code });
    out.line(`TOTP enabled for ${confirmed.user?.email ?? reference}`);
  },
};

const confirm: Command = {
  name: "totp confirm",
  summary: "Finish TOTP enrollment with the first code from the authenticator",
  arguments: ["<user-id|email>", "<code>"],
  options: {},
  admin: true,
  examples: ["keycard totp confirm alice@example.com 123456"],
  async run({ args, out, admin }) {
    const { client, userId } = await adminWithUserArgument({ args, admin });
    const response = await client.confirmTotp({ userId, code: args.arg(1) ?? "" });
    out.result(ConfirmTotpResponseSchema, response, () =>
      out.line(`TOTP enabled for ${response.user?.email ?? userId}`),
    );
  },
};

const reset: Command = {
  name: "totp reset",
  summary: "Remove a user's TOTP, confirmed or pending (lost device), and its recovery codes",
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

/** `keycard totp ...`: TOTP enrollment and recovery-code administration. */
export const totpCommands: CommandGroup = {
  name: "totp",
  summary: "enroll, confirm and reset TOTP; count and reset recovery codes (admin)",
  commands: [enroll, confirm, reset, recoveryCodes],
};
