import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { testAdminToken } from "../helpers/keycard.js";
import { killStarted, type Started, startMain, waitFor } from "../helpers/process.js";
import { type RedisServer, startRedisServer } from "../helpers/redis-server.js";

/** What one call answered and how long it took. */
interface Timed {
  readonly answer: string;
  readonly ms: number;
}

async function timed(call: () => Promise<string>): Promise<Timed> {
  const started = performance.now();
  const answer = await call().catch((error: unknown) => `threw ${String(error)}`);
  return { answer, ms: performance.now() - started };
}

async function restStatus(url: string, body: unknown): Promise<string> {
  const reply = await fetch(url, { method: "POST", body: JSON.stringify(body) });
  const json = (await reply.json()) as { error?: string };
  return `${reply.status} ${json.error ?? ""}`.trim();
}

function rpcAnswer(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => "ok",
    (error: unknown) => Code[ConnectError.from(error).code] ?? "unknown",
  );
}

describe("keycard on the production defaults when Redis freezes (SIGSTOP)", () => {
  let redis: RedisServer;
  let started: Started;
  let base: string;
  const user = { email: `frozen-${randomUUID()}@example.com`, password: "frozen test password" };
  const tokens: string[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    started = startMain({
      REDIS_URL: redis.url,
      KEYCARD_ADMIN_TOKEN: testAdminToken,
      KEYCARD_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString("hex"),
    });
    const port = Number((await waitFor(started, /"port":(\d+).*keycard listening/))[1]);
    base = `http://127.0.0.1:${port}`;
    const created = await fetch(`${base}/admin/users`, {
      method: "POST",
      headers: { authorization: `Bearer ${testAdminToken}` },
      body: JSON.stringify({ ...user, display_name: "Frozen" }),
    });
    expect(created.status).toBe(200);
    for (let i = 0; i < 3; i += 1) {
      const login = await fetch(`${base}/auth/login`, {
        method: "POST",
        body: JSON.stringify(user),
      });
      tokens.push(((await login.json()) as { session_token: string }).session_token);
    }
  });

  afterAll(async () => {
    killStarted();
    redis?.thaw();
    await redis?.stop();
  });

  it("answers 503 within 1.5 s at Login and Validate over REST, Connect and gRPC, then recovers", async () => {
    const connect = createClient(
      AuthService,
      createConnectTransport({ baseUrl: base, httpVersion: "1.1" }),
    );
    const grpc = createClient(AuthService, createGrpcTransport({ baseUrl: base }));
    redis.freeze();
    // Tokens never validated before, so no cache can answer them.
    const [restToken = "", connectToken = "", grpcToken = ""] = tokens;
    const answers = {
      restLogin: await timed(() => restStatus(`${base}/auth/login`, user)),
      restValidate: await timed(() => restStatus(`${base}/auth/validate`, { token: restToken })),
      connectLogin: await timed(() => rpcAnswer(connect.login(user))),
      connectValidate: await timed(() => rpcAnswer(connect.validate({ token: connectToken }))),
      grpcValidate: await timed(() => rpcAnswer(grpc.validate({ token: grpcToken }))),
    };
    expect(Object.values(answers).map(({ answer }) => answer)).toEqual([
      "503 STORE_UNAVAILABLE",
      "503 STORE_UNAVAILABLE",
      "Unavailable",
      "Unavailable",
      "Unavailable",
    ]);
    for (const [door, { ms }] of Object.entries(answers)) {
      expect({ door, under1500: ms < 1_500 }).toEqual({ door, under1500: true });
    }

    redis.thaw();
    const deadline = Date.now() + 10_000;
    let after = "";
    while (Date.now() < deadline && after !== "200") {
      const reply = await fetch(`${base}/auth/validate`, {
        method: "POST",
        body: JSON.stringify({ token: restToken }),
      });
      after = String(reply.status);
      await reply.arrayBuffer();
    }
    expect(after).toBe("200");
  });
});
