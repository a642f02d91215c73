import type { Store } from "../domain/ports.js";

/**
 * Told how long a session lived (ms) when it ended, and why: `logout`, `revoked`,
 * `expired`, `reuse_detected`, or the reason of a revoke-all (`privilege_change`, ...).
 */
export type SessionEndListener = (reason: string, lifetimeMs: number) => void;

/**
 * When each live session of a user began, by id: read before a revocation, since an ended
 * session's record keeps no creation time. A revocation must not fail for a metric: when
 * the read fails (a Cluster node holding some records is down), none is known.
 */
export async function creationTimes(
  store: Store,
  userId: string,
  now: number,
): Promise<Map<string, number>> {
  try {
    const live = await store.sessions.list(userId, now);
    return new Map(live.map((session) => [session.id, session.createdAt]));
  } catch {
    return new Map();
  }
}

/**
 * Reports the lifetime of each session that began at one of `began` and ended at `endedAt`;
 * a start that is unknown (0) or after the end (a clock apart) is left out.
 */
export function reportLifetimes(
  listener: SessionEndListener | undefined,
  reason: string,
  began: Iterable<number>,
  endedAt: number,
): void {
  for (const createdAt of began) {
    if (createdAt > 0 && createdAt <= endedAt) {
      listener?.(reason, endedAt - createdAt);
    }
  }
}
