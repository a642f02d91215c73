import { RotateJwtKeyResponseSchema } from "../../../gen/keycard/v1/admin_service_pb.js";
import { IssueJwtResponseSchema } from "../../../gen/keycard/v1/auth_service_pb.js";
import type { Command, CommandGroup } from "../command.js";
import { durationOption } from "../duration-option.js";
import { formatFromNow, formatTime } from "../output.js";
import { loadToken, tokenFileOption, tokenFilePath } from "../token-file.js";

const issue: Command = {
  name: "jwt issue",
  summary: "Print a short-lived JWT for the saved session, for services that verify offline",
  description:
    "Print a JWT signed by keycard for the saved session (see keycard login). Services\nverify it against /.well-known/jwks.json without calling keycard; it cannot be revoked\nbefore it expires, so keep it short.",
  arguments: [],
  options: {
    ...tokenFileOption,
    audience: { type: "string", value: "<audience>", help: "one of the server's JWT_AUDIENCES" },
    ttl: { type: "string", value: "<duration>", help: "lifetime, such as 5m (the default) or 1h" },
  },
  admin: false,
  examples: ["keycard jwt issue", "keycard jwt issue --audience orders --ttl 15m"],
  async run({ args, io, out, auth }) {
    const request = {
      audience: args.string("audience") ?? "",
      ttlSeconds: durationOption(args, "ttl"),
    };
    const token = await loadToken(tokenFilePath(args.string("token-file"), io.env));
    const response = await auth(token).issueJwt(request);
    out.result(IssueJwtResponseSchema, response, () => out.line(response.token));
  },
};

const rotateKey: Command = {
  name: "jwt rotate-key",
  summary: "Make a new JWT signing key now instead of on schedule",
  description:
    "Make a new JWT signing key now. It is published at once and signs ten minutes later,\nonce verifiers' cached key sets hold it; --immediate makes it sign at once (after a\nsuspected leak). The previous key stays published until its JWTs have expired.",
  arguments: [],
  options: {
    immediate: { type: "boolean", help: "sign with the new key at once" },
  },
  admin: true,
  examples: ["keycard jwt rotate-key", "keycard jwt rotate-key --immediate"],
  async run({ args, out, admin }) {
    const response = await admin().rotateJwtKey({ immediate: args.flag("immediate") });
    out.result(RotateJwtKeyResponseSchema, response, () =>
      out.line(
        `New ${response.algorithm} key ${response.keyId} signs from ${formatTime(response.activeFrom)} (${formatFromNow(response.activeFrom)})`,
      ),
    );
  },
};

/** `keycard jwt ...`: JWTs for the saved session, and the administrator's key rotation. */
export const jwtCommands: CommandGroup = {
  name: "jwt",
  summary: "issue a JWT for your session, or rotate the signing key (admin)",
  commands: [issue, rotateKey],
};
