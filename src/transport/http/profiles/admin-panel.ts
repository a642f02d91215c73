import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { AuthService } from "../../../../gen/keycard/v1/auth_service_pb.js";
import { InactiveReason } from "../../../../gen/keycard/v1/session_pb.js";
import { constant, instantOrNull, object, text } from "../openapi/json-schema.js";
import { type Profile, statusPhrase, statusPhraseErrorSchema } from "./profile.js";

function isoOf(timestamp: Timestamp | undefined): string | null {
  return timestamp === undefined ? null : new Date(timestampMs(timestamp)).toISOString();
}

/** The answer of `/api/admin/verify`, either way. */
function verifySchema(valid: boolean): ReturnType<typeof object> {
  return object({
    valid: constant(valid),
    expiresAt: instantOrNull("When the session ends; null when it is not valid."),
    message: text(
      valid ? "`Token is valid`." : "`Token expired`, `Token revoked` or `Invalid token`.",
    ),
  });
}

const verifyMessages: Partial<Record<InactiveReason, string>> = {
  [InactiveReason.EXPIRED]: "Token expired",
  [InactiveReason.IDLE_TIMEOUT]: "Token expired",
  [InactiveReason.REVOKED]: "Token revoked",
};

/**
 * Reference 003 (an admin panel's long-lived sessions) on keycard: `/api/admin/*`,
 * password-only login of the built-in administrator (ADMIN_PASSWORD), bearer tokens,
 * sessions of SESSION_DURATION_DAYS.
 */
export function adminPanelProfile(sessionSeconds: number): Profile {
  return {
    name: "admin-panel",
    description:
      "Reference 003's admin panel sessions on keycard (HTTP_PROFILES=admin-panel): the built-in administrator logs in with ADMIN_PASSWORD alone and uses the bearer token for SESSION_DURATION_DAYS.",
    sessionSeconds,
    errorBody: (status, message) => ({ success: false, error: statusPhrase(status), message }),
    errorSchema: statusPhraseErrorSchema,
    routes: [
      {
        method: "POST",
        path: "/api/admin/login",
        carrier: "none",
        required: ["password"],
        requiredMessage: "Password is required",
        run: async (call) => {
          const login = await call.rpc(AuthService.method.login, {
            password: String(call.body.password),
            durationSeconds: sessionSeconds,
          });
          return {
            body: {
              success: true,
              token: login.sessionToken,
              expiresAt: isoOf(login.expiresAt),
              message: "Login successful",
            },
          };
        },
        doc: {
          summary: "Log in as the built-in administrator.",
          description:
            "Password-only login (ADMIN_PASSWORD) for a session of SESSION_DURATION_DAYS. 400 without a password, 401 for a wrong one, 429 with `Retry-After` after too many.",
          body: object({ password: text("ADMIN_PASSWORD.") }),
          answers: {
            200: {
              description: "Logged in.",
              schema: object({
                success: constant(true),
                token: text("The session token, for `Authorization: Bearer`."),
                expiresAt: instantOrNull("When the session ends."),
                message: constant("Login successful"),
              }),
            },
          },
          errors: [400, 401, 429, 503],
        },
      },
      {
        method: "POST",
        path: "/api/admin/logout",
        carrier: "bearer",
        run: async (call) => {
          await call.rpc(AuthService.method.logout, {}, call.token);
          return { body: { success: true, message: "Logged out successfully" } };
        },
        doc: {
          summary: "Log out: revoke the bearer token's session.",
          description: "401 without a live session.",
          answers: {
            200: {
              description: "Logged out.",
              schema: object({
                success: constant(true),
                message: constant("Logged out successfully"),
              }),
            },
          },
          errors: [400, 401, 429, 503],
        },
      },
      {
        method: "GET",
        path: "/api/admin/verify",
        carrier: "bearer",
        run: async (call) => {
          const answer = await call.rpc(AuthService.method.validate, { token: call.token });
          if (!answer.active) {
            const message = verifyMessages[answer.reason] ?? "Invalid token";
            return { status: 401, body: { valid: false, expiresAt: null, message } };
          }
          return {
            body: { valid: true, expiresAt: isoOf(answer.expiresAt), message: "Token is valid" },
          };
        },
        doc: {
          summary: "Whether the bearer token is still valid.",
          description: "An invalid, expired or revoked token answers 401 in the same shape.",
          answers: {
            200: { description: "The token is valid.", schema: verifySchema(true) },
            401: { description: "The token is not valid.", schema: verifySchema(false) },
          },
          errors: [429, 503],
        },
      },
    ],
  };
}
