import { createHash, timingSafeEqual } from "node:crypto";
import type { Interceptor } from "@connectrpc/connect";
import { AdminService } from "../../../gen/keycard/v1/admin_service_pb.js";
import { AuthService } from "../../../gen/keycard/v1/auth_service_pb.js";
import { KeycardError } from "../../domain/errors.js";
import { presentedTokenKey, principalKey } from "../../service/context.js";
import type { SessionService } from "../../service/session-service.js";
import { presentedToken } from "../credentials.js";

/** Methods anyone may call: they authenticate through their own request fields. */
const publicMethods = new Set([AuthService.method.login.name, AuthService.method.validate.name]);

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/**
 * Why a non-admin caller is turned away from AdminService: a live session token is a
 * known caller without the right (PERMISSION_DENIED); anything else is no credential.
 */
async function refusedAdmin(sessions: SessionService, token: string): Promise<KeycardError> {
  if (token !== "" && (await sessions.validate(token)).active) {
    return new KeycardError(
      "PERMISSION_DENIED",
      "AdminService requires the administrator token, not a session token",
    );
  }
  return new KeycardError(
    "ADMIN_TOKEN_REQUIRED",
    "This method requires the administrator token as Authorization: Bearer",
  );
}

/**
 * Decides who is calling before any handler runs: AdminService needs the admin token,
 * AuthService methods other than Login and Validate need a live session token.
 */
export function authInterceptor(deps: {
  readonly sessions: SessionService;
  readonly adminToken: string;
}): Interceptor {
  const adminDigest = digest(deps.adminToken);
  const isAdminToken = (token: string): boolean => timingSafeEqual(digest(token), adminDigest);

  return (next) => async (req) => {
    const token = presentedToken(req.header);
    req.contextValues.set(presentedTokenKey, token);
    if (req.service.typeName === AdminService.typeName) {
      if (token === "" || !isAdminToken(token)) {
        throw await refusedAdmin(deps.sessions, token);
      }
      req.contextValues.set(principalKey, { kind: "admin" });
    } else if (!publicMethods.has(req.method.name)) {
      if (token === "") {
        throw new KeycardError(
          "SESSION_INVALID",
          "A session token is required (Authorization: Bearer or X-Session-Token)",
        );
      }
      const principal = await deps.sessions.authenticate(token);
      req.contextValues.set(principalKey, { kind: "session", ...principal });
    }
    return next(req);
  };
}
