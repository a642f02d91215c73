import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../helpers/fake-clock.js";
import { createTestUser, loginRest, startKeycard, type TestKeycard } from "../helpers/keycard.js";
import {
  type IdentityApp,
  type ProxyReply,
  type RunningNginx,
  requestVia,
  startIdentityApp,
  startNginx,
} from "../helpers/nginx.js";
import { bearer, type Reply, send } from "../helpers/rest.js";

/** What a browser sends when it navigates to a page. */
const navigation = {
  accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
};

/** What a script or service sends. */
const apiClient = { accept: "application/json" };

/** A Location header taken apart: where it points without its query, and its query. */
function portalTarget(location: string | undefined | null): {
  where: string;
  query: Record<string, string>;
} {
  const url = new URL(location ?? "missing:");
  return {
    where: `${url.origin}${url.pathname}`,
    query: Object.fromEntries(url.searchParams),
  };
}

/** Forward auth behind real nginx `auth_request`, as the README configures it. */
describe("the sign-in portal in front of an app, behind nginx auth_request", () => {
  let keycard: TestKeycard;
  let app: IdentityApp;
  let nginx: RunningNginx;
  let refusingNginx: RunningNginx;

  beforeAll(async () => {
    keycard = await startKeycard({
      allowedRedirectDomains: ["example.test"],
      cookieDomain: "example.test",
      cookieSecure: false,
    });
    app = await startIdentityApp();
    const proxied = { keycardUrl: keycard.baseUrl, appUrl: app.url };
    nginx = await startNginx({ ...proxied, stepUp: { "/admin/": "aal=2" } });
    refusingNginx = await startNginx({ ...proxied, portalUrl: "https://evil.test/ui/" });
  });
  afterAll(async () => {
    await nginx?.stop();
    await refusingNginx?.stop();
    await app?.stop();
    await keycard?.close();
  });

  const toApp = (path: string, headers: Record<string, string>, method = "GET") =>
    requestVia(nginx.baseUrl, nginx.appHost, path, headers, method);

  const expectPortal = (reply: ProxyReply, query: Record<string, string>) => {
    expect(reply.status).toBe(302);
    const target = portalTarget(reply.headers.location);
    expect(target.where).toBe(nginx.portalUrl);
    expect(target.query).toEqual(query);
  };

  it("sends a browser without a good session to the portal, rd the protected URL", async () => {
    const user = await createTestUser(keycard);
    const revoked = (await loginRest(keycard, user)).session_token;
    await send(`${keycard.baseUrl}/auth/logout`, { method: "POST", headers: bearer(revoked) });
    const before = app.requests.length;
    for (const session of [{}, { cookie: `auth-token=${revoked}` }, { cookie: "auth-token=x" }]) {
      const reply = await toApp("/orders/7?tab=items&x=%2F", { ...navigation, ...session });
      expectPortal(reply, { rd: `${nginx.appOrigin}/orders/7?tab=items&x=%2F` });
    }
    expectPortal(await toApp("/", navigation, "HEAD"), { rd: `${nginx.appOrigin}/` });
    expect(app.requests.length).toBe(before);
  });

  it("lets a browser with a good session cookie through, with its identity for the app", async () => {
    const user = await createTestUser(keycard, { roles: ["user", "editor"] });
    const login = await loginRest(keycard, user);
    const reply = await toApp("/orders/7", {
      ...navigation,
      cookie: `theme=dark; auth-token=${login.session_token}`,
      "x-auth-user": "spoofed",
      "x-auth-roles": "admin",
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text)).toEqual({
      "x-auth-user": user.id,
      "x-auth-email": user.email,
      "x-auth-roles": "user,editor",
      "x-auth-session": login.session_id,
      "x-auth-aal": "1",
      "x-auth-time": expect.stringMatching(/^\d{10}$/),
    });
  });

  it("answers an API client, a form POST and a script 401, never a redirect", async () => {
    const before = app.requests.length;
    const refused = [
      await toApp("/orders/7", apiClient),
      await toApp("/orders/7", {}),
      await toApp("/orders/7", navigation, "POST"),
      await toApp("/orders/7", { ...apiClient, cookie: "auth-token=x" }),
    ];
    for (const reply of refused) {
      expect(reply.status, JSON.stringify(reply.headers)).toBe(401);
      expect(reply.headers.location).toBeUndefined();
    }
    expect(app.requests.length).toBe(before);
  });

  it("sends a one-factor session to the portal for aal=2 where the location asks for it", async () => {
    const user = await createTestUser(keycard);
    const { session_token } = await loginRest(keycard, user);
    const session = { ...navigation, cookie: `auth-token=${session_token}` };
    expect((await toApp("/orders", session)).status).toBe(200);
    const stepUp = await toApp("/admin/users?page=2", session);
    expectPortal(stepUp, { rd: `${nginx.appOrigin}/admin/users?page=2`, aal: "2" });
    expect((await toApp("/admin/users", { ...apiClient, cookie: session.cookie })).status).toBe(
      401,
    );
  });

  it("leaves out an original URL on a host that is not allowed", async () => {
    for (const host of ["evil.test", "app.example.test.evil.test", "app.example.test."]) {
      const reply = await requestVia(nginx.baseUrl, host, "/orders/7", navigation);
      expect(reply.status).toBe(302);
      expect(reply.headers.location).toBe(nginx.portalUrl);
    }
  });

  it("never redirects to a portal outside ALLOWED_REDIRECT_DOMAINS, signed in or not", async () => {
    const user = await createTestUser(keycard);
    const { session_token } = await loginRest(keycard, user);
    for (const session of [{}, { cookie: `auth-token=${session_token}` }]) {
      const reply = await requestVia(refusingNginx.baseUrl, refusingNginx.appHost, "/", {
        ...navigation,
        ...session,
      });
      expect(reply.status).toBe(500);
      expect(reply.headers.location).toBeUndefined();
    }
  });
});

