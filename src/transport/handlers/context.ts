import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { ApiKeyRecord } from "../../domain/api-key.js";
import { KeycardError } from "../../domain/errors.js";
import type { ClientInfo, SessionRecord } from "../../domain/session.js";
import type { UserRecord } from "../../domain/user.js";
import type { SessionPrincipal } from "../../service/session-judge.js";
import type { CookieMode } from "../cookie-mode.js";

/**
 * Who is calling: an administrator (by the admin token), a session holder, a holder of an
 * API key (+ TOTP code) in hybrid mode, or nobody yet.
 */
export type Principal =
  | { readonly kind: "anonymous" }
  | { readonly kind: "admin" }
  | ({ readonly kind: "session" } & SessionPrincipal)
  | { readonly kind: "api_key"; readonly user: UserRecord; readonly apiKey: ApiKeyRecord };

/** The authenticated caller, set by the auth interceptor before any handler runs. */
export const principalKey = createContextKey<Principal>({ kind: "anonymous" });

/** The session token found in the request headers, if any (Validate falls back to it). */
export const presentedTokenKey = createContextKey<string>("");

/** The client's address and user agent, as the transport determined them. */
export const clientInfoKey = createContextKey<ClientInfo>({ ip: "", userAgent: "" });

/**
 * True when the request came from a browser page (isBrowserRequest): a login then hands the
 * browser its `device-id` cookie.
 */
export const browserKey = createContextKey<boolean>(false);

/** Set when the request asked for cookie mode (the portal's calls): see cookie-mode.ts. */
export const cookieModeKey = createContextKey<CookieMode | undefined>(undefined);

/** The user behind a session token or an API key, and the current session if any. */
export interface UserCaller {
  readonly userId: string;
  readonly session?: SessionRecord;
}

/**
 * The session caller of a handler that needs a session (Refresh, Logout). An API-key
 * caller gets SESSION_REQUIRED; anything else is a wiring mistake, not a client error.
 */
export function sessionCaller(ctx: HandlerContext): SessionPrincipal {
  const principal = ctx.values.get(principalKey);
  if (principal.kind === "session") {
    return principal;
  }
  if (principal.kind === "api_key") {
    throw new KeycardError(
      "SESSION_REQUIRED",
      "This call needs a session token; log in with the API key first",
    );
  }
  throw new Error(`method ${ctx.method.name} reached its handler without a session principal`);
}

/** The user caller of a handler that works with a session token or an API key. */
export function userCaller(ctx: HandlerContext): UserCaller {
  const principal = ctx.values.get(principalKey);
  if (principal.kind === "session") {
    return { userId: principal.session.userId, session: principal.session };
  }
  if (principal.kind === "api_key") {
    return { userId: principal.user.id };
  }
  throw new Error(`method ${ctx.method.name} reached its handler without a user principal`);
}
