import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKeycard, type TestKeycard, testAdminToken } from "../helpers/keycard.js";

/** Doors and a credential each sends in its query string, as a careless client would. */
const attempts: readonly [method: string, pathAndQuery: string, parameter: string][] = [
  ["POST", "/auth/validate?token=kc_sess_secretvalue", "token"],
  ["POST", "/auth/login?email=a%40example.com&password=secretvalue", "password"],
  ["GET", "/auth/verify?session_token=kc_sess_secretvalue", "session_token"],
  ["POST", "/oauth2/introspect?token=kc_sess_secretvalue", "token"],
  ["POST", "/api/v1/auth/login?password=secretvalue", "password"],
  ["POST", "/keycard.v1.AuthService/Validate?token=kc_sess_secretvalue", "token"],
  ["GET", "/admin/users?apiKey=kc_key_secretvalue", "apiKey"],
  ["GET", "/auth/me?totp_code=123456", "totp_code"],
  ["POST", "/auth/login?passkey=secretvalue", "passkey"],
  ["POST", "/keycard.v1.AuthService/Login?response_json=secretvalue", "response_json"],
];

describe("ASVS 4.0.3 3.1.1: credentials are never read from the URL", () => {
  let keycard: TestKeycard;

  beforeAll(async () => {
    keycard = await startKeycard();
  });
  afterAll(() => keycard.close());

  it("refuses a token, password, API key or code in the query string with 400 naming the parameter, at every door", async () => {
    const answers = [];
    for (const [method, pathAndQuery, parameter] of attempts) {
      const reply = await fetch(`${keycard.baseUrl}${pathAndQuery}`, {
        method,
        headers: { "content-type": "application/json" },
        ...(method === "POST" ? { body: "{}" } : {}),
      });
      const text = await reply.text();
      expect(text).not.toContain("secretvalue");
      answers.push({
        pathAndQuery,
        status: reply.status,
        named: text.includes(`query parameter ${parameter}`),
      });
    }
    expect(answers).toEqual(
      attempts.map(([, pathAndQuery]) => ({ pathAndQuery, status: 400, named: true })),
    );
  });

  it("still reads query parameters that are not credentials", async () => {
    const reply = await fetch(`${keycard.baseUrl}/admin/users?page_size=5`, {
      headers: { authorization: `Bearer ${testAdminToken}` },
    });
    expect(reply.status).toBe(200);
  });
});
