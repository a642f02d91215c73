import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  loginRest,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { bearer, jsonPost, send } from "../helpers/rest.js";

/**
 * Envoy's ext_authz filter as it calls keycard: grpc-js with our wire-compatible
 * external_auth.proto loaded at run time, a CheckRequest carrying the proxied request's
 * headers with lowercase names, as Envoy sends them.
 */
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const definition = grpc.loadPackageDefinition(
  protoLoader.loadSync("envoy/service/auth/v3/external_auth.proto", {
    keepCase: true,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [`${repoRoot}proto/third_party`, `${repoRoot}node_modules/google-proto-files`],
  }),
);
const authV3 = (
  ((definition.envoy as grpc.GrpcObject).service as grpc.GrpcObject).auth as grpc.GrpcObject
).v3 as grpc.GrpcObject;
const AuthorizationClient = authV3.Authorization as grpc.ServiceClientConstructor;

interface WireHeaderOption {
  readonly header: { readonly key: string; readonly value: string } | null;
}

interface WireCheckResponse {
  readonly status: { readonly code: number; readonly message: string } | null;
  readonly http_response?: "denied_response" | "ok_response";
  readonly denied_response?: {
    readonly status: { readonly code: string } | null;
    readonly headers: WireHeaderOption[];
    readonly body: string;
  };
  readonly ok_response?: { readonly headers: WireHeaderOption[] };
}

interface AuthorizationStub extends grpc.Client {
  Check(
    request: object,
    callback: (error: grpc.ServiceError | null, response?: WireCheckResponse) => void,
  ): grpc.ClientUnaryCall;
}

/** The CheckRequest Envoy's HTTP filter sends for a proxied `GET /api/things`. */
function checkRequest(headers: Record<string, string>): object {
  return {
    attributes: {
      request: {
        http: {
          id: "4f0c2b1e-0d1f-4b59-9a44-7e1f1c1f0a11",
          method: "GET",
          path: "/api/things?page=2",
          host: "app.example.com",
          headers: {
            ":authority": "app.example.com",
            ":method": "GET",
            ":path": "/api/things?page=2",
            "user-agent": "curl/8.5.0",
            "x-request-id": "4f0c2b1e-0d1f-4b59-9a44-7e1f1c1f0a11",
            ...headers,
          },
        },
      },
    },
  };
}

/** Headers as a plain record, in the order they came. */
function headersOf(options: readonly WireHeaderOption[]): Record<string, string> {
  return Object.fromEntries(options.map((option) => [option.header?.key, option.header?.value]));
}

function tampered(token: string): string {
  return `${token.slice(0, -1)}${token.at(-1) === "A" ? "B" : "A"}`;
}

