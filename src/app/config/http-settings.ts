import { isIP } from "node:net";
import { domainNameOf, redirectDomainOf } from "../../domain/redirect-target.js";
import { knownProfiles } from "../../transport/http/profiles/index.js";
import type { EnvReader } from "./env-reader.js";

function isAddressOrRange(entry: string): boolean {
  const [address = "", prefix, extra] = entry.split("/");
  if (extra !== undefined || isIP(address) === 0) {
    return false;
  }
  const maxPrefix = isIP(address) === 6 ? 128 : 32;
  return prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= maxPrefix);
}

/** TRUSTED_PROXIES: the addresses and CIDR ranges whose X-Forwarded-For is believed. */
export function readTrustedProxies(read: EnvReader): readonly string[] {
  const proxies = read.list("TRUSTED_PROXIES");
  for (const entry of proxies.filter((candidate) => !isAddressOrRange(candidate))) {
    read.problems.push(`TRUSTED_PROXIES entry "${entry}" is not an IP address or CIDR range`);
  }
  return proxies;
}

/** HTTP_PROFILES: the reference profiles to serve, all of them by default; `none` for none. */
export function readHttpProfiles(read: EnvReader): readonly string[] {
  const profiles = read
    .list("HTTP_PROFILES", knownProfiles.join(","))
    .filter((name) => name !== "none");
  for (const name of profiles.filter(
    (candidate) => !(knownProfiles as readonly string[]).includes(candidate),
  )) {
    read.problems.push(`HTTP_PROFILES entry "${name}" is not one of ${knownProfiles.join(", ")}`);
  }
  return profiles;
}

/**
 * ALLOWED_ORIGINS: comma-separated origins (scheme, host, optional port, no path), each
 * stored serialized the way browsers send Origin, so comparisons are exact.
 */
export function readAllowedOrigins(read: EnvReader): readonly string[] {
  const origins: string[] = [];
  for (const text of read.list("ALLOWED_ORIGINS")) {
    // The pattern refuses paths, queries and credentials; URL checks the host and port.
    if (!/^https?:\/\/[^/?#@\\]+$/i.test(text) || !URL.canParse(text)) {
      read.problems.push(
        `ALLOWED_ORIGINS entry "${text}" is not an origin like https://app.example.com or http://localhost:5173 (scheme and host, optional port, no path)`,
      );
      continue;
    }
    origins.push(new URL(text).origin);
  }
  return [...new Set(origins)];
}

/**
 * COOKIE_SECURE: true unless set to false; in dev mode false unless set, since a browser or
 * curl never sends a Secure cookie back to http://localhost.
 */
export function readCookieSecure(read: EnvReader, devMode = false): boolean {
  const text = read.text("COOKIE_SECURE", devMode ? "false" : "true").toLowerCase();
  read.check(text === "true" || text === "false", `COOKIE_SECURE="${text}" must be true or false`);
  return text !== "false";
}

/**
 * LOCATION_HEADER: the header in which the trusted proxy in front of keycard states the
 * client's location (`CF-IPCountry`, `CloudFront-Viewer-Country`); unset, none is read.
 */
export function readLocationHeader(read: EnvReader): { readonly locationHeader?: string } {
  const name = read.optional("LOCATION_HEADER");
  if (name === undefined) {
    return {};
  }
  read.check(
    /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/.test(name),
    `LOCATION_HEADER="${name}" must be an HTTP header name such as CF-IPCountry`,
  );
  return { locationHeader: name.toLowerCase() };
}

/**
 * COOKIE_DOMAIN: the parent domain keycard's cookies are set for (`example.com`, a leading
 * dot tolerated and dropped), so that one sign-in at auth.example.com covers every
 * `*.example.com` behind forward auth; unset, cookies stay on keycard's own host.
 */
export function readCookieDomain(read: EnvReader): { readonly cookieDomain?: string } {
  const text = read.optional("COOKIE_DOMAIN");
  if (text === undefined) {
    return {};
  }
  const domain = domainNameOf(text.replace(/^\./, ""));
  if (domain === undefined || !domain.includes(".")) {
    read.problems.push(
      `COOKIE_DOMAIN="${text}" is not a domain like example.com (no scheme, port, path, IP address or wildcard; at least two labels)`,
    );
    return {};
  }
  return { cookieDomain: domain };
}

/**
 * ALLOWED_REDIRECT_DOMAINS: the domains (each with its subdomains) and IP addresses a browser
 * may be sent to after sign-in or to the portal; none when unset, so only keycard's own
 * paths are followed.
 */
export function readAllowedRedirectDomains(read: EnvReader): readonly string[] {
  const domains: string[] = [];
  for (const entry of read.list("ALLOWED_REDIRECT_DOMAINS")) {
    const domain = redirectDomainOf(entry);
    if (domain === undefined) {
      read.problems.push(
        `ALLOWED_REDIRECT_DOMAINS entry "${entry}" is not a domain like example.com (its subdomains are included; no scheme, port, path or wildcard) or an IP address`,
      );
      continue;
    }
    domains.push(domain);
  }
  return [...new Set(domains)];
}
