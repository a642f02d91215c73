import type { Command } from "../command.js";
import { CliError } from "../errors.js";

/** `keycard reencrypt`: moves stored TOTP secrets to a rotated KEYCARD_ENCRYPTION_KEY. */
export const reencryptCommand: Command = {
  name: "reencrypt",
  summary: "Move stored TOTP secrets to a new KEYCARD_ENCRYPTION_KEY",
  description:
    "After rotating the encryption key (the new key in KEYCARD_ENCRYPTION_KEY, the old one\nin KEYCARD_PREVIOUS_ENCRYPTION_KEYS), re-encrypts every stored TOTP secret under the new\nkey, talking to Redis directly (REDIS_URL). Safe to run again and while keycard serves.\nAPI keys move to the new key the first time each is used.",
  arguments: [],
  options: {},
  admin: false,
  examples: [
    "KEYCARD_ENCRYPTION_KEY=<new> KEYCARD_PREVIOUS_ENCRYPTION_KEYS=<old> keycard reencrypt",
  ],
  async run({ io }) {
    // Loaded on demand: the other commands should not pay for ioredis and pino.
    const { runReencrypt } = await import("../../app/reencrypt-main.js");
    // Progress on stderr, as the other commands report it; the outcome decides the exit code.
    const lines: string[] = [];
    const code = await runReencrypt(io.env, (line) => {
      lines.push(line);
      io.stderr.write(`${line}\n`);
    });
    if (code !== 0) {
      throw new CliError(lines.at(-1) ?? "re-encryption failed", code);
    }
  },
};
