import type { Interceptor, UnaryRequest, UnaryResponse } from "@connectrpc/connect";
import { stringifySetCookie } from "cookie";
import {
  AuthService,
  type LoginRequest,
  RevokeScope,
  type RevokeSessionRequest,
} from "../../../gen/keycard/v1/auth_service_pb.js";
import { KeycardError } from "../../domain/errors.js";
import type { SessionService } from "../../service/session-service.js";
import type { CookieMode } from "../cookie-mode.js";
import { type CookiePolicy, cookieAttributes } from "../cookie-policy.js";
import { presentedToken, sessionCookieName } from "../credentials.js";
import { clientInfoKey, cookieModeKey, principalKey } from "../handlers/context.js";

/** What a cookie-mode call needs besides its request: how cookies are set, and sessions. */
export interface CookieSessionDeps {
  readonly cookies: CookiePolicy;
  readonly sessions: SessionService;
}

/** The fields of an answer that hands over a session token (Login, Refresh, Reauthenticate). */
interface TokenAnswer {
  sessionToken: string;
  expiresIn: number;
}

/** The Set-Cookie header that holds `token` for `maxAge` seconds (a browser-session cookie when undefined). */
function sessionCookie(cookies: CookiePolicy, token: string, maxAge: number | undefined): string {
  return stringifySetCookie(sessionCookieName, token, cookieAttributes(cookies, maxAge));
}

/**
 * Moves a new session token from the answer into the cookie, so the page never holds it.
 * A remember-me session's cookie lasts as long as the session; any other ends with the
 * browser session, as people expect when they did not tick "remember me".
 */
function tokenIntoCookie(res: UnaryResponse, cookies: CookiePolicy, remembered: boolean): void {
  const answer = res.message as unknown as TokenAnswer;
  if (answer.sessionToken === "") {
    return;
  }
  const maxAge = remembered ? answer.expiresIn : undefined;
  res.header.append("set-cookie", sessionCookie(cookies, answer.sessionToken, maxAge));
  answer.sessionToken = "";
}

/**
 * Ends the session of the cookie a login replaces (ASVS 5.0 7.2.4), as the reference
 * profiles' cookie logins do: one browser holds one session. A cookie that no longer works
 * has nothing left to end.
 */
async function endReplaced(sessions: SessionService, req: UnaryRequest, token: string) {
  const principal = await sessions.authenticate(token).catch(() => undefined);
  if (principal !== undefined) {
    const client = req.contextValues.get(clientInfoKey);
    await sessions.logout({ ...principal, client }).catch(() => undefined);
  }
}

/** Whether the call just ended the session of the request's own cookie. */
function endedOwnSession(req: UnaryRequest): boolean {
  if (req.method.name === AuthService.method.logout.name) {
    return true;
  }
  if (req.method.name !== AuthService.method.revokeSession.name) {
    return false;
  }
  const asked = req.message as RevokeSessionRequest;
  const principal = req.contextValues.get(principalKey);
  return (
    asked.scope === RevokeScope.ALL ||
    (asked.scope === RevokeScope.UNSPECIFIED &&
      principal.kind === "session" &&
      principal.session.id === asked.sessionId)
  );
}

/** Whether the calling session is a remember-me one, whose renewed cookie is kept across browser restarts. */
function rememberedSession(req: UnaryRequest): boolean {
  const principal = req.contextValues.get(principalKey);
  return principal.kind === "session" && principal.session.kind === "remember_me";
}

/** Sets, renews or clears the cookie after a cookie-mode call that succeeded. */
async function settleCookie(
  deps: CookieSessionDeps,
  mode: CookieMode,
  req: UnaryRequest,
  res: UnaryResponse,
) {
  switch (req.method.name) {
    case AuthService.method.login.name:
      tokenIntoCookie(res, deps.cookies, (req.message as LoginRequest).rememberMe);
      if (mode.cookieToken !== "") {
        await endReplaced(deps.sessions, req, mode.cookieToken);
      }
      return;
    case AuthService.method.refresh.name:
    case AuthService.method.reauthenticate.name:
      tokenIntoCookie(res, deps.cookies, rememberedSession(req));
      return;
    default:
      if (endedOwnSession(req)) {
        res.header.append("set-cookie", sessionCookie(deps.cookies, "", 0));
      }
  }
}

/**
 * Cookie mode for AuthService over Connect and gRPC-Web (see cookie-mode.ts): a request
 * that asks for it from keycard's own or an allowed origin is authenticated by its
 * `auth-token` cookie when it carries no token in a header, and its answers set, renew or
 * clear that cookie instead of handing the token to the page. A cookie-mode request from
 * any other origin is refused with PERMISSION_DENIED before anything runs. Requests that
 * do not ask are untouched: a cookie alone never authenticates an RPC.
 */
export function cookieSessionInterceptor(deps: CookieSessionDeps): Interceptor {
  return (next) => async (req) => {
    const mode = req.contextValues.get(cookieModeKey);
    if (mode === undefined || req.service.typeName !== AuthService.typeName) {
      return next(req);
    }
    if (mode.origin === "forbidden") {
      throw new KeycardError(
        "PERMISSION_DENIED",
        "Cookie sessions are only for keycard's own pages and ALLOWED_ORIGINS; this page's origin is neither",
      );
    }
    if (mode.cookieToken !== "" && presentedToken(req.header) === "") {
      req.header.set("x-session-token", mode.cookieToken);
    }
    const res = await next(req);
    if (!req.stream && !res.stream) {
      await settleCookie(deps, mode, req, res);
    }
    return res;
  };
}
