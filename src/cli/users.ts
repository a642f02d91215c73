import type { Client } from "@connectrpc/connect";
import type { AdminService } from "../../gen/keycard/v1/admin_service_pb.js";
import type { User } from "../../gen/keycard/v1/session_pb.js";
import type { CommandContext } from "./command.js";
import { CliError } from "./errors.js";
import { everyPage } from "./pages.js";

/** Every account, following ListUsers pages to the end. */
export function listAllUsers(admin: Client<typeof AdminService>): Promise<User[]> {
  return everyPage(async (page) => {
    const { users, nextPageToken } = await admin.listUsers(page);
    return { items: users, nextPageToken };
  });
}

/**
 * The user id a `<user>` argument names: an argument with "@" is an email, looked up with
 * ListUsers (case-insensitively, as keycard stores emails); anything else is an id.
 */
export async function resolveUserId(
  admin: Client<typeof AdminService>,
  reference: string,
): Promise<string> {
  if (!reference.includes("@")) {
    return reference;
  }
  const email = reference.trim().toLowerCase();
  const user = (await listAllUsers(admin)).find((candidate) => candidate.email === email);
  if (user === undefined) {
    throw new CliError(`no user with email ${email} (NOT_FOUND)`);
  }
  return user.id;
}

/**
 * For a command whose first argument is a `<user>`: the AdminService client, the argument
 * as given, and the user id it names (see {@link resolveUserId}).
 */
export async function adminWithUserArgument({
  args,
  admin,
}: Pick<CommandContext, "args" | "admin">): Promise<{
  client: Client<typeof AdminService>;
  reference: string;
  userId: string;
}> {
  const client = admin();
  const reference = args.arg(0) ?? "";
  return { client, reference, userId: await resolveUserId(client, reference) };
}
