import type { JsonValue } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { AuthService } from "../../../../gen/keycard/v1/auth_service_pb.js";
import type { User } from "../../../../gen/keycard/v1/session_pb.js";
import { sessionCookieName } from "../../credentials.js";
import { type Profile, type ProfileCall, type ProfileReply, statusPhrase } from "./profile.js";

/** Reference 002's default session lifetime: 7 days. */
const sessionSeconds = 7 * 86_400;

/** Reference 002's user object: `{id, email, name, role, tier}`. */
function userView(user: User | undefined): Record<string, JsonValue> {
  const role = user?.roles[0] ?? "user";
  return {
    id: user?.id ?? "",
    email: user?.email ?? "",
    name: user?.displayName ?? "",
    role,
    tier: user?.roles.includes("premium") ? "premium" : "free",
  };
}

async function currentUser(call: ProfileCall, token: string): Promise<User | undefined> {
  return (await call.rpc(AuthService.method.getMe, {}, token)).user;
}

/** A body field as text; anything else reads as absent. */
function textField(value: JsonValue | undefined): string {
  return typeof value === "string" ? value : "";
}

/**
 * Step-up on the caller's session (keycard's Reauthenticate): the rotated token goes back
 * the way the old one came, as the cookie or in the body for a bearer caller.
 */
async function reauthenticate(call: ProfileCall): Promise<ProfileReply> {
  const stepped = await call.rpc(
    AuthService.method.reauthenticate,
    {
      password: textField(call.body.password),
      totpCode: textField(call.body.totp_code),
      recoveryCode: textField(call.body.recovery_code),
    },
    call.token,
  );
  const renewed = { token: stepped.sessionToken, maxAgeSeconds: stepped.expiresIn };
  const data = {
    auth_time:
      stepped.authTime === undefined ? null : new Date(timestampMs(stepped.authTime)).toISOString(),
    amr: stepped.amr,
    aal: stepped.aal,
    ...(call.viaCookie
      ? {}
      : {
          token: {
            access_token: stepped.sessionToken,
            token_type: "Bearer",
            expires_in: stepped.expiresIn,
          },
        }),
  };
  const body = { success: true, data, message: "Reauthenticated" };
  return call.viaCookie ? { body, cookie: renewed } : { body };
}

/**
 * Reference 002 (a snapshot service's auth API) on keycard: `/api/v1/auth/*` with the
 * `{success, data, message}` envelope, an `auth-token` cookie (HttpOnly, Secure,
 * SameSite=Lax, Max-Age) or a bearer token, and sessions renewed on activity.
 */
export const apiV1AuthProfile: Profile = {
  name: "api-v1-auth",
  cookieName: sessionCookieName,
  sessionSeconds,
  errorBody: (status, message) => ({ success: false, error: statusPhrase(status), message }),
  routes: [
    {
      method: "POST",
      path: "/api/v1/auth/login",
      carrier: "none",
      required: ["email", "password"],
      requiredMessage: "Email and password are required",
      rateLimitedMessage: "Too many login attempts. Please try again later.",
      run: async (call) => {
        const rememberMe = call.body.remember_me === true;
        const login = await call.rpc(AuthService.method.login, {
          email: String(call.body.email),
          password: String(call.body.password),
          durationSeconds: rememberMe ? 0 : sessionSeconds,
          rememberMe,
        });
        const user = userView(await currentUser(call, login.sessionToken));
        if (call.body.return_token === true) {
          const token = {
            access_token: login.sessionToken,
            token_type: "Bearer",
            expires_in: login.expiresIn,
          };
          return { body: { success: true, data: { user, token }, message: "Login successful" } };
        }
        return {
          body: { success: true, data: user, message: "Login successful" },
          cookie: { token: login.sessionToken, maxAgeSeconds: login.expiresIn },
        };
      },
    },
    {
      method: "POST",
      path: "/api/v1/auth/logout",
      carrier: "cookie-or-bearer",
      run: async (call) => {
        if (call.token !== "") {
          await call.rpc(AuthService.method.logout, {}, call.token).catch(() => undefined);
        }
        return { body: { success: true, message: "Logged out successfully" }, cookie: "clear" };
      },
    },
    {
      method: "GET",
      path: "/api/v1/auth/me",
      carrier: "cookie-or-bearer",
      unauthenticatedMessage: "No valid session found",
      renews: true,
      run: async (call) => {
        const me = await call.rpc(AuthService.method.getMe, {}, call.token);
        const createdAt = me.user?.createdAt;
        const data = {
          ...userView(me.user),
          createdAt:
            createdAt === undefined ? null : new Date(timestampMs(createdAt)).toISOString(),
        };
        return { body: { success: true, data } };
      },
    },
    {
      method: "POST",
      path: "/api/v1/auth/token",
      carrier: "cookie",
      unauthenticatedMessage: "No valid session found",
      renews: true,
      run: async (call) => {
        const issued = await call.rpc(
          AuthService.method.issueToken,
          { durationSeconds: sessionSeconds },
          call.token,
        );
        const data = {
          token: issued.sessionToken,
          expires_in: issued.expiresIn,
          token_type: "Bearer",
        };
        return { body: { success: true, data, message: "API token generated successfully" } };
      },
    },
    {
      method: "POST",
      path: "/api/v1/auth/reauthenticate",
      carrier: "cookie-or-bearer",
      unauthenticatedMessage: "No valid session found",
      run: reauthenticate,
    },
  ],
};
