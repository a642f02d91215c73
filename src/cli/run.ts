import {
  globalOptions,
  type Options,
  parseCommandLine,
  splitCommandWords,
  wantsHelp,
} from "./args.js";
import { adminClient, authClient, checkedUrl, defaultUrl } from "./client.js";
import type { Command, CommandContext } from "./command.js";
import { commandGroups, topCommands } from "./commands/index.js";
import { describeFailure, ExitCode, UsageError } from "./errors.js";
import { commandHelp, groupHelp, topHelp } from "./help.js";
import { Output } from "./output.js";
import type { Io } from "./terminal.js";

const allCommands = [...topCommands, ...commandGroups.flatMap((group) => group.commands)];

/** Every option that takes a value, so that its value is never taken for a command word. */
const valueOptions = new Set(
  [globalOptions, ...allCommands.map((command) => command.options)].flatMap((options: Options) =>
    Object.entries(options).flatMap(([name, spec]) =>
      spec.type === "string"
        ? [`--${name}`, ...(spec.short === undefined ? [] : [`-${spec.short}`])]
        : [],
    ),
  ),
);

type Resolved =
  | { readonly kind: "help"; readonly text: string }
  | { readonly kind: "command"; readonly command: Command };

/** Finds the command the words name, or the help to print instead. */
function resolve(words: readonly string[], rest: readonly string[]): Resolved {
  const help = wantsHelp(rest);
  const [first, second] = words;
  if (first === undefined) {
    if (rest.length === 0 || help) {
      return { kind: "help", text: topHelp(commandGroups, topCommands) };
    }
    throw new UsageError("missing command (see keycard --help)");
  }
  const top = topCommands.find((command) => command.name === first);
  if (top !== undefined) {
    return help ? { kind: "help", text: commandHelp(top) } : { kind: "command", command: top };
  }
  const group = commandGroups.find((candidate) => candidate.name === first);
  if (group === undefined) {
    throw new UsageError(`unknown command "${first}" (see keycard --help)`);
  }
  if (second === undefined) {
    const { defaultCommand } = group;
    if (defaultCommand !== undefined) {
      return help
        ? { kind: "help", text: commandHelp(defaultCommand) }
        : { kind: "command", command: defaultCommand };
    }
    if (rest.length === 0 || help) {
      return { kind: "help", text: groupHelp(group) };
    }
    throw new UsageError(`missing command after "keycard ${first}" (see keycard ${first} --help)`);
  }
  const command = group.commands.find((candidate) => candidate.name === `${first} ${second}`);
  if (command === undefined) {
    throw new UsageError(`unknown command "${first} ${second}" (see keycard ${first} --help)`);
  }
  return help ? { kind: "help", text: commandHelp(command) } : { kind: "command", command };
}

function checkArgumentCount(command: Command, positionals: readonly string[]): void {
  const required = command.arguments.filter((argument) => argument.startsWith("<"));
  const missing = required[positionals.length];
  if (missing !== undefined) {
    throw new UsageError(`missing ${missing} (see keycard ${command.name} --help)`);
  }
  const extra = positionals[command.arguments.length];
  if (extra !== undefined) {
    throw new UsageError(
      `unexpected argument "${extra}" for "${command.name}" (see keycard ${command.name} --help)`,
    );
  }
}

/**
 * Runs one `keycard` command line and returns its exit code: 0 ok, 1 refused by the
 * server, 2 usage error, 3 server unreachable. Every failure is printed as one
 * `keycard: <message>` line on stderr; nothing throws out of here.
 */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let url = io.env.KEYCARD_URL || defaultUrl;
  try {
    const { words, rest } = splitCommandWords(
      argv,
      (word) => commandGroups.some((group) => group.name === word),
      (option) => valueOptions.has(option),
    );
    const resolved = resolve(words, rest);
    if (resolved.kind === "help") {
      io.stdout.write(resolved.text);
      return ExitCode.ok;
    }
    const { command } = resolved;
    const args = parseCommandLine(rest, { ...globalOptions, ...command.options }, command.name);
    checkArgumentCount(command, args.positionals);
    url = checkedUrl(args.string("url") ?? url);
    const serverUrl = url;
    const adminToken = args.string("admin-token") ?? io.env.KEYCARD_ADMIN_TOKEN ?? "";
    const context: CommandContext = {
      args,
      io,
      out: new Output(io, args.flag("json")),
      url: serverUrl,
      admin: () => {
        if (adminToken === "") {
          throw new UsageError(
            `"keycard ${command.name}" needs the administrator token: set KEYCARD_ADMIN_TOKEN or pass --admin-token`,
          );
        }
        return adminClient(serverUrl, adminToken);
      },
      auth: (sessionToken) => authClient(serverUrl, sessionToken),
    };
    await command.run(context);
    return ExitCode.ok;
  } catch (error) {
    const { message, code } = describeFailure(error, url);
    io.stderr.write(`keycard: ${message}\n`);
    return code;
  }
}
