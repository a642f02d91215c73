import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Authorization } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { defaultLoginThrottle } from "../../src/domain/login-throttle.js";
import { type Holder, keyHeaders, keyHolder } from "../helpers/api-key-holder.js";
import { startKeycard, type TestKeycard, testAdminToken } from "../helpers/keycard.js";
import { type Rest, restClient } from "../helpers/rest.js";
import { clearOfStepEdge, totpCode } from "../helpers/totp-codes.js";

/** What a door answered for an API key and a code: let in, a wrong code, or refused unchecked. */
type Outcome = "active" | "wrong" | "refused";

/** One way in with an API key + TOTP code, as a client on `ip` uses it. */
type Door = (holder: Holder, code: string, ip: string) => Promise<Outcome>;

let ipCounter = 0;
/** A client address no other test uses. */
function freshIp(): string {
  ipCounter += 1;
  return `203.0.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
}

function wrongCodeFor(good: string): string {
  return String((Number(good) + 1) % 1_000_000).padStart(6, "0");
}

function outcomeOfStatus(status: number): Outcome {
  return status === 200 ? "active" : status === 429 ? "refused" : "wrong";
}

function outcomeOfRpc(error: unknown): Outcome {
  return ConnectError.from(error).code === Code.ResourceExhausted ? "refused" : "wrong";
}

describe("TOTP codes sent with an API key cannot be guessed at any door (hybrid mode)", () => {
  let keycard: TestKeycard;
  let rest: Rest;
  let connect: Transport;
  let grpc: Transport;
  let grpcWeb: Transport;

  beforeAll(async () => {
    keycard = await startKeycard({
      authMode: "hybrid",
      trustedProxies: ["127.0.0.1", "::1"],
      loginThrottle: defaultLoginThrottle,
    });
    rest = restClient(keycard.baseUrl);
    connect = createConnectTransport({ baseUrl: keycard.baseUrl, httpVersion: "1.1" });
    grpc = createGrpcTransport({ baseUrl: keycard.baseUrl });
    grpcWeb = createGrpcWebTransport({ baseUrl: keycard.baseUrl, httpVersion: "1.1" });
  });
  afterAll(() => keycard.close());

  const forwarded = (ip: string): Record<string, string> => ({ "x-forwarded-for": ip });

  const validateOver = (
    transport: Transport,
    holder: Holder,
    code: string,
    ip: string,
  ): Promise<Outcome> =>
    createClient(AuthService, transport)
      .validate({ token: holder.key, totpCode: code }, { headers: forwarded(ip) })
      .then((reply) => (reply.active ? "active" : "wrong"), outcomeOfRpc);

  const doors: Record<string, Door> = {
    "REST POST /auth/validate": async (holder, code, ip) => {
      const reply = await rest.post(
        "/auth/validate",
        { token: holder.key, totp_code: code },
        forwarded(ip),
      );
      return reply.status === 200 && reply.body.active !== true
        ? "wrong"
        : outcomeOfStatus(reply.status);
    },
    "forward auth GET /auth/verify": async (holder, code, ip) =>
      outcomeOfStatus(
        (await rest.get("/auth/verify", { ...keyHeaders(holder.key, code), ...forwarded(ip) }))
          .status,
      ),
    "X-API-Key on GET /auth/me": async (holder, code, ip) =>
      outcomeOfStatus(
        (await rest.get("/auth/me", { ...keyHeaders(holder.key, code), ...forwarded(ip) })).status,
      ),
    "Connect Validate": (holder, code, ip) => validateOver(connect, holder, code, ip),
    "gRPC Validate": (holder, code, ip) => validateOver(grpc, holder, code, ip),
    "gRPC-Web Validate": (holder, code, ip) => validateOver(grpcWeb, holder, code, ip),
    "Envoy ext_authz Check": async (holder, code, ip) => {
      const authz = createClient(Authorization, grpc);
      // Envoy forwards the client's Authorization header; a hybrid key may ride in it.
      const headers = {
        authorization: `Bearer ${holder.key}`,
        "x-totp-code": code,
        "x-forwarded-for": ip,
      };
      return authz
        .check({ attributes: { request: { http: { headers } } } })
        .then((reply) => (reply.status?.code === 0 ? "active" : "wrong"), outcomeOfRpc);
    },
  };

  for (const [name, door] of Object.entries(doors)) {
    it(`${name}: 40 wrong codes from one address, then its right code is refused there and works from the owner's`, async () => {
      const holder = await keyHolder(rest, true);
      await clearOfStepEdge();
      const good = await totpCode(holder.secret);
      const attacker = freshIp();
      const outcomes: Outcome[] = [];
      for (let guess = 0; guess < 40; guess += 1) {
        outcomes.push(await door(holder, wrongCodeFor(good), attacker));
      }
      expect(outcomes.slice(0, 5)).toEqual(Array(5).fill("wrong"));
      expect(outcomes.slice(5)).toEqual(Array(35).fill("refused"));
      expect(await door(holder, good, attacker)).toBe("refused");
      expect(await door(holder, good, freshIp())).toBe("active");
    });
  }

  it("counts wrong codes per user across the password and every API key, checking at most the lockout threshold", async () => {
    const holder = await keyHolder(rest, true);
    const second = await rest.post(
      `/admin/users/${holder.id}/api-keys`,
      { name: "second" },
      { authorization: `Bearer ${testAdminToken}` },
    );
    const secondKey = String(second.body.key);
    await clearOfStepEdge();
    const good = await totpCode(holder.secret);
    const wrong = wrongCodeFor(good);
    const viaPassword = Array.from({ length: 60 }, () =>
      rest
        .post(
          "/auth/login",
          { email: holder.email, password: holder.password, totp_code: wrong },
          forwarded(freshIp()),
        )
        .then((reply) => outcomeOfStatus(reply.status)),
    );
    const viaKey = Array.from(
      { length: 60 },
      () =>
        doors["REST POST /auth/validate"]?.(holder, wrong, freshIp()) ?? Promise.resolve("wrong"),
    );
    const outcomes = await Promise.all([...viaPassword, ...viaKey]);
    expect(outcomes.filter((outcome) => outcome === "wrong")).toHaveLength(
      defaultLoginThrottle.lockoutThreshold,
    );
    const owner = await rest.post(
      "/auth/validate",
      { token: secondKey, totp_code: good },
      forwarded(freshIp()),
    );
    expect(owner.status).toBe(429);
  });
});
