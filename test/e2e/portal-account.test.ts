import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seriousAxeViolations } from "../helpers/axe.js";
import { screenshot } from "../helpers/chromium.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { createTestUser, startKeycard, type TestKeycard } from "../helpers/keycard.js";
import {
  browserForSuite,
  expectAccountPage,
  submitPassword,
  waitForText,
} from "../helpers/portal-page.js";
import { bearer, jsonPost, send } from "../helpers/rest.js";
import { totpCode } from "../helpers/totp-codes.js";

/*
 * keycard's account page (/ui/account) in Debian's Chromium, every action a person takes
 * there: sessions (this device, rename, sign out one, all others, everywhere), TOTP set-up
 * with its QR code, recovery codes, turning TOTP off, changing the password, and the
 * "Confirm it's you" dialog when a change needs a fresh sign-in. What the page claims is
 * checked against keycard over REST. axe-core, console errors and screenshots as on the
 * sign-in page.
 */

/** Runs on a fake clock (ahead of real time, see FakeClock) so a session can be made stale. */
const clock = new FakeClock();
let keycard: TestKeycard;
let portal: string;

const web = browserForSuite();

beforeAll(async () => {
  keycard = await startKeycard({ store: "redis", portal: true, cookieSecure: false, clock });
  portal = `http://localhost:${keycard.port}/ui/`;
});

afterAll(async () => {
  await keycard?.close();
});

type Account = Awaited<ReturnType<typeof createTestUser>>;

/** A new account signed in on the page; lands on the account page. */
async function signedIn(displayName = "Ada Lovelace"): Promise<Account> {
  const user = await createTestUser(keycard, { displayName });
  await web.tab.page.goto(portal);
  await submitPassword(web.tab.page, user);
  await expectAccountPage(web.tab.page, displayName);
  await web.tab.page.locator("#sessions li").first().waitFor();
  return user;
}

/** Another session of the account, opened over REST as another device would. */
async function otherSession(user: Account): Promise<string> {
  const login = await send(
    `${keycard.baseUrl}/auth/login`,
    jsonPost({ email: user.email, password: user.password }),
  );
  return String(login.body.session_token);
}

async function isLive(token: string): Promise<boolean> {
  return (await send(`${keycard.baseUrl}/auth/me`, { headers: bearer(token) })).status === 200;
}

/** The browser's own session token (a test may read the HttpOnly cookie; a page cannot). */
async function browserToken(): Promise<string> {
  const cookies = await web.context.cookies(portal);
  return cookies.find((cookie) => cookie.name === "auth-token")?.value ?? "";
}

function sessionCards(page: Page) {
  return page.locator("#sessions li");
}

async function status(page: Page, expected: string | RegExp): Promise<string> {
  return waitForText(page, page.locator("#status"), expected);
}

describe("the account page's sessions", () => {
  it("lists this device and the others; renames one, signs one out, then all others", async () => {
    const user = await signedIn();
    const [second, third] = [await otherSession(user), await otherSession(user)];
    const { page } = web.tab;
    await page.reload();
    await expect.poll(() => sessionCards(page).count()).toBe(3);
    const current = sessionCards(page).filter({ hasText: "This device" });
    expect(await current.count()).toBe(1);
    expect(await current.textContent()).toMatch(/Last active .* · Signed in /);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, "portal-account");

    await current.getByRole("button", { name: /^Rename/ }).click();
    await current.getByLabel(/New name for/).fill("My laptop");
    await current.getByRole("button", { name: "Save" }).click();
    await status(page, "Session renamed.");
    await waitForText(
      page,
      sessionCards(page).filter({ hasText: "This device" }).locator("h3"),
      "My laptop",
    );

    const others = sessionCards(page).filter({ hasNotText: "This device" });
    await others
      .first()
      .getByRole("button", { name: /^Sign out/ })
      .click();
    await status(page, "signed out.");
    await expect.poll(() => sessionCards(page).count()).toBe(2);
    expect([await isLive(second), await isLive(third)].filter(Boolean)).toHaveLength(1);

    await page.getByRole("button", { name: "Sign out all other sessions" }).click();
    await status(page, "1 other session signed out.");
    expect(await isLive(second)).toBe(false);
    expect(await isLive(third)).toBe(false);
    expect(await isLive(await browserToken())).toBe(true);
  });

  it("signs out everywhere: back to the sign-in page, every session gone", async () => {
    const user = await signedIn();
    const other = await otherSession(user);
    const mine = await browserToken();
    await web.tab.page.getByRole("button", { name: "Sign out everywhere" }).click();
    await web.tab.page.waitForURL(/\/ui\/$/);
    await web.tab.page.locator("#password-form").getByLabel("Email").waitFor();
    expect(await isLive(other)).toBe(false);
    expect(await isLive(mine)).toBe(false);
    expect(await browserToken()).toBe("");
  });

  it("signs this browser out with the header's button and clears the cookie", async () => {
    await signedIn();
    const mine = await browserToken();
    await web.tab.page.getByRole("button", { name: "Sign out", exact: true }).first().click();
    await web.tab.page.waitForURL(/\/ui\/$/);
    expect(await isLive(mine)).toBe(false);
    expect(await browserToken()).toBe("");
    await web.tab.page.goto(`${portal}account`);
    await web.tab.page.waitForURL(/\/ui\/$/);
  });
});

