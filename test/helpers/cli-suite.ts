import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import {
  type Answer,
  type CliResult,
  runKeycard,
  runKeycardAtTerminal,
  type TerminalResult,
} from "./cli.js";
import { type KeycardOptions, startKeycard, type TestKeycard, testAdminToken } from "./keycard.js";
import { freePort } from "./redis-server.js";
import { requireOnPath } from "./tools.js";

/** The password of every user the CLI suites add. */
export const password = "correct horse battery staple";
/** A whole API key as the CLI prints it. */
export const keyPattern = /kc_key_[A-Za-z0-9_-]{43}/;
/** A stack trace's line, which a CLI must never print. */
export const stackTrace = /\n\s+at /;

/** One CLI suite's server and home folder, and the commands run against them. */
export interface CliSuite {
  /** The temporary HOME of the suite's commands. */
  home(): string;
  /** The environment of a command: HOME, KEYCARD_URL and KEYCARD_ADMIN_TOKEN for the test server. */
  testEnv(env?: Record<string, string>): Record<string, string>;
  /** Runs `keycard <args>` in this process, in the environment of {@link CliSuite.testEnv}. */
  cli(
    args: readonly string[],
    options?: { input?: string; env?: Record<string, string> },
  ): Promise<CliResult>;
  /** Runs `keycard <args>` as at a terminal, answering its prompts with `answer`. */
  cliAtTerminal(
    args: readonly string[],
    answer: Answer,
    env?: Record<string, string>,
  ): Promise<TerminalResult>;
  /** Runs a command that must succeed and returns its stdout parsed as JSON. */
  cliJson(
    args: readonly string[],
    input?: string,
    env?: Record<string, string>,
  ): Promise<Record<string, unknown>>;
  /** Adds a user with {@link password} through `keycard user add`. */
  addUser(email: string, roles?: string[]): Promise<Record<string, unknown>>;
  /** The suite's keycard, for what a test does beside the CLI. */
  keycard(): TestKeycard;
}

/**
 * Starts a keycard (real Redis, ephemeral port; built with `options`, such as a fake clock)
 * and a temporary HOME for the suite that calls it, both stopped after its tests, and gives
 * the commands that use them.
 */
export function cliSuite(options: KeycardOptions = {}): CliSuite {
  let keycard: TestKeycard;
  let home: string;
  beforeAll(async () => {
    keycard = await startKeycard(options);
    home = await mkdtemp(join(tmpdir(), "keycard-cli-"));
  });
  afterAll(async () => {
    await keycard?.close();
    if (home !== undefined) {
      await rm(home, { recursive: true, force: true });
    }
  });
  const testEnv = (env: Record<string, string> = {}): Record<string, string> => ({
    HOME: home,
    KEYCARD_URL: keycard.baseUrl,
    KEYCARD_ADMIN_TOKEN: testAdminToken,
    ...env,
  });
  const cli: CliSuite["cli"] = (args, options = {}) =>
    runKeycard(args, { input: options.input, env: testEnv(options.env) });
  const cliAtTerminal: CliSuite["cliAtTerminal"] = (args, answer, env) =>
    runKeycardAtTerminal(args, { answer, env: testEnv(env) });
  const cliJson: CliSuite["cliJson"] = async (args, input, env) => {
    const result = await cli([...args, "--json"], {
      ...(input === undefined ? {} : { input }),
      ...(env === undefined ? {} : { env }),
    });
    if (result.code !== 0) {
      throw new Error(`keycard ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
    }
    return JSON.parse(result.stdout) as Record<string, unknown>;
  };
  const addUser: CliSuite["addUser"] = async (email, roles = []) => {
    const args = ["user", "add", "--email", email, "--name", "Test User", "--password-stdin"];
    const response = await cliJson(
      [...args, ...roles.flatMap((role) => ["--role", role])],
      password,
    );
    return response.user as Record<string, unknown>;
  };
  return {
    keycard: () => keycard,
    home: () => home,
    testEnv,
    cli,
    cliAtTerminal,
    cliJson,
    addUser,
  };
}

/** The current TOTP code of a base32 secret, `stepsAhead` 30-second steps from now. */
export function totpCode(secret: string, stepsAhead = 0): string {
  return execFileSync(requireOnPath("oathtool", "oathtool"), [
    "--totp",
    "-b",
    secret,
    "-N",
    `now + ${stepsAhead * 30} seconds`,
  ])
    .toString()
    .trim();
}

export function uniqueEmail(name: string): string {
  return `${name}-${randomUUID().slice(0, 8)}@example.com`;
}

/** The URL of a port nothing listens on. */
export async function closedPortUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}
