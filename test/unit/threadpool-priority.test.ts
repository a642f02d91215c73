import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const modulePath = fileURLToPath(new URL("../../src/app/threadpool-priority.ts", import.meta.url));

describe.runIf(process.platform === "linux")("deprioritizeThreadpool", () => {
  it("lowers every libuv threadpool thread to nice 10 and leaves the event loop alone", async () => {
    const script = join(tmpdir(), `threadpool-${process.pid}.mts`);
    writeFileSync(
      script,
      `import { readFileSync, readdirSync } from "node:fs";
import { deprioritizeThreadpool } from ${JSON.stringify(modulePath)};
const lowered = await deprioritizeThreadpool();
const nice = (id) => Number(readFileSync(\`/proc/self/task/\${id}/stat\`, "utf8").split(") ")[1].split(" ")[16]);
const threads = readdirSync("/proc/self/task").map((id) => ({ id: Number(id), nice: nice(id) }));
console.log(JSON.stringify({ lowered, pid: process.pid, threads }));`,
    );
    const { stdout } = await run(process.execPath, ["--import", "tsx", script], {
      env: { ...process.env, UV_THREADPOOL_SIZE: "4" },
    });
    const report = JSON.parse(stdout) as {
      lowered: number;
      pid: number;
      threads: { id: number; nice: number }[];
    };
    expect(report.lowered).toBe(4);
    expect(report.threads.filter((thread) => thread.nice === 10)).toHaveLength(4);
    expect(report.threads.find((thread) => thread.id === report.pid)?.nice).toBe(0);
  });
});
