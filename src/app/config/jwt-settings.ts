import type { JwtAlgorithm } from "../../domain/signing-keys.js";
import type { JwtConfig } from "../../service/jwt-keys.js";
import type { EnvReader } from "./env-reader.js";
import { checkedSecret } from "./secret-settings.js";

const algorithms: readonly JwtAlgorithm[] = ["EdDSA", "ES256", "HS256"];

/** The shortest JWT_KEY_ROTATION: a key must sign a while after being published ahead. */
const minRotationMs = 3_600_000;

/**
 * JWT_*: what IssueJwt signs with and puts in its tokens. HS256 needs JWT_SECRET, and
 * JWT_SECRET is refused with any other algorithm (it would be silently unused).
 */
export function readJwtSettings(read: EnvReader): JwtConfig {
  const algorithm = read.text("JWT_ALGORITHM", "EdDSA") as JwtAlgorithm;
  read.check(
    algorithms.includes(algorithm),
    `JWT_ALGORITHM="${algorithm}" must be EdDSA (the default), ES256 or HS256`,
  );
  const secret = checkedSecret(read, "JWT_SECRET");
  read.check(
    (algorithm === "HS256") === (secret !== undefined),
    algorithm === "HS256"
      ? "JWT_ALGORITHM=HS256 needs JWT_SECRET, a shared secret of at least 32 characters"
      : "JWT_SECRET is only read with JWT_ALGORITHM=HS256; unset it, or set JWT_ALGORITHM=HS256",
  );
  const issuer = read.text("JWT_ISSUER", "keycard");
  const rotationMs = read.duration("JWT_KEY_ROTATION", "30d");
  read.check(rotationMs >= minRotationMs, "JWT_KEY_ROTATION must be at least 1h");
  return {
    algorithm,
    ...(secret === undefined ? {} : { secret }),
    issuer,
    audiences: read.list("JWT_AUDIENCES"),
    maxTtlMs: read.duration("JWT_MAX_TTL", "1h"),
    rotationMs,
  };
}
