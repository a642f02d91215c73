import { parseArgs } from "node:util";
import { UsageError } from "./errors.js";

/** One option of a command, with what its help says about it. */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly multiple?: boolean;
  readonly short?: string;
  /** The placeholder shown in help for a string option, such as `<email>`. */
  readonly value?: string;
  readonly help: string;
}

/** The options of a command, by long name. */
export type Options = Readonly<Record<string, OptionSpec>>;

/** Options every command accepts, before or after the command words. */
export const globalOptions = {
  url: {
    type: "string",
    value: "<url>",
    help: "keycard server (env KEYCARD_URL, default http://localhost:8080)",
  },
  "admin-token": {
    type: "string",
    value: "<token>",
    help: "administrator token (env KEYCARD_ADMIN_TOKEN, which is safer than the option)",
  },
  json: { type: "boolean", help: "print the response as proto JSON (snake_case) for scripts" },
  help: { type: "boolean", short: "h", help: "show help for the command" },
} as const satisfies Options;

type Value = string | boolean | (string | boolean)[] | undefined;

/** The parsed command line of one command: typed accessors and positional arguments. */
export class ParsedArgs {
  constructor(
    private readonly values: Readonly<Record<string, Value>>,
    readonly positionals: readonly string[],
    private readonly command: string,
  ) {}

  /** A string option, or undefined when absent. */
  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === "string" ? value : undefined;
  }

  /** A string option that must be present. */
  required(name: string): string {
    const value = this.string(name);
    if (value === undefined || value === "") {
      throw new UsageError(`missing --${name} (see keycard ${this.command} --help)`);
    }
    return value;
  }

  /** Every value of a repeatable option, in order. */
  strings(name: string): string[] {
    const value = this.values[name];
    return Array.isArray(value) ? value.filter((item) => typeof item === "string") : [];
  }

  /** A boolean option. */
  flag(name: string): boolean {
    return this.values[name] === true;
  }

  /** The positional argument at `index`, if given. */
  arg(index: number): string | undefined {
    return this.positionals[index];
  }
}

/** Whether the arguments ask for help (`-h`/`--help` before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).some((arg) => arg === "-h" || arg === "--help");
}

/**
 * Separates the command words (`user add`) from everything else. Options may come before
 * the words, so a token following an option that takes a value is skipped.
 */
export function splitCommandWords(
  argv: readonly string[],
  isGroup: (word: string) => boolean,
  takesValue: (option: string) => boolean,
): { words: string[]; rest: string[] } {
  const words: string[] = [];
  const rest: string[] = [];
  let index = 0;
  for (; index < argv.length; index += 1) {
    const token = argv[index] ?? "";
    const wordsComplete = words.length === 2 || (words.length === 1 && !isGroup(words[0] ?? ""));
    if (token === "--" || wordsComplete) {
      break;
    }
    if (token.startsWith("-") && token !== "-") {
      rest.push(token);
      if (!token.includes("=") && takesValue(token) && index + 1 < argv.length) {
        index += 1;
        rest.push(argv[index] ?? "");
      }
      continue;
    }
    words.push(token);
  }
  return { words, rest: [...rest, ...argv.slice(index)] };
}

function optionName(message: string): string {
  return /'(-[^' ]+)/.exec(message)?.[1] ?? "";
}

/** Parses a command's arguments strictly; any mistake is a UsageError naming the command. */
export function parseCommandLine(
  args: readonly string[],
  options: Options,
  command: string,
): ParsedArgs {
  const config = Object.fromEntries(
    Object.entries(options).map(([name, spec]) => [
      name,
      {
        type: spec.type,
        ...(spec.multiple === undefined ? {} : { multiple: spec.multiple }),
        ...(spec.short === undefined ? {} : { short: spec.short }),
      },
    ]),
  );
  const hint = `see keycard ${command} --help`;
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: config,
      allowPositionals: true,
      strict: true,
    });
    return new ParsedArgs(values, positionals, command);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = (error as Error).message;
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      throw new UsageError(`unknown option ${optionName(message)} for "${command}" (${hint})`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const name = optionName(message);
      throw new UsageError(
        message.includes("does not take")
          ? `option ${name} does not take a value (${hint})`
          : `option ${name} needs a value (${hint})`,
      );
    }
    throw new UsageError(`${message} (${hint})`);
  }
}
