import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { ClientInfo } from "../domain/session.js";
import type { SessionPrincipal } from "./session-service.js";

/** Who is calling: an administrator (by the admin token), a session holder, or nobody yet. */
export type Principal =
  | { readonly kind: "anonymous" }
  | { readonly kind: "admin" }
  | ({ readonly kind: "session" } & SessionPrincipal);

/** The authenticated caller, set by the auth interceptor before any handler runs. */
export const principalKey = createContextKey<Principal>({ kind: "anonymous" });

/** The session token found in the request headers, if any (Validate falls back to it). */
export const presentedTokenKey = createContextKey<string>("");

/** The client's address and user agent, as the transport determined them. */
export const clientInfoKey = createContextKey<ClientInfo>({ ip: "", userAgent: "" });

/**
 * The session caller of a handler whose method the auth interceptor guards; anything else
 * is a wiring mistake, not a client error.
 */
export function sessionCaller(ctx: HandlerContext): SessionPrincipal {
  const principal = ctx.values.get(principalKey);
  if (principal.kind !== "session") {
    throw new Error(`method ${ctx.method.name} reached its handler without a session principal`);
  }
  return principal;
}
