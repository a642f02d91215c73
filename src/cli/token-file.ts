import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir, platform } from "node:os";
import { dirname, join } from "node:path";
import { CliError } from "./errors.js";

/**
 * The home directory of the command's environment. On POSIX `os.homedir()` is the process's
 * HOME whenever it is set, so reading HOME from `env` gives real users the same answer and
 * lets a caller with its own environment (a test running the CLI in-process) have its own.
 */
function homeOf(env: Readonly<Record<string, string | undefined>>): string {
  return platform() === "win32" ? homedir() : (env.HOME ?? homedir());
}

/**
 * Where `keycard login` keeps the session token: --token-file, else KEYCARD_TOKEN_FILE,
 * else ~/.keycard/session (HOME taken from `env`). The file holds the token alone on one
 * line, so that `Authorization: Bearer $(cat ~/.keycard/session)` works too.
 */
export function tokenFilePath(
  option: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  return option ?? env.KEYCARD_TOKEN_FILE ?? join(homeOf(env), ".keycard", "session");
}

/**
 * Saves a session token readable by its owner only: a missing directory is created 0700,
 * the file is written 0600 under a temporary name and renamed into place, so a reader
 * never sees half a token and an older, looser file is replaced rather than reused.
 */
export async function saveToken(path: string, token: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(temporary, `${token}\n`, { mode: 0o600, flag: "wx" });
    await chmod(temporary, 0o600);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** The saved session token; a CliError (exit 1) telling how to log in when there is none. */
export async function loadToken(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new CliError(`not logged in: no session token in ${path} (run keycard login)`);
    }
    throw error;
  }
  const token = text.trim();
  if (token === "") {
    throw new CliError(`not logged in: ${path} is empty (run keycard login)`);
  }
  return token;
}

/** Deletes the saved token; a missing file is fine. */
export async function removeToken(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** The option of every command that uses the saved session token. */
export const tokenFileOption = {
  "token-file": {
    type: "string",
    value: "<path>",
    help: "where the session token is kept (env KEYCARD_TOKEN_FILE, default ~/.keycard/session)",
  },
} as const;
