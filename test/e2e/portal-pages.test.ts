import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestUser, startKeycard, type TestKeycard } from "../helpers/keycard.js";
import { jsonPost, send } from "../helpers/rest.js";

/*
 * The portal's pages as a client other than a browser sees them: the headers every page
 * carries, where a page sends a browser with or without a session, and what a stranger
 * gets for paths that are not pages (no file outside the build is ever served).
 */

let keycard: TestKeycard;
let token: string;

beforeAll(async () => {
  keycard = await startKeycard({
    store: "memory",
    portal: true,
    allowedRedirectDomains: ["example.com"],
  });
  const user = await createTestUser(keycard);
  const login = await send(
    `${keycard.baseUrl}/auth/login`,
    jsonPost({ email: user.email, password: user.password }),
  );
  token = String(login.body.session_token);
});

afterAll(() => keycard?.close());

function page(path: string, init: RequestInit = {}) {
  return fetch(`${keycard.baseUrl}${path}`, { redirect: "manual", ...init });
}

const withSession = () => ({ headers: { cookie: `auth-token=${token}` } });

describe("the portal's pages", () => {
  it.each([
    "/ui/",
    "/ui/account",
    "/ui/assets/signin.js",
    "/ui/assets/account.js",
    "/ui/assets/portal.css",
  ])("serves %s under a strict Content-Security-Policy and the usual hardening", async (path) => {
    const answer = await page(path, path === "/ui/" ? {} : withSession());
    expect(answer.status).toBe(200);
    const policy = answer.headers.get("content-security-policy") ?? "";
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain("unsafe-inline");
    expect(policy).not.toContain("unsafe-eval");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
    expect(answer.headers.get("x-frame-options")).toBe("DENY");
    expect(answer.headers.get("referrer-policy")).toBe("no-referrer");
    expect(answer.headers.get("set-cookie")).toBeNull();
  });

  it("has no inline script or style in its pages, and loads nothing from elsewhere", async () => {
    for (const [path, init] of [
      ["/ui/", {}],
      ["/ui/account", withSession()],
    ] as const) {
      const html = await (await page(path, init)).text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/\son\w+=/);
      expect(html).not.toMatch(/<style|style=/);
      expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    }
  });

  it("sends a signed-in browser from the sign-in page on: to the account page, or to rd through /ui/continue", async () => {
    expect((await page("/ui/", withSession())).headers.get("location")).toBe("/ui/account");
    const rd = "https://app.example.com/x?y=1";
    const onward = await page(`/ui/?rd=${encodeURIComponent(rd)}`, withSession());
    expect(onward.headers.get("location")).toBe(`/ui/continue?rd=${encodeURIComponent(rd)}`);
    const back = await page(onward.headers.get("location") ?? "");
    expect(back.headers.get("location")).toBe(rd);
  });

  it("shows a signed-in browser the sign-in page when a proxy asked for step-up", async () => {
    expect((await page("/ui/?aal=2&rd=%2Fui%2Faccount", withSession())).status).toBe(200);
    expect((await page("/ui/?max_age=60", withSession())).status).toBe(200);
  });

  it("sends a browser without a good session from the account page to sign in", async () => {
    for (const cookie of ["", "auth-token=kc_sess_forged", `auth-token=${token.slice(0, -3)}abc`]) {
      const answer = await page("/ui/account", { headers: { cookie } });
      expect(answer.status).toBe(302);
      expect(answer.headers.get("location")).toBe("/ui/");
    }
  });

  it("moves /ui to /ui/, answers HEAD, and refuses other methods with 405", async () => {
    expect((await page("/ui")).headers.get("location")).toBe("/ui/");
    const head = await page("/ui/assets/signin.js", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const post = await page("/ui/", { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it.each([
    "/ui/assets/../../package.json",
    "/ui/assets/%2e%2e/%2e%2e/package.json",
    "/ui/assets/..%2f..%2fpackage.json",
    "/ui/signin.html",
    "/ui/assets/",
    "/ui/assets/signin.ts",
    "/ui/assets/SIGNIN.JS",
    "/ui/account/",
    "/ui//account",
  ])("serves no file for %s (404, JSON, no stack)", async (path) => {
    const answer = await fetch(`${keycard.baseUrl}${path}`, { redirect: "manual" });
    expect([404, 302]).toContain(answer.status);
    const text = await answer.text();
    expect(text).not.toContain('"name": "keycard"');
    expect(text).not.toMatch(/at \S+ \(/);
  });
});

describe("the portal turned off or not built", () => {
  let off: TestKeycard;
  let unbuilt: TestKeycard;
  let empty: string;

  beforeAll(async () => {
    empty = await mkdtemp(join(tmpdir(), "keycard-unbuilt-"));
    [off, unbuilt] = await Promise.all([
      startKeycard({ store: "memory" }),
      startKeycard({ store: "memory", portal: { dir: empty } }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([off?.close(), unbuilt?.close()]);
    await rm(empty, { recursive: true, force: true });
  });

  it("has no pages and no /ui/continue when off (UI=false)", async () => {
    for (const path of ["/ui/", "/ui/account", "/ui/continue?rd=%2F"]) {
      expect((await fetch(`${off.baseUrl}${path}`, { redirect: "manual" })).status).toBe(404);
    }
  });

  it("says how to build the pages when they were not built (503)", async () => {
    const answer = await fetch(`${unbuilt.baseUrl}/ui/`);
    expect(answer.status).toBe(503);
    expect(((await answer.json()) as { message: string }).message).toContain("npm run build");
  });
});
