import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ExampleServer, startExampleServer } from "../../examples/browser/serve.js";
import { launchChromium } from "../helpers/chromium.js";
import {
  createTestUser,
  type KeycardOptions,
  startKeycard,
  type TestKeycard,
} from "../helpers/keycard.js";

/*
 * The example page (examples/browser/) in real headless Chromium (Debian's package, driven
 * by playwright-core), served from an origin of its own that keycard lists in
 * ALLOWED_ORIGINS. Both run on 127.0.0.1 with different ports: different origins, same
 * site, so reference 002's SameSite=Lax cookie flows as it does for a real app and its API
 * on sibling ports or subdomains. The tests read what a person reads on the page.
 */

const displayName = "Ada Lovelace";

let keycard: TestKeycard;
let example: ExampleServer;
let stranger: ExampleServer;
let browser: Browser;
let user: Awaited<ReturnType<typeof createTestUser>>;
let artifacts: string;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  let keycardUrl = "";
  example = await startExampleServer({ keycardUrl: () => keycardUrl, host: "127.0.0.1" });
  stranger = await startExampleServer({ keycardUrl: () => keycardUrl, host: "127.0.0.1" });
  const options = {
    store: "redis",
    allowedOrigins: [example.origin],
    cookieSecure: false,
  } as const satisfies KeycardOptions;
  keycard = await startKeycard(options);
  keycardUrl = keycard.baseUrl;
  user = await createTestUser(keycard, { displayName });
  browser = await launchChromium();
  artifacts = await mkdtemp(join(tmpdir(), "keycard-browser-"));
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([example?.close(), stranger?.close(), keycard?.close()]);
  if (artifacts !== undefined && process.env.KEEP_SCREENSHOTS === undefined) {
    await rm(artifacts, { recursive: true, force: true });
  }
});

beforeEach(async () => {
  pageErrors.length = 0;
  context = await browser.newContext();
  context.setDefaultTimeout(5_000);
  page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(error.message));
});

afterEach(async () => {
  await context?.close();
});

/** The text of a locator once it is visible, trimmed. */
async function textOf(locator: Locator): Promise<string> {
  await locator.waitFor({ state: "visible" });
  return ((await locator.textContent()) ?? "").trim();
}

/**
 * Waits until the locator's text contains `expected`, then returns the text. On a timeout
 * it fails with what the page's alerts say instead, which is usually the reason.
 */
async function waitForText(locator: Locator, expected: string): Promise<string> {
  try {
    await locator.filter({ hasText: expected }).waitFor({ state: "visible" });
  } catch (error) {
    const alerts = await page.getByRole("alert").allTextContents();
    const shown = alerts.filter((text) => text !== "").join(" | ") || "no alert";
    throw new Error(`"${expected}" never appeared; the page shows: ${shown}`, { cause: error });
  }
  return textOf(locator);
}

async function signIn(panel: Locator, button: string): Promise<void> {
  await panel.getByLabel("Email").fill(user.email);
  await panel.getByLabel("Password").fill(user.password);
  await panel.getByRole("button", { name: button, exact: true }).click();
}

async function screenshot(name: string): Promise<string> {
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

describe("the Connect-Web panel", () => {
  it("signs in, greets the user by name, lists their session, and logs out back to the form", async () => {
    await page.goto(example.origin);
    const panel = page.getByRole("region", { name: "Connect-Web" });
    await signIn(panel, "Sign in");

    expect(await waitForText(panel.locator(".greeting"), "Signed in as")).toBe(
      `Signed in as ${displayName}`,
    );
    const rows = panel.getByRole("table", { name: "Your sessions" }).locator("tbody tr");
    await rows.first().waitFor();
    expect(await rows.count()).toBe(1);
    const row = await textOf(rows.first());
    expect(row).toContain("(this session)");
    expect(row).toMatch(/HeadlessChrome\/\d+/);
    expect(await panel.getByRole("button", { name: "Sign in", exact: true }).isVisible()).toBe(
      false,
    );
    await screenshot("connect-signed-in");

    await panel.getByRole("button", { name: "Log out" }).click();
    await panel.getByRole("button", { name: "Sign in", exact: true }).waitFor();
    expect(await panel.getByText("Signed in as").isVisible()).toBe(false);
    expect(await panel.getByLabel("Email").inputValue()).toBe("");
    expect(await panel.getByRole("alert").textContent()).toBe("");
    expect(pageErrors).toEqual([]);
  });

  it("shows keycard's message for a wrong password and stays on the form", async () => {
    await page.goto(example.origin);
    const panel = page.getByRole("region", { name: "Connect-Web" });
    await panel.getByLabel("Email").fill(user.email);
    await panel.getByLabel("Password").fill("not the password");
    await panel.getByRole("button", { name: "Sign in", exact: true }).click();
    const alert = await waitForText(panel.getByRole("alert"), "nvalid");
    expect(alert).toMatch(/invalid email or password/i);
    expect(await panel.getByText("Signed in as").isVisible()).toBe(false);
  });

  it("cannot sign in from a page on an origin keycard does not list", async () => {
    await page.goto(stranger.origin);
    const panel = page.getByRole("region", { name: "Connect-Web" });
    await signIn(panel, "Sign in");
    const alert = await waitForText(panel.getByRole("alert"), "fetch");
    expect(alert).toMatch(/failed to fetch/i);
    expect(await panel.getByText("Signed in as").isVisible()).toBe(false);
  });
});

describe("the cookie panel (reference 002)", () => {
  it("signs in with an HttpOnly cookie the page cannot read, shows /me, and logs out", async () => {
    await page.goto(example.origin);
    const panel = page.getByRole("region", { name: "Cookie session" });
    await signIn(panel, "Sign in with a cookie");

    const status = panel.locator("#cookie-status");
    expect(await waitForText(status, "Signed in as")).toBe(
      `Signed in as ${displayName} (${user.email})`,
    );
    const [cookie] = (await context.cookies(keycard.baseUrl)).filter(
      (candidate) => candidate.name === "auth-token",
    );
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax", secure: false, path: "/" });
    expect(cookie?.value).toMatch(/^kc_sess_/);
    // Cookies ignore ports, so a script on this page would see a non-HttpOnly auth-token.
    expect(await page.evaluate<string>("document.cookie")).not.toContain("auth-token");
    expect(await textOf(panel.locator("#cookie-visible"))).toBe("(empty)");
    await screenshot("cookie-signed-in");

    await panel.getByRole("button", { name: "Who am I?" }).click();
    expect(await waitForText(status, "Signed in as")).toContain(displayName);

    await panel.getByRole("button", { name: "Log out" }).click();
    expect(await waitForText(status, "Logged out")).toBe("Logged out successfully");
    const left = await context.cookies(keycard.baseUrl);
    expect(left.filter((candidate) => candidate.name === "auth-token")).toEqual([]);

    await panel.getByRole("button", { name: "Who am I?" }).click();
    expect(await waitForText(status, "Not signed in")).toBe(
      "Not signed in: No valid session found",
    );
    expect(await panel.getByRole("alert").textContent()).toBe("");
    expect(pageErrors).toEqual([]);
  });
});
