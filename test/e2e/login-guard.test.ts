import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { KeycardError, StoreUnavailableError } from "../../src/domain/errors.js";
import { defaultLoginThrottle } from "../../src/domain/login-throttle.js";
import type { LoginAttemptStore } from "../../src/domain/ports.js";
import { loginAttemptOf } from "../../src/service/login-attempt.js";
import { LoginGuard } from "../../src/service/login-guard.js";
import { createMemoryStore } from "../../src/store/memory/memory-store.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { LogLines } from "../helpers/log-lines.js";
import type { Json } from "../helpers/rest.js";
import { enrollTotpOverRest, totpCode } from "../helpers/totp-codes.js";

const second = 1_000;
const minute = 60_000;
const hour = 60 * minute;
const password = "correct horse battery staple";
const userAgent = "login-guard-test/1.0";

interface Reply {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: Json;
}

let ipCounter = 0;
/** A client address no other test uses, so every test starts from clean IP counters. */
function freshIp(): string {
  ipCounter += 1;
  return `198.51.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
}

describe("brute-force protection of login, on two keycards sharing one Redis, on a fake clock", () => {
  const clock = new FakeClock();
  const log = new LogLines();
  const logLines = log.lines;
  let a: TestKeycard;
  let b: TestKeycard;

  beforeAll(async () => {
    const namespace = `login-guard-${randomUUID()}`;
    const options = {
      clock,
      namespace,
      trustedProxies: ["127.0.0.1"],
      loginThrottle: defaultLoginThrottle,
      logger: pino({ level: "info" }, log),
    };
    [a, b] = await Promise.all([startKeycard(options), startKeycard(options)]);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  async function login(
    keycard: TestKeycard,
    ip: string,
    body: Json,
    path = "/auth/login",
  ): Promise<Reply> {
    const response = await fetch(`${keycard.baseUrl}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-forwarded-for": ip,
        "user-agent": userAgent,
      },
      body: JSON.stringify(body),
    });
    return {
      status: response.status,
      retryAfter: response.headers.get("retry-after"),
      body: (await response.json()) as Json,
    };
  }

  /** `count` wrong-password logins from `ip`, alternating between the two replicas. */
  async function failTimes(email: string, ip: string, count: number): Promise<number[]> {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < count; attempt += 1) {
      const keycard = attempt % 2 === 0 ? a : b;
      statuses.push((await login(keycard, ip, { email, password: `guess-${attempt}` })).status);
    }
    return statuses;
  }

  it("delays an attacker's address on one account with a Retry-After that doubles, on either replica", async () => {
    const alice = await createTestUser(a);
    const attacker = freshIp();
    expect(await failTimes(alice.email, attacker, 5)).toEqual([401, 401, 401, 401, 401]);

    const waits: string[] = [];
    for (const wait of [1, 2, 4]) {
      const refused = await login(b, attacker, { email: alice.email, password: "guess" });
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual({
        error: "RATE_LIMITED",
        message: `Too many failed logins; try again in ${wait} second${wait === 1 ? "" : "s"}`,
        retry_after_seconds: wait,
      });
      waits.push(refused.retryAfter ?? "");
      clock.advance(wait * second);
      expect((await login(a, attacker, { email: alice.email, password: "guess" })).status).toBe(
        401,
      );
    }
    expect(waits).toEqual(["1", "2", "4"]);
  });

  it("still lets the real user in from her own address while an attacker is delayed on hers", async () => {
    const alice = await createTestUser(a);
    const attacker = freshIp();
    await failTimes(alice.email, attacker, 8);
    expect((await login(a, attacker, { email: alice.email, password })).status).toBe(429);

    const home = freshIp();
    expect((await login(b, home, { email: alice.email, password })).status).toBe(200);
    // Her success resets her account and her own address, not the attacker's.
    const stillDelayed = await login(a, attacker, { email: alice.email, password: "guess" });
    expect(stillDelayed.status).toBe(429);
    expect(Number(stillDelayed.retryAfter)).toBeGreaterThan(0);
  });

  it("forgives a user's own typos once she logs in", async () => {
    const bea = await createTestUser(a);
    const home = freshIp();
    await failTimes(bea.email, home, 4);
    expect((await login(a, home, { email: bea.email, password })).status).toBe(200);
    expect(await failTimes(bea.email, home, 5)).toEqual([401, 401, 401, 401, 401]);
  });

  it("locks an account for everyone once 100 failures from many addresses fall within an hour, on every surface, until the oldest is an hour old", async () => {
    const bob = await createTestUser(a);
    const attackers = Array.from({ length: 20 }, freshIp);
    const statuses = (await Promise.all(attackers.map((ip) => failTimes(bob.email, ip, 5)))).flat();
    expect(statuses).toEqual(Array(100).fill(401));

    const home = freshIp();
    const rest = await login(b, home, { email: bob.email, password });
    expect(rest).toEqual({
      status: 429,
      retryAfter: "3600",
      body: {
        error: "RATE_LIMITED",
        message:
          "Too many failed logins; this account is temporarily locked; try again in 3600 seconds",
        retry_after_seconds: 3600,
      },
    });
    const profile = await login(a, home, { email: bob.email, password }, "/api/v1/auth/login");
    expect(profile.status).toBe(429);
    expect(profile.retryAfter).toBe("3600");
    expect(profile.body).toMatchObject({ success: false, error: "Too Many Requests" });

    const auth = createClient(
      AuthService,
      createConnectTransport({ baseUrl: a.baseUrl, httpVersion: "1.1" }),
    );
    const refused = await auth
      .login({ email: bob.email, password }, { headers: { "x-forwarded-for": home } })
      .then(
        () => undefined,
        (error: unknown) => ConnectError.from(error),
      );
    expect(refused?.code).toBe(Code.ResourceExhausted);
    expect(refused?.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds).toBe(3600n);

    clock.advance(59 * minute);
    expect((await login(a, home, { email: bob.email, password })).retryAfter).toBe("60");
    clock.advance(minute);
    expect((await login(b, home, { email: bob.email, password })).status).toBe(200);
  });

  it("takes one address about 21.5 hours to fail 100 times on an account, never locking it for its owner", async () => {
    const eve = await createTestUser(a);
    const attacker = freshIp();
    const start = clock.now();
    let failures = 0;
    const messages = new Set<string>();
    while (failures < defaultLoginThrottle.lockoutThreshold) {
      const reply = await login(failures % 2 === 0 ? a : b, attacker, {
        email: eve.email,
        password: "guess",
      });
      if (reply.status === 401) {
        failures += 1;
      } else {
        messages.add(String(reply.body.message));
        clock.advance(Number(reply.retryAfter) * second);
      }
    }
    const hours = (clock.now() - start) / hour;
    expect(hours).toBeGreaterThan(21);
    expect(hours).toBeLessThan(22);
    expect([...messages].every((message) => !message.includes("locked"))).toBe(true);
    expect((await login(a, freshIp(), { email: eve.email, password })).status).toBe(200);
  });

  it("delays an address that fails on 50 accounts (password spraying), on every account, while other addresses go on", async () => {
    const sprayer = freshIp();
    const statuses = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        login(index % 2 === 0 ? a : b, sprayer, {
          email: `spray-${index}-${randomUUID()}@example.com`,
          password: "Summer2030!",
        }).then((reply) => reply.status),
      ),
    );
    expect(statuses).toEqual(Array(50).fill(401));
    const gina = await createTestUser(a);
    const refused = await login(b, sprayer, { email: gina.email, password });
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe("1");
    expect(refused.body.message).toBe(
      "Too many failed logins from this address; try again in 1 second",
    );
    expect((await login(a, freshIp(), { email: gina.email, password })).status).toBe(200);
  });

  it("answers an unknown email exactly as a real one: same statuses, bodies and Retry-After", async () => {
    const dan = await createTestUser(a);
    const unknown = `nobody-${randomUUID()}@example.com`;
    const ip = freshIp();
    const real = await failTimes(dan.email, ip, 7);
    const ghost = await failTimes(unknown, ip, 7);
    expect(ghost).toEqual(real);
    expect(real).toEqual([401, 401, 401, 401, 401, 429, 429]);
    const [realRefusal, ghostRefusal] = await Promise.all([
      login(a, ip, { email: dan.email, password: "guess" }),
      login(a, ip, { email: unknown, password: "guess" }),
    ]);
    expect(ghostRefusal).toEqual(realRefusal);
  });

  it("counts wrong TOTP codes as failures", async () => {
    const erin = await createTestUser(a);
    const { secret } = await enrollTotpOverRest(a.baseUrl, erin.id, testAdminToken, clock.now());
    const good = await totpCode(secret, clock.now());
    const wrong = String((Number(good) + 1) % 1_000_000).padStart(6, "0");
    const ip = freshIp();
    const replies: number[] = [];
    for (let attempt = 0; attempt < 6; attempt += 1) {
      const reply = await login(attempt % 2 === 0 ? a : b, ip, {
        email: erin.email,
        password,
        totp_code: wrong,
      });
      replies.push(reply.status);
      if (reply.status === 401) {
        expect(reply.body.error).toBe("TOTP_INVALID");
      }
    }
    expect(replies).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it("checks at most the lockout threshold of 150 simultaneous wrong codes from 150 addresses", async () => {
    const fred = await createTestUser(a);
    const { secret } = await enrollTotpOverRest(a.baseUrl, fred.id, testAdminToken, clock.now());
    const good = await totpCode(secret, clock.now());
    const wrong = String((Number(good) + 1) % 1_000_000).padStart(6, "0");
    const replies = await Promise.all(
      Array.from({ length: 150 }, (_, index) =>
        login(index % 2 === 0 ? a : b, freshIp(), {
          email: fred.email,
          password,
          totp_code: wrong,
        }),
      ),
    );
    const checked = replies.filter((reply) => reply.body.error === "TOTP_INVALID");
    const refused = replies.filter((reply) => reply.status === 429);
    expect(checked).toHaveLength(defaultLoginThrottle.lockoutThreshold);
    expect(refused).toHaveLength(150 - defaultLoginThrottle.lockoutThreshold);
    const right = await login(b, freshIp(), { email: fred.email, password, totp_code: good });
    expect(right.status).toBe(429);
  });

  it("audits login.locked with the account's user id and client, and no secret", async () => {
    const fay = await createTestUser(a, { password: "fay's very secret passphrase" });
    const ip = freshIp();
    await failTimes(fay.email, ip, 5);
    expect((await login(a, ip, { email: fay.email, password: fay.password })).status).toBe(429);
    const event = await vi.waitFor(() => {
      const found = logLines.find((line) => line.audit === "login.locked" && line.ip === ip);
      expect(found).toBeDefined();
      return found as Json;
    });
    expect(event).toMatchObject({
      audit: "login.locked",
      userId: fay.id,
      credential: "password",
      scope: "pair",
      retryAfterSeconds: 1,
      ip,
      userAgent,
    });
    const text = JSON.stringify(event);
    expect(text).not.toContain(fay.password);
    expect(text).not.toContain(fay.email);
    // A refused attempt checked nothing, so it is not also a login.failed.
    const failedFromIp = logLines.filter((line) => line.audit === "login.failed" && line.ip === ip);
    expect(failedFromIp).toHaveLength(5);
  });
});

describe("the login guard when its store is down", () => {
  const client = { ip: "192.0.2.1", userAgent: "test" };
  const attempt = loginAttemptOf({ email: "alice@example.com", apiKey: "" }, client);
  const down: LoginAttemptStore = {
    record: () => Promise.reject(new StoreUnavailableError()),
    read: () => Promise.reject(new StoreUnavailableError()),
    clear: () => Promise.reject(new StoreUnavailableError()),
    claim: () => Promise.reject(new StoreUnavailableError()),
    unclaim: () => Promise.reject(new StoreUnavailableError()),
  };
  const guard = new LoginGuard({
    attempts: down,
    users: createMemoryStore(new FakeClock()).users,
    clock: new FakeClock(),
    policy: defaultLoginThrottle,
    audit: () => {},
  });

  it("fails the attempt with STORE_UNAVAILABLE instead of letting logins through unthrottled", async () => {
    let checked = false;
    for (const call of [
      guard.admit(attempt),
      guard.guard(attempt, async () => {
        checked = true;
      }),
    ]) {
      await expect(call).rejects.toBeInstanceOf(KeycardError);
      await expect(call).rejects.toMatchObject({ reason: "STORE_UNAVAILABLE" });
    }
    expect(checked).toBe(false);
  });
});
