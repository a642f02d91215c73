import type { Client } from "@connectrpc/connect";
import type { AdminService } from "../../gen/keycard/v1/admin_service_pb.js";
import type { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import type { Options, ParsedArgs } from "./args.js";
import type { Output } from "./output.js";
import type { Io } from "./terminal.js";

/** What a running command has at hand: its arguments, the terminal, and keycard clients. */
export interface CommandContext {
  readonly args: ParsedArgs;
  readonly io: Io;
  readonly out: Output;
  /** The server URL from --url or KEYCARD_URL. */
  readonly url: string;
  /** An AdminService client; a UsageError when no administrator token was given. */
  admin(): Client<typeof AdminService>;
  /** An AuthService client, presenting a session token when given one. */
  auth(sessionToken?: string): Client<typeof AuthService>;
}

/** One `keycard ...` command: what its help says and what it does. */
export interface Command {
  /** The words that select it, such as "user add". */
  readonly name: string;
  /** One line for command listings. */
  readonly summary: string;
  /** A paragraph for its --help, when the summary is not enough. */
  readonly description?: string;
  /** The usage line after "keycard ", when the generated one would hide required options. */
  readonly usage?: string;
  /** Positional arguments as shown in usage: `<user>` required, `[session-id]` optional. */
  readonly arguments: readonly string[];
  readonly options: Options;
  /**
   * True when it calls AdminService and so needs the administrator token (for a command
   * with an admin form and a form for the caller's own account, the admin form does).
   */
  readonly admin: boolean;
  readonly examples: readonly string[];
  run(context: CommandContext): Promise<void>;
}

/** Commands that share a first word, such as `keycard user ...`. */
export interface CommandGroup {
  readonly name: string;
  readonly summary: string;
  readonly commands: readonly Command[];
  /**
   * The command the group's word runs alone (`keycard password` changes the password beside
   * `keycard password reset`), named by that one word and listed among `commands`; without
   * one, the word alone prints the group's help.
   */
  readonly defaultCommand?: Command;
}
