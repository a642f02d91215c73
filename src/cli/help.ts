import { globalOptions, type Options } from "./args.js";
import type { Command, CommandGroup } from "./command.js";

function optionRows(options: Options): [string, string][] {
  return Object.entries(options).map(([name, spec]) => [
    `${spec.short === undefined ? "    " : `-${spec.short}, `}--${name}${
      spec.value === undefined ? "" : ` ${spec.value}`
    }${spec.multiple === true ? "..." : ""}`,
    spec.help,
  ]);
}

function section(title: string, rows: readonly [string, string][]): string[] {
  if (rows.length === 0) {
    return [];
  }
  const width = Math.max(...rows.map(([left]) => left.length));
  return ["", `${title}:`, ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`)];
}

/** The global options that matter for a command (the admin token only for admin commands). */
function globalsFor(command: Command | undefined): Options {
  const { "admin-token": adminToken, ...rest } = globalOptions;
  return command === undefined || command.admin ? globalOptions : rest;
}

/** `keycard --help`: every command with its summary. */
export function topHelp(groups: readonly CommandGroup[], commands: readonly Command[]): string {
  const rows: [string, string][] = [
    ...commands.map((command): [string, string] => [command.name, command.summary]),
    ...groups.flatMap((group) =>
      group.commands.map((command): [string, string] => [command.name, command.summary]),
    ),
  ];
  return [
    "keycard: manage and use a keycard authentication server from the command line.",
    "",
    "Usage: keycard <command> [arguments] [options]",
    ...section("Commands", rows),
    ...section("Global options", optionRows(globalsFor(undefined))),
    "",
    "Exit codes: 0 ok, 1 refused by the server, 2 usage error, 3 server unreachable.",
    'Run "keycard <command> --help" for the options of a command.',
    "",
  ].join("\n");
}

/** `keycard user --help`: the commands of one group. */
export function groupHelp(group: CommandGroup): string {
  return [
    `keycard ${group.name}: ${group.summary}`,
    "",
    `Usage: keycard ${group.name} <command> [arguments] [options]`,
    ...section(
      "Commands",
      group.commands.map((command) => [command.name, command.summary]),
    ),
    "",
    `Run "keycard ${group.name} <command> --help" for the options of a command.`,
    "",
  ].join("\n");
}

/** `keycard user add --help`: usage, description, options and examples of one command. */
export function commandHelp(command: Command): string {
  const usage = command.usage ?? [command.name, ...command.arguments, "[options]"].join(" ");
  return [
    `Usage: keycard ${usage}`,
    "",
    command.description ?? `${command.summary}.`,
    ...section("Options", optionRows(command.options)),
    ...section("Global options", optionRows(globalsFor(command))),
    ...(command.examples.length === 0
      ? []
      : ["", "Examples:", ...command.examples.map((example) => `  ${example}`)]),
    "",
  ].join("\n");
}
