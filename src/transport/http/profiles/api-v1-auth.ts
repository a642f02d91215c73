import type { JsonValue } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { AuthService } from "../../../../gen/keycard/v1/auth_service_pb.js";
import type { User } from "../../../../gen/keycard/v1/session_pb.js";
import { sessionCookieName } from "../../credentials.js";
import {
  constant,
  flag,
  instantOrNull,
  integer,
  object,
  text,
  texts,
} from "../openapi/json-schema.js";
import type { Schema } from "../openapi/types.js";
import {
  type Profile,
  type ProfileCall,
  type ProfileReply,
  statusPhrase,
  statusPhraseErrorSchema,
} from "./profile.js";

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

const userProperties: Record<string, Schema> = {
  id: text("The account's id."),
  email: text("The account's email address."),
  name: text("The account's display name."),
  role: text("The account's first role, `user` when it has none."),
  tier: { enum: ["free", "premium"], description: "`premium` when the account has that role." },
};

/** {@link userView} as a schema. */
const userSchema = object(userProperties);

/** A bearer token handed to the caller, in reference 002's shape. */
const bearerTokenSchema = object({
  access_token: text("The session token, for `Authorization: Bearer`."),
  token_type: constant("Bearer"),
  expires_in: integer("Seconds until the session ends."),
});

/** The success envelope `{success: true, data, message}` around `data`. */
function envelope(data: Schema | undefined, message: string | undefined): Schema {
  return object({
    success: constant(true),
    ...(data === undefined ? {} : { data }),
    ...(message === undefined ? {} : { message: constant(message) }),
  });
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
  description:
    "Reference 002's auth API on keycard (HTTP_PROFILES=api-v1-auth): the `{success, data, message}` envelope, the HttpOnly `auth-token` cookie or a bearer token, sessions of 7 days renewed on activity.",
  cookieName: sessionCookieName,
  sessionSeconds,
  errorBody: (status, message) => ({ success: false, error: statusPhrase(status), message }),
  errorSchema: statusPhraseErrorSchema,
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
      doc: {
        summary: "Log in with email and password.",
        description:
          "Sets the `auth-token` cookie (HttpOnly, Secure, SameSite=Lax, Max-Age) and answers the user; with `return_token: true` it answers the token in the body instead and sets no cookie. A cookie login replaces the session of the cookie it was sent with. 400 when a field is missing, 401 for wrong credentials, 403 from an origin not in ALLOWED_ORIGINS, 429 with `Retry-After` after too many attempts.",
        body: object(
          {
            email: text("The account's email address."),
            password: text("The account's password."),
            return_token: flag("Answer a bearer token in the body instead of setting the cookie."),
            remember_me: flag(
              "A remember-me session (SESSION_REMEMBER_DURATION) instead of 7 days.",
            ),
          },
          ["return_token", "remember_me"],
        ),
        answers: {
          200: {
            description: "Logged in: the user (cookie), or the user and a bearer token.",
            schema: {
              oneOf: [
                envelope(userSchema, "Login successful"),
                envelope(
                  object({ user: userSchema, token: bearerTokenSchema }),
                  "Login successful",
                ),
              ],
            },
          },
        },
        errors: [400, 401, 403, 429, 503],
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
      doc: {
        summary: "Log out: end the session and clear the cookie.",
        description:
          "Ends the session of the cookie or bearer token, if any, and clears the cookie; it answers success even without a live session.",
        answers: {
          200: {
            description: "Logged out.",
            schema: envelope(undefined, "Logged out successfully"),
          },
        },
        errors: [400, 403],
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
      doc: {
        summary: "The signed-in user.",
        description:
          "The user behind the cookie or bearer token. A cookie session past half its lifetime is renewed (a new `Set-Cookie`). 401 `No valid session found` without a live session.",
        answers: {
          200: {
            description: "The user.",
            schema: envelope(
              object({
                ...userProperties,
                createdAt: instantOrNull("When the account was created."),
              }),
              undefined,
            ),
          },
        },
        errors: [401, 429, 503],
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
      doc: {
        summary: "A bearer token from a cookie session.",
        description:
          "Starts an additional 7-day session for the cookie's user and answers its token, for scripts. Needs the cookie (a bearer token is not enough); 401 `No valid session found` without one.",
        answers: {
          200: {
            description: "The new token.",
            schema: envelope(
              object({
                token: text("The new session token."),
                expires_in: integer("Seconds until it expires."),
                token_type: constant("Bearer"),
              }),
              "API token generated successfully",
            ),
          },
        },
        errors: [400, 401, 403, 429, 503],
      },
    },
    {
      method: "POST",
      path: "/api/v1/auth/reauthenticate",
      carrier: "cookie-or-bearer",
      unauthenticatedMessage: "No valid session found",
      run: reauthenticate,
      doc: {
        summary: "Prove yourself again (step-up) on the current session.",
        description:
          "keycard's Reauthenticate: the password and/or a TOTP or recovery code; the session's token is rotated and goes back the way it came (a new cookie, or `data.token` for a bearer caller). 401 for a wrong credential or without a session.",
        body: object(
          {
            password: text("The account's password."),
            totp_code: text("A current TOTP code."),
            recovery_code: text("One of the account's recovery codes, instead of `totp_code`."),
          },
          ["password", "totp_code", "recovery_code"],
        ),
        answers: {
          200: {
            description: "Reauthenticated.",
            schema: envelope(
              object(
                {
                  auth_time: instantOrNull("When the person proved themselves: now."),
                  amr: texts("The session's methods (RFC 8176)."),
                  aal: integer("The session's assurance level, 1 or 2."),
                  token: bearerTokenSchema,
                },
                ["token"],
              ),
              "Reauthenticated",
            ),
          },
        },
        errors: [400, 401, 403, 429, 503],
      },
    },
  ],
};
