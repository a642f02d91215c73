import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, inject, it } from "vitest";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import { exitCodeOf, killStarted, startMain, waitFor } from "../helpers/process.js";
import { startRedisProcess } from "../helpers/redis-process.js";
import { freePort, startRedisServer } from "../helpers/redis-server.js";

afterEach(killStarted);

/** A GET over `agent` (one kept-alive socket), with whether that socket was reused. */
function get(
  agent: http.Agent,
  port: number,
  path: string,
): Promise<{ status: number; body: unknown; reused: boolean; connection: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: "127.0.0.1", port, path, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown,
          reused: request.reusedSocket,
          connection: String(response.headers.connection ?? ""),
        }),
      );
    });
    request.on("error", reject);
  });
}

/** Resolves with the error code of a new TCP connection to `port`, or "connected". */
function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
  });
}

/**
 * Starts a POST /auth/validate on a connection of its own and sends its headers and the
 * first bytes of its body; resolves once the server holds the request (it answered the
 * `Expect: 100-continue`, which Node does as it hands the request on), which stays in flight
 * until `finish` sends the rest.
 */
async function inFlightValidate(
  port: number,
): Promise<{ response: Promise<[http.IncomingMessage]>; finish: () => void }> {
  const body = JSON.stringify({ token: "kc_sess_unknown" });
  const request = http.request({
    host: "127.0.0.1",
    port,
    path: "/auth/validate",
    method: "POST",
    agent: false,
    headers: {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      expect: "100-continue",
    },
  });
  const response = once(request, "response") as Promise<[http.IncomingMessage]>;
  const held = once(request, "continue", { signal: AbortSignal.timeout(5_000) });
  request.flushHeaders();
  await held;
  request.write(body.slice(0, 5));
  return { response, finish: () => request.end(body.slice(5)) };
}

