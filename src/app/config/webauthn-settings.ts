import { isIP } from "node:net";
import type { RelyingParty } from "../../domain/passkey.js";
import type { EnvReader } from "./env-reader.js";

/** A DNS host name: labels of letters, digits and hyphens, not starting or ending with one. */
const hostName =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Whether `host` is the relying party's id or a subdomain of it (WebAuthn's rule for origins). */
function isUnder(host: string, rpId: string): boolean {
  return host === rpId || host.endsWith(`.${rpId}`);
}

/**
 * The problem with one WEBAUTHN_ORIGINS entry, if any: it must be a bare origin (scheme,
 * host, optional port), https (http only for localhost, which browsers treat as secure),
 * on the relying party's id or a subdomain of it.
 */
function originProblem(text: string, rpId: string): string | undefined {
  const bare = /^https?:\/\/[^/?#@\\]+$/i.test(text) && URL.canParse(text);
  if (!bare) {
    return `WEBAUTHN_ORIGINS entry "${text}" is not an origin like https://login.example.com (scheme and host, optional port, no path)`;
  }
  const url = new URL(text);
  if (url.protocol === "http:" && url.hostname !== "localhost") {
    return `WEBAUTHN_ORIGINS entry "${text}" must use https (browsers allow passkeys over http only on localhost)`;
  }
  if (!isUnder(url.hostname, rpId)) {
    return `WEBAUTHN_ORIGINS entry "${text}" is not on WEBAUTHN_RP_ID "${rpId}" or a subdomain of it`;
  }
  return undefined;
}

/** WEBAUTHN_RP_ID, checked: a lower-case host name, never an IP address (WebAuthn forbids them). */
function readRpId(read: EnvReader, fallback: string | undefined): string | undefined {
  const typed = read.optional("WEBAUTHN_RP_ID");
  const rpId = (typed ?? fallback)?.toLowerCase();
  if (rpId === undefined) {
    return undefined;
  }
  if (isIP(rpId.replace(/^\[|\]$/g, "")) !== 0) {
    read.problems.push(
      `WEBAUTHN_RP_ID="${typed}" is an IP address; WebAuthn needs a host name such as example.com (localhost for development)`,
    );
    return undefined;
  }
  if (!hostName.test(rpId)) {
    read.problems.push(
      `WEBAUTHN_RP_ID="${typed}" is not a host name like example.com (no scheme, port or path)`,
    );
    return undefined;
  }
  return rpId;
}

/**
 * WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS and WEBAUTHN_RP_NAME: who keycard is to passkeys. The
 * origins default to `https://<rp id>`; the name to "keycard". In dev mode (KEYCARD_DEV)
 * the RP id defaults to localhost and the origins to http://localhost:<PORT>, so passkeys
 * work on the dev server's own pages. Without an RP id passkeys are off.
 */
export function readWebAuthnSettings(
  read: EnvReader,
  dev: { readonly devMode: boolean; readonly port: number },
): { readonly webauthn?: RelyingParty } {
  const rpId = readRpId(read, dev.devMode ? "localhost" : undefined);
  const typedOrigins = read.list("WEBAUTHN_ORIGINS");
  if (rpId === undefined) {
    read.check(
      typedOrigins.length === 0 || read.optional("WEBAUTHN_RP_ID") !== undefined,
      "WEBAUTHN_ORIGINS is only read with WEBAUTHN_RP_ID; set the RP id too, or unset the origins",
    );
    return {};
  }
  const fallback =
    dev.devMode && read.optional("WEBAUTHN_RP_ID") === undefined
      ? `http://localhost:${dev.port}`
      : `https://${rpId}`;
  const origins: string[] = [];
  for (const text of typedOrigins.length === 0 ? [fallback] : typedOrigins) {
    const problem = originProblem(text, rpId);
    if (problem === undefined) {
      origins.push(new URL(text).origin);
    } else {
      read.problems.push(problem);
    }
  }
  const name = read.text("WEBAUTHN_RP_NAME", "keycard");
  read.check(name.length <= 64, "WEBAUTHN_RP_NAME must be at most 64 characters");
  return { webauthn: { id: rpId, name, origins: [...new Set(origins)] } };
}
