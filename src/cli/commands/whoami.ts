import { GetMeResponseSchema } from "../../../gen/keycard/v1/auth_service_pb.js";
import type { Command } from "../command.js";
import { formatAuthMethods, formatFromNow, formatTime } from "../output.js";
import { loadToken, tokenFileOption, tokenFilePath } from "../token-file.js";

/** `keycard whoami`: the account and session behind the saved token (GetMe). */
export const whoamiCommand: Command = {
  name: "whoami",
  summary: "Show the account and session of the saved session token",
  arguments: [],
  options: { ...tokenFileOption },
  admin: false,
  examples: ["keycard whoami", "keycard whoami --json | jq -r .user.email"],
  async run({ args, io, out, auth }) {
    const token = await loadToken(tokenFilePath(args.string("token-file"), io.env));
    const response = await auth(token).getMe({});
    out.result(GetMeResponseSchema, response, () => {
      const { user, session } = response;
      out.line(`${user?.displayName ?? ""} <${user?.email ?? ""}>`);
      out.line(`  user id   ${user?.id ?? ""}`);
      out.line(`  roles     ${user?.roles.join(", ") || "-"}`);
      out.line(`  totp      ${user?.totpEnabled === true ? "on" : "off"}`);
      const methods = formatAuthMethods(session?.authenticationMethods ?? [], "");
      out.line(`  session   ${session?.id ?? ""} (${methods})`);
      out.line(
        `  expires   ${formatTime(session?.expiresAt)} (${formatFromNow(session?.expiresAt)})`,
      );
    });
  },
};
