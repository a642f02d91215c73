import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { LogoutResponseSchema } from "../../../gen/keycard/v1/auth_service_pb.js";
import { ErrorReason } from "../../../gen/keycard/v1/error_reason_pb.js";
import type { Command } from "../command.js";
import { loadToken, removeToken, tokenFileOption, tokenFilePath } from "../token-file.js";

/**
 * `keycard logout`: revokes the saved session and deletes the token file. A session that
 * had already ended is not an error (the goal is reached), but an unreachable server is:
 * the token is then kept so that the logout can be retried.
 */
export const logoutCommand: Command = {
  name: "logout",
  summary: "End the saved session and delete its token file",
  arguments: [],
  options: { ...tokenFileOption },
  admin: false,
  examples: ["keycard logout"],
  async run({ args, io, out, auth }) {
    const path = tokenFilePath(args.string("token-file"), io.env);
    const token = await loadToken(path);
    let response = create(LogoutResponseSchema, { message: "" });
    try {
      response = await auth(token).logout({});
    } catch (error) {
      if (!(error instanceof ConnectError) || error.code !== Code.Unauthenticated) {
        throw error;
      }
      const reason =
        error.findDetails(ErrorInfoSchema)[0]?.reason ?? ErrorReason[ErrorReason.SESSION_INVALID];
      response.message = `The session had already ended (${reason})`;
    }
    await removeToken(path);
    out.result(LogoutResponseSchema, response, () => out.line(response.message));
    out.note(`Deleted ${path}`);
  },
};
