import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { launchChromium, pageProblems } from "./chromium.js";

/** A browser tab on keycard's portal and what it reported as wrong. */
export interface PortalTab {
  readonly page: Page;
  readonly problems: string[];
}

/** Opens a tab whose problems (console errors, CSP violations, failed requests) are collected. */
export async function openTab(context: BrowserContext): Promise<PortalTab> {
  const page = await context.newPage();
  return { page, problems: pageProblems(page) };
}

/**
 * Waits until the locator shows `expected`; on a timeout it fails with what the page's
 * alerts say instead, which is usually the reason.
 */
export async function waitForText(
  page: Page,
  locator: Locator,
  expected: string | RegExp,
): Promise<string> {
  try {
    await locator.filter({ hasText: expected }).first().waitFor({ state: "visible" });
  } catch (error) {
    const alerts = await page.getByRole("alert").allTextContents();
    const shown = alerts.filter((text) => text !== "").join(" | ") || "no alert";
    throw new Error(`"${expected}" never appeared; the page shows: ${shown}`, { cause: error });
  }
  return ((await locator.first().textContent()) ?? "").trim();
}

/** Fills the sign-in page's first step and submits it. */
export async function submitPassword(
  page: Page,
  account: { email: string; password: string },
  rememberMe = false,
): Promise<void> {
  const form = page.locator("#password-form");
  await form.getByLabel("Email").fill(account.email);
  await form.getByLabel("Password", { exact: true }).fill(account.password);
  if (rememberMe) {
    await form.getByLabel("Remember me on this device").check();
  }
  await form.getByRole("button", { name: "Sign in", exact: true }).click();
}

/** Waits for the account page to greet `displayName`. */
export async function expectAccountPage(page: Page, displayName: string): Promise<void> {
  await page.waitForURL(/\/ui\/account$/);
  expect(await waitForText(page, page.locator("#greeting"), "Signed in as")).toContain(displayName);
}

/** What page scripts can see of the session: cookies, storage. None of it may hold a token. */
export async function scriptVisibleState(page: Page): Promise<string> {
  return page.evaluate<string>(
    "[document.cookie, JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage })].join('|')",
  );
}

/** A suite's Chromium and, for each test, a fresh context (no cookies) with one tab. */
export interface BrowserSuite {
  readonly context: BrowserContext;
  readonly tab: PortalTab;
}

/**
 * Launches Chromium for the enclosing suite and opens a fresh context and tab for each test;
 * after each test, the tab must have reported no problem (console errors, CSP violations,
 * 5xx, failed requests). `flags` go to Chromium (e.g. `--host-resolver-rules`).
 */
export function browserForSuite(flags: readonly string[] = []): BrowserSuite {
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let tab: PortalTab | undefined;
  beforeAll(async () => {
    browser = await launchChromium(flags);
  });
  afterAll(() => browser?.close());
  beforeEach(async () => {
    context = await (browser as Browser).newContext();
    context.setDefaultTimeout(8_000);
    tab = await openTab(context);
  });
  afterEach(async () => {
    const problems = tab?.problems ?? [];
    await context?.close();
    expect(problems).toEqual([]);
  });
  return {
    get context() {
      return context as BrowserContext;
    },
    get tab() {
      return tab as PortalTab;
    },
  };
}
