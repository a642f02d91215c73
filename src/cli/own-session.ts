import type { Client } from "@connectrpc/connect";
import type { AuthService, ReauthenticateResponse } from "../../gen/keycard/v1/auth_service_pb.js";
import { ErrorReason } from "../../gen/keycard/v1/error_reason_pb.js";
import type { CommandContext } from "./command.js";
import { CliError, isRefusal } from "./errors.js";
import { type Io, isInteractive, promptLine, promptSecret } from "./terminal.js";
import { loadToken, saveToken, tokenFilePath } from "./token-file.js";

/** What proves the caller again (Reauthenticate): the password, a TOTP code, or both. */
export interface Proof {
  readonly password: string;
  readonly totpCode: string;
}

type AuthClient = Client<typeof AuthService>;

/** What a script is told when a command needs a fresher session and nobody can be asked. */
const reauthHint =
  'this needs a recent login (with a TOTP code once TOTP is on): run "keycard reauth", then this command again (STEP_UP_REQUIRED)';

/** Asks for a current TOTP code on the terminal, as `keycard login` does. */
export function promptTotpCode(io: Io): Promise<string> {
  return promptLine(io, "TOTP code: ");
}

/**
 * The session `keycard login` saved, for the commands that change the caller's own account.
 * keycard lets a session change credentials only when its holder proved themselves within
 * PRIVILEGED_SESSION_MAX_AGE (and with TOTP once it is on); {@link OwnSession.privileged}
 * proves them again when the server asks for that, and keeps the rotated token.
 */
export class OwnSession {
  private constructor(
    private readonly context: CommandContext,
    /** The token file, rewritten whenever the token rotates. */
    readonly path: string,
    private token: string,
  ) {}

  /** The saved session of --token-file, KEYCARD_TOKEN_FILE or ~/.keycard/session. */
  static async load(context: CommandContext): Promise<OwnSession> {
    const path = tokenFilePath(context.args.string("token-file"), context.io.env);
    return new OwnSession(context, path, await loadToken(path));
  }

  /** An AuthService client presenting the session's current token. */
  client(): AuthClient {
    return this.context.auth(this.token);
  }

  /**
   * Runs `call` on the session; when the server answers STEP_UP_REQUIRED, proves the caller
   * again and runs it once more. The proof is `known` when the command already holds it
   * (`keycard password` has the current password), else asked for on the terminal: the
   * password, and a TOTP code when the account has TOTP. Without a terminal, a CliError
   * says to run `keycard reauth`.
   */
  async privileged<T>(call: (client: AuthClient) => Promise<T>, known?: Proof): Promise<T> {
    try {
      return await call(this.client());
    } catch (error) {
      if (!isRefusal(error, ErrorReason.STEP_UP_REQUIRED)) {
        throw error;
      }
    }
    await this.reauthenticate(known ?? (await this.askForProof()));
    return call(this.client());
  }

  /** Proves the caller again (Reauthenticate) and saves the rotated token to the file. */
  async reauthenticate(proof: Proof): Promise<ReauthenticateResponse> {
    const response = await this.client().reauthenticate(proof);
    await saveToken(this.path, response.sessionToken);
    this.token = response.sessionToken;
    return response;
  }

  /** Whether the account has TOTP, so that proving oneself again takes a code too. */
  async hasTotp(): Promise<boolean> {
    return (await this.client().getMe({})).user?.totpEnabled === true;
  }

  private async askForProof(): Promise<Proof> {
    const { io } = this.context;
    if (!isInteractive(io)) {
      throw new CliError(reauthHint);
    }
    const totp = await this.hasTotp();
    io.stderr.write("This needs a recent login: prove it is you again.\n");
    const password = await promptSecret(io, "Password: ");
    return { password, totpCode: totp ? await promptTotpCode(io) : "" };
  }
}
