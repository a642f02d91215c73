import { Code, ConnectError } from "@connectrpc/connect";
import { RegenerateRecoveryCodesResponseSchema } from "../../../gen/keycard/v1/auth_service_pb.js";
import { ErrorReason } from "../../../gen/keycard/v1/error_reason_pb.js";
import type { Command } from "../command.js";
import { errorReasonOf } from "../errors.js";
import { loadToken, tokenFileOption, tokenFilePath } from "../token-file.js";

/** Whether the server asked for a fresher or stronger login than the saved session's. */
function needsStepUp(error: unknown): boolean {
  return (
    error instanceof ConnectError &&
    error.code === Code.Unauthenticated &&
    errorReasonOf(error) === ErrorReason.STEP_UP_REQUIRED
  );
}

/**
 * `keycard recovery-codes`: new recovery codes for the account of the saved session
 * (RegenerateRecoveryCodes), printed this once; the previous codes stop working.
 */
export const recoveryCodesCommand: Command = {
  name: "recovery-codes",
  summary: "Make new recovery codes for your account (the old ones stop working)",
  description:
    "Make ten new single-use recovery codes for the account of the saved session and print\nthem, this once: each logs in once in place of a TOTP code (keycard login\n--recovery-code) when the authenticator is lost. The previous codes stop working. It\nneeds TOTP on the account and a login with it within the last 5 minutes\n(PRIVILEGED_SESSION_MAX_AGE): run keycard login first.",
  arguments: [],
  options: { ...tokenFileOption },
  admin: false,
  examples: [
    "keycard login --email alice@example.com --totp-code 123456 && keycard recovery-codes",
    "keycard recovery-codes --json | jq -r '.codes[]' > recovery-codes.txt",
  ],
  async run({ args, io, out, auth }) {
    const token = await loadToken(tokenFilePath(args.string("token-file"), io.env));
    const response = await auth(token)
      .regenerateRecoveryCodes({})
      .catch((error: unknown) => {
        if (needsStepUp(error)) {
          out.note("Log in again with your TOTP code (keycard login), then run this at once.");
        }
        throw error;
      });
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
