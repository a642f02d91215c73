import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { createTestUser, loginRest, startKeycard, type TestKeycard } from "../helpers/keycard.js";
import { sample } from "../helpers/metrics.js";
import { jsonPost, send } from "../helpers/rest.js";

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("metrics and request ids", () => {
  let keycard: TestKeycard;
  let auth: ReturnType<typeof createClient<typeof AuthService>>;

  beforeAll(async () => {
    keycard = await startKeycard();
    auth = createClient(
      AuthService,
      createConnectTransport({ baseUrl: keycard.baseUrl, httpVersion: "1.1" }),
    );
  });
  afterAll(() => keycard.close());

  it("counts logins by outcome and times Validate, in the Prometheus text format", async () => {
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    const failed = await send(
      `${keycard.baseUrl}/auth/login`,
      jsonPost({ email: user.email, password: "wrong password entirely" }),
    );
    expect(failed.status).toBe(401);
    const verdict = await auth.validate({ token: login.session_token });
    expect(verdict.active).toBe(true);

    const response = await fetch(`${keycard.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const logins = "keycard_logins_total";
    expect(sample(text, logins, { outcome: "success", credential: "password" })).toBe(1);
    expect(sample(text, logins, { outcome: "failure", credential: "password" })).toBe(1);
    const validateCount = sample(text, "keycard_rpc_duration_seconds_count", {
      method: "keycard.v1.AuthService/Validate",
      code: "OK",
    });
    expect(validateCount).toBeGreaterThanOrEqual(1);
    expect(sample(text, "keycard_validate_duration_seconds_count", {})).toBeGreaterThanOrEqual(1);
    expect(text).toContain("# TYPE keycard_store_errors_total counter");
  });

  it("echoes the caller's x-request-id over REST, on success and on refusal", async () => {
    const ok = await send(`${keycard.baseUrl}/healthz`, { headers: { "x-request-id": "abc" } });
    expect(ok.headers.get("x-request-id")).toBe("abc");
    const refused = await send(
      `${keycard.baseUrl}/auth/validate`,
      jsonPost({ token: "" }, { "x-request-id": "abc" }),
    );
    expect(refused.headers.get("x-request-id")).toBe("abc");
    const login = await send(
      `${keycard.baseUrl}/auth/login`,
      jsonPost({ email: "nobody@example.com", password: "nope" }, { "x-request-id": "abc" }),
    );
    expect(login.status).toBe(401);
    expect(login.headers.get("x-request-id")).toBe("abc");
  });

  it("echoes the caller's x-request-id over Connect, on success and on refusal", async () => {
    let echoed: string | null = null;
    await auth.validate(
      { token: "" },
      {
        headers: { "x-request-id": "abc" },
        onHeader: (header) => (echoed = header.get("x-request-id")),
      },
    );
    expect(echoed).toBe("abc");
    const refusal = await auth
      .login(
        { email: "nobody@example.com", password: "nope" },
        { headers: { "x-request-id": "abc" } },
      )
      .then(
        () => undefined,
        (error: unknown) => ConnectError.from(error),
      );
    expect(refusal?.code).toBe(Code.Unauthenticated);
    expect(refusal?.metadata.get("x-request-id")).toBe("abc");
  });

  it("gives a request without an id a new UUID, over REST and over Connect", async () => {
    const rest = await send(`${keycard.baseUrl}/auth/validate`, jsonPost({ token: "" }));
    expect(rest.headers.get("x-request-id")).toMatch(uuid);
    let echoed: string | null = null;
    await auth.validate(
      { token: "" },
      { onHeader: (header) => (echoed = header.get("x-request-id")) },
    );
    expect(echoed).toMatch(uuid);
  });
});
