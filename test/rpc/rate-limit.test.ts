import {
  Code,
  createClient,
  createContextValues,
  createRouterTransport,
  type Interceptor,
} from "@connectrpc/connect";
import { beforeEach, describe, expect, it } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/keycard/v1/admin_service_pb.js";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { createRateLimits } from "../../src/store/infra/rate-limits.js";
import { clientInfoKey } from "../../src/transport/handlers/context.js";
import { rateLimitHeadersFromError, rateLimitInterceptor } from "../../src/transport/rate-limit.js";
import { DirectCaller } from "../../src/transport/rpc/direct-caller.js";
import { failureOf } from "../helpers/connect-failure.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { inMemoryApp, testAdminToken, testSettings } from "../helpers/keycard.js";

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const from = (ip: string) => ({ headers: { "x-test-ip": ip } });

/** Stands in for the server, which sets the client's address per request. */
const clientAddressFromHeader: Interceptor = (next) => (req) => {
  const ip = req.header.get("x-test-ip") ?? "";
  req.contextValues.set(clientInfoKey, { ip, userAgent: "test" });
  return next(req);
};

/** The real app with the limiter wired as `[logging, errors, rateLimit, auth]`. */
function rateLimitedKeycard() {
  const clock = new FakeClock();
  const webauthn = { id: "localhost", name: "keycard", origins: ["http://localhost:8080"] };
  const app = inMemoryApp(clock, testSettings({ webauthn }));
  const limits = createRateLimits({ keyPrefix: "rl", loginPerMinute: 5, otherPerMinute: 30 });
  const [logging, errors, ...rest] = app.routerOptions.interceptors ?? [];
  if (logging === undefined || errors === undefined) {
    throw new Error("the app's interceptor chain changed");
  }
  const routerOptions = {
    ...app.routerOptions,
    interceptors: [logging, errors, rateLimitInterceptor(limits), ...rest],
  };
  const transport = createRouterTransport(app.routes, {
    router: {
      ...routerOptions,
      interceptors: [clientAddressFromHeader, ...routerOptions.interceptors],
    },
  });
  const direct = new DirectCaller(routerOptions.interceptors);
  direct.register(AuthService, app.auth);
  return {
    auth: createClient(AuthService, transport),
    admin: createClient(AdminService, transport),
    inProcess: direct,
  };
}

