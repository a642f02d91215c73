import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    // Lets a test collect garbage before it measures the heap (abuse.test.ts).
    execArgv: ["--expose-gc"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
