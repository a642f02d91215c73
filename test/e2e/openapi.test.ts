import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OpenApiDocument } from "../../src/transport/http/openapi/types.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  startKeycard,
  type TestKeycard,
  testAdminToken,
  testLoginThrottle,
} from "../helpers/keycard.js";
import { type RawReply, ResponseChecker } from "../helpers/openapi-check.js";
import { SoftAuthenticator } from "../helpers/soft-authenticator.js";
import { totpCode, totpStepSeconds } from "../helpers/totp-codes.js";

/**
 * The OpenAPI document against the server that serves it (issue 19, item 5): every
 * operation of /openapi.json is called on a real server and Redis, and each answer, success
 * and refusal, must be one the document lists for that operation, in its content type and
 * exactly its schema (no undocumented field). A route added without a step here fails the
 * last test.
 */
const clock = new FakeClock();
const adminPassword = "the invariant editorial system";
const introspectionSecret = "introspection-secret-0123456789abcdef";
const admin = { authorization: `Bearer ${testAdminToken}` };
let keycard: TestKeycard;
let checker: ResponseChecker;
/** The software authenticator of the passkey steps (made once the server's port is known). */
let passkeyAuthenticator: SoftAuthenticator;

beforeAll(async () => {
  keycard = await startKeycard({
    clock,
    authMode: "hybrid",
    adminPassword,
    introspectionSecret,
    // Two wrong passwords from one address and the account waits: a 429 in three calls.
    loginThrottle: { ...testLoginThrottle, pairDelayAfter: 2 },
    allowedRedirectDomains: ["example.com"],
    portal: true,
    webauthn: { rpId: "localhost" },
  });
  passkeyAuthenticator = new SoftAuthenticator({ origin: `http://localhost:${keycard.port}` });
  const served = await fetch(`${keycard.baseUrl}/openapi.json`);
  checker = new ResponseChecker((await served.json()) as OpenApiDocument);
});
afterAll(() => keycard?.close());

/** A request: JSON body (or form text), headers. */
interface Request {
  readonly body?: unknown;
  readonly form?: string;
  readonly headers?: Record<string, string>;
}

/** The answer of a call, with its body parsed when it is JSON. */
type Answer = RawReply & { readonly json: Record<string, unknown> };