describe("rate limits on the RPC paths, with the real app and interceptors", () => {
  let keycard: ReturnType<typeof rateLimitedKeycard>;
  const user = { email: "grace@example.com", password: "compiler compiler" };

  beforeEach(async () => {
    keycard = rateLimitedKeycard();
    await keycard.admin.createUser(
      { ...user, displayName: "Grace", roles: ["user"] },
      { headers: bearer(testAdminToken) },
    );
  });

  it("refuses the 6th Login attempt from one IP with ResourceExhausted and RetryInfo", async () => {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const wrong = keycard.auth.login({ ...user, password: "wrong" }, from("203.0.113.10"));
      await expect(wrong).rejects.toMatchObject({ code: Code.Unauthenticated });
    }
    await keycard.auth.login(user, from("203.0.113.10"));
    await keycard.auth.login(user, from("203.0.113.10"));
    const refused = await failureOf(keycard.auth.login(user, from("203.0.113.10")));
    expect(refused.code).toBe(Code.ResourceExhausted);
    expect(refused.findDetails(ErrorInfoSchema)[0]?.reason).toBe("RATE_LIMITED");
    const delay = refused.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds ?? 0n;
    expect(delay).toBeGreaterThan(0n);
    expect(delay).toBeLessThanOrEqual(60n);
    expect(refused.rawMessage).toBe(
      `Too many login attempts; try again in ${delay} second${delay === 1n ? "" : "s"}`,
    );
    expect(refused.metadata.get("retry-after")).toBe(String(delay));
    expect(refused.metadata.get("x-ratelimit-limit")).toBe("5");
    expect(refused.metadata.get("x-ratelimit-remaining")).toBe("0");
  });

  it("counts StartPasskeyLogin, the first step of a passkey sign-in, against Login's 5 a minute", async () => {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const started = await keycard.auth.startPasskeyLogin({}, from("203.0.113.12"));
      expect(started.challengeId).not.toBe("");
    }
    const refused = keycard.auth.login(user, from("203.0.113.12"));
    await expect(refused).rejects.toMatchObject({ code: Code.ResourceExhausted });
    const sixth = keycard.auth.startPasskeyLogin({}, from("203.0.113.12"));
    await expect(sixth).rejects.toMatchObject({ code: Code.ResourceExhausted });
  });

  it("lets another IP log in while one is refused", async () => {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      await keycard.auth.login(user, from("203.0.113.11"));
    }
    const refused = keycard.auth.login(user, from("203.0.113.11"));
    await expect(refused).rejects.toMatchObject({ code: Code.ResourceExhausted });
    await expect(keycard.auth.login(user, from("203.0.113.12"))).resolves.toBeDefined();
  });

  it("never limits Validate, the hot path of services, nor AdminService", async () => {
    const { sessionToken } = await keycard.auth.login(user, from("203.0.113.13"));
    for (let attempt = 0; attempt < 5; attempt += 1) {
      await keycard.auth.login(user, from("203.0.113.13")).catch(() => undefined);
    }
    for (let call = 0; call < 40; call += 1) {
      const reply = await keycard.auth.validate({ token: sessionToken }, from("203.0.113.13"));
      expect(reply.active).toBe(true);
    }
    const admin = { headers: { ...bearer(testAdminToken), "x-test-ip": "203.0.113.13" } };
    for (let call = 0; call < 40; call += 1) {
      await keycard.admin.listUsers({}, admin);
    }
  });

  it("gives the other AuthService methods 30 calls a minute per IP, with headers", async () => {
    const { sessionToken } = await keycard.auth.login(user, from("203.0.113.14"));
    const options = { headers: { ...bearer(sessionToken), "x-test-ip": "203.0.113.14" } };
    let remaining: string | null = null;
    for (let call = 0; call < 30; call += 1) {
      await keycard.auth.getMe(
        {},
        { ...options, onHeader: (header) => (remaining = header.get("x-ratelimit-remaining")) },
      );
    }
    expect(remaining).toBe("0");
    const refused = await failureOf(keycard.auth.getMe({}, options));
    expect(refused.code).toBe(Code.ResourceExhausted);
    expect(refused.rawMessage).toMatch(/^Too many requests; try again in \d+ seconds?$/);
    expect(refused.metadata.get("x-ratelimit-limit")).toBe("30");
  });

  it("counts reset-token guesses against the same 30 a minute, though ResetPassword needs no session", async () => {
    const guess = () =>
      keycard.auth.resetPassword(
        { token: `kc_reset_${"A".repeat(43)}`, newPassword: "violet tractor on the moon" },
        from("203.0.113.15"),
      );
    for (let call = 0; call < 30; call += 1) {
      await expect(guess()).rejects.toMatchObject({ code: Code.Unauthenticated });
    }
    const refused = await failureOf(guess());
    expect(refused.code).toBe(Code.ResourceExhausted);
    expect(refused.findDetails(ErrorInfoSchema)[0]?.reason).toBe("RATE_LIMITED");
  });

  it("counts the self-service TOTP and recovery-code calls against the same 30 a minute", async () => {
    const { sessionToken } = await keycard.auth.login(user, from("203.0.113.16"));
    const options = { headers: { ...bearer(sessionToken), "x-test-ip": "203.0.113.16" } };
    for (let call = 0; call < 30; call += 1) {
      await expect(keycard.auth.confirmOwnTotp({ code: "000000" }, options)).rejects.toMatchObject({
        code: Code.InvalidArgument,
      });
    }
    for (const refusal of [
      keycard.auth.enrollOwnTotp({}, options),
      keycard.auth.confirmOwnTotp({ code: "000000" }, options),
      keycard.auth.removeOwnTotp({}, options),
      keycard.auth.regenerateRecoveryCodes({}, options),
    ]) {
      const refused = await failureOf(refusal);
      expect(refused.code).toBe(Code.ResourceExhausted);
      expect(refused.findDetails(ErrorInfoSchema)[0]?.reason).toBe("RATE_LIMITED");
    }
  });

  it("hands REST, through the direct caller, the 429 headers of a refused Login", async () => {
    const call = () =>
      keycard.inProcess.call(AuthService.method.login, user, {
        header: new Headers(),
        contextValues: createContextValues().set(clientInfoKey, {
          ip: "198.51.100.20",
          userAgent: "rest",
        }),
        signal: new AbortController().signal,
      });
    for (let attempt = 0; attempt < 5; attempt += 1) {
      await call();
    }
    const refused = await failureOf(call());
    expect(refused.code).toBe(Code.ResourceExhausted);
    const headers = rateLimitHeadersFromError(refused);
    expect(headers).toMatchObject({ "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0" });
    expect(Number(headers["Retry-After"])).toBeGreaterThan(0);
    expect(Number(headers["X-RateLimit-Reset"])).toBeGreaterThanOrEqual(
      Math.floor(Date.now() / 1000) + Number(headers["Retry-After"]) - 1,
    );
  });
});
