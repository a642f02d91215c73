import { defineConfig } from "vitest/config";

/**
 * Two projects: `unit` (pure code and the app in memory: no Redis, no network, seconds;
 * `npm run test:unit`) and `integration` (store contracts, conformance and end to end over
 * real sockets against the run's own redis-server). `npm test` runs both.
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
          globalSetup: ["test/helpers/global-setup.ts"],
        },
      },
    ],
  },
});
