import type { CDPSession, Page } from "playwright-core";
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
  submitPassword,
  waitForText,
} from "../helpers/portal-page.js";
import { bearer, jsonPost, send } from "../helpers/rest.js";
import { enrollTotpOverRest, totpCode } from "../helpers/totp-codes.js";

/*
 * Passkeys in the portal, in Chromium with its virtual authenticator (DevTools protocol:
 * WebAuthn.enable, WebAuthn.addVirtualAuthenticator; a platform authenticator that keeps
 * discoverable credentials and verifies the user): add one on the account page, sign in
 * with it alone, use it instead of the TOTP code, confirm a step-up with it, and remove it,
 * which signs out the sessions it opened. keycard's relying party is `localhost`, as
 * WebAuthn allows on plain HTTP.
 */

let keycard: TestKeycard;
let portal: string;
const web = browserForSuite();

beforeAll(async () => {
  keycard = await startKeycard({
    store: "redis",
    portal: true,
    cookieSecure: false,
    webauthn: { rpId: "localhost" },
  });
  portal = `http://localhost:${keycard.port}/ui/`;
});

afterAll(() => keycard?.close());

/** Gives the tab a virtual platform authenticator; returns the DevTools session holding it. */
async function virtualAuthenticator(page: Page): Promise<CDPSession> {
  const cdp = await web.context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return cdp;
}

async function browserToken(): Promise<string> {
  return (
    (await web.context.cookies(portal)).find((cookie) => cookie.name === "auth-token")?.value ?? ""
  );
}

async function me(token: string) {
  return send(`${keycard.baseUrl}/auth/me`, { headers: bearer(token) });
}

/** Adds a passkey named `name` on the account page and waits for it to be listed. */
async function addPasskey(page: Page, name: string): Promise<void> {
  await page.getByLabel("Name for the new passkey").fill(name);
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await waitForText(page, page.locator("#passkeys h3"), name);
}

/** A new account signed in with its password on the tab, which has added a passkey named `name`. */
async function withPasskey(name: string, displayName?: string) {
  const user = await createTestUser(keycard, displayName === undefined ? {} : { displayName });
  const { page } = web.tab;
  await virtualAuthenticator(page);
  await page.goto(portal);
  await submitPassword(page, user);
  await expectAccountPage(page, user.displayName);
  await addPasskey(page, name);
  return user;
}

async function signOut(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Sign out", exact: true }).first().click();
  await page.waitForURL(/\/ui\/$/);
}

describe("passkeys in the portal", () => {
  it("adds a passkey on the account page, then signs in with it alone (amr hwk, AAL2)", async () => {
    await withPasskey("Work laptop", "Ada Lovelace");
    const { page } = web.tab;
    expect(await page.locator("#passkeys li").textContent()).toMatch(/Added .* · Last used never/);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, "portal-passkeys");

    await signOut(page);
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await expectAccountPage(page, "Ada Lovelace");
    const session = (await me(await browserToken())).body.session as { amr: string[]; aal: number };
    expect(session).toMatchObject({ amr: ["hwk"], aal: 2 });
    await waitForText(page, page.locator("#passkeys li"), /Last used \d/);
  });

  it("uses a passkey instead of the TOTP code after the password (amr pwd, hwk)", async () => {
    const user = await createTestUser(keycard, { displayName: "Katherine Johnson" });
    const { secret } = await enrollTotpOverRest(keycard.baseUrl, user.id, testAdminToken);
    const { page } = web.tab;
    await virtualAuthenticator(page);
    await page.goto(portal);
    await submitPassword(page, user);
    await page
      .locator("#code-form")
      .getByLabel("Authentication code")
      .fill(await totpCode(secret));
    await page.getByRole("button", { name: "Verify" }).click();
    await expectAccountPage(page, "Katherine Johnson");
    await addPasskey(page, "Security key");

    await signOut(page);
    await submitPassword(page, user);
    await page.getByRole("button", { name: "Use a passkey instead" }).first().click();
    await expectAccountPage(page, "Katherine Johnson");
    const session = (await me(await browserToken())).body.session as { amr: string[] };
    expect(session.amr).toEqual(["pwd", "hwk"]);
  });

  it("confirms a proxy's step-up with the passkey", async () => {
    const user = await withPasskey("Phone");
    const { page } = web.tab;
    const before = (await me(await browserToken())).body.session as { amr: string[] };
    expect(before.amr).toEqual(["pwd"]);

    await page.goto(`${portal}?aal=2&rd=${encodeURIComponent("/ui/account")}`);
    await page
      .locator("#reauth-form")
      .getByRole("button", { name: "Use a passkey instead" })
      .click();
    await expectAccountPage(page, user.displayName);
    const after = (await me(await browserToken())).body.session as { amr: string[]; aal: number };
    expect(after.amr).toContain("hwk");
    expect(after.aal).toBe(2);
  });

  it("removes a passkey: the session it opened ends (back to sign-in), a password session stays", async () => {
    const user = await withPasskey("Old phone");
    const { page } = web.tab;
    const elsewhere = String(
      (
        await send(
          `${keycard.baseUrl}/auth/login`,
          jsonPost({ email: user.email, password: user.password }),
        )
      ).body.session_token,
    );

    await signOut(page);
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await expectAccountPage(page, user.displayName);
    const opened = await browserToken();
    await page.getByRole("button", { name: "Remove passkey Old phone" }).click();
    await page.waitForURL(/\/ui\/$/);
    expect((await me(opened)).status).toBe(401);
    expect((await me(elsewhere)).status).toBe(200);
    const listed = await send(`${keycard.baseUrl}/auth/passkeys`, { headers: bearer(elsewhere) });
    expect(listed.body.passkeys).toEqual([]);
  });
});
