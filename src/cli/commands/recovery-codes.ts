import { RegenerateRecoveryCodesResponseSchema } from "../../../gen/keycard/v1/auth_service_pb.js";
import type { Command } from "../command.js";
import { inOwnWords } from "../errors.js";
import { OwnSession } from "../own-session.js";
import { tokenFileOption } from "../token-file.js";

/**
 * `keycard recovery-codes`: new recovery codes for the account of the saved session
 * (RegenerateRecoveryCodes), printed this once; the previous codes stop working.
 */
export const recoveryCodesCommand: Command = {
  name: "recovery-codes",
  summary: "Make new recovery codes for your account (the old ones stop working)",
  description:
    'Make ten new single-use recovery codes for the account of the saved session and print\nthem, this once: each logs in once in place of a TOTP code (keycard login\n--recovery-code) when the authenticator is lost. The previous codes stop working. It\nneeds TOTP on the account and a login with it within the last 5 minutes\n(PRIVILEGED_SESSION_MAX_AGE): on a terminal you are asked for your password and a code,\notherwise run "keycard reauth --totp-code <code>" first.',
  arguments: [],
  options: { ...tokenFileOption },
  admin: false,
  examples: [
    "keycard login --email alice@example.com --totp-code 123456 && keycard recovery-codes",
    "keycard recovery-codes --json | jq -r '.codes[]' > recovery-codes.txt",
  ],
  async run(context) {
    const { out } = context;
    const session = await OwnSession.load(context);
    const response = await inOwnWords(
      session.privileged((client) => client.regenerateRecoveryCodes({})),
      { INVALID_CREDENTIALS: "wrong password" },
    );
    out.result(RegenerateRecoveryCodesResponseSchema, response, () => {
      out.line("Your new recovery codes (each works once, in place of a TOTP code):");
      out.line();
      for (const code of response.codes) {
        out.line(`  ${code}`);
      }
      out.line();
    });
    out.note(
      "Store them somewhere safe, such as a password manager: they are shown only this once, and your previous codes no longer work.",
    );
  },
};
