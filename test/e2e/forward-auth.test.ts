import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  loginRest,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { freePort } from "../helpers/redis-server.js";
import { bearer, jsonPost, type Reply, send } from "../helpers/rest.js";
import { findOnPath } from "../helpers/tools.js";

const nginxBinary = findOnPath("nginx");

/** Logs in a fresh user with two roles; returns the user and the login reply. */
async function signedIn(keycard: TestKeycard) {
  const user = await createTestUser(keycard, { roles: ["user", "editor"] });
  return { user, login: await loginRest(keycard, user) };
}

async function revoked(keycard: TestKeycard, token: string): Promise<string> {
  const logout = await send(`${keycard.baseUrl}/auth/logout`, jsonPost("", bearer(token)));
  expect(logout.status).toBe(200);
  return token;
}

function tampered(token: string): string {
  return `${token.slice(0, -1)}${token.at(-1) === "A" ? "B" : "A"}`;
}

describe("GET /auth/verify", () => {
  let keycard: TestKeycard;
  beforeAll(async () => {
    keycard = await startKeycard();
  });
  afterAll(() => keycard.close());

  const verify = (headers: Record<string, string>, method = "GET"): Promise<Reply> =>
    send(`${keycard.baseUrl}/auth/verify`, { method, headers });

  it("answers 200 with identity headers and an empty body for each token carrier", async () => {
    const loggedInAt = Math.floor(Date.now() / 1000);
    const { user, login } = await signedIn(keycard);
    const carriers = [
      bearer(login.session_token),
      { "x-session-token": login.session_token },
      { cookie: `theme=dark; auth-token=${login.session_token}` },
    ];
    for (const headers of carriers) {
      const reply = await verify(headers);
      expect(reply.status).toBe(200);
      expect(reply.text).toBe("");
      expect(reply.headers.get("x-auth-user")).toBe(user.id);
      expect(reply.headers.get("x-auth-email")).toBe(user.email);
      expect(reply.headers.get("x-auth-roles")).toBe("user,editor");
      expect(reply.headers.get("x-auth-session")).toBe(login.session_id);
      expect(reply.headers.get("x-auth-aal")).toBe("1");
      const authTime = Number(reply.headers.get("x-auth-time"));
      expect(authTime).toBeGreaterThanOrEqual(loggedInAt - 1);
      expect(authTime).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
      expect(reply.headers.get("cache-control")).toBe("no-store");
    }
  });

  it("answers the same to the other methods nginx may forward", async () => {
    const { login } = await signedIn(keycard);
    for (const method of ["POST", "DELETE", "HEAD"]) {
      expect((await verify(bearer(login.session_token), method)).status).toBe(200);
    }
  });

  it("answers 401 {error, message} without a token or with an invalid one", async () => {
    const { login } = await signedIn(keycard);
    const cases: [Record<string, string>, string][] = [
      [{}, "UNAUTHENTICATED"],
      [{ cookie: "other=1" }, "UNAUTHENTICATED"],
      [bearer("garbage"), "SESSION_INVALID"],
      [bearer(tampered(login.session_token)), "SESSION_INVALID"],
      [{ cookie: `auth-token=${tampered(login.session_token)}` }, "SESSION_INVALID"],
      [bearer(await revoked(keycard, login.session_token)), "SESSION_REVOKED"],
    ];
    for (const [headers, error] of cases) {
      const reply = await verify(headers);
      expect(reply.status).toBe(401);
      expect(reply.body).toEqual({ error, message: expect.any(String) });
      expect(reply.headers.get("x-auth-user")).toBeNull();
    }
  });
});

describe("GET /auth/verify with expired tokens and credentials of the wrong kind", () => {
  const clock = new FakeClock();
  let keycard: TestKeycard;
  beforeAll(async () => {
    keycard = await startKeycard({ store: "memory", clock });
  });
  afterAll(() => keycard.close());

  it("answers 401 SESSION_EXPIRED once the session has expired", async () => {
    const { login } = await signedIn(keycard);
    const verify = () =>
      send(`${keycard.baseUrl}/auth/verify`, { headers: bearer(login.session_token) });
    expect((await verify()).status).toBe(200);
    clock.advance(13 * 3_600_000);
    const reply = await verify();
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({ error: "SESSION_EXPIRED", message: "Session token expired" });
  });

  it("asks an old or one-factor session to step up with an RFC 9470 challenge", async () => {
    const { login } = await signedIn(keycard);
    const verify = (query: string) =>
      send(`${keycard.baseUrl}/auth/verify${query}`, { headers: bearer(login.session_token) });
    expect((await verify("?max_age=300")).status).toBe(200);
    clock.advance(301_000);
    const old = await verify("?max_age=300");
    expect(old.status).toBe(401);
    expect(old.body).toEqual({ error: "STEP_UP_REQUIRED", message: expect.any(String) });
    expect(old.headers.get("www-authenticate")).toBe(
      'Bearer realm="keycard", error="insufficient_user_authentication", error_description="A more recent or stronger authentication is required", max_age="300"',
    );
    expect(old.headers.get("x-auth-user")).toBeNull();
    const weak = await verify("?aal=2");
    expect(weak.status).toBe(401);
    expect(weak.headers.get("www-authenticate")).toContain('acr_values="aal2"');
    expect((await verify("?aal=1")).status).toBe(200);
  });

  it.each([
    ["?max_age=soon", "max_age must be a whole number of seconds"],
    ["?max_age=-5", "max_age must be a whole number of seconds"],
    ["?max_age=99999999999", "max_age must be a whole number of seconds"],
    ["?aal=3", "aal must be 1 or 2"],
  ])("refuses %s with 400, never a 500", async (query, message) => {
    const { login } = await signedIn(keycard);
    const reply = await send(`${keycard.baseUrl}/auth/verify${query}`, {
      headers: bearer(login.session_token),
    });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ error: "INVALID_ARGUMENT", message });
  });

  it("answers 401 to an API key presented as a session token in session mode", async () => {
    const { user } = await signedIn(keycard);
    const created = await send(
      `${keycard.baseUrl}/admin/users/${user.id}/api-keys`,
      jsonPost({ name: "not-a-session", skip_totp: true }, bearer(testAdminToken)),
    );
    expect(created.status).toBe(200);
    const reply = await send(`${keycard.baseUrl}/auth/verify`, {
      headers: bearer(String(created.body.key)),
    });
    expect(reply.status).toBe(401);
    expect(reply.headers.get("x-auth-user")).toBeNull();
  });
});

