import { queryOf } from "../request-target.js";

/** Query parameter names that carry a credential, lower-cased without `_` or `-`. */
const credentialNames = new Set([
  "token",
  "sessiontoken",
  "accesstoken",
  "refreshtoken",
  "idtoken",
  "password",
  "newpassword",
  "currentpassword",
  "apikey",
  "totpcode",
  "recoverycode",
  "passkey",
  "responsejson",
  "code",
  "otp",
  "secret",
  "clientsecret",
]);

/**
 * The first query parameter of `url` that carries a credential (a token, password, API key,
 * code or passkey assertion), or undefined. Credentials in a URL end up in proxy and access logs and in
 * browser history (ASVS 3.1.1), so every door refuses them instead of reading them.
 */
export function credentialInQuery(url: string | undefined): string | undefined {
  for (const name of queryOf(url)?.keys() ?? []) {
    if (credentialNames.has(name.toLowerCase().replace(/[-_]/g, ""))) {
      return name;
    }
  }
  return undefined;
}
