import pino, { type Logger } from "pino";

/** Paths pino blanks out wherever they appear in a log record: secrets never reach logs. */
export const redactedPaths = [
  "password",
  "*.password",
  "token",
  "*.token",
  "session_token",
  "*.session_token",
  "sessionToken",
  "*.sessionToken",
  "api_key",
  "*.api_key",
  "apiKey",
  "*.apiKey",
  "adminToken",
  "*.adminToken",
  "totp_code",
  "*.totp_code",
  "recovery_code",
  "*.recovery_code",
  "recoveryCode",
  "*.recoveryCode",
  "codes",
  "*.codes",
  "passkey",
  "*.passkey",
  "response_json",
  "*.response_json",
  "responseJson",
  "*.responseJson",
  "headers.authorization",
  'headers["x-session-token"]',
  'headers["x-api-key"]',
  "*.headers.authorization",
  '*.headers["x-session-token"]',
];

/** The process logger: JSON lines on stdout, secrets redacted. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, redact: { paths: redactedPaths, censor: "[redacted]" } };
  return destination === undefined ? pino(options) : pino(options, destination);
}
