import type { Reporter, TestModule } from "vitest/node";

/**
 * Prints the plain closing line CI reads, `N passed, N failed` (and skipped), after
 * vitest's own report.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed" || state === "failed") {
          counts[state] += 1;
        } else {
          counts.skipped += 1;
        }
      }
    }
    process.stdout.write(
      `\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`,
    );
  }
}