describe("envoy.service.auth.v3.Authorization/Check (Envoy ext_authz)", () => {
  const clock = new FakeClock();
  let keycard: TestKeycard;
  let client: AuthorizationStub;

  /** Calls Check; the RPC itself must succeed whatever the verdict. */
  const check = (headers: Record<string, string>): Promise<WireCheckResponse> =>
    new Promise((resolve, reject) => {
      client.Check(checkRequest(headers), (error, response) => {
        if (error !== null || response === undefined) {
          reject(error ?? new Error("no response"));
        } else {
          resolve(response);
        }
      });
    });

  const signedIn = async () => {
    const user = await createTestUser(keycard, { roles: ["user", "editor"] });
    return { user, login: await loginRest(keycard, user) };
  };

  const expectDenied = (response: WireCheckResponse, error: string): void => {
    expect(response.status?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(response.http_response).toBe("denied_response");
    expect(response.ok_response).toBeUndefined();
    const denied = response.denied_response;
    expect(denied?.status?.code).toBe("Unauthorized");
    expect(JSON.parse(denied?.body ?? "")).toEqual({ error, message: expect.any(String) });
    const headers = headersOf(denied?.headers ?? []);
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["www-authenticate"]).toMatch(/^Bearer realm="keycard"/);
    expect(headers["x-auth-user"]).toBeUndefined();
  };

  beforeAll(async () => {
    keycard = await startKeycard({ store: "memory", clock });
    client = new AuthorizationClient(
      `127.0.0.1:${keycard.port}`,
      grpc.credentials.createInsecure(),
    ) as unknown as AuthorizationStub;
  });
  afterAll(async () => {
    client.close();
    await keycard.close();
  });

  it("answers OK with identity headers for a live token in each carrier, without credentials of its own", async () => {
    const { user, login } = await signedIn();
    const carriers = [
      { authorization: `Bearer ${login.session_token}` },
      { "x-session-token": login.session_token },
      { cookie: `theme=dark; auth-token=${login.session_token}` },
    ];
    for (const headers of carriers) {
      const response = await check(headers);
      expect(response.status?.code).toBe(grpc.status.OK);
      expect(response.http_response).toBe("ok_response");
      expect(response.denied_response).toBeUndefined();
      expect(headersOf(response.ok_response?.headers ?? [])).toEqual({
        "x-auth-user": user.id,
        "x-auth-email": user.email,
        "x-auth-roles": "user,editor",
        "x-auth-session": login.session_id,
        "x-auth-aal": "1",
        "x-auth-time": String(Math.floor(clock.now() / 1000)),
      });
    }
  });

  it("answers UNAUTHENTICATED with a 401 denied response without a token", async () => {
    expectDenied(await check({}), "UNAUTHENTICATED");
    expectDenied(await check({ cookie: "other=1" }), "UNAUTHENTICATED");
    expectDenied(await check({ authorization: "Basic dXNlcjpwYXNz" }), "UNAUTHENTICATED");
  });

  it("answers UNAUTHENTICATED for garbage, tampered and revoked tokens", async () => {
    const { login } = await signedIn();
    expectDenied(await check(bearer("garbage")), "SESSION_INVALID");
    expectDenied(await check(bearer(tampered(login.session_token))), "SESSION_INVALID");
    expectDenied(
      await check({ cookie: `auth-token=${tampered(login.session_token)}` }),
      "SESSION_INVALID",
    );
    const logout = await send(
      `${keycard.baseUrl}/auth/logout`,
      jsonPost("", bearer(login.session_token)),
    );
    expect(logout.status).toBe(200);
    expectDenied(await check(bearer(login.session_token)), "SESSION_REVOKED");
    expectDenied(await check({ "x-session-token": login.session_token }), "SESSION_REVOKED");
  });

  it("answers UNAUTHENTICATED for an API key in session mode, as Bearer or X-API-Key", async () => {
    const { user } = await signedIn();
    const created = await send(
      `${keycard.baseUrl}/admin/users/${user.id}/api-keys`,
      jsonPost({ name: "ci", skip_totp: true }, bearer(testAdminToken)),
    );
    expect(created.status).toBe(200);
    const key = String(created.body.key);
    expectDenied(await check(bearer(key)), "SESSION_INVALID");
    expectDenied(await check({ "x-api-key": key }), "UNAUTHENTICATED");
  });

  it("answers UNAUTHENTICATED once the session has expired", async () => {
    const { login } = await signedIn();
    expect((await check(bearer(login.session_token))).status?.code).toBe(grpc.status.OK);
    clock.advance(13 * 3_600_000);
    expectDenied(await check(bearer(login.session_token)), "SESSION_EXPIRED");
  });
});

describe("Authorization/Check in hybrid mode", () => {
  let keycard: TestKeycard;
  let client: AuthorizationStub;
  beforeAll(async () => {
    keycard = await startKeycard({ store: "memory", authMode: "hybrid" });
    client = new AuthorizationClient(
      `127.0.0.1:${keycard.port}`,
      grpc.credentials.createInsecure(),
    ) as unknown as AuthorizationStub;
  });
  afterAll(async () => {
    client.close();
    await keycard.close();
  });

  it("answers OK for an API key as Bearer, UNAUTHENTICATED once it is revoked", async () => {
    const user = await createTestUser(keycard, { roles: ["reader"] });
    const created = await send(
      `${keycard.baseUrl}/admin/users/${user.id}/api-keys`,
      jsonPost({ name: "ci", skip_totp: true }, bearer(testAdminToken)),
    );
    expect(created.status).toBe(200);
    const key = String(created.body.key);
    const call = (): Promise<WireCheckResponse> =>
      new Promise((resolve, reject) => {
        client.Check(checkRequest(bearer(key)), (error, response) =>
          error !== null || response === undefined ? reject(error) : resolve(response),
        );
      });
    const allowed = await call();
    expect(allowed.status?.code).toBe(grpc.status.OK);
    expect(headersOf(allowed.ok_response?.headers ?? [])).toMatchObject({
      "x-auth-user": user.id,
      "x-auth-email": user.email,
      "x-auth-roles": "reader",
    });
    const keyId = String((created.body.api_key as Record<string, unknown>).id);
    const revoke = await send(`${keycard.baseUrl}/admin/api-keys/${keyId}`, {
      method: "DELETE",
      headers: bearer(testAdminToken),
    });
    expect(revoke.status).toBe(200);
    const refused = await call();
    expect(refused.status?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(refused.denied_response?.status?.code).toBe("Unauthorized");
  });
});
