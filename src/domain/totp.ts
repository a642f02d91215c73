import { generateSecret, generateURI, verify } from "otplib";

/** RFC 6238 as authenticator apps expect it: SHA-1, 6 digits, 30-second steps. */
const period = 30;

/** Codes from one step before or after the current one are accepted (clock drift). */
const toleranceSeconds = period;

/** A new random base32 TOTP secret (160 bits, the RFC 4226 recommendation). */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The otpauth:// URI that authenticator apps import. */
export function otpauthUri(issuer: string, account: string, secret: string): string {
  return generateURI({ issuer, label: account, secret, algorithm: "sha1", digits: 6, period });
}

/** Whether text has the shape of a code at all; anything else is refused without checking. */
export function isWellFormedTotpCode(code: string): boolean {
  return /^\d{6}$/.test(code);
}

/**
 * The time step a code belongs to if it is valid at `nowMs` (+/-1 step) and later than
 * `afterStep`; undefined otherwise. The caller must then claim the step atomically so that
 * the same code is never accepted twice.
 */
export async function matchingTotpStep(
  secret: string,
  code: string,
  nowMs: number,
  afterStep?: number,
): Promise<number | undefined> {
  if (!isWellFormedTotpCode(code)) {
    return undefined;
  }
  const result = await verify({
    secret,
    token: code,
    epoch: Math.floor(nowMs / 1000),
    epochTolerance: toleranceSeconds,
    ...(afterStep === undefined ? {} : { afterTimeStep: afterStep }),
  });
  return result.valid && "timeStep" in result ? result.timeStep : undefined;
}
