import { type AuthMethod, loginTimeOf, type SessionRecord } from "./session.js";

/**
 * RFC 8176 authentication method references as keycard reports them: `pwd` a password,
 * `otp` a one-time code (TOTP), `swk` a software key (an API key), `hwk` a hardware key
 * (a passkey), `rec` a recovery code.
 */
export type Amr = "pwd" | "otp" | "swk" | "hwk" | "rec";

/** The authenticator assurance level: 1 for one factor, 2 for two. */
export type Aal = 1 | 2;

/** How, and how recently, the person behind a credential proved themselves. */
export interface Assurance {
  /** When a credential was last presented (epoch ms): the session's login, or this request's API key. */
  readonly authTime: number;
  /** The methods, in the order they were checked, each once. */
  readonly amr: readonly Amr[];
  readonly aal: Aal;
}

const amrOfMethod: Record<AuthMethod, Amr> = {
  password: "pwd",
  totp: "otp",
  api_key: "swk",
  recovery_code: "rec",
  passkey: "hwk",
  passkey_verified: "hwk",
};

/**
 * The assurance of credentials checked with `methods` at `authTime`: AAL2 for two distinct
 * kinds of proof, or for a passkey whose authenticator verified the user (NIST SP 800-63B
 * counts such a multi-factor cryptographic authenticator as two factors on its own).
 */
export function assuranceOf(methods: readonly AuthMethod[], authTime: number): Assurance {
  const amr: Amr[] = [];
  for (const method of methods) {
    const reference = amrOfMethod[method];
    if (!amr.includes(reference)) {
      amr.push(reference);
    }
  }
  const multiFactor = amr.length >= 2 || methods.includes("passkey_verified");
  return { authTime, amr, aal: multiFactor ? 2 : 1 };
}

/**
 * What a caller may ask of a credential's assurance before it counts as active (RFC 9470
 * step-up): a login at most `maxAgeMs` old, at least at `minAal`. Absent asks nothing.
 */
export interface StepUp {
  readonly maxAgeMs?: number;
  readonly minAal?: Aal;
}

/** Whether an assurance meets a step-up requirement at `now`. */
export function meetsStepUp(assurance: Assurance, stepUp: StepUp, now: number): boolean {
  const fresh = stepUp.maxAgeMs === undefined || now - assurance.authTime <= stepUp.maxAgeMs;
  return fresh && (stepUp.minAal === undefined || assurance.aal >= stepUp.minAal);
}

/** A level as the API carries it (an int32) read as an AAL: 2 is 2, anything else 1. */
export function aalOf(level: number): Aal {
  return level === 2 ? 2 : 1;
}

/** The OAuth `acr` value keycard gives an assurance level (RFC 9470 `acr_values` use it). */
export function acrOf(aal: Aal): string {
  return `aal${aal}`;
}

/** A session's assurance: its methods, at its last reauthentication or else its login. */
export function sessionAssurance(
  session: Pick<
    SessionRecord,
    "authMethods" | "authenticatedAt" | "createdAt" | "reauthenticatedAt"
  >,
): Assurance {
  return assuranceOf(session.authMethods, session.reauthenticatedAt ?? loginTimeOf(session));
}
