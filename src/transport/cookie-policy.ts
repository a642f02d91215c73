import type { SerializeOptions } from "cookie";

/** How keycard's cookies are scoped: the same for the session, device and portal cookies. */
export interface CookiePolicy {
  /** COOKIE_SECURE: false only for plain-HTTP development. */
  readonly secure: boolean;
  /** COOKIE_DOMAIN: a parent domain, so one sign-in covers its subdomains; host-only when absent. */
  readonly domain?: string;
}

/** The cookie policy of the server's settings: Secure unless turned off, host-only unless a domain is set. */
export function cookiePolicyOf(settings: {
  readonly cookieSecure?: boolean;
  readonly cookieDomain?: string;
}): CookiePolicy {
  const secure = settings.cookieSecure ?? true;
  return settings.cookieDomain === undefined
    ? { secure }
    : { secure, domain: settings.cookieDomain };
}

/**
 * The attributes of every cookie keycard sets: HttpOnly (page scripts never read it),
 * SameSite=Lax, the whole site's path, and the policy's Secure flag and domain. `maxAge`
 * undefined makes a browser-session cookie; 0 clears the cookie.
 */
export function cookieAttributes(
  policy: CookiePolicy,
  maxAge: number | undefined,
): SerializeOptions {
  return {
    httpOnly: true,
    secure: policy.secure,
    sameSite: "lax",
    path: "/",
    ...(policy.domain === undefined ? {} : { domain: policy.domain }),
    ...(maxAge === undefined ? {} : { maxAge }),
  };
}
