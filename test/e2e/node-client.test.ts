import {
  Code,
  ConnectError,
  createClient,
  createRouterTransport,
  type Interceptor,
} from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createKeycardValidator,
  type KeycardAnswer,
  type KeycardValidator,
  keycardIdentity,
  keycardInterceptor,
} from "../../clients/node/src/index.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { createTestUser, loginRest, startKeycard, type TestKeycard } from "../helpers/keycard.js";
import { bearer, send } from "../helpers/rest.js";

let keycard: TestKeycard;
const validators: KeycardValidator[] = [];

beforeAll(async () => {
  keycard = await startKeycard();
});
afterAll(async () => {
  for (const validator of validators) {
    validator.close();
  }
  await keycard.close();
});

/** A validator for the suite's keycard that counts the Validate calls reaching the server. */
function countingValidator(
  options: { transport?: "grpc" | "connect"; cacheTtlMs?: number; cacheMax?: number } = {},
): { validator: KeycardValidator; calls: () => number } {
  let calls = 0;
  const counter: Interceptor = (next) => (request) => {
    calls += 1;
    return next(request);
  };
  const validator = createKeycardValidator({
    baseUrl: keycard.baseUrl,
    interceptors: [counter],
    ...options,
  });
  validators.push(validator);
  return { validator, calls: () => calls };
}

async function newSession(): Promise<{ token: string; sessionId: string; userId: string }> {
  const user = await createTestUser(keycard, { roles: ["user", "editor"] });
  const login = await loginRest(keycard, user);
  return { token: login.session_token, sessionId: login.session_id, userId: user.id };
}

async function logout(token: string): Promise<void> {
  const reply = await send(`${keycard.baseUrl}/auth/logout`, {
    method: "POST",
    headers: bearer(token),
  });
  expect(reply.status).toBe(200);
}

describe("createKeycardValidator", () => {
  for (const transport of ["grpc", "connect"] as const) {
    it(`answers an active token with its identity over ${transport}`, async () => {
      const { validator } = countingValidator({ transport });
      const session = await newSession();
      const answer = await validator.validate(session.token);
      expect(answer).toMatchObject({
        active: true,
        subject: session.userId,
        sessionId: session.sessionId,
        roles: ["user", "editor"],
        reason: "UNSPECIFIED",
      });
      expect(answer.expiresAt?.getTime()).toBeGreaterThan(Date.now());
    });
  }

  it("answers an unknown token as inactive, not as an error", async () => {
    const { validator } = countingValidator();
    const answer = await validator.validate("kc_sess_not-a-real-token");
    expect(answer.active).toBe(false);
    expect(answer.subject).toBe("");
    expect(answer.reason).toBe("MALFORMED");
  });

  it("reuses a positive answer instead of calling keycard again", async () => {
    const { validator, calls } = countingValidator({ cacheTtlMs: 60_000 });
    const session = await newSession();
    await validator.validate(session.token);
    await validator.validate(session.token);
    await validator.validate(session.token);
    expect(calls()).toBe(1);
  });

  it("honors revocation once the cache TTL has passed", async () => {
    const { validator, calls } = countingValidator({ cacheTtlMs: 500 });
    const session = await newSession();
    const start = Date.now();
    expect((await validator.validate(session.token)).active).toBe(true);
    await logout(session.token);
    expect((await validator.validate(session.token)).active).toBe(true);
    // The client reads the real clock (it takes no other), so the TTL passes on it.
    await expect
      .poll(async () => (await validator.validate(session.token)).reason, {
        timeout: 5_000,
        interval: 20,
        message: "the cached answer expires and keycard's REVOKED comes through",
      })
      .toBe("REVOKED");
    expect(Date.now() - start).toBeGreaterThanOrEqual(500);
    expect(calls()).toBe(2);
  });

  it("never caches a negative answer", async () => {
    const { validator, calls } = countingValidator({ cacheTtlMs: 60_000 });
    await validator.validate("kc_sess_unknown-token");
    await validator.validate("kc_sess_unknown-token");
    expect(calls()).toBe(2);
  });

  it("keeps at most cacheMax answers, dropping the least recently used", async () => {
    const { validator, calls } = countingValidator({ cacheTtlMs: 60_000, cacheMax: 2 });
    const [a, b, c] = await Promise.all([newSession(), newSession(), newSession()]);
    if (a === undefined || b === undefined || c === undefined) {
      throw new Error("sessions missing");
    }
    await validator.validate(a.token);
    await validator.validate(b.token);
    await validator.validate(a.token); // a is now the most recent
    await validator.validate(c.token); // evicts b
    expect(calls()).toBe(3);
    await validator.validate(a.token);
    expect(calls()).toBe(3);
    await validator.validate(b.token);
    expect(calls()).toBe(4);
  });

  it("does not call keycard for an empty token", async () => {
    const { validator, calls } = countingValidator();
    expect((await validator.validate("")).active).toBe(false);
    expect(calls()).toBe(0);
  });
});

describe("keycardInterceptor", () => {
  let seen: KeycardAnswer | undefined;
  const health = () => {
    const { validator } = countingValidator({ cacheTtlMs: 0 });
    const transport = createRouterTransport(
      ({ service }) => {
        service(Health, {
          check(_request, context) {
            seen = context.values.get(keycardIdentity);
            return { status: HealthCheckResponse_ServingStatus.SERVING };
          },
        });
      },
      { router: { interceptors: [keycardInterceptor(validator)] } },
    );
    return createClient(Health, transport);
  };

  async function rejection(call: Promise<unknown>): Promise<ConnectError> {
    const error = await call.then(
      () => undefined,
      (reason: unknown) => ConnectError.from(reason),
    );
    if (error === undefined) {
      throw new Error("the call succeeded");
    }
    return error;
  }

  it("passes a request with a valid bearer token and exposes the identity", async () => {
    seen = undefined;
    const session = await newSession();
    const reply = await health().check({}, { headers: bearer(session.token) });
    expect(reply.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect(seen).toMatchObject({ active: true, subject: session.userId });
  });

  it("accepts X-Session-Token too", async () => {
    const session = await newSession();
    const reply = await health().check({}, { headers: { "x-session-token": session.token } });
    expect(reply.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it("rejects a request without a token as Unauthenticated", async () => {
    const error = await rejection(health().check({}));
    expect(error.code).toBe(Code.Unauthenticated);
    expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("SESSION_INVALID");
  });

  it("rejects an unknown token as Unauthenticated", async () => {
    const error = await rejection(health().check({}, { headers: bearer("kc_sess_nope") }));
    expect(error.code).toBe(Code.Unauthenticated);
    expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("SESSION_INVALID");
  });

  it("rejects a revoked token as Unauthenticated with SESSION_REVOKED", async () => {
    const session = await newSession();
    await logout(session.token);
    const error = await rejection(health().check({}, { headers: bearer(session.token) }));
    expect(error.code).toBe(Code.Unauthenticated);
    expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("SESSION_REVOKED");
  });
});
