import { timestampMs } from "@bufbuild/protobuf/wkt";
import { parseCookie, stringifySetCookie } from "cookie";
import { AuthService } from "../../../../gen/keycard/v1/auth_service_pb.js";
import { cookieAttributes } from "../../cookie-policy.js";
import { bearerOf } from "../../credentials.js";
import type { NodeRequest } from "../rest-handler.js";
import type {
  Profile,
  ProfileCall,
  ProfileReply,
  ProfileRoute,
  ProfileSettings,
} from "./profile.js";

/**
 * How a profile's session cookie is read, set, renewed and replaced: the browser side of
 * the reference profiles (the session lives in an HttpOnly cookie, never in page script).
 */

function cookieOf(request: NodeRequest, name: string | undefined): string {
  if (name === undefined || request.headers.cookie === undefined) {
    return "";
  }
  return parseCookie(request.headers.cookie)[name] ?? "";
}

/** The token a route's carrier finds, and whether it came from the cookie. */
export function carried(route: ProfileRoute, profile: Profile, request: NodeRequest) {
  const bearer = route.carrier === "cookie" ? "" : bearerOf(request.headers.authorization);
  const cookie =
    route.carrier === "bearer" || route.carrier === "none"
      ? ""
      : cookieOf(request, profile.cookieName);
  if (route.carrier === "none") {
    return { token: "", viaCookie: false };
  }
  return bearer !== ""
    ? { token: bearer, viaCookie: false }
    : { token: cookie, viaCookie: cookie !== "" };
}

/**
 * A login that sets a new session cookie ends the session of the cookie it replaces
 * (ASVS 5.0 7.2.4): one browser holds one session, and the old one cannot be replayed.
 */
export async function endReplacedCookieSession(
  call: ProfileCall,
  profile: Profile,
  route: ProfileRoute,
  reply: ProfileReply,
  request: NodeRequest,
): Promise<void> {
  const replaced = route.carrier === "none" ? cookieOf(request, profile.cookieName) : "";
  if (replaced === "" || reply.cookie === undefined || reply.cookie === "clear") {
    return;
  }
  // An old cookie that no longer works has nothing left to end.
  await call.rpc(AuthService.method.logout, {}, replaced).catch(() => undefined);
}

/** The Set-Cookie header a reply asks for (a new session, a renewal or a clearing), if any. */
export function setCookieHeader(
  profile: Profile,
  settings: ProfileSettings,
  reply: ProfileReply,
): string | undefined {
  if (profile.cookieName === undefined || reply.cookie === undefined) {
    return undefined;
  }
  const clear = reply.cookie === "clear";
  return stringifySetCookie(
    profile.cookieName,
    clear ? "" : reply.cookie.token,
    cookieAttributes(settings.cookies, clear ? 0 : reply.cookie.maxAgeSeconds),
  );
}

/**
 * Sliding renewal: once half of a cookie session's lifetime has passed, extend it and send
 * the renewed cookie back. The token is kept, not rotated: clients that never store a
 * renewed cookie (`curl -b`) must not look like token thieves, and parallel requests must
 * not race to rotate. A renewal that fails leaves the request's own answer alone.
 */
export async function renewIfDue(
  call: ProfileCall,
  profile: Profile,
  now: number,
): Promise<ProfileReply | undefined> {
  const me = await call.rpc(AuthService.method.getMe, {}, call.token);
  const session = me.session;
  if (session?.createdAt === undefined || session.expiresAt === undefined) {
    return undefined;
  }
  const lifetime = timestampMs(session.expiresAt) - timestampMs(session.createdAt);
  if (timestampMs(session.expiresAt) - now > lifetime / 2) {
    return undefined;
  }
  const refreshed = await call
    .rpc(
      AuthService.method.refresh,
      { durationSeconds: profile.sessionSeconds, keepToken: true },
      call.token,
    )
    .catch(() => undefined);
  if (refreshed === undefined) {
    return undefined;
  }
  return {
    body: null,
    cookie: { token: refreshed.sessionToken, maxAgeSeconds: refreshed.expiresIn },
  };
}
