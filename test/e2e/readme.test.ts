import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killStarted, type Started, startMain, waitFor } from "../helpers/process.js";
import {
  type ReadmeRequest,
  requestsOf,
  type ShellBlock,
  scriptOf,
  shellBlocks,
} from "../helpers/readme-blocks.js";

/**
 * The README as documentation that cannot rot: its shell blocks, pasted in order into one
 * shell against a fresh dev-mode keycard started as the quick start starts it, with the
 * variables its banner prints. A block that cannot run here says why in a
 * `<!-- readme-test: skip (...) -->` comment right before it.
 */
const blocks = shellBlocks("README.md");
const runnable = blocks.filter((block) => block.skipped === undefined);

/** The variables the dev-mode banner prints as `export NAME=value`. */
function bannerExports(output: string): Record<string, string> {
  return Object.fromEntries(
    [...output.matchAll(/^\s+export ([A-Z_]+)=(\S+)$/gm)].map(([, name = "", value = ""]) => [
      name,
      value,
    ]),
  );
}

/** Runs `script` in bash in `dir`; answers its exit code and standard error. */
function runBash(script: string, dir: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn("bash", ["-c", script], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", HOME: dir, LANG: "C.UTF-8" },
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout.resume();
  return new Promise((resolve) => {
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

/** What is wrong with one request a block made, or undefined. */
function problemOf(request: ReadmeRequest, block: ShellBlock | undefined): string | undefined {
  const where = `README line ${request.block}: ${request.status} ${request.url}`;
  if (/\/(null|undefined)(\/|$|\?)|[<>]|%3[CE]/i.test(request.url)) {
    return `${where}: a variable the block relies on is empty, null or a placeholder`;
  }
  if (request.status >= 500 || request.status === 0) {
    return `${where}: the server failed or could not be reached`;
  }
  if (request.status >= 400 && !block?.documentedRefusals.has(request.status)) {
    return `${where}: a refusal the block does not document in a "# ${request.status} ..." comment`;
  }
  return undefined;
}

describe("the README's shell blocks, pasted in order into a fresh dev-mode keycard", () => {
  let started: Started;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "keycard-readme-"));
    started = startMain({ KEYCARD_DEV: "1" });
    await waitFor(started, /export DEMO_PASSWORD=/);
  });
  afterAll(async () => {
    killStarted();
    await rm(dir, { recursive: true, force: true });
  });

  it("marks every block it does not run with the reason, and runs the walk-throughs", () => {
    for (const block of blocks) {
      expect(block.skipped ?? "runs", `README line ${block.line}`).not.toBe("");
    }
    expect(runnable.length).toBeGreaterThanOrEqual(8);
  });

  it("runs every other block to the end, each request answered or refused as documented", async () => {
    const exports = bannerExports(started.output());
    expect(Object.keys(exports)).toEqual(
      expect.arrayContaining(["KEYCARD_URL", "KEYCARD_ADMIN_TOKEN", "DEMO_PASSWORD"]),
    );
    const { code, stderr } = await runBash(scriptOf(runnable, exports), dir);
    const reached = [...stderr.matchAll(/^README-BLOCK (\d+)$/gm)].at(-1)?.[1];
    expect(
      { code, done: stderr.includes("README-DONE") },
      `stopped in the block at README line ${reached}:\n${stderr.slice(-3000)}`,
    ).toEqual({ code: 0, done: true });
    const requests = requestsOf(stderr);
    expect(requests.length).toBeGreaterThan(30);
    const byLine = new Map(runnable.map((block) => [block.line, block]));
    const problems = requests.flatMap(
      (request) => problemOf(request, byLine.get(request.block)) ?? [],
    );
    expect(problems).toEqual([]);
  }, 240_000);
});