/** Forward auth as Traefik `forwardAuth` and Caddy `forward_auth` call it: X-Forwarded-*. */
describe("GET /auth/verify?rd= for proxies that send X-Forwarded-* (Traefik, Caddy)", () => {
  const clock = new FakeClock();
  let keycard: TestKeycard;
  beforeAll(async () => {
    keycard = await startKeycard({
      store: "memory",
      clock,
      allowedRedirectDomains: ["example.com"],
    });
  });
  afterAll(() => keycard.close());

  const portal = "https://auth.example.com/ui/";
  const forwarded = {
    "x-forwarded-proto": "https",
    "x-forwarded-host": "app.example.com",
    "x-forwarded-uri": "/orders/7?tab=items",
    "x-forwarded-method": "GET",
  };
  const verify = (query: string, headers: Record<string, string>): Promise<Reply> =>
    send(`${keycard.baseUrl}/auth/verify${query}`, { headers, redirect: "manual" });

  it("answers a browser 302 to the portal, rd the forwarded URL, keeping the challenge", async () => {
    const reply = await verify(`?rd=${portal}`, { ...navigation, ...forwarded });
    expect(reply.status).toBe(302);
    expect(reply.text).toBe("");
    expect(reply.headers.get("cache-control")).toBe("no-store");
    expect(reply.headers.get("www-authenticate")).toBe('Bearer realm="keycard"');
    expect(portalTarget(reply.headers.get("location"))).toEqual({
      where: portal,
      query: { rd: "https://app.example.com/orders/7?tab=items" },
    });
  });

  it("answers a browser 401 with the Location when nginx's X-Original-URL is present", async () => {
    const reply = await verify(`?rd=${portal}`, {
      ...navigation,
      "x-original-url": "https://app.example.com/x",
    });
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({ error: "UNAUTHENTICATED", message: "Missing session token" });
    expect(portalTarget(reply.headers.get("location")).query).toEqual({
      rd: "https://app.example.com/x",
    });
  });

  it("answers an API client and a forwarded POST exactly as without rd", async () => {
    const plain = await verify("", forwarded);
    for (const headers of [
      forwarded,
      { ...forwarded, ...apiClient },
      { ...forwarded, ...navigation, "x-forwarded-method": "POST" },
    ]) {
      const reply = await verify(`?rd=${portal}`, headers);
      expect(reply.status).toBe(401);
      expect(reply.body).toEqual(plain.body);
      expect(reply.headers.get("www-authenticate")).toBe(plain.headers.get("www-authenticate"));
      expect(reply.headers.get("location")).toBeNull();
    }
  });

  it("answers a good session 200 whatever rd says", async () => {
    const user = await createTestUser(keycard);
    const { session_token } = await loginRest(keycard, user);
    const reply = await verify(`?rd=${portal}`, { ...navigation, ...bearer(session_token) });
    expect(reply.status).toBe(200);
    expect(reply.headers.get("x-auth-user")).toBe(user.id);
  });

  it("refuses a portal that is not a safe target with 400, signed in or not", async () => {
    const user = await createTestUser(keycard);
    const { session_token } = await loginRest(keycard, user);
    const portals = [
      "https://evil.com/ui/",
      "//evil.com/ui/",
      "https://example.com@evil.com/",
      "http://auth.example.com/ui/",
      `${portal}&rd=${portal}`,
    ];
    for (const bad of portals) {
      for (const session of [{}, bearer(session_token)]) {
        const query = bad.includes("&") ? `?rd=${bad}` : `?rd=${encodeURIComponent(bad)}`;
        const reply = await verify(query, { ...navigation, ...forwarded, ...session });
        expect(reply.status).toBe(400);
        expect(reply.body.error).toBe("INVALID_ARGUMENT");
        expect(reply.headers.get("location")).toBeNull();
      }
    }
  });

  it("sends no rd when the forwarded URL is missing or not safe", async () => {
    const unsafe = [
      {},
      { ...forwarded, "x-forwarded-host": "evil.com" },
      { ...forwarded, "x-forwarded-host": "app.example.com@evil.com" },
      { ...forwarded, "x-forwarded-proto": "javascript" },
      { ...forwarded, "x-forwarded-uri": "@evil.com/" },
      { ...forwarded, "x-forwarded-uri": "/a\tb" },
      { "x-original-url": "//evil.com/" },
    ];
    for (const headers of unsafe) {
      const reply = await verify(`?rd=${portal}`, { ...navigation, ...headers });
      expect(reply.headers.get("location")).toBe(portal);
    }
  });

  it("carries the step-up asked to the portal when a live session fails it", async () => {
    const user = await createTestUser(keycard);
    const { session_token } = await loginRest(keycard, user);
    clock.advance(301_000);
    const reply = await verify(`?rd=${portal}&max_age=300&aal=2`, {
      ...navigation,
      ...forwarded,
      ...bearer(session_token),
    });
    expect(reply.status).toBe(302);
    expect(reply.headers.get("www-authenticate")).toContain("insufficient_user_authentication");
    expect(portalTarget(reply.headers.get("location")).query).toEqual({
      rd: "https://app.example.com/orders/7?tab=items",
      aal: "2",
      max_age: "300",
    });
    const signedOut = await verify(`?rd=${portal}&aal=2`, { ...navigation, ...forwarded });
    expect(portalTarget(signedOut.headers.get("location")).query).toEqual({
      rd: "https://app.example.com/orders/7?tab=items",
    });
  });
});
