import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, inject, it } from "vitest";
import { killStarted, type Started, startMain, waitFor } from "../helpers/process.js";

afterEach(killStarted);

async function replica(prefix: string): Promise<{ started: Started; url: string }> {
  const started = startMain({
    REDIS_URL: inject("redisUrl"),
    REDIS_KEY_PREFIX: prefix,
    KEYCARD_ADMIN_TOKEN: "rate-limit-admin-token-0123456789",
    LOGIN_RATE_LIMIT: "5",
  });
  const [, port] = await waitFor(started, /"port":(\d+)/);
  return { started, url: `http://127.0.0.1:${port}` };
}

function failedLogin(url: string): Promise<Response> {
  return fetch(`${url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "nobody@example.com", password: "guess" }),
  });
}

describe("login rate limits across two keycard processes sharing one Redis", () => {
  it("count attempts on both replicas together and refuse the sixth on either", async () => {
    const prefix = `rl-${randomUUID()}`;
    const [a, b] = await Promise.all([replica(prefix), replica(prefix)]);
    const statuses: number[] = [];
    for (const url of [a.url, b.url, a.url, b.url, a.url]) {
      statuses.push((await failedLogin(url)).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401]);

    const refused = await failedLogin(b.url);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({
      success: false,
      error: "Too Many Requests",
      message: "Too many login attempts. Please try again later.",
    });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused.headers.get("x-ratelimit-limit")).toBe("5");
    expect(refused.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(Number(refused.headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000);

    const overConnect = await fetch(`${a.url}/keycard.v1.AuthService/Login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "nobody@example.com", password: "guess" }),
    });
    expect(overConnect.status).toBe(429);
    expect(await overConnect.json()).toMatchObject({
      code: "resource_exhausted",
      message: expect.stringMatching(/^Too many login attempts; try again in \d+ seconds?$/),
    });

    const overRest = await fetch(`${b.url}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "nobody@example.com", password: "guess" }),
    });
    expect(overRest.status).toBe(429);
    const wait = Number(overRest.headers.get("retry-after"));
    expect(wait).toBeGreaterThan(0);
    expect(await overRest.json()).toEqual({
      error: "RATE_LIMITED",
      message: `Too many login attempts; try again in ${wait} second${wait === 1 ? "" : "s"}`,
      retry_after_seconds: wait,
    });
  });
});