describe("the account page's two-step verification", () => {
  it("sets up TOTP from the QR code's key, makes recovery codes, and turns it off again", async () => {
    const user = await signedIn("Grace Hopper");
    const { page } = web.tab;
    await page.getByRole("button", { name: "Set up an authenticator app" }).click();
    const qr = page.getByRole("img", { name: /QR code/ });
    await qr.waitFor();
    expect(await qr.getAttribute("src")).toMatch(/^data:image\/svg\+xml/);
    const secret = (await page.locator("#totp-secret").textContent()) ?? "";
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, "portal-totp-enrollment");

    await page.getByLabel("Code from the app").fill(await totpCode(secret, clock.now()));
    await page.getByRole("button", { name: "Turn on" }).click();
    await status(page, "Two-step verification is on.");
    const login = await send(
      `${keycard.baseUrl}/auth/login`,
      jsonPost({ email: user.email, password: user.password }),
    );
    expect(login.body.error).toBe("TOTP_REQUIRED");

    // The session is still the password-only one it was: recovery codes need two factors.
    await page.getByRole("button", { name: "Make new recovery codes" }).click();
    const dialog = page.getByRole("dialog", { name: "Confirm it's you" });
    await dialog.getByLabel("Password").fill(user.password);
    clock.advance(30_000);
    await dialog.getByLabel("Authentication code").fill(await totpCode(secret, clock.now()));
    await dialog.getByRole("button", { name: "Confirm" }).click();
    const codes = page.getByRole("list", { name: "Your recovery codes" }).locator("li");
    await expect.poll(() => codes.count()).toBe(10);
    await screenshot(page, "portal-recovery-codes");
    const first = (await codes.first().textContent()) ?? "";
    const withCode = await send(
      `${keycard.baseUrl}/auth/login`,
      jsonPost({ email: user.email, password: user.password, recovery_code: first }),
    );
    expect(withCode.status).toBe(200);

    await page.getByRole("button", { name: "Turn off two-step verification" }).click();
    await status(page, "Two-step verification is off.");
    const without = await send(
      `${keycard.baseUrl}/auth/login`,
      jsonPost({ email: user.email, password: user.password }),
    );
    expect(without.status).toBe(200);
  });
});

describe("the account page's password form", () => {
  it("refuses two different new passwords beside the field, then changes it and ends the other sessions", async () => {
    const user = await signedIn();
    const other = await otherSession(user);
    const { page } = web.tab;
    const form = page.locator("#password-form");
    await form.getByLabel("Current password").fill(user.password);
    await form.getByLabel("New password", { exact: true }).fill("a brand new passphrase");
    await form.getByLabel("New password again").fill("a different passphrase");
    await form.getByRole("button", { name: "Change password" }).click();
    await waitForText(page, page.locator("#password-error"), "differ");
    expect(await form.getByLabel("New password again").getAttribute("aria-invalid")).toBe("true");

    await form.getByLabel("New password again").fill("a brand new passphrase");
    await form.getByRole("button", { name: "Change password" }).click();
    await status(page, "Password changed. 1 other session signed out.");
    expect(await isLive(other)).toBe(false);
    expect(await isLive(await browserToken())).toBe(true);
    const login = await send(
      `${keycard.baseUrl}/auth/login`,
      jsonPost({ email: user.email, password: "a brand new passphrase" }),
    );
    expect(login.status).toBe(200);
  });
});

describe("a change that needs a fresh sign-in", () => {
  it("asks in a dialog for the password, then makes the change", async () => {
    const user = await signedIn();
    clock.advance(10 * 60_000);
    const { page } = web.tab;
    await page.getByRole("button", { name: "Set up an authenticator app" }).click();
    const dialog = page.getByRole("dialog", { name: "Confirm it's you" });
    await dialog.waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, "portal-confirm-dialog");
    await dialog.getByLabel("Password").fill("not the password");
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await waitForText(page, dialog.getByRole("alert"), /invalid/i);

    await dialog.getByLabel("Password").fill(user.password);
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await page.getByRole("img", { name: /QR code/ }).waitFor();
    expect(await dialog.isVisible()).toBe(false);
  });

  it("changes nothing when the person cancels the dialog, and says so", async () => {
    await signedIn();
    clock.advance(10 * 60_000);
    const { page } = web.tab;
    await page
      .getByRole("button", { name: "Make new recovery codes" })
      .or(page.getByRole("button", { name: "Set up an authenticator app" }))
      .first()
      .click();
    const dialog = page.getByRole("dialog", { name: "Confirm it's you" });
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await waitForText(page, page.locator("#totp-error"), "nothing was changed");
    expect(await page.getByRole("img", { name: /QR code/ }).isVisible()).toBe(false);
  });
});

describe("the account page on a phone", () => {
  it("fits a phone-width screen without sideways scrolling", async () => {
    await web.tab.page.setViewportSize({ width: 360, height: 740 });
    await signedIn("Mary Somerville, Countess of a Very Long Name");
    const overflow = await web.tab.page.evaluate<number>(
      "document.documentElement.scrollWidth - window.innerWidth",
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(web.tab.page, "portal-account-phone");
  });
});
