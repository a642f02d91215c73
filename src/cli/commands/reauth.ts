import { ReauthenticateResponseSchema } from "../../../gen/keycard/v1/auth_service_pb.js";
import type { Command } from "../command.js";
import { inOwnWords } from "../errors.js";
import { OwnSession, promptTotpCode } from "../own-session.js";
import { passwordOptions, readPassword } from "../password.js";
import { isInteractive } from "../terminal.js";
import { tokenFileOption } from "../token-file.js";

/**
 * `keycard reauth`: proves the caller again on the saved session (Reauthenticate), for
 * scripts ahead of a command that changes their own credentials.
 */
export const reauthCommand: Command = {
  name: "reauth",
  summary: "Prove it is you again on the saved session (before changing password or TOTP)",
  description:
    'Present your password again (and a TOTP code, once TOTP is on) on the session of\n"keycard login". Changing your password or TOTP needs a session proven within the\nlast few minutes (the server\'s PRIVILEGED_SESSION_MAX_AGE, 5 minutes by default); on a\nterminal those commands ask by themselves, so this is for scripts. The session keeps\nits id and expiry; its token rotates and the token file is rewritten. On a terminal the\nTOTP code is asked for when the account has TOTP.',
  usage: "reauth [--password-stdin] [--totp-code <code>] [options]",
  arguments: [],
  options: {
    ...passwordOptions,
    "totp-code": { type: "string", value: "<code>", help: "the current 6-digit TOTP code" },
    ...tokenFileOption,
  },
  admin: false,
  examples: [
    "keycard reauth",
    "printf '%s' \"$PASSWORD\" | keycard reauth --password-stdin --totp-code 123456",
  ],
  async run(context) {
    const { args, io, out } = context;
    const session = await OwnSession.load(context);
    const password = await readPassword(args, io, { confirm: false, command: "reauth" });
    const totpCode =
      args.string("totp-code") ??
      (isInteractive(io) && (await session.hasTotp()) ? await promptTotpCode(io) : "");
    const response = await inOwnWords(session.reauthenticate({ password, totpCode }), {
      INVALID_CREDENTIALS: "wrong password",
    });
    out.result(ReauthenticateResponseSchema, response, () =>
      out.line(
        `Proven again on session ${response.sessionId} (${response.amr.join("+")}, AAL${response.aal})`,
      ),
    );
    out.note(`Session token saved to ${session.path}`);
  },
};
