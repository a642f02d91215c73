import { createHash, timingSafeEqual } from "node:crypto";
import type { Interceptor } from "@connectrpc/connect";
import { AdminService } from "../../../gen/keycard/v1/admin_service_pb.js";
import { AuthService } from "../../../gen/keycard/v1/auth_service_pb.js";
import { KeycardError } from "../../domain/errors.js";
import type { ClientInfo } from "../../domain/session.js";
import type { ApiKeyService } from "../../service/api-key-service.js";
import type { AuditLog } from "../../service/audit.js";
import type { SecretGate } from "../../service/secret-gate.js";
import type { SessionService } from "../../service/session-service.js";
import { bearerToken, presentedToken } from "../credentials.js";
import {
  clientInfoKey,
  type Principal,
  presentedTokenKey,
  principalKey,
} from "../handlers/context.js";

/**
 * AuthService methods anyone may call: they authenticate through their own request fields.
 * The OpenAPI document lists them without a security requirement.
 */
export const publicMethods: ReadonlySet<string> = new Set([
  AuthService.method.login.name,
  AuthService.method.validate.name,
  AuthService.method.resetPassword.name,
  AuthService.method.startPasskeyLogin.name,
]);

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** The caller of a user method: a session token, or in hybrid mode an API key + TOTP code. */
async function userPrincipal(
  deps: Parameters<typeof authInterceptor>[0],
  token: string,
  headers: Headers,
  client: ClientInfo,
): Promise<Principal> {
  const apiKey = headers.get("x-api-key")?.trim() ?? "";
  if (token === "" && apiKey !== "" && deps.apiKeys !== undefined) {
    const identity = await deps.apiKeys.authenticateGuarded(
      apiKey,
      headers.get("x-totp-code")?.trim() ?? "",
      client,
      "api_key_header",
    );
    deps.audit("credential.used", { credential: "api_key", userId: identity.user.id });
    return { kind: "api_key", ...identity };
  }
  if (token === "") {
    throw new KeycardError(
      "SESSION_INVALID",
      deps.apiKeys === undefined
        ? "A session token is required (Authorization: Bearer or X-Session-Token)"
        : "A session token, or X-API-Key with X-TOTP-Code, is required",
    );
  }
  return { kind: "session", ...(await deps.sessions.authenticate(token)), client };
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
 * AuthService methods other than Login, Validate and ResetPassword (whose reset token is
 * its credential) need a live session token; other
 * services (grpc.health.v1, envoy.service.auth.v3) are public.
 */
export function authInterceptor(deps: {
  readonly sessions: SessionService;
  /** Set in hybrid mode: X-API-Key + X-TOTP-Code then authenticate a request too. */
  readonly apiKeys: ApiKeyService | undefined;
  readonly adminToken: string;
  readonly audit: AuditLog;
  /** Throttles admin-token guesses per address. */
  readonly secretGate: SecretGate;
}): Interceptor {
  const adminDigest = digest(deps.adminToken);
  const isAdminToken = (token: string): boolean => timingSafeEqual(digest(token), adminDigest);

  return (next) => async (req) => {
    const token = presentedToken(req.header);
    req.contextValues.set(presentedTokenKey, token);
    if (req.service.typeName === AdminService.typeName) {
      // Only as Authorization: Bearer, and every wrong one counts as a guess.
      const adminToken = bearerToken(req.header);
      const client = req.contextValues.get(clientInfoKey);
      if (
        adminToken === "" ||
        !(await deps.secretGate.prove("admin_token", client, () => isAdminToken(adminToken)))
      ) {
        throw await refusedAdmin(deps.sessions, token);
      }
      req.contextValues.set(principalKey, { kind: "admin" });
    } else if (
      req.service.typeName === AuthService.typeName &&
      !publicMethods.has(req.method.name)
    ) {
      const client = req.contextValues.get(clientInfoKey);
      req.contextValues.set(principalKey, await userPrincipal(deps, token, req.header, client));
    }
    return next(req);
  };
}
