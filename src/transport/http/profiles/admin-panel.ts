import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { AuthService } from "../../../../gen/keycard/v1/auth_service_pb.js";
import { InactiveReason } from "../../../../gen/keycard/v1/session_pb.js";
import { type Profile, statusPhrase } from "./profile.js";

function isoOf(timestamp: Timestamp | undefined): string | null {
  return timestamp === undefined ? null : new Date(timestampMs(timestamp)).toISOString();
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
    sessionSeconds,
    errorBody: (status, message) => ({ success: false, error: statusPhrase(status), message }),
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
      },
      {
        method: "POST",
        path: "/api/admin/logout",
        carrier: "bearer",
        run: async (call) => {
          await call.rpc(AuthService.method.logout, {}, call.token);
          return { body: { success: true, message: "Logged out successfully" } };
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
      },
    ],
  };
}
