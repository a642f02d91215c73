import type { Clock } from "../domain/clock.js";
import { invalidArgument, KeycardError } from "../domain/errors.js";
import type { PasswordHasher, Store } from "../domain/ports.js";
import { newId } from "../domain/token.js";
import { normalizeEmail, type UserRecord } from "../domain/user.js";

/** What a new account needs. */
export interface NewUser {
  readonly email: string;
  readonly displayName: string;
  readonly password: string;
  readonly roles: readonly string[];
}

const rolePattern = /^[A-Za-z0-9._:-]{1,64}$/;

/** Account administration: create and disable users. */
export class UserService {
  constructor(
    private readonly deps: {
      readonly store: Store;
      readonly hasher: PasswordHasher;
      readonly clock: Clock;
    },
  ) {}

  /** Adds an account; USER_EXISTS when the email is taken. */
  async create(input: NewUser): Promise<UserRecord> {
    const email = normalizeEmail(input.email);
    validateNewUser(email, input);
    const user: UserRecord = {
      id: newId(),
      email,
      displayName: input.displayName.trim(),
      passwordHash: await this.deps.hasher.hash(input.password),
      roles: [...new Set(input.roles)],
      disabled: false,
      createdAt: this.deps.clock.now(),
    };
    if (!(await this.deps.store.users.create(user))) {
      throw new KeycardError("USER_EXISTS", "A user with this email already exists");
    }
    return user;
  }

  /** Disables an account and revokes all its sessions at once. */
  async disable(userId: string): Promise<{ user: UserRecord; revokedSessions: number }> {
    if (userId === "") {
      throw invalidArgument("user_id", "user_id is required");
    }
    const user = await this.deps.store.users.disable(userId);
    if (user === undefined) {
      throw new KeycardError("NOT_FOUND", "No user with this id");
    }
    const revokedSessions = await this.deps.store.sessions.revokeAll(userId);
    return { user, revokedSessions };
  }
}

function validateNewUser(email: string, input: NewUser): void {
  if (email.length > 254 || !/^[^@\s]+@[^@\s]+$/.test(email)) {
    throw invalidArgument("email", "email must be an address like name@example.com");
  }
  const name = input.displayName.trim();
  if (name.length === 0 || name.length > 200) {
    throw invalidArgument("display_name", "display_name must be 1 to 200 characters");
  }
  const passwordBytes = Buffer.byteLength(input.password);
  if (passwordBytes < 8 || passwordBytes > 1024) {
    throw invalidArgument("password", "password must be 8 to 1024 bytes");
  }
  const badRole = input.roles.find((role) => !rolePattern.test(role));
  if (badRole !== undefined) {
    throw invalidArgument("roles", "roles must be 1 to 64 letters, digits, '.', '_', ':' or '-'");
  }
}
