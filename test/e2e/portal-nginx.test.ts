import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seriousAxeViolations } from "../helpers/axe.js";
import { screenshot } from "../helpers/chromium.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { createTestUser, startKeycard, type TestKeycard } from "../helpers/keycard.js";
import {
  type IdentityApp,
  type RunningNginx,
  startIdentityApp,
  startNginx,
} from "../helpers/nginx.js";
import { browserForSuite, submitPassword } from "../helpers/portal-page.js";

/*
 * The whole forward-auth journey in Chromium, behind real nginx configured as the README
 * says: a protected URL of app.example.test sends a browser without a session to keycard's
 * portal on auth.example.test, the person signs in, and the browser comes back to the URL
 * it asked for, where the app sees who they are. One sign-in covers the parent domain
 * (COOKIE_DOMAIN). A location that asks for a recent sign-in (max_age) sends a stale
 * session to the portal to confirm it is them, and back.
 */

const clock = new FakeClock();
let keycard: TestKeycard;
let app: IdentityApp;
let nginx: RunningNginx;

const web = browserForSuite(["--host-resolver-rules=MAP *.example.test 127.0.0.1"]);

beforeAll(async () => {
  keycard = await startKeycard({
    store: "redis",
    clock,
    portal: true,
    cookieSecure: false,
    cookieDomain: "example.test",
    allowedRedirectDomains: ["example.test"],
  });
  app = await startIdentityApp();
  nginx = await startNginx({
    keycardUrl: keycard.baseUrl,
    appUrl: app.url,
    stepUp: { "/recent/": "max_age=300" },
  });
});

afterAll(async () => {
  await Promise.all([nginx?.stop(), app?.stop()]);
  await keycard?.close();
});

/** The identity the app answered with (it echoes the X-Auth-* headers nginx gave it). */
async function identityShown(): Promise<Record<string, string>> {
  return JSON.parse((await web.tab.page.locator("body").textContent()) ?? "{}") as Record<
    string,
    string
  >;
}

describe("a protected app behind nginx", () => {
  it("sends a browser without a session to the portal and, once signed in, back to the URL it asked for", async () => {
    const user = await createTestUser(keycard, { displayName: "Ada Lovelace" });
    const { page } = web.tab;
    const wanted = `${nginx.appOrigin}/reports/q3?year=2026&sort=desc`;
    await page.goto(wanted);
    await page.waitForURL(
      (url) => url.pathname === "/ui/" && url.host === new URL(nginx.portalOrigin).host,
    );
    expect(new URL(page.url()).searchParams.get("rd")).toBe(wanted);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, "portal-nginx-sign-in");

    await submitPassword(page, user);
    await page.waitForURL(wanted);
    expect(await identityShown()).toMatchObject({
      "x-auth-email": user.email,
      "x-auth-user": user.id,
      "x-auth-aal": "1",
    });

    const cookie = (await web.context.cookies(wanted)).find(
      (candidate) => candidate.name === "auth-token",
    );
    expect(cookie).toMatchObject({ domain: ".example.test", httpOnly: true });
    await page.goto(`${nginx.appOrigin}/another/page`);
    expect(await identityShown()).toMatchObject({ "x-auth-email": user.email });
  });

  it("asks a stale session to confirm it is them for a location that wants a recent sign-in, then goes on", async () => {
    const user = await createTestUser(keycard, { displayName: "Grace Hopper" });
    const { page } = web.tab;
    await page.goto(`${nginx.appOrigin}/home`);
    await submitPassword(page, user);
    await page.waitForURL(`${nginx.appOrigin}/home`);
    clock.advance(10 * 60_000);

    const wanted = `${nginx.appOrigin}/recent/settings`;
    await page.goto(wanted);
    await page.waitForURL(
      (url) => url.pathname === "/ui/" && url.searchParams.get("max_age") === "300",
    );
    const form = page.locator("#reauth-form");
    await form.getByLabel("Password").fill(user.password);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, "portal-nginx-confirm");
    await form.getByRole("button", { name: "Continue" }).click();
    await page.waitForURL(wanted);
    expect(await identityShown()).toMatchObject({ "x-auth-email": user.email });
  });

  it("never follows a return URL outside ALLOWED_REDIRECT_DOMAINS after sign-in", async () => {
    const user = await createTestUser(keycard);
    const { page } = web.tab;
    await page.goto(
      `${nginx.portalOrigin}/ui/?rd=${encodeURIComponent("https://evil.example.net/steal")}`,
    );
    await submitPassword(page, user);
    await page.waitForURL((url) => url.pathname === "/ui/account");
  });
});
