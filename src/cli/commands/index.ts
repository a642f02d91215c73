import type { Command, CommandGroup } from "../command.js";
import { apiKeyCommands } from "./apikey.js";
import { jwtCommands } from "./jwt.js";
import { loginCommand } from "./login.js";
import { logoutCommand } from "./logout.js";
import { passkeyCommands } from "./passkeys.js";
import { passwordCommands } from "./password.js";
import { reauthCommand } from "./reauth.js";
import { recoveryCodesCommand } from "./recovery-codes.js";
import { reencryptCommand } from "./reencrypt.js";
import { serveCommand } from "./serve.js";
import { sessionCommands } from "./sessions.js";
import { totpCommands } from "./totp.js";
import { userCommands } from "./user.js";
import { whoamiCommand } from "./whoami.js";

/** Commands of one word: `keycard login`. */
export const topCommands: readonly Command[] = [
  serveCommand,
  loginCommand,
  whoamiCommand,
  reauthCommand,
  logoutCommand,
  recoveryCodesCommand,
  reencryptCommand,
];

/** Commands of two words: `keycard user add`. */
export const commandGroups: readonly CommandGroup[] = [
  userCommands,
  apiKeyCommands,
  totpCommands,
  passkeyCommands,
  sessionCommands,
  passwordCommands,
  jwtCommands,
];
