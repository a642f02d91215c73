import { randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { acrOf, sessionAssurance } from "../domain/assurance.js";
import { type Clock, epochSeconds } from "../domain/clock.js";
import { invalidArgument } from "../domain/errors.js";
import type { SessionRecord } from "../domain/session.js";
import type { AuditLog } from "./audit.js";
import type { JwtKeys } from "./signing-keyring.js";

/** What JWTs say about their issuer and audiences, and how long they may live. */
export interface JwtSettings {
  /** JWT_ISSUER: the `iss` claim (default `keycard`). */
  readonly issuer: string;
  /** JWT_AUDIENCES: the `aud` values a caller may ask for; the first is the default. */
  readonly audiences: readonly string[];
  /** JWT_MAX_TTL: the longest lifetime a caller may ask for. */
  readonly maxTtlMs: number;
}

/** The lifetime of a JWT whose caller asks for none. */
export const defaultJwtTtlMs = 5 * 60_000;

/** A signed JWT and when it expires (epoch seconds, as its `exp` says). */
export interface IssuedJwt {
  readonly token: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** What a caller asks of a JWT: its audience (empty for the default) and lifetime (0 for the default). */
export interface JwtRequest {
  readonly audience: string;
  readonly ttlSeconds: number;
}

/**
 * Signs short-lived JWTs that carry a live session's identity and assurance, for services
 * that verify them offline against the JWKS. The JWT outlives neither JWT_MAX_TTL nor the
 * session's expiry, but nothing can revoke it before its `exp`.
 */
export class JwtIssuer {
  constructor(
    private readonly deps: {
      readonly keys: JwtKeys;
      readonly clock: Clock;
      readonly settings: JwtSettings;
      readonly audit: AuditLog;
    },
  ) {}

  async issue(session: SessionRecord, request: JwtRequest): Promise<IssuedJwt> {
    const { keys, clock, settings } = this.deps;
    const audience = this.audienceOf(request.audience);
    const issuedAt = epochSeconds(clock.now());
    const ttlMs = Math.min(request.ttlSeconds * 1000 || defaultJwtTtlMs, settings.maxTtlMs);
    const expiresAt = Math.floor(Math.min(issuedAt + ttlMs / 1000, session.expiresAt / 1000));
    const signing = await keys.signingKey();
    const jti = randomBytes(16).toString("base64url");
    const assurance = sessionAssurance(session);
    const jwt = new SignJWT({
      sid: session.id,
      auth_time: epochSeconds(assurance.authTime),
      amr: [...assurance.amr],
      acr: acrOf(assurance.aal),
      roles: [...session.roles],
      email: session.email,
    })
      .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: "JWT" })
      .setIssuer(settings.issuer)
      .setSubject(session.userId)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(expiresAt)
      .setJti(jti);
    const token = await (audience === undefined ? jwt : jwt.setAudience(audience)).sign(
      signing.key,
    );
    this.deps.audit("jwt.issued", {
      userId: session.userId,
      sessionId: session.id,
      jti,
      kid: signing.kid,
      audience: audience ?? "",
      expiresAt: new Date(expiresAt * 1000).toISOString(),
    });
    return { token, issuedAt, expiresAt };
  }

  /** The `aud` of a request: one of the allowed audiences, the first when none is named. */
  private audienceOf(requested: string): string | undefined {
    const allowed = this.deps.settings.audiences;
    if (requested === "") {
      return allowed[0];
    }
    if (!allowed.includes(requested)) {
      throw invalidArgument(
        "audience",
        allowed.length === 0
          ? "This server issues JWTs without an audience: set JWT_AUDIENCES to allow one"
          : `audience must be one of JWT_AUDIENCES: ${allowed.join(", ")}`,
      );
    }
    return requested;
  }
}
