import type { Clock } from "../../domain/clock.js";
import {
  counterAdvanced,
  type PasskeyChallenge,
  type PasskeyRecord,
} from "../../domain/passkey.js";
import type { PasskeyChallengeStore, PasskeyStore } from "../../domain/ports.js";
import { ExpiringMap } from "./expiring-map.js";

/**
 * Passkeys of the embedded store: a map per user. Each method runs to its end without
 * awaiting, so of concurrent uses reporting one counter exactly one is recorded.
 */
export class MemoryPasskeyStore implements PasskeyStore {
  private readonly byUser = new Map<string, Map<string, PasskeyRecord>>();

  async add(passkey: PasskeyRecord): Promise<boolean> {
    const passkeys = this.byUser.get(passkey.userId) ?? new Map<string, PasskeyRecord>();
    if (passkeys.has(passkey.id)) {
      return false;
    }
    passkeys.set(passkey.id, passkey);
    this.byUser.set(passkey.userId, passkeys);
    return true;
  }

  async find(userId: string, id: string): Promise<PasskeyRecord | undefined> {
    return this.byUser.get(userId)?.get(id);
  }

  async list(userId: string): Promise<PasskeyRecord[]> {
    return [...(this.byUser.get(userId)?.values() ?? [])].sort((a, b) => a.createdAt - b.createdAt);
  }

  async recordUse(userId: string, id: string, counter: number, at: number): Promise<boolean> {
    const passkeys = this.byUser.get(userId);
    const passkey = passkeys?.get(id);
    if (passkeys === undefined || passkey === undefined) {
      return false;
    }
    if (!counterAdvanced(passkey.counter, counter)) {
      return false;
    }
    passkeys.set(id, { ...passkey, counter, lastUsedAt: at });
    return true;
  }

  async remove(userId: string, id: string): Promise<boolean> {
    return this.byUser.get(userId)?.delete(id) ?? false;
  }
}

/** WebAuthn challenges of the embedded store, gone at their expiry on its clock. */
export class MemoryPasskeyChallengeStore implements PasskeyChallengeStore {
  private readonly challenges: ExpiringMap<string, PasskeyChallenge>;

  constructor(clock: Clock) {
    this.challenges = new ExpiringMap(() => clock.now());
  }

  async save(id: string, challenge: PasskeyChallenge): Promise<void> {
    this.challenges.set(id, challenge, challenge.expiresAt);
  }

  async take(id: string): Promise<PasskeyChallenge | undefined> {
    const challenge = this.challenges.get(id);
    this.challenges.delete(id);
    return challenge;
  }

  /** Drops expired challenges; called with the store's other sweeps. */
  sweep(): void {
    this.challenges.sweep();
  }
}
