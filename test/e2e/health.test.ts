import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKeycard, type TestKeycard } from "../helpers/keycard.js";
import { type RedisServer, startRedisServer } from "../helpers/redis-server.js";
import { send } from "../helpers/rest.js";

/**
 * The standard gRPC health protocol as any outside checker speaks it: grpc-js with the
 * upstream health.proto loaded at run time, no keycard code involved.
 */
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const definition = grpc.loadPackageDefinition(
  protoLoader.loadSync("grpc/health/v1/health.proto", {
    keepCase: true,
    enums: String,
    defaults: true,
    includeDirs: [`${repoRoot}proto/third_party`],
  }),
);
const healthV1 = ((definition.grpc as grpc.GrpcObject).health as grpc.GrpcObject)
  .v1 as grpc.GrpcObject;
const HealthClient = healthV1.Health as grpc.ServiceClientConstructor;

type Status = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

interface HealthStub extends grpc.Client {
  Check(
    request: { service: string },
    callback: (error: grpc.ServiceError | null, response?: { status: Status }) => void,
  ): grpc.ClientUnaryCall;
  Watch(request: { service: string }): grpc.ClientReadableStream<{ status: Status }>;
}

/** Calls Check; resolves with the status, or the gRPC error code when it fails. */
function check(client: HealthStub, service: string): Promise<Status | grpc.status> {
  return new Promise((resolve) => {
    client.Check({ service }, (error, response) => {
      resolve(error === null ? (response?.status ?? "UNKNOWN") : error.code);
    });
  });
}

/** An open Watch call and every status it has received so far. */
interface Watcher {
  readonly received: Status[];
  /** Resolves once `status` has arrived after the first `after` messages. */
  next(status: Status, after: number, limitMs?: number): Promise<void>;
  cancel(): void;
}

function watch(client: HealthStub, service: string): Watcher {
  const call = client.Watch({ service });
  const received: Status[] = [];
  call.on("data", (message: { status: Status }) => received.push(message.status));
  call.on("error", () => {});
  return {
    received,
    next: async (status, after, limitMs = 5_000) => {
      const deadline = Date.now() + limitMs;
      while (!received.slice(after).includes(status)) {
        if (Date.now() > deadline) {
          throw new Error(`Watch did not report ${status}; received ${received.join(", ")}`);
        }
        await sleep(50);
      }
    },
    cancel: () => call.cancel(),
  };
}

/** Retries `attempt` every 200 ms until it yields `want` or `limitMs` passes; the last result. */
async function pollUntil<T>(attempt: () => Promise<T>, want: T, limitMs = 10_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  let result = await attempt();
  while (result !== want && Date.now() < deadline) {
    await sleep(200);
    result = await attempt();
  }
  return result;
}

describe("health checking: grpc.health.v1 and the Kubernetes probes", () => {
  let redis: RedisServer;
  let keycard: TestKeycard;
  let client: HealthStub;
  const probe = async (path: string) => {
    const reply = await send(`${keycard.baseUrl}${path}`);
    return { status: reply.status, body: JSON.parse(reply.text) as unknown };
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    keycard = await startKeycard({ redisUrl: redis.url });
    client = new HealthClient(
      `127.0.0.1:${keycard.port}`,
      grpc.credentials.createInsecure(),
    ) as unknown as HealthStub;
  });
  afterAll(async () => {
    client?.close();
    await keycard?.close();
    await redis?.stop();
  });

  it("answers Check SERVING, without credentials, for the server and each keycard service", async () => {
    expect(await check(client, "")).toBe("SERVING");
    expect(await check(client, "keycard.v1.AuthService")).toBe("SERVING");
    expect(await check(client, "keycard.v1.AdminService")).toBe("SERVING");
  });

  it("answers Check NOT_FOUND and Watch SERVICE_UNKNOWN for a service keycard does not serve", async () => {
    expect(await check(client, "no.such.Service")).toBe(grpc.status.NOT_FOUND);
    const watcher = watch(client, "no.such.Service");
    try {
      await watcher.next("SERVICE_UNKNOWN", 0);
    } finally {
      watcher.cancel();
    }
  });

  it("answers /healthz and /readyz 200 while Redis is up, and only to GET", async () => {
    expect(await probe("/healthz")).toEqual({ status: 200, body: { status: "ok" } });
    expect(await probe("/readyz")).toEqual({ status: 200, body: { status: "ready" } });
    const post = await send(`${keycard.baseUrl}/readyz`, { method: "POST" });
    expect(post.status).toBe(405);
  });

  it("reports NOT_SERVING while Redis is down and SERVING again once it is back", async () => {
    const watcher = watch(client, "");
    try {
      await watcher.next("SERVING", 0);
      expect(watcher.received).toEqual(["SERVING"]);

      await redis.stop();
      await watcher.next("NOT_SERVING", 1);
      expect(await check(client, "")).toBe("NOT_SERVING");
      expect(await check(client, "keycard.v1.AuthService")).toBe("NOT_SERVING");
      expect(await probe("/readyz")).toEqual({
        status: 503,
        body: { status: "unavailable", error: "STORE_UNAVAILABLE" },
      });
      expect(await probe("/healthz")).toEqual({ status: 200, body: { status: "ok" } });

      const seen = watcher.received.length;
      await redis.restart();
      expect(await pollUntil(() => check(client, ""), "SERVING")).toBe("SERVING");
      await watcher.next("SERVING", seen);
      expect(await pollUntil(async () => (await probe("/readyz")).status, 200)).toBe(200);
      expect(await probe("/healthz")).toEqual({ status: 200, body: { status: "ok" } });
      expect(watcher.received).toEqual(["SERVING", "NOT_SERVING", "SERVING"]);
    } finally {
      watcher.cancel();
    }
  });
});
