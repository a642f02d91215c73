import type { Options, ParsedArgs } from "./args.js";
import { CliError, ExitCode, UsageError } from "./errors.js";
import { type Io, isInteractive, promptSecret, readStdin } from "./terminal.js";

/** The options of every command that takes a password. */
export const passwordOptions = {
  password: {
    type: "string",
    value: "<password>",
    help: "the password (visible in the process list: prefer the prompt or --password-stdin)",
  },
  "password-stdin": { type: "boolean", help: "read the password from stdin" },
} as const satisfies Options;

/**
 * The password of a command: --password, else all of stdin with --password-stdin, else a
 * prompt without echo (typed twice when `confirm`) asking for `label`, "Password" unless
 * said. Without a terminal to prompt on, a missing password is a usage error, not a hang.
 */
export async function readPassword(
  args: ParsedArgs,
  io: Io,
  options: { readonly confirm: boolean; readonly command: string; readonly label?: string },
): Promise<string> {
  const given = args.string("password");
  if (given !== undefined && args.flag("password-stdin")) {
    throw new UsageError("use either --password or --password-stdin, not both");
  }
  if (given !== undefined) {
    return given;
  }
  if (args.flag("password-stdin")) {
    return readStdin(io);
  }
  if (!isInteractive(io)) {
    throw new UsageError(
      `missing password: pass --password-stdin or --password (see keycard ${options.command} --help)`,
    );
  }
  return promptPassword(io, options.label ?? "Password", options.confirm);
}

/**
 * Asks for a password on the terminal without echo, as `label`; with `confirm`, a second
 * time, and the two must match (exit code 2 otherwise, nothing sent).
 */
export async function promptPassword(io: Io, label: string, confirm: boolean): Promise<string> {
  const password = await promptSecret(io, `${label}: `);
  if (confirm && (await promptSecret(io, `${label} again: `)) !== password) {
    throw new CliError("the passwords do not match", ExitCode.usage);
  }
  return password;
}
