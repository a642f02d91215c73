import { defineConfig } from "vitest/config";

/** The suites that drive Chromium: they run as a group of their own, after the rest. */
const browserSuites = [
  "test/e2e/browser.test.ts",
  "test/e2e/portal-{signin,account,nginx,passkeys}.test.ts",
];

/**
 * Three projects: `unit` (pure code and the app in memory: no Redis, no network, seconds;
 * `npm run test:unit`), `integration` (store contracts, conformance and end to end over
 * real sockets against the run's own redis-server) and `browser` (the pages in Chromium).
 * `npm test` runs all three.
 */
export default defineConfig({
  test: {
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
    // Lets a test collect garbage before it measures the heap (abuse.test.ts).
    execArgv: ["--expose-gc"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/unit/**/*.test.ts", "test/rpc/**/*.test.ts"] },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/{contract,conformance,e2e}/**/*.test.ts"],
          exclude: browserSuites,
          globalSetup: ["test/helpers/global-setup.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "browser",
          include: browserSuites,
          globalSetup: ["test/helpers/global-setup.ts"],
          // After the others: Chromium's processes would starve the suites that time keycard
          // under attack (connection-bounds.test.ts asks p99 under 1 s) on a 2-core machine.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