/** Polls `condition` every 20 ms for up to 5 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("the keycard process", () => {
  it("starts in dev mode with a printed admin token and demo user that work as printed", async () => {
    const started = startMain({ KEYCARD_DEV: "1", LOG_LEVEL: "debug" });
    const banner = await waitFor(started, /DEMO_PASSWORD=(\S+)/);
    const url = (await waitFor(started, /KEYCARD_URL=(\S+)/))[1];
    const admin = (await waitFor(started, /KEYCARD_ADMIN_TOKEN=(\S+)/))[1];
    expect(started.output()).toContain("DEV MODE");

    const login = await fetch(`${url}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "demo@keycard.dev", password: banner[1] }),
    });
    expect(login.status).toBe(200);
    const { session_token: token } = (await login.json()) as { session_token: string };

    const created = await fetch(`${url}/admin/users`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({
        email: "bob@example.com",
        display_name: "Bob",
        password: "hunter2hunter2",
      }),
    });
    expect(created.status).toBe(200);
    const health = await fetch(`${url}/health`, { headers: { "x-session-token": token } });
    expect(health.status).toBe(200);

    const logs = started
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"));
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join("\n")).not.toContain(token);
    expect(logs.join("\n")).not.toContain("hunter2hunter2");
  });

  it("drains an in-flight request on SIGTERM, then exits 0", async () => {
    const started = startMain({ KEYCARD_DEV: "1" });
    const url = new URL((await waitFor(started, /KEYCARD_URL=(\S+)/))[1] ?? "");
    const inFlight = await inFlightValidate(Number(url.port));
    started.child.kill("SIGTERM");
    await waitFor(started, /shutting down/);
    expect(started.child.exitCode).toBeNull();
    inFlight.finish();
    const [incoming] = await inFlight.response;
    expect(incoming.statusCode).toBe(200);
    incoming.resume();
    expect(await exitCodeOf(started.child)).toBe(0);
    expect(started.output()).toContain("stopped");
  });

  it("reports not ready (/readyz 503, gRPC health NOT_SERVING) as soon as SIGTERM starts the drain, while /healthz and in-flight requests still work", async () => {
    const started = startMain({ KEYCARD_DEV: "1" });
    const url = new URL((await waitFor(started, /KEYCARD_URL=(\S+)/))[1] ?? "");
    const port = Number(url.port);
    // Two kept-alive HTTP/1.1 connections, as a load balancer's prober holds them.
    const readyAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const liveAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    // A gRPC health Watch on an HTTP/2 session, as a gRPC client's health checking holds it.
    const health = createClient(Health, createGrpcTransport({ baseUrl: url.origin }));
    const statuses: ServingStatus[] = [];
    const watching = (async () => {
      for await (const answer of health.watch({ service: "" })) {
        statuses.push(answer.status);
      }
    })();
    try {
      expect(await get(readyAgent, port, "/readyz")).toMatchObject({ status: 200 });
      expect(await get(liveAgent, port, "/healthz")).toMatchObject({ status: 200 });
      await until(() => statuses.length > 0);
      expect(statuses).toEqual([ServingStatus.SERVING]);

      const inFlight = await inFlightValidate(port);

      started.child.kill("SIGTERM");
      await waitFor(started, /shutting down/);
      // The Watch says NOT_SERVING at once and ends, so it does not hold the drain open.
      await watching;
      expect(statuses).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
      expect(await get(readyAgent, port, "/readyz")).toEqual({
        status: 503,
        body: { status: "draining", error: "SHUTTING_DOWN" },
        reused: true,
        connection: "close",
      });
      expect(await get(liveAgent, port, "/healthz")).toEqual({
        status: 200,
        body: { status: "ok" },
        reused: true,
        connection: "close",
      });
      // The port no longer accepts: a kubelet probe (a new connection each time) fails too.
      expect(await connectOutcome(port)).toBe("ECONNREFUSED");
      expect(started.child.exitCode).toBeNull();

      inFlight.finish();
      const [incoming] = await inFlight.response;
      expect(incoming.statusCode).toBe(200);
      incoming.resume();
      expect(await exitCodeOf(started.child)).toBe(0);
    } finally {
      readyAgent.destroy();
      liveAgent.destroy();
    }
  });

  it("reports not ready while Redis is unreachable, and live all the same", async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const redisPort = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const started = startMain({
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      KEYCARD_ADMIN_TOKEN: "an-admin-token-long-enough-1234",
    });
    const port = Number((await waitFor(started, /"port":(\d+)/))[1]);
    const agent = new http.Agent({ keepAlive: false });
    try {
      expect(await get(agent, port, "/readyz")).toMatchObject({
        status: 503,
        body: { status: "unavailable", error: "STORE_UNAVAILABLE" },
      });
      expect(await get(agent, port, "/healthz")).toMatchObject({ status: 200 });
      const health = createClient(
        Health,
        createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }),
      );
      expect((await health.check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
    } finally {
      agent.destroy();
    }
    started.child.kill("SIGTERM");
    expect(await exitCodeOf(started.child)).toBe(0);
  }, 30_000);

  it("says that Redis rejected REDIS_URL's password, not merely that it is unreachable", async () => {
    const redisPort = await freePort();
    const redis = await startRedisProcess(
      redisPort,
      ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--requirepass", "right"],
      { password: "right" },
    );
    try {
      const started = startMain({
        REDIS_URL: `redis://:wrong@127.0.0.1:${redisPort}`,
        KEYCARD_ADMIN_TOKEN: "an-admin-token-long-enough-1234",
      });
      await waitFor(started, /Redis rejected the credentials \(WRONGPASS\)/);
      await waitFor(started, /"port":(\d+)/);
      expect(started.output()).not.toContain("wrong@");
      started.child.kill("SIGTERM");
      expect(await exitCodeOf(started.child)).toBe(0);
    } finally {
      await redis.kill();
    }
  }, 30_000);

  it("logs a lost Redis connection, and its return once Redis is back", async () => {
    const redis = await startRedisServer();
    try {
      const started = startMain({
        REDIS_URL: redis.url,
        KEYCARD_ADMIN_TOKEN: "an-admin-token-long-enough-1234",
      });
      await waitFor(started, /"port":(\d+)/);
      await redis.stop();
      await waitFor(started, /redis connection error/);
      expect(started.output()).not.toContain("Redis connection restored");
      await redis.restart();
      await waitFor(started, /"event":"store_reconnected".*Redis connection restored/);
      started.child.kill("SIGTERM");
      expect(await exitCodeOf(started.child)).toBe(0);
    } finally {
      await redis.stop();
    }
  }, 30_000);

  it("uses Redis when REDIS_URL is set and says so", async () => {
    const started = startMain({
      REDIS_URL: inject("redisUrl"),
      REDIS_KEY_PREFIX: "main-process-test",
      KEYCARD_ADMIN_TOKEN: "an-admin-token-long-enough-1234",
    });
    await waitFor(started, /"store":"redis"/);
    expect(started.output()).not.toContain("DEV MODE");
    started.child.kill("SIGTERM");
    expect(await exitCodeOf(started.child)).toBe(0);
  });

  it("refuses to start without REDIS_URL unless dev mode is asked for, printing no secret", async () => {
    for (const env of [{}, { NODE_ENV: "production" }, { KEYCARD_DEV: "yes" }]) {
      const started = startMain(env);
      expect(await exitCodeOf(started.child)).toBe(2);
      const output = started.output();
      expect(output).toContain(
        Object.keys(env).includes("KEYCARD_DEV") ? "KEYCARD_DEV=" : "REDIS_URL is not set",
      );
      expect(output).not.toContain("KEYCARD_ADMIN_TOKEN=");
      expect(output).not.toContain("DEV MODE");
    }
  });

  it("says in one line that its port is taken and how to choose another, exit code 1", async () => {
    const taken = net.createServer();
    taken.listen(0, "127.0.0.1");
    await once(taken, "listening");
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const started = startMain({ KEYCARD_DEV: "1", PORT: String(port), HOST: "127.0.0.1" });
      expect(await exitCodeOf(started.child)).toBe(1);
      const output = started.output();
      expect(output).toContain(`keycard: Port ${port} on 127.0.0.1 is already in use`);
      expect(output).toContain("PORT=8081 npm start");
      expect(output).not.toMatch(/\n\s+at /);
      expect(output).not.toContain("EADDRINUSE");
    } finally {
      taken.close();
    }
  });

  it("refuses invalid settings with a clear message and exit code 2", async () => {
    const started = startMain({
      SESSION_DURATION: "forever",
      TOKEN_PREFIX: "Bad Prefix!",
      PORT: "99999",
    });
    expect(await exitCodeOf(started.child)).toBe(2);
    const output = started.output();
    expect(output).toContain('SESSION_DURATION="forever"');
    expect(output).toContain("TOKEN_PREFIX");
    expect(output).toContain("PORT");
    expect(output).not.toMatch(/\n\s+at /);
  });
});