async function waitForPort(port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) {
      return;
    }
    if (Date.now() > until) {
      throw new Error(`nothing listens on port ${port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function nginxConf(dir: string, port: number, keycardPort: number, upstreamPort: number): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location / {
      auth_request /_auth;
      auth_request_set $auth_user $upstream_http_x_auth_user;
      auth_request_set $auth_email $upstream_http_x_auth_email;
      auth_request_set $auth_roles $upstream_http_x_auth_roles;
      auth_request_set $auth_session $upstream_http_x_auth_session;
      proxy_set_header X-Auth-User $auth_user;
      proxy_set_header X-Auth-Email $auth_email;
      proxy_set_header X-Auth-Roles $auth_roles;
      proxy_set_header X-Auth-Session $auth_session;
      proxy_pass http://127.0.0.1:${upstreamPort};
    }
    location = /_auth {
      internal;
      proxy_pass http://127.0.0.1:${keycardPort}/auth/verify;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
    }
  }
}
`;
}

describe.skipIf(nginxBinary === undefined)(
  "GET /auth/verify behind nginx auth_request (skipped when Debian's nginx is not installed)",
  () => {
    let keycard: TestKeycard;
    let upstream: http.Server;
    let nginx: ChildProcess;
    let dir: string;
    let proxyUrl: string;
    const seen: http.IncomingHttpHeaders[] = [];

    beforeAll(async () => {
      keycard = await startKeycard();
      upstream = http.createServer((request, response) => {
        seen.push(request.headers);
        const identity = Object.fromEntries(
          Object.entries(request.headers).filter(([name]) => name.startsWith("x-auth-")),
        );
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify(identity));
      });
      await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
      const upstreamPort = (upstream.address() as AddressInfo).port;
      const port = await freePort();
      dir = mkdtempSync(join(tmpdir(), "keycard-nginx-"));
      const conf = join(dir, "nginx.conf");
      writeFileSync(conf, nginxConf(dir, port, keycard.port, upstreamPort));
      nginx = spawn(nginxBinary ?? "nginx", ["-p", dir, "-c", conf], { stdio: "ignore" });
      await waitForPort(port, 10_000);
      proxyUrl = `http://127.0.0.1:${port}`;
    });

    afterAll(async () => {
      if (nginx?.exitCode === null) {
        const exited = new Promise((resolve) => nginx.once("exit", resolve));
        nginx.kill("SIGTERM");
        await exited;
      }
      await new Promise((resolve) => upstream?.close(resolve));
      await keycard?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("passes the identity of a valid token to the upstream", async () => {
      const { user, login } = await signedIn(keycard);
      for (const headers of [
        bearer(login.session_token),
        { "x-session-token": login.session_token },
        { cookie: `auth-token=${login.session_token}` },
      ]) {
        const reply = await send(`${proxyUrl}/app/page`, {
          headers: { ...headers, "x-auth-user": "spoofed" },
        });
        expect(reply.status).toBe(200);
        expect(reply.body).toEqual({
          "x-auth-user": user.id,
          "x-auth-email": user.email,
          "x-auth-roles": "user,editor",
          "x-auth-session": login.session_id,
        });
      }
    });

    it("answers 401 without or with an invalid token, and never calls the upstream", async () => {
      const { login } = await signedIn(keycard);
      const before = seen.length;
      const refused = [
        {},
        bearer("garbage"),
        bearer(tampered(login.session_token)),
        { cookie: "auth-token=kc_sess_unknown" },
        bearer(await revoked(keycard, login.session_token)),
      ];
      for (const headers of refused) {
        const reply = await fetch(`${proxyUrl}/app/page`, { headers });
        await reply.arrayBuffer();
        expect(reply.status).toBe(401);
      }
      expect(seen.length).toBe(before);
    });
  },
);
