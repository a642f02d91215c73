import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { requireOnPath } from "./tools.js";

/**
 * Flags for a closed network and a root user: no sandbox, no GPU, and nothing that phones
 * home at start. Playwright adds --headless and a fresh --user-data-dir itself.
 */
const chromiumFlags = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Debian's Chromium (scripts/test-prerequisites.sh installs it) driven by playwright-core,
 * which never downloads a browser; CHROMIUM_PATH names another binary. `extraFlags` adds
 * to the defaults, e.g. `--host-resolver-rules` to send test host names to 127.0.0.1.
 */
export function launchChromium(extraFlags: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? requireOnPath("chromium", "chromium"),
    args: [...chromiumFlags, ...extraFlags],
  });
}

/** Where browser tests write screenshots for a reviewer (not committed: .gitignore). */
export const artifactsDir = fileURLToPath(new URL("../artifacts/", import.meta.url));

/** Saves a full-page screenshot of `page` as `test/artifacts/<name>.png`; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(artifactsDir, { recursive: true });
  const path = join(artifactsDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Chromium's console line for a fetch answered 4xx. keycard answers a person's mistake
 * (a wrong password, a stale session asked to confirm) with one; the page shows it and the
 * test asserts what it shows, so it is not a problem of the page. 5xx stays one.
 */
const clientErrorLine = /^Failed to load resource: the server responded with a status of 4\d\d/;

/**
 * Collects what a page reports as wrong: uncaught errors, console errors (a Content
 * Security Policy violation is one), 5xx answers and failed requests. A test expects it to
 * stay empty.
 */
export function pageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" && !clientErrorLine.test(message.text())) {
      problems.push(`console: ${message.text()}`);
    }
  });
  page.on("requestfailed", (request) =>
    problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ""}`),
  );
  return problems;
}
