import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestUser,
  loginRest,
  postJson,
  startKeycard,
  type TestKeycard,
} from "../helpers/keycard.js";
import { exitCodeOf, type Started, waitFor } from "../helpers/process.js";
import { bearer, type Reply, send } from "../helpers/rest.js";
import { pythonWith } from "../helpers/tools.js";

/**
 * clients/python (issue 16, item 4) against a real keycard: the package's own unit tests,
 * then its example FastAPI app served by uvicorn as another process, called over HTTP the
 * way a browser or another service would.
 */
const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const client = join(repoRoot, "clients/python");
/** A python3 with Debian's python3-fastapi (and its uvicorn), python3-jwt, python3-httpx. */
const python = pythonWith(["fastapi", "uvicorn", "jwt", "httpx", "cryptography"]) ?? "";
const pythonEnv = {
  PATH: process.env.PATH ?? "",
  PYTHONPATH: `${client}/src:${client}/examples`,
  PYTHONDONTWRITEBYTECODE: "1",
};
const stepUp =
  'Bearer error="insufficient_user_authentication", error_description="A more recent or stronger authentication is required"';
const invalidToken = 'Bearer error="invalid_token"';

/** Resolves once `deadline` (epoch ms) has passed. */
async function waitUntil(deadline: number): Promise<void> {
  const left = deadline - Date.now();
  if (left > 0) {
    await sleep(left);
  }
}

/** The token with one character of its signature changed. */
function tampered(jwt: string): string {
  const [header, payload, signature = ""] = jwt.split(".");
  const flipped = signature[10] === "A" ? "B" : "A";
  return `${header}.${payload}.${signature.slice(0, 10)}${flipped}${signature.slice(11)}`;
}

describe.skipIf(python === "")(
  "the FastAPI package of clients/python against a real keycard (skipped when Debian's python3-fastapi, python3-jwt or python3-httpx is not installed)",
  () => {
    let keycard: TestKeycard;
    let app: Started;
    let appUrl: string;

    beforeAll(async () => {
      keycard = await startKeycard();
      const child = spawn(python, [join(repoRoot, "test/fixtures/python-fastapi/serve.py")], {
        env: { ...pythonEnv, KEYCARD_URL: keycard.baseUrl, RECENT_LOGIN_SECONDS: "1" },
      });
      let output = "";
      const append = (chunk: Buffer): void => {
        output += chunk.toString();
      };
      child.stdout.on("data", append);
      child.stderr.on("data", append);
      app = { child, output: () => output };
      appUrl = `http://127.0.0.1:${(await waitFor(app, /^(\d+)$/m))[1]}`;
    });

    afterAll(async () => {
      if (app !== undefined) {
        app.child.kill("SIGTERM");
        await exitCodeOf(app.child);
      }
      await keycard?.close();
    });

    const call = (path: string, headers: Record<string, string> = {}, method = "GET") =>
      send(`${appUrl}${path}`, { method, headers });
    const challenge = (reply: Reply) => [reply.status, reply.headers.get("www-authenticate")];
    const authTimeOf = async (token: string): Promise<number> => {
      const answer = await postJson(`${keycard.baseUrl}/auth/validate`, { token });
      return Date.parse(String(answer.body.auth_time));
    };

    it("passes the package's own unit tests", async () => {
      const { stderr } = await run(python, ["-m", "unittest", "discover", "-s", "tests"], {
        cwd: client,
        env: pythonEnv,
      });
      expect(stderr).toMatch(/^Ran [1-9]\d* tests/m);
      expect(stderr).toMatch(/^OK$/m);
    });

    it("admits a session token in Authorization: Bearer or X-Session-Token", async () => {
      const user = await createTestUser(keycard, { roles: ["user", "editor"] });
      const login = await loginRest(keycard, user);
      for (const headers of [
        bearer(login.session_token),
        { "x-session-token": login.session_token },
      ]) {
        const me = await call("/me", headers);
        expect(me.status).toBe(200);
        expect(me.body).toMatchObject({
          sub: user.id,
          email: user.email,
          roles: ["user", "editor"],
          session_id: login.session_id,
          amr: ["pwd"],
          aal: 1,
          via: "session",
        });
      }
      const hello = await call("/protected-endpoint", bearer(login.session_token));
      expect(hello.body).toEqual({ message: `Hello, ${user.email}` });
    });

    it("refuses a logged-out token with invalid_token, and no token with a bare challenge", async () => {
      const login = await loginRest(keycard, await createTestUser(keycard));
      const logout = await send(`${keycard.baseUrl}/auth/logout`, {
        method: "POST",
        headers: { "x-session-token": login.session_token },
      });
      expect(logout.status).toBe(200);
      expect(challenge(await call("/me", bearer(login.session_token)))).toEqual([
        401,
        invalidToken,
      ]);
      expect(challenge(await call("/me"))).toEqual([401, "Bearer"]);
    });

    it("demands a step-up of a session older than max_age, and admits it after Reauthenticate", async () => {
      const user = await createTestUser(keycard);
      const login = await loginRest(keycard, user);
      await waitUntil((await authTimeOf(login.session_token)) + 2_000);
      const stale = await call("/account/email", bearer(login.session_token), "POST");
      expect(challenge(stale)).toEqual([401, `${stepUp}, max_age="1"`]);
      expect((await call("/protected-endpoint", bearer(login.session_token))).status).toBe(200);

      const stepped = await postJson(
        `${keycard.baseUrl}/auth/reauthenticate`,
        { password: user.password },
        bearer(login.session_token),
      );
      expect(stepped.status).toBe(200);
      const fresh = bearer(String(stepped.body.session_token));
      expect((await call("/account/email", fresh, "POST")).status).toBe(200);
    });

    it("demands two factors of a password-only session where aal=2 is asked", async () => {
      const login = await loginRest(keycard, await createTestUser(keycard));
      const payout = await call("/payouts", bearer(login.session_token), "POST");
      expect(challenge(payout)).toEqual([401, `${stepUp}, acr_values="aal2"`]);
    });

    it("verifies a JWT from POST /auth/jwt offline, refuses it tampered, and applies max_age to it", async () => {
      const user = await createTestUser(keycard);
      const login = await loginRest(keycard, user);
      const issued = await postJson(`${keycard.baseUrl}/auth/jwt`, {}, bearer(login.session_token));
      expect(issued.status).toBe(200);
      const jwt = String(issued.body.token);

      const me = await call("/me", bearer(jwt));
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({
        sub: user.id,
        email: user.email,
        session_id: login.session_id,
        amr: ["pwd"],
        aal: 1,
        via: "jwt",
      });
      expect(challenge(await call("/me", bearer(tampered(jwt))))).toEqual([401, invalidToken]);

      await waitUntil((await authTimeOf(login.session_token)) + 2_000);
      const stale = await call("/account/email", bearer(jwt), "POST");
      expect(challenge(stale)).toEqual([401, `${stepUp}, max_age="1"`]);
    });

    it("still admits a JWT after its session is logged out, as documented: only Validate is revocable", async () => {
      const login = await loginRest(keycard, await createTestUser(keycard));
      const issued = await postJson(`${keycard.baseUrl}/auth/jwt`, {}, bearer(login.session_token));
      expect(issued.status).toBe(200);
      const jwt = String(issued.body.token);
      await send(`${keycard.baseUrl}/auth/logout`, {
        method: "POST",
        headers: bearer(login.session_token),
      });
      expect((await call("/me", bearer(login.session_token))).status).toBe(401);
      expect((await call("/me", bearer(jwt))).body).toMatchObject({ via: "jwt" });
    });
  },
);
