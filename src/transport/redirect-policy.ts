import type { RedirectPolicy } from "../domain/redirect-target.js";

/**
 * The redirect policy of the server's settings: ALLOWED_REDIRECT_DOMAINS (none when absent),
 * and plain `http://` targets only where cookies are not Secure either (COOKIE_SECURE=false,
 * plain-HTTP development), so a production keycard never sends a browser off HTTPS.
 */
export function redirectPolicyOf(settings: {
  readonly allowedRedirectDomains?: readonly string[];
  readonly cookieSecure?: boolean;
}): RedirectPolicy {
  return {
    domains: settings.allowedRedirectDomains ?? [],
    allowHttp: settings.cookieSecure === false,
  };
}
