import type { EnvReader } from "./env-reader.js";

/** The settings of calls that change an account's own credentials. */
export interface PrivilegedSettings {
  /**
   * PRIVILEGED_SESSION_MAX_AGE: how long ago a session's holder may have proved themselves
   * (logged in or reauthenticated) and still change their own password, in ms.
   */
  readonly privilegedSessionMaxAgeMs: number;
}

/** PRIVILEGED_SESSION_MAX_AGE, 5 minutes by default (a fresh session, as OWASP asks). */
export function readPrivilegedSettings(read: EnvReader): PrivilegedSettings {
  return { privilegedSessionMaxAgeMs: read.duration("PRIVILEGED_SESSION_MAX_AGE", "5m") };
}
