import type { Logger } from "pino";
import type { Clock } from "../../domain/clock.js";
import { KeycardError, StoreUnavailableError } from "../../domain/errors.js";
import type { Store } from "../../domain/ports.js";
import type { UserRecord } from "../../domain/user.js";
import type { ApiKeyService } from "../../service/api-key-service.js";
import { SecretKeeper } from "../../service/secret-keeper.js";
import type { TotpService } from "../../service/totp-service.js";
import type { UserService } from "../../service/user-service.js";
import {
  type BootstrapApiKey,
  BootstrapError,
  type BootstrapFile,
  type BootstrapUser,
} from "./file.js";

/** What applying a bootstrap file needs: the use cases, the store to look keys up in. */
export interface BootstrapDeps {
  readonly users: UserService;
  readonly apiKeys: ApiKeyService;
  readonly totp: TotpService;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  /** KEYCARD_ENCRYPTION_KEY: API keys are looked up by its keyed hash, TOTP encrypted by it. */
  readonly encryptionKey: Buffer | undefined;
}

/** What a bootstrap run did. */
export interface BootstrapSummary {
  readonly usersCreated: number;
  readonly usersExisting: number;
  readonly keysImported: number;
  readonly keysExisting: number;
  readonly keysExpired: number;
}

/**
 * Applies a bootstrap file idempotently, as every replica does at each start: a user whose
 * email exists is left exactly as it is (password, roles, TOTP), and an API key whose hash
 * is already stored (even revoked) is not added again. Only the keys of a user are looked
 * at again, so keys added to the file later are imported for existing users too.
 * Throws BootstrapError for data the services refuse, and StoreUnavailableError when the
 * store cannot be written to.
 */
export async function applyBootstrap(
  file: BootstrapFile,
  deps: BootstrapDeps,
): Promise<BootstrapSummary> {
  const needsKey = file.users.some((user) => user.totpSecret !== "" || user.apiKeys.length > 0);
  if (needsKey && deps.encryptionKey === undefined) {
    throw new BootstrapError(file.path, [
      "api_keys and totp_secret need KEYCARD_ENCRYPTION_KEY to be set",
    ]);
  }
  const run = new BootstrapRun(file.path, deps, new SecretKeeper(deps.encryptionKey));
  for (const [index, user] of file.users.entries()) {
    await run.apply(user, `users[${index}]`);
  }
  deps.logger.info({ bootstrap: file.path, ...run.summary }, "bootstrap applied");
  return { ...run.summary };
}

/** One pass over a file, counting what it did. */
class BootstrapRun {
  readonly summary = {
    usersCreated: 0,
    usersExisting: 0,
    keysImported: 0,
    keysExisting: 0,
    keysExpired: 0,
  };

  constructor(
    private readonly path: string,
    private readonly deps: BootstrapDeps,
    private readonly secrets: SecretKeeper,
  ) {}

  async apply(entry: BootstrapUser, where: string): Promise<void> {
    try {
      const user = await this.ensureUser(entry);
      for (const apiKey of entry.apiKeys) {
        await this.ensureApiKey(user, apiKey);
      }
    } catch (error) {
      if (error instanceof KeycardError && !(error instanceof StoreUnavailableError)) {
        throw new BootstrapError(this.path, [`${where}: ${error.message}`]);
      }
      throw error;
    }
  }

  private async ensureUser(entry: BootstrapUser): Promise<UserRecord> {
    const { users, totp, logger } = this.deps;
    const found = await users.findByEmail(entry.email);
    if (found !== undefined) {
      return this.existing(found);
    }
    let user: UserRecord;
    try {
      user = await users.create(entry);
    } catch (error) {
      const raced = error instanceof KeycardError && error.reason === "USER_EXISTS";
      const other = raced ? await users.findByEmail(entry.email) : undefined;
      if (other === undefined) {
        throw error;
      }
      return this.existing(other);
    }
    if (entry.totpSecret !== "") {
      user = await totp.importSecret(user.id, entry.totpSecret);
    }
    if (entry.disabled) {
      user = (await users.disable(user.id)).user;
    }
    this.summary.usersCreated += 1;
    logger.info(
      { bootstrap: this.path, userId: user.id, email: user.email },
      "bootstrap: user created",
    );
    return user;
  }

  private existing(user: UserRecord): UserRecord {
    this.summary.usersExisting += 1;
    this.deps.logger.info(
      { bootstrap: this.path, userId: user.id, email: user.email },
      "bootstrap: user exists, left unchanged",
    );
    return user;
  }

  private async ensureApiKey(user: UserRecord, entry: BootstrapApiKey): Promise<void> {
    const { store, apiKeys, clock, logger } = this.deps;
    const fields = { bootstrap: this.path, userId: user.id, name: entry.name };
    const stored = await store.apiKeys.findByHash(this.secrets.hashApiKey(entry.key));
    if (stored !== undefined) {
      this.summary.keysExisting += 1;
      if (stored.userId === user.id) {
        logger.info(
          { ...fields, apiKeyId: stored.id },
          "bootstrap: API key exists, left unchanged",
        );
      } else {
        logger.warn(
          { ...fields, apiKeyId: stored.id, ownerId: stored.userId },
          "bootstrap: API key exists but belongs to another user; left unchanged",
        );
      }
      return;
    }
    if (entry.expiresAt !== 0 && entry.expiresAt <= clock.now()) {
      this.summary.keysExpired += 1;
      logger.warn(fields, "bootstrap: API key expired; not imported");
      return;
    }
    const { record } = await apiKeys.create({ userId: user.id, ...entry });
    this.summary.keysImported += 1;
    logger.info({ ...fields, apiKeyId: record.id }, "bootstrap: API key imported");
  }
}
