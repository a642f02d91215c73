import type { Clock } from "../domain/clock.js";
import type { SigningKeyStore } from "../domain/ports.js";
import type { JwtAlgorithm, KeySchedule } from "../domain/signing-keys.js";
import type { AuditLog } from "./audit.js";
import type { JwtSettings } from "./jwt-issuer.js";
import type { SecretKeeper } from "./secret-keeper.js";
import { SharedSecretKeys } from "./shared-secret-keys.js";
import { type JwtKeys, SigningKeyring } from "./signing-keyring.js";

/** Everything the JWT_* settings say. */
export interface JwtConfig extends JwtSettings {
  /** JWT_ALGORITHM: EdDSA (default) or ES256 with keys keycard makes; HS256 with JWT_SECRET. */
  readonly algorithm: JwtAlgorithm;
  /** JWT_SECRET: HS256's shared secret. */
  readonly secret?: string;
  /** JWT_KEY_ROTATION: how long a key signs before the next takes over. */
  readonly rotationMs: number;
}

/** The JWT settings of a server that sets none of JWT_*. */
export const defaultJwtConfig: JwtConfig = {
  algorithm: "EdDSA",
  issuer: "keycard",
  audiences: [],
  maxTtlMs: 3_600_000,
  rotationMs: 30 * 86_400_000,
};

/** How long a scheduled key is published before it signs: more than verifiers cache the JWKS. */
export const publishAheadMs = 10 * 60_000;

/** Room for the clocks of keycard and its verifiers to disagree. */
const clockSkewMs = 5 * 60_000;

/** The schedule of keys for a configuration: replaced keys outlive the longest JWT. */
export function keyScheduleOf(config: JwtConfig): KeySchedule {
  return {
    rotationMs: config.rotationMs,
    publishAheadMs,
    retainMs: config.maxTtlMs + clockSkewMs,
  };
}

/** The signing keys a configuration asks for: the shared secret, or the stored key ring. */
export function jwtKeysFor(
  config: JwtConfig,
  deps: {
    readonly store: SigningKeyStore;
    readonly secrets: SecretKeeper;
    readonly clock: Clock;
    readonly audit: AuditLog;
    readonly onBackgroundError: (error: unknown) => void;
  },
): JwtKeys {
  if (config.algorithm === "HS256") {
    return new SharedSecretKeys(config.secret ?? "");
  }
  return new SigningKeyring({
    ...deps,
    schedule: keyScheduleOf(config),
    algorithm: config.algorithm,
  });
}
