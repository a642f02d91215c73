import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seriousAxeViolations } from "../helpers/axe.js";
import { screenshot } from "../helpers/chromium.js";
import {
  createTestUser,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import {
  browserForSuite,
  expectAccountPage,
  scriptVisibleState,
  submitPassword,
  waitForText,
} from "../helpers/portal-page.js";
import { bearer, jsonPost, send } from "../helpers/rest.js";
import { enrollTotpOverRest, totpCode } from "../helpers/totp-codes.js";

/*
 * keycard's sign-in page (/ui/) in Debian's Chromium: password, password + TOTP, password +
 * recovery code, remember-me, wrong input, keyboard only, a phone-width screen. Every page
 * is checked with axe-core, must log no console error under its Content-Security-Policy,
 * and is photographed into test/artifacts/. The session must live only in the HttpOnly
 * cookie: nothing a page script can read holds a token.
 */

let keycard: TestKeycard;
let portal: string;

const web = browserForSuite();

beforeAll(async () => {
  keycard = await startKeycard({ store: "redis", portal: true, cookieSecure: false });
  portal = `http://localhost:${keycard.port}/ui/`;
});

afterAll(async () => {
  await keycard?.close();
});

/** The `auth-token` cookie the browser holds for keycard. */
async function sessionCookie() {
  const cookies = await web.context.cookies(portal);
  return cookies.find((cookie) => cookie.name === "auth-token");
}

/** An account with its own TOTP, and ten recovery codes made on a fresh AAL2 session. */
async function accountWithRecoveryCodes() {
  const user = await createTestUser(keycard, { displayName: "Grace Hopper" });
  const { secret } = await enrollTotpOverRest(keycard.baseUrl, user.id, testAdminToken);
  const login = await send(
    `${keycard.baseUrl}/auth/login`,
    jsonPost({ email: user.email, password: user.password, totp_code: await totpCode(secret) }),
  );
  const made = await send(
    `${keycard.baseUrl}/auth/recovery-codes`,
    jsonPost({}, bearer(String(login.body.session_token))),
  );
  return { ...user, codes: made.body.codes as string[] };
}

describe("the sign-in page", () => {
  it("signs in with email and password into an HttpOnly cookie no script can read, and shows the account page", async () => {
    const user = await createTestUser(keycard, { displayName: "Ada Lovelace" });
    const { page } = web.tab;
    await page.goto(portal);
    await page.getByLabel("Email").waitFor();
    for (const later of ["#code-form", "#reauth-form", "#passkey-signin-group"]) {
      expect(await page.locator(later).isVisible()).toBe(false);
    }
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, "portal-sign-in");
    await submitPassword(page, user);
    await expectAccountPage(page, "Ada Lovelace");

    const cookie = await sessionCookie();
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/" });
    expect(cookie?.value).toMatch(/^kc_sess_/);
    expect(cookie?.expires).toBe(-1);
    const visible = await scriptVisibleState(page);
    expect(visible).not.toContain("kc_sess_");
    const session = await send(`${keycard.baseUrl}/auth/me`, {
      headers: bearer(cookie?.value ?? ""),
    });
    expect(session.status).toBe(200);
    expect(web.tab.problems).toEqual([]);
  });

  it("keeps a remember-me sign-in's cookie across browser restarts (it has an expiry)", async () => {
    const user = await createTestUser(keycard);
    await web.tab.page.goto(portal);
    await submitPassword(web.tab.page, user, true);
    await expectAccountPage(web.tab.page, user.displayName);
    const cookie = await sessionCookie();
    expect(cookie?.expires).toBeGreaterThan(Date.now() / 1000 + 86_400);
  });

  it("says so beside the fields when the password is wrong, and stays on the form", async () => {
    const user = await createTestUser(keycard);
    const { page } = web.tab;
    await page.goto(portal);
    await submitPassword(page, { email: user.email, password: "not the password" });
    const alert = await waitForText(page, page.locator("#password-error"), /invalid/i);
    expect(alert).toMatch(/invalid email or password/i);
    const password = page.locator("#password");
    expect(await password.getAttribute("aria-invalid")).toBe("true");
    expect(await password.getAttribute("aria-describedby")).toBe("password-error");
    expect(await sessionCookie()).toBeUndefined();
    expect(web.tab.problems).toEqual([]);
    await screenshot(page, "portal-sign-in-wrong-password");
  });

  it("asks an account with TOTP for its code, refuses a wrong one beside the field, then signs in", async () => {
    const user = await createTestUser(keycard, { displayName: "Katherine Johnson" });
    const { secret } = await enrollTotpOverRest(keycard.baseUrl, user.id, testAdminToken);
    const { page } = web.tab;
    await page.goto(portal);
    await submitPassword(page, user);
    const code = page.locator("#code-form").getByLabel("Authentication code");
    await code.waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, "portal-totp-step");
    await code.fill("000000");
    await page.getByRole("button", { name: "Verify" }).click();
    await waitForText(page, page.locator("#code-error"), /code/i);
    expect(await code.getAttribute("aria-invalid")).toBe("true");

    await code.fill(await totpCode(secret));
    await page.getByRole("button", { name: "Verify" }).click();
    await expectAccountPage(page, "Katherine Johnson");
    const me = await send(`${keycard.baseUrl}/auth/me`, {
      headers: bearer((await sessionCookie())?.value ?? ""),
    });
    expect((me.body.session as { aal: number }).aal).toBe(2);
  });

  it("signs in with a recovery code instead of the TOTP code", async () => {
    const user = await accountWithRecoveryCodes();
    const { page } = web.tab;
    await page.goto(portal);
    await submitPassword(page, user);
    await page.getByRole("button", { name: "Use a recovery code instead" }).click();
    await page.getByLabel("Recovery code").fill(user.codes[0] ?? "");
    await screenshot(page, "portal-recovery-code-step");
    await page.getByRole("button", { name: "Verify" }).click();
    await expectAccountPage(page, "Grace Hopper");
    const me = await send(`${keycard.baseUrl}/auth/me`, {
      headers: bearer((await sessionCookie())?.value ?? ""),
    });
    expect((me.body.session as { amr: string[] }).amr).toEqual(["pwd", "rec"]);
  });

  it("works from the keyboard alone: focus starts at Email and Enter submits", async () => {
    const user = await createTestUser(keycard);
    const { page } = web.tab;
    await page.goto(portal);
    await page.getByLabel("Email").waitFor();
    await page.waitForFunction('document.activeElement?.id === "email"');
    await page.keyboard.type(user.email);
    await page.keyboard.press("Tab");
    await page.keyboard.type(user.password);
    await page.keyboard.press("Enter");
    await expectAccountPage(page, user.displayName);
  });

  it("fits a phone-width screen without sideways scrolling", async () => {
    await web.tab.page.setViewportSize({ width: 360, height: 740 });
    await web.tab.page.goto(portal);
    await web.tab.page.getByLabel("Email").waitFor();
    const overflow = await web.tab.page.evaluate<number>(
      "document.documentElement.scrollWidth - window.innerWidth",
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(web.tab.page, "portal-sign-in-phone");
  });

  it("goes straight on to the account page when the browser is already signed in", async () => {
    const user = await createTestUser(keycard);
    await web.tab.page.goto(portal);
    await submitPassword(web.tab.page, user);
    await expectAccountPage(web.tab.page, user.displayName);
    await web.tab.page.goto(portal);
    await expectAccountPage(web.tab.page, user.displayName);
  });
});
