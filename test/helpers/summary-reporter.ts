import type { Reporter, TestModule } from "vitest/node";

/**
 * Prints the plain closing line CI reads, `N passed, N failed` (and skipped), after
 * vitest's own report. A test file that failed before any of its tests ran (it did not
 * load, or a hook failed) counts as failed too, so that the line never reads
 * `0 failed` for a run that failed.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    let brokenFiles = 0;
    for (const module of testModules) {
      let failedTests = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed" || state === "failed") {
          counts[state] += 1;
          failedTests += state === "failed" ? 1 : 0;
        } else {
          counts.skipped += 1;
        }
      }
      if (module.state() === "failed" && failedTests === 0) {
        brokenFiles += 1;
      }
    }
    const broken =
      brokenFiles === 0 ? "" : ` (and ${brokenFiles} test file(s) failed outside a test)`;
    process.stdout.write(
      `\n${counts.passed} passed, ${counts.failed + brokenFiles} failed, ${counts.skipped} skipped${broken}\n`,
    );
  }
}
