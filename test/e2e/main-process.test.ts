import { once } from "node:events";
import http from "node:http";
import { afterEach, describe, expect, inject, it } from "vitest";
import { exitCodeOf, killStarted, startMain, waitFor } from "../helpers/process.js";

afterEach(killStarted);

describe("the keycard process", () => {
  it("starts in dev mode with a printed admin token and demo user that work as printed", async () => {
    const started = startMain({ LOG_LEVEL: "debug" });
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
    const started = startMain({});
    const url = new URL((await waitFor(started, /KEYCARD_URL=(\S+)/))[1] ?? "");
    const body = JSON.stringify({ token: "kc_sess_unknown" });
    const request = http.request({
      host: "127.0.0.1",
      port: url.port,
      path: "/auth/validate",
      method: "POST",
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    });
    const response = once(request, "response") as Promise<[http.IncomingMessage]>;
    request.write(body.slice(0, 5));
    await new Promise((resolve) => setTimeout(resolve, 200));
    started.child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(started.child.exitCode).toBeNull();
    request.end(body.slice(5));
    const [incoming] = await response;
    expect(incoming.statusCode).toBe(200);
    incoming.resume();
    expect(await exitCodeOf(started.child)).toBe(0);
    expect(started.output()).toContain("stopped");
  });

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
