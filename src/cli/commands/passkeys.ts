import {
  DeletePasskeyResponseSchema,
  ListPasskeysResponseSchema,
} from "../../../gen/keycard/v1/admin_service_pb.js";
import type { Command, CommandGroup } from "../command.js";
import { formatTime } from "../output.js";
import { adminWithUserArgument } from "../users.js";

const list: Command = {
  name: "passkeys list",
  summary: "List a user's passkeys, oldest first",
  description:
    "List the passkeys a user registered (name, id, when added and last used, whether the\npasskey is synced between devices). keycard holds only their public keys.",
  arguments: ["<user-id|email>"],
  options: {},
  admin: true,
  examples: ["keycard passkeys list alice@example.com"],
  async run({ args, out, admin }) {
    const { client, userId } = await adminWithUserArgument({ args, admin });
    const response = await client.listPasskeys({ userId });
    out.result(ListPasskeysResponseSchema, response, () =>
      out.table(
        ["ID", "NAME", "ADDED", "LAST USED", "SYNCED", "TRANSPORTS"],
        response.passkeys.map((passkey) => [
          passkey.id,
          passkey.name,
          formatTime(passkey.createdAt),
          formatTime(passkey.lastUsedAt, "never"),
          passkey.backedUp ? "yes" : "no",
          passkey.transports.join(",") || "-",
        ]),
        "No passkeys.",
      ),
    );
  },
};

const remove: Command = {
  name: "passkeys remove",
  summary: "Remove a user's passkey (a lost device) and end the sessions it opened",
  description:
    "Remove one of a user's passkeys, for a lost or stolen device: it no longer signs in,\nand every session it opened or stepped up ends. The user's other passkeys, password\nand TOTP stay.",
  arguments: ["<user-id|email>", "<passkey-id>"],
  options: {},
  admin: true,
  examples: ["keycard passkeys remove alice@example.com q2Xn1bEXAMPLEpasskeyId"],
  async run({ args, out, admin }) {
    const { client, reference, userId } = await adminWithUserArgument({ args, admin });
    const passkeyId = args.arg(1) ?? "";
    const response = await client.deletePasskey({ userId, passkeyId });
    out.result(DeletePasskeyResponseSchema, response, () =>
      out.line(
        `Removed passkey ${passkeyId} of ${reference}; ended ${response.revokedSessions} session(s)`,
      ),
    );
  },
};

/** `keycard passkeys ...`: passkey administration. */
export const passkeyCommands: CommandGroup = {
  name: "passkeys",
  summary: "list and remove a user's passkeys (admin)",
  commands: [list, remove],
};
