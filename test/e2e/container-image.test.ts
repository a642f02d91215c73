import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ValidationSeverity, type ValidatorSettings, validate } from "dockerfile-utils";
import { afterEach, describe, expect, it } from "vitest";
import { parseDuration } from "../../src/domain/duration.js";
import { dockerfileRuntime, fromSource, repositoryRoot } from "../helpers/image-commands.js";
import { exitCodeOf, killStarted, startMain, waitFor } from "../helpers/process.js";

afterEach(killStarted);

/** Every rule of dockerfile-utils' linter that has a severity, raised to an error. */
const strict: Required<ValidatorSettings> = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

/** The runtime stage's arguments of every `keyword` instruction. */
function argumentsOf(keyword: string): string[] {
  return dockerfileRuntime()
    .instructions.filter((instruction) => instruction.getKeyword() === keyword)
    .map((instruction) => instruction.getArgumentsContent() ?? "");
}

/** Runs the image's HEALTHCHECK command as the image would, beside a keycard on `port`. */
function healthcheckExitCode(port: string): number | null {
  const command = fromSource(dockerfileRuntime().healthcheck ?? []);
  return spawnSync(command[0] ?? "", command.slice(1), {
    env: { PATH: process.env.PATH ?? "", PORT: port },
    timeout: 15_000,
  }).status;
}

describe("the container image (Dockerfile)", () => {
  it("passes the Dockerfile linter (dockerfile-utils, every rule an error)", () => {
    const diagnostics = validate(readFileSync(join(repositoryRoot, "Dockerfile"), "utf8"), strict);
    expect(
      diagnostics.map(({ range, message }) => `line ${range.start.line + 1}: ${message}`),
    ).toEqual([]);
  });

  it("builds and runs on a Node LTS of 22 or later in every stage (Node 20 ended in April 2026)", () => {
    const { baseImages } = dockerfileRuntime();
    expect(baseImages.length).toBeGreaterThan(0);
    for (const image of baseImages) {
      expect(image).toMatch(/^node:(\d+)-/);
      expect(Number(/^node:(\d+)-/.exec(image)?.[1])).toBeGreaterThanOrEqual(22);
    }
  });

  it("runs keycard as a numeric non-root user, as PID 1 in exec form, on the port it exposes", () => {
    const [user] = argumentsOf("USER");
    expect(argumentsOf("USER")).toHaveLength(1);
    // A number, so that Kubernetes' runAsNonRoot can check it without a passwd file.
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user?.split(":")[0])).toBeGreaterThan(0);

    const [cmd] = argumentsOf("CMD");
    const argv = JSON.parse(cmd ?? "") as string[];
    expect(argv).toEqual(["node", "dist/src/app/main.js"]);
    expect(fromSource(argv)).toContain("src/app/main.ts");

    expect(argumentsOf("ENV").join(" ")).toMatch(/\bPORT=8080\b/);
    expect(argumentsOf("EXPOSE")).toEqual(["8080"]);
  });

  it("has a HEALTHCHECK that needs no curl: it passes while keycard answers and fails once keycard is gone", async () => {
    const { healthcheck, healthcheckFlags } = dockerfileRuntime();
    expect(healthcheck?.[0]).toBe("node");
    // The check gives up after 3 s itself; Docker must not cut it off before.
    expect(parseDuration(healthcheckFlags.timeout ?? "")).toBeGreaterThan(3_000);
    expect(parseDuration(healthcheckFlags["start-period"] ?? "")).toBeGreaterThanOrEqual(10_000);

    const started = startMain({ KEYCARD_DEV: "1" });
    const port = (await waitFor(started, /"port":(\d+)/))[1] ?? "";
    expect(healthcheckExitCode(port)).toBe(0);

    started.child.kill("SIGKILL");
    await exitCodeOf(started.child);
    expect(healthcheckExitCode(port)).toBe(1);
  }, 40_000);
});

describe("README: running the image", () => {
  it("makes the admin token and encryption key with openssl and passes both to docker run", () => {
    const readme = readFileSync(join(repositoryRoot, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Running in production"));
    const script = /```bash\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
    for (const name of ["KEYCARD_ADMIN_TOKEN", "KEYCARD_ENCRYPTION_KEY"]) {
      expect(script).toMatch(new RegExp(`${name}=\\$\\(openssl rand -base64 32\\)`));
      expect(script).toMatch(new RegExp(`docker run[^]*-e ${name}\\b`));
    }
  });
});
