import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { ErrorReason, ErrorReasonSchema } from "../../gen/keycard/v1/error_reason_pb.js";

/** The exit codes scripts can rely on. */
export const ExitCode = {
  ok: 0,
  /** The server answered and refused: bad credentials, not found, already exists... */
  refused: 1,
  /** The command line is wrong: unknown command or flag, missing argument. */
  usage: 2,
  /** No answer from the server: connection refused, unknown host, timeout. */
  unreachable: 3,
  /** The user pressed Ctrl-C at a prompt (128 + SIGINT, as shells report it). */
  interrupted: 130,
} as const;

/** A wrong command line; the message says what is wrong and where to find help. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** A failure found by the CLI itself (not logged in, no such email...), with its exit code. */
export class CliError extends Error {
  override readonly name = "CliError";

  constructor(
    message: string,
    readonly exitCode: number = ExitCode.refused,
  ) {
    super(message);
  }
}

/** Node error codes that mean the request never reached a keycard server. */
const unreachableCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
]);

function nodeErrorCodes(error: unknown): string[] {
  const codes: string[] = [];
  const seen = new Set<unknown>();
  for (let cause = error; cause instanceof Error && !seen.has(cause); cause = cause.cause) {
    seen.add(cause);
    const code = (cause as NodeJS.ErrnoException).code;
    if (typeof code === "string") {
      codes.push(code);
    }
  }
  return codes;
}

/**
 * The ErrorReason of a keycard error, read from its ErrorInfo reason; unspecified when it
 * carries none or one this build of the CLI does not know.
 */
export function errorReasonOf(error: ConnectError): ErrorReason {
  const name = error.findDetails(ErrorInfoSchema)[0]?.reason;
  const value = ErrorReasonSchema.values.find((candidate) => candidate.name === name);
  return value === undefined ? ErrorReason.ERROR_REASON_UNSPECIFIED : value.number;
}

/** The `google.rpc.ErrorInfo` reason and field keycard attaches to each expected failure. */
function errorInfoOf(error: ConnectError): { reason?: string; field?: string } {
  const info = error.findDetails(ErrorInfoSchema)[0];
  if (info === undefined) {
    return {};
  }
  const field = info.metadata.field;
  return { reason: info.reason, ...(field === undefined ? {} : { field }) };
}

/** The tags after a refusal's message: its reason, and the field it names if any. */
function refusalTags(reason: string, field: string | undefined): string {
  return [reason, ...(field === undefined ? [] : [`field ${field}`])].join(", ");
}

/** Whether `error` is keycard refusing with `reason`. */
export function isRefusal(error: unknown, reason: ErrorReason): boolean {
  return error instanceof ConnectError && errorReasonOf(error) === reason;
}

/** Refusal messages in a command's own words, by ErrorReason name. */
export type OwnWords = Partial<Record<keyof typeof ErrorReason, string>>;

/**
 * Awaits `call`, saying its refusals in the command's own words where the server's message
 * is about the API rather than the command line: a refusal whose reason `words` has a
 * message for becomes a CliError with that message and the reason's tags; anything else is
 * thrown as it was.
 */
export async function inOwnWords<T>(call: Promise<T>, words: OwnWords): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (!(error instanceof ConnectError)) {
      throw error;
    }
    const { reason, field } = errorInfoOf(error);
    const message = words[reason as keyof typeof ErrorReason];
    if (reason === undefined || message === undefined) {
      throw error;
    }
    throw new CliError(`${message} (${refusalTags(reason, field)})`);
  }
}

/**
 * Turns any failure into the one line printed after `keycard: ` and the exit code. Server
 * answers keep the server's message and add the ErrorInfo reason; transport failures say
 * which URL could not be reached. Never a stack trace.
 */
export function describeFailure(error: unknown, url: string): { message: string; code: number } {
  if (error instanceof UsageError) {
    return { message: error.message, code: ExitCode.usage };
  }
  if (error instanceof CliError) {
    return { message: error.message, code: error.exitCode };
  }
  if (error instanceof ConnectError) {
    const { reason, field } = errorInfoOf(error);
    const causes = nodeErrorCodes(error.cause);
    const unreachable =
      reason === undefined &&
      (causes.some((code) => unreachableCodes.has(code)) ||
        error.code === Code.Unavailable ||
        error.code === Code.DeadlineExceeded);
    if (unreachable) {
      const detail = causes[0] ?? error.rawMessage;
      return { message: `cannot reach keycard at ${url} (${detail})`, code: ExitCode.unreachable };
    }
    const tags = refusalTags(reason ?? Code[error.code], field);
    return { message: `${error.rawMessage} (${tags})`, code: ExitCode.refused };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message, code: ExitCode.refused };
}
