/**
 * Where keycard may send a browser (ALLOWED_REDIRECT_DOMAINS): a URL is followed only when
 * its host is one of `domains` or under one of them, so that no `rd=` parameter turns
 * keycard into an open redirect that lends its name to a phishing page.
 */
export interface RedirectPolicy {
  /** Lower-case domain names and IP literals, as {@link redirectDomainOf} returns them. */
  readonly domains: readonly string[];
  /** COOKIE_SECURE=false (plain-HTTP development): `http://` targets are followed too. */
  readonly allowHttp: boolean;
}

/** The longest target followed: longer ones are refused rather than parsed. */
export const maxRedirectLength = 2048;

const label = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";

/** A DNS name in lower case: labels of letters, digits and inner hyphens; no empty label. */
const dnsName = new RegExp(`^(?=.{1,253}$)${label}(?:\\.${label})*$`);

const octet = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const ipv4 = new RegExp(`^${octet}(?:\\.${octet}){3}$`);

/** Visible ASCII but the backslash: no space, control character, non-ASCII text or `\`. */
const plainText = /^[\x21-\x5b\x5d-\x7e]+$/;

/**
 * The start of an absolute target, scheme exactly as written: `https://` or `http://`, a host
 * (a name without `%`, `@` or `\`, or a bracketed IPv6 literal), an optional port, and then
 * the end or `/`, `?` or `#`, so userinfo (`https://example.com@evil.com`) never matches.
 */
const absoluteStart = /^(https?):\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?(?=[/?#]|$)/;

/** `host` is an IP literal: a dotted IPv4 address or a bracketed IPv6 one. */
function isIpLiteral(host: string): boolean {
  return ipv4.test(host) || host.startsWith("[");
}

/** A DNS name that a URL's host may be: valid labels, and a last label that is not a number. */
function isHostName(text: string): boolean {
  return dnsName.test(text) && !/(?:^|\.)\d+$/.test(text);
}

/**
 * `text` as a lower-case DNS name (`Example.COM` -> `example.com`), or undefined when it is
 * not one: no trailing dot, no wildcard, no IP address, no last label of digits.
 */
export function domainNameOf(text: string): string | undefined {
  const name = text.trim().toLowerCase();
  return isHostName(name) ? name : undefined;
}

/**
 * An ALLOWED_REDIRECT_DOMAINS entry as the policy keeps it: a domain (`example.com`, which
 * covers its subdomains; a leading dot is dropped) or an IP literal (`10.0.0.5`, `[::1]`),
 * which covers only itself. Undefined when the entry is neither, or a bare top-level name
 * such as `com` (only `localhost` may have a single label).
 */
export function redirectDomainOf(entry: string): string | undefined {
  const text = entry.trim().toLowerCase().replace(/^\./, "");
  if (ipv4.test(text)) {
    return text;
  }
  if (/^\[?[0-9a-f:.]+\]?$/.test(text) && text.includes(":")) {
    return ipv6Literal(text.replace(/^\[|\]$/g, ""));
  }
  const name = domainNameOf(text);
  return name !== undefined && (name.includes(".") || name === "localhost") ? name : undefined;
}

/** An IPv6 address in the bracketed, compressed form URLs give it, or undefined. */
function ipv6Literal(address: string): string | undefined {
  try {
    return new URL(`http://[${address}]/`).hostname;
  } catch {
    return undefined;
  }
}

/** `host` is listed, or a domain's subdomain label-wise (`a.example.com`, not `notexample.com`). */
function hostAllowed(host: string, domains: readonly string[]): boolean {
  if (isIpLiteral(host)) {
    return domains.includes(host);
  }
  return domains.some(
    (domain) => !isIpLiteral(domain) && (host === domain || host.endsWith(`.${domain}`)),
  );
}

/**
 * A path on keycard itself (`/ui/sessions`): one leading `/` not followed by `/` or `\`,
 * nor by their encodings, which some servers decode before resolving.
 */
function ownPath(text: string): string | undefined {
  if (/^\/(?:[/\\]|%2f|%5c)/i.test(text)) {
    return undefined;
  }
  const base = "https://keycard.invalid";
  return new URL(text, base).origin === base ? text : undefined;
}

/** An absolute `https://` (or in development `http://`) URL whose host the policy allows. */
function allowedAbsolute(text: string, policy: RedirectPolicy): string | undefined {
  const start = absoluteStart.exec(text);
  const scheme = start?.[1];
  const host = start?.[2]?.toLowerCase();
  if (host === undefined || (scheme === "http" && !policy.allowHttp)) {
    return undefined;
  }
  if (!isIpLiteral(host) && !isHostName(host)) {
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  // The host is judged as the browser will see it, and must be the host as written: the
  // parser rewrites no encoding, number or IPv6 form (`[0:0::1]` is `[::1]`) behind our back.
  if (url.hostname !== host || !hostAllowed(url.hostname, policy.domains)) {
    return undefined;
  }
  return url.href;
}

/**
 * The URL to send a browser to for an untrusted `rd`, or undefined when it must not be
 * followed. Followed: a path on keycard itself (returned as given), and an absolute
 * `https://` URL (`http://` only when the policy allows plain HTTP) whose host is under an
 * allowed domain (returned as the WHATWG parser writes it). Refused: anything longer than
 * {@link maxRedirectLength}; any space, control character, non-ASCII character or
 * backslash; scheme-relative (`//evil`), scheme-only (`https:evil`, `https:/evil`) and
 * other schemes (`javascript:`, `data:`); userinfo; hosts with percent-encoding, a trailing
 * dot, an empty label or a numeric form the parser would rewrite; IP literals not listed.
 */
export function safeRedirectTarget(text: string, policy: RedirectPolicy): string | undefined {
  if (text.length > maxRedirectLength || !plainText.test(text)) {
    return undefined;
  }
  return text.startsWith("/") ? ownPath(text) : allowedAbsolute(text, policy);
}
