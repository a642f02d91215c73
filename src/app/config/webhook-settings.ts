import { weakSecretProblem } from "../../domain/secret-strength.js";
import type { SecurityWebhookSettings } from "../../domain/security-event.js";
import type { EnvReader } from "./env-reader.js";

/** The fewest bytes of SECURITY_WEBHOOK_SECRET: as many as the HMAC-SHA-256 output. */
const minSecretBytes = 32;

/**
 * Whether text is a URL keycard can POST to: http or https, without credentials in it
 * (fetch refuses those; a receiver that needs a credential takes the signature instead).
 */
function isWebhookUrl(text: string): boolean {
  if (!URL.canParse(text)) {
    return false;
  }
  const url = new URL(text);
  return (
    (url.protocol === "https:" || url.protocol === "http:") &&
    url.username === "" &&
    url.password === ""
  );
}

/**
 * SECURITY_WEBHOOK_URL and SECURITY_WEBHOOK_SECRET: both or neither. Problems never quote
 * either value: a URL may carry a token in its path, and the secret is a secret.
 */
export function readWebhookSettings(read: EnvReader): {
  readonly securityWebhook?: SecurityWebhookSettings;
} {
  const url = read.optional("SECURITY_WEBHOOK_URL");
  const secret = read.optional("SECURITY_WEBHOOK_SECRET");
  if (url === undefined) {
    read.check(
      secret === undefined,
      "SECURITY_WEBHOOK_SECRET is only read with SECURITY_WEBHOOK_URL; set the URL too, or unset the secret",
    );
    return {};
  }
  read.check(
    isWebhookUrl(url),
    "SECURITY_WEBHOOK_URL must be an http:// or https:// URL without a user name or password in it, such as https://app.example.com/hooks/keycard",
  );
  if (secret === undefined || Buffer.byteLength(secret) < minSecretBytes) {
    read.problems.push(
      `SECURITY_WEBHOOK_URL needs SECURITY_WEBHOOK_SECRET, a random secret of at least ${minSecretBytes} bytes that signs each delivery (try: openssl rand -hex 32)`,
    );
    return {};
  }
  const weak = weakSecretProblem("SECURITY_WEBHOOK_SECRET", secret);
  if (weak !== undefined) {
    read.problems.push(weak);
  }
  return { securityWebhook: { url, secret } };
}
