import { expect } from "vitest";
import { createUserOverRest, testAdminToken } from "./keycard.js";
import type { Json, Rest } from "./rest.js";
import { enrollTotpOverRest } from "./totp-codes.js";

const admin = { authorization: `Bearer ${testAdminToken}` };

export interface Holder {
  readonly id: string;
  readonly email: string;
  readonly password: string;
  readonly displayName: string;
  readonly key: string;
  readonly keyId: string;
  /** Empty for a key that skips TOTP. */
  readonly secret: string;
}

/**
 * A new user over the admin REST API with one API key. With `totp` the user enrolls TOTP
 * (confirmed with the previous step's code, leaving the current and next steps unspent)
 * and the key needs a code; without it the key skips TOTP.
 */
export async function keyHolder(rest: Rest, totp: boolean, displayName = "Alice"): Promise<Holder> {
  const { id, email, password } = await createUserOverRest(rest, displayName, {
    roles: ["reader"],
  });
  const secret = totp ? (await enrollTotpOverRest(rest.baseUrl, id, testAdminToken)).secret : "";
  const issued = await rest.post(
    `/admin/users/${id}/api-keys`,
    { name: "ci", skip_totp: !totp },
    admin,
  );
  expect(issued.status).toBe(200);
  const keyId = String((issued.body.api_key as Json).id);
  return { id, email, password, displayName, key: String(issued.body.key), keyId, secret };
}

export function keyHeaders(key: string, code?: string): Record<string, string> {
  return { "x-api-key": key, ...(code === undefined ? {} : { "x-totp-code": code }) };
}