async function call(method: string, path: string, request: Request = {}): Promise<Answer> {
  const contentType =
    request.form !== undefined
      ? { "content-type": "application/x-www-form-urlencoded" }
      : request.body !== undefined
        ? { "content-type": "application/json" }
        : {};
  const response = await fetch(`${keycard.baseUrl}${path}`, {
    method,
    redirect: "manual",
    headers: { ...contentType, ...request.headers },
    ...(request.form !== undefined ? { body: request.form } : {}),
    ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
  });
  const text = await response.text();
  const json = response.headers.get("content-type")?.startsWith("application/json")
    ? (JSON.parse(text) as Record<string, unknown>)
    : {};
  return { status: response.status, headers: response.headers, text, json };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const unknownToken = () => `kc_sess_${randomBytes(32).toString("base64url")}`;
/** The code of the server's next TOTP step, moving the fake clock there (each step works once). */
const nextCode = (secret: string) => {
  clock.advance(totpStepSeconds * 1000);
  return totpCode(secret, clock.now());
};

/** What the steps share: accounts, tokens, ids. */
const state: Record<string, string> = {};
const user = async (name: string) => {
  const created = await createTestUser(keycard);
  state[`${name}Id`] = created.id;
  state[`${name}Email`] = created.email;
  state[`${name}Password`] = created.password;
};
const login = async (name: string) => {
  const { json } = await call("POST", "/auth/login", {
    body: { email: state[`${name}Email`], password: state[`${name}Password`] },
  });
  return String(json.session_token);
};

/** One call of the table: the operation, the status it must answer, and how to make it. */
type Step = [operationId: string, status: number, run: () => Promise<Answer>];

const adminSteps: Step[] = [
  [
    "AdminService_CreateUser",
    200,
    async () => {
      state.aliceEmail = `alice-${randomBytes(4).toString("hex")}@example.com`;
      state.alicePassword = "correct horse battery staple";
      const answer = await call("POST", "/admin/users", {
        headers: admin,
        body: {
          email: state.aliceEmail,
          display_name: "Alice",
          password: state.alicePassword,
          roles: ["user"],
        },
      });
      state.aliceId = String((answer.json.user as Record<string, unknown>).id);
      return answer;
    },
  ],
  [
    "AdminService_CreateUser",
    409,
    () =>
      call("POST", "/admin/users", {
        headers: admin,
        body: { email: state.aliceEmail, display_name: "Alice", password: state.alicePassword },
      }),
  ],
  [
    "AdminService_CreateUser",
    400,
    () =>
      call("POST", "/admin/users", {
        headers: admin,
        body: { email: "x@example.com", pasword: "typo" },
      }),
  ],
  [
    "AdminService_ListUsers",
    200,
    () => call("GET", "/admin/users?page_size=2", { headers: admin }),
  ],
  ["AdminService_ListUsers", 401, () => call("GET", "/admin/users")],
  [
    "AdminService_SetRoles",
    200,
    () =>
      call("POST", `/admin/users/${state.aliceId}/roles`, {
        headers: admin,
        body: { roles: ["user", "editor"] },
      }),
  ],
  [
    "AdminService_SetPassword",
    200,
    async () => {
      state.alicePassword = "another correct horse battery";
      return call("POST", `/admin/users/${state.aliceId}/password`, {
        headers: admin,
        body: { password: state.alicePassword },
      });
    },
  ],
  [
    "AdminService_DisableUser",
    404,
    () => call("POST", "/admin/users/nobody/disable", { headers: admin, body: {} }),
  ],
  [
    "AdminService_CreateApiKey",
    200,
    async () => {
      const answer = await call("POST", `/admin/users/${state.aliceId}/api-keys`, {
        headers: admin,
        body: { name: "ci", skip_totp: true },
      });
      state.apiKey = String(answer.json.key);
      state.apiKeyId = String((answer.json.api_key as Record<string, unknown>).id);
      return answer;
    },
  ],
  [
    "AdminService_ListApiKeys",
    200,
    () => call("GET", `/admin/users/${state.aliceId}/api-keys`, { headers: admin }),
  ],
  [
    "AdminService_EnrollTotp",
    200,
    async () => {
      await user("erin");
      const answer = await call("POST", `/admin/users/${state.erinId}/totp`, {
        headers: admin,
        body: {},
      });
      state.erinSecret = String(answer.json.secret);
      return answer;
    },
  ],
  [
    "AdminService_ConfirmTotp",
    200,
    async () =>
      call("POST", `/admin/users/${state.erinId}/totp/confirm`, {
        headers: admin,
        body: { code: await nextCode(state.erinSecret ?? "") },
      }),
  ],
  [
    "AdminService_GetRecoveryCodes",
    200,
    () => call("GET", `/admin/users/${state.erinId}/recovery-codes`, { headers: admin }),
  ],
  [
    "AdminService_ResetRecoveryCodes",
    200,
    () => call("DELETE", `/admin/users/${state.erinId}/recovery-codes`, { headers: admin }),
  ],
  [
    "AdminService_ResetTotp",
    200,
    () => call("DELETE", `/admin/users/${state.erinId}/totp`, { headers: admin }),
  ],
  [
    "AdminService_CreatePasswordReset",
    200,
    async () => {
      await user("carol");
      const answer = await call("POST", `/admin/users/${state.carolId}/password-reset`, {
        headers: admin,
        body: {},
      });
      state.resetToken = String(answer.json.token);
      return answer;
    },
  ],
  [
    "AdminService_RotateJwtKey",
    200,
    () => call("POST", "/admin/jwt-keys/rotate", { headers: admin, body: {} }),
  ],
  [
    "AdminService_ListUserSessions",
    200,
    async () => {
      await login("alice");
      return call("GET", `/admin/users/${state.aliceId}/sessions`, { headers: admin });
    },
  ],
  [
    "AdminService_RevokeUserSessions",
    200,
    async () => {
      await user("bob");
      await login("bob");
      return call("DELETE", `/admin/users/${state.bobId}/sessions`, { headers: admin });
    },
  ],
  [
    "AdminService_RevokeApiKey",
    404,
    () => call("DELETE", "/admin/api-keys/nope", { headers: admin }),
  ],
  [
    "AdminService_DisableUser",
    200,
    () => call("POST", `/admin/users/${state.bobId}/disable`, { headers: admin, body: {} }),
  ],
];

const authSteps: Step[] = [
  [
    "AuthService_Login",
    200,
    async () => {
      const answer = await call("POST", "/auth/login", {
        body: { email: state.aliceEmail, password: state.alicePassword },
      });
      state.aliceToken = String(answer.json.session_token);
      state.aliceSession = String(answer.json.session_id);
      return answer;
    },
  ],
  [
    "AuthService_Login",
    400,
    () => call("POST", "/auth/login", { body: { email: state.aliceEmail, pasword: "typo" } }),
  ],
  [
    "AuthService_Login",
    413,
    () => call("POST", "/auth/login", { body: { email: "x".repeat(70_000) } }),
  ],
  [
    "AdminService_ListUsers",
    403,
    () => call("GET", "/admin/users", { headers: bearer(state.aliceToken ?? "") }),
  ],
  [
    "AuthService_GetMe",
    200,
    () => call("GET", "/auth/me", { headers: bearer(state.aliceToken ?? "") }),
  ],
  [
    "AuthService_GetMe",
    200,
    () => call("GET", "/auth/me", { headers: { "x-api-key": state.apiKey ?? "" } }),
  ],
  [
    "AdminService_RevokeApiKey",
    200,
    () => call("DELETE", `/admin/api-keys/${state.apiKeyId}`, { headers: admin }),
  ],
  ["AuthService_GetMe", 401, () => call("GET", "/auth/me", { headers: bearer(unknownToken()) })],
  [
    "AuthService_Validate",
    200,
    () => call("POST", "/auth/validate", { body: { token: state.aliceToken } }),
  ],
  [
    "AuthService_Validate",
    200,
    () => call("POST", "/auth/validate", { body: { token: unknownToken() } }),
  ],
  [
    "AuthService_ListSessions",
    200,
    () => call("GET", "/auth/sessions", { headers: bearer(state.aliceToken ?? "") }),
  ],
  [
    "AuthService_RenameSession",
    200,
    () =>
      call("PATCH", `/auth/sessions/${state.aliceSession}`, {
        headers: bearer(state.aliceToken ?? ""),
        body: { label: "Work laptop" },
      }),
  ],
  [
    "AuthService_IssueToken",
    200,
    async () => {
      const answer = await call("POST", "/auth/token", {
        headers: bearer(state.aliceToken ?? ""),
        body: {},
      });
      state.issuedSession = String(answer.json.session_id);
      return answer;
    },
  ],
  [
    "AuthService_IssueJwt",
    200,
    () => call("POST", "/auth/jwt", { headers: bearer(state.aliceToken ?? ""), body: {} }),
  ],
  [
    "AuthService_RevokeSession",
    200,
    () =>
      call("DELETE", `/auth/sessions/${state.issuedSession}`, {
        headers: bearer(state.aliceToken ?? ""),
      }),
  ],
  [
    "AuthService_RevokeSession",
    404,
    () => call("DELETE", "/auth/sessions/nope", { headers: bearer(state.aliceToken ?? "") }),
  ],
  [
    "AuthService_RevokeSession_2",
    200,
    () =>
      call("DELETE", "/auth/sessions?scope=others", { headers: bearer(state.aliceToken ?? "") }),
  ],
  [
    "AuthService_Refresh",
    200,
    async () => {
      const answer = await call("POST", "/auth/refresh", {
        headers: bearer(state.aliceToken ?? ""),
        body: {},
      });
      state.aliceToken = String(answer.json.session_token);
      return answer;
    },
  ],
  [
    "AuthService_Reauthenticate",
    200,
    async () => {
      const answer = await call("POST", "/auth/reauthenticate", {
        headers: bearer(state.aliceToken ?? ""),
        body: { password: state.alicePassword },
      });
      state.aliceToken = String(answer.json.session_token);
      return answer;
    },
  ],
  [
    "AuthService_ChangePassword",
    200,
    async () => {
      const answer = await call("POST", "/auth/password", {
        headers: bearer(state.aliceToken ?? ""),
        body: {
          current_password: state.alicePassword,
          new_password: "yet another horse battery",
          keep_other_sessions: true,
        },
      });
      state.alicePassword = "yet another horse battery";
      return answer;
    },
  ],
  [
    "AuthService_ResetPassword",
    200,
    () =>
      call("POST", "/auth/password/reset", {
        body: { token: state.resetToken, new_password: "a reset horse battery staple" },
      }),
  ],
  [
    "AuthService_ResetPassword",
    401,
    () =>
      call("POST", "/auth/password/reset", {
        body: { token: state.resetToken, new_password: "a reset horse battery staple" },
      }),
  ],
  [
    "AuthService_EnrollOwnTotp",
    200,
    async () => {
      await user("dave");
      state.daveToken = await login("dave");
      const answer = await call("POST", "/auth/totp", {
        headers: bearer(state.daveToken),
        body: {},
      });
      state.daveSecret = String(answer.json.secret);
      return answer;
    },
  ],
  [
    "AuthService_ConfirmOwnTotp",
    200,
    async () =>
      call("POST", "/auth/totp/confirm", {
        headers: bearer(state.daveToken ?? ""),
        body: { code: await nextCode(state.daveSecret ?? "") },
      }),
  ],
  [
    "AuthService_Reauthenticate",
    200,
    async () => {
      const answer = await call("POST", "/auth/reauthenticate", {
        headers: bearer(state.daveToken ?? ""),
        body: { totp_code: await nextCode(state.daveSecret ?? "") },
      });
      state.daveToken = String(answer.json.session_token);
      return answer;
    },
  ],
  [
    "AuthService_RegenerateRecoveryCodes",
    200,
    () =>
      call("POST", "/auth/recovery-codes", { headers: bearer(state.daveToken ?? ""), body: {} }),
  ],
  [
    "AuthService_RemoveOwnTotp",
    200,
    () => call("DELETE", "/auth/totp", { headers: bearer(state.daveToken ?? "") }),
  ],
  [
    "AuthService_Logout",
    200,
    async () => call("POST", "/auth/logout", { headers: bearer(await login("dave")), body: {} }),
  ],
  [
    "AuthService_Login",
    401,
    async () => {
      await user("gina");
      return call("POST", "/auth/login", {
        body: { email: state.ginaEmail, password: "wrong password" },
      });
    },
  ],
  [
    "AuthService_Login",
    401,
    () =>
      call("POST", "/auth/login", { body: { email: state.ginaEmail, password: "wrong password" } }),
  ],
  [
    "AuthService_Login",
    429,
    () =>
      call("POST", "/auth/login", { body: { email: state.ginaEmail, password: "wrong password" } }),
  ],
];

const profileSteps: Step[] = [
  [
    "apiV1Auth_login",
    200,
    async () => {
      await user("henry");
      const answer = await call("POST", "/api/v1/auth/login", {
        body: { email: state.henryEmail, password: state.henryPassword },
      });
      state.henryCookie = (answer.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      return answer;
    },
  ],
  [
    "apiV1Auth_login",
    200,
    async () => {
      const answer = await call("POST", "/api/v1/auth/login", {
        body: { email: state.henryEmail, password: state.henryPassword, return_token: true },
      });
      state.henryToken = String(
        ((answer.json.data as Record<string, unknown>).token as Record<string, unknown>)
          .access_token,
      );
      return answer;
    },
  ],
  [
    "apiV1Auth_login",
    400,
    () => call("POST", "/api/v1/auth/login", { body: { email: state.henryEmail } }),
  ],
  [
    "apiV1Auth_login",
    401,
    () =>
      call("POST", "/api/v1/auth/login", { body: { email: state.henryEmail, password: "wrong" } }),
  ],
  [
    "apiV1Auth_me",
    200,
    () => call("GET", "/api/v1/auth/me", { headers: { cookie: state.henryCookie ?? "" } }),
  ],
  ["apiV1Auth_me", 401, () => call("GET", "/api/v1/auth/me")],
  [
    "apiV1Auth_token",
    200,
    () => call("POST", "/api/v1/auth/token", { headers: { cookie: state.henryCookie ?? "" } }),
  ],
  [
    "apiV1Auth_reauthenticate",
    200,
    () =>
      call("POST", "/api/v1/auth/reauthenticate", {
        headers: bearer(state.henryToken ?? ""),
        body: { password: state.henryPassword },
      }),
  ],
  [
    "apiV1Auth_logout",
    200,
    () => call("POST", "/api/v1/auth/logout", { headers: { cookie: state.henryCookie ?? "" } }),
  ],
  [
    "adminPanel_login",
    200,
    async () => {
      const answer = await call("POST", "/api/admin/login", { body: { password: adminPassword } });
      state.panelToken = String(answer.json.token);
      return answer;
    },
  ],
  ["adminPanel_login", 400, () => call("POST", "/api/admin/login", { body: {} })],
  [
    "adminPanel_verify",
    200,
    () => call("GET", "/api/admin/verify", { headers: bearer(state.panelToken ?? "") }),
  ],
  [
    "adminPanel_logout",
    200,
    () => call("POST", "/api/admin/logout", { headers: bearer(state.panelToken ?? "") }),
  ],
  [
    "adminPanel_verify",
    401,
    () => call("GET", "/api/admin/verify", { headers: bearer(state.panelToken ?? "") }),
  ],
];

/** Registers a passkey for jane on her fresh session; answers the finishing call. */
async function registerPasskey(): Promise<Answer> {
  const token = state.janeToken ?? "";
  const started = await call("POST", "/auth/passkeys/registration-options", {
    headers: bearer(token),
    body: {},
  });
  const answer = await call("POST", "/auth/passkeys", {
    headers: bearer(token),
    body: {
      challenge_id: started.json.challenge_id,
      name: "Laptop",
      response_json: JSON.stringify(
        passkeyAuthenticator.register(String(started.json.options_json)),
      ),
    },
  });
  state.janePasskeyId = String((answer.json.passkey as Record<string, unknown>).id);
  return answer;
}

/** Login's `passkey`: a new login challenge answered by jane's newest passkey. */
async function passkeyAssertion(): Promise<Record<string, string>> {
  const started = await call("POST", "/auth/passkeys/login-options", { body: {} });
  const options = String(started.json.options_json);
  return {
    challenge_id: String(started.json.challenge_id),
    response_json: JSON.stringify(passkeyAuthenticator.assert(options)),
  };
}

const passkeySteps: Step[] = [
  [
    "AuthService_StartPasskeyRegistration",
    200,
    async () => {
      await user("jane");
      state.janeToken = await login("jane");
      return call("POST", "/auth/passkeys/registration-options", {
        headers: bearer(state.janeToken),
        body: {},
      });
    },
  ],
  ["AuthService_FinishPasskeyRegistration", 200, registerPasskey],
  [
    "AuthService_ListOwnPasskeys",
    200,
    () => call("GET", "/auth/passkeys", { headers: bearer(state.janeToken ?? "") }),
  ],
  [
    "AuthService_StartPasskeyLogin",
    200,
    () => call("POST", "/auth/passkeys/login-options", { body: {} }),
  ],
  [
    "AuthService_Login",
    200,
    async () => call("POST", "/auth/login", { body: { passkey: await passkeyAssertion() } }),
  ],
  [
    "AuthService_Login",
    401,
    async () => {
      const passkey = await passkeyAssertion();
      await call("POST", "/auth/login", { body: { passkey } });
      return call("POST", "/auth/login", { body: { passkey } });
    },
  ],
  [
    "AdminService_ListPasskeys",
    200,
    () => call("GET", `/admin/users/${state.janeId}/passkeys`, { headers: admin }),
  ],
  [
    "AuthService_RemoveOwnPasskey",
    200,
    () =>
      call("DELETE", `/auth/passkeys/${state.janePasskeyId}`, {
        headers: bearer(state.janeToken ?? ""),
      }),
  ],
  [
    "AdminService_DeletePasskey",
    200,
    async () => {
      await registerPasskey();
      return call("DELETE", `/admin/users/${state.janeId}/passkeys/${state.janePasskeyId}`, {
        headers: admin,
      });
    },
  ],
];

const otherSteps: Step[] = [
  [
    "forwardAuth",
    200,
    async () => call("GET", "/auth/verify", { headers: bearer(await login("alice")) }),
  ],
  [
    "forwardAuth",
    400,
    async () => call("GET", "/auth/verify?aal=5", { headers: bearer(await login("alice")) }),
  ],
  ["forwardAuth", 401, () => call("GET", "/auth/verify")],
  [
    "forwardAuth",
    302,
    () =>
      call("GET", "/auth/verify?rd=https://auth.example.com/ui/", {
        headers: { accept: "text/html" },
      }),
  ],
  [
    "forwardAuth",
    401,
    () =>
      call("GET", "/auth/verify?rd=https://auth.example.com/ui/", {
        headers: { accept: "text/html", "x-original-url": "https://app.example.com/" },
      }),
  ],
  ["forwardAuth", 400, () => call("GET", "/auth/verify?rd=https://evil.com/")],
  ["portalReturn", 302, () => call("GET", "/ui/continue?rd=https://app.example.com/")],
  ["portalReturn", 302, () => call("GET", "/ui/continue?rd=//evil.com")],
  [
    "introspect",
    200,
    async () =>
      call("POST", "/oauth2/introspect", {
        headers: bearer(introspectionSecret),
        form: `token=${await login("alice")}`,
      }),
  ],
  [
    "introspect",
    200,
    () =>
      call("POST", "/oauth2/introspect", {
        headers: bearer(introspectionSecret),
        form: `token=${unknownToken()}`,
      }),
  ],
  [
    "introspect",
    400,
    () => call("POST", "/oauth2/introspect", { headers: bearer(introspectionSecret), form: "" }),
  ],
  ["introspect", 401, () => call("POST", "/oauth2/introspect", { form: "token=x" })],
  ["health", 200, () => call("GET", "/health")],
  ["health", 200, async () => call("GET", "/health", { headers: bearer(await login("alice")) })],
  ["health", 401, () => call("GET", "/health", { headers: bearer(unknownToken()) })],
  ["liveness", 200, () => call("GET", "/healthz")],
  ["readiness", 200, () => call("GET", "/readyz")],
  ["metrics", 200, () => call("GET", "/metrics")],
  ["jwks", 200, () => call("GET", "/.well-known/jwks.json")],
  ["openidConfiguration", 200, () => call("GET", "/.well-known/openid-configuration")],
  ["openApiDocument", 200, () => call("GET", "/openapi.json")],
  ["referencePage", 200, () => call("GET", "/docs")],
  // Last: it ends every session, and a token from before then validates as inactive.
  [
    "AdminService_EndAllSessions",
    200,
    () => call("POST", "/admin/sessions/end-all", { headers: admin, body: {} }),
  ],
];

describe("every operation of /openapi.json against the server that serves it", () => {
  it.each([...adminSteps, ...authSteps, ...passkeySteps, ...profileSteps, ...otherSteps])(
    "%s answers %i as documented",
    async (operationId, status, run) => {
      const answer = await run();
      expect(answer.status, answer.text).toBe(status);
      expect(checker.problems(operationId, answer)).toEqual([]);
    },
  );

  it("called every operation of the document with a success (a redirect, for /ui/continue)", () => {
    const missing = checker.operationIds.filter(
      (id) => ![...(checker.exercised.get(id) ?? [])].some((status) => status < 400),
    );
    expect(missing).toEqual([]);
    const refusals = new Set([...checker.exercised.values()].flatMap((statuses) => [...statuses]));
    expect([...refusals].filter((status) => status >= 400).sort()).toEqual(
      expect.arrayContaining([400, 401, 403, 404, 409, 413, 429]),
    );
  });
});

describe("GET /openapi.json and /docs", () => {
  it("serve the document to any origin, and the page under a policy that allows only its own style", async () => {
    const document = await call("GET", "/openapi.json");
    expect(document.headers.get("access-control-allow-origin")).toBe("*");
    expect(document.headers.get("cache-control")).toMatch(/^public, max-age=\d+$/);
    expect(document.json.openapi).toBe("3.1.0");
    const page = await call("GET", "/docs");
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const policy = page.headers.get("content-security-policy") ?? "";
    expect(policy).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(page.text).not.toMatch(/<script|https?:\/\/(?!www\.)/i);
    expect(page.text).toContain('id="op-AuthService_Login"');
  });

  it("answer HEAD like GET without a body, and refuse other methods with 405", async () => {
    const head = await fetch(`${keycard.baseUrl}/docs`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const post = await call("POST", "/openapi.json", { body: {} });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });
});
