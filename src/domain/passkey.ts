import { createHash } from "node:crypto";
import { invalidArgument } from "./errors.js";

/**
 * A passkey (a WebAuthn credential) registered to an account, as the store keeps it. Its
 * public key and counter are what an assertion is checked against; the rest describes it
 * to its owner.
 */
export interface PasskeyRecord {
  /** keycard's id of it, derived from the credential id (see {@link passkeyIdOf}). */
  readonly id: string;
  readonly userId: string;
  /** The authenticator's credential id, base64url, as assertions name it. */
  readonly credentialId: string;
  /** The credential's public key as a COSE key, base64url. */
  readonly publicKey: string;
  /** The authenticator's signature counter at its last use; 0 for one that keeps none. */
  readonly counter: number;
  /** How the browser may reach the authenticator ("internal", "usb", "hybrid", ...). */
  readonly transports: readonly string[];
  /** The name its owner gave it. */
  readonly name: string;
  readonly createdAt: number;
  /** When it last proved a login or a step-up; 0 until then. */
  readonly lastUsedAt: number;
  /** Whether the authenticator says the credential is backed up (synced to other devices). */
  readonly backedUp: boolean;
  /** "singleDevice", or "multiDevice" for a credential that may be synced. */
  readonly deviceType: string;
}

/**
 * What a WebAuthn challenge was handed out for: registering a passkey to one account, or
 * a login (whoever's passkey answers it). A challenge answers only its own purpose.
 */
export type PasskeyPurpose =
  | { readonly kind: "registration"; readonly userId: string }
  | { readonly kind: "login" };

/** A challenge handed out and not yet answered, as the store keeps it under its id. */
export interface PasskeyChallenge {
  readonly purpose: PasskeyPurpose;
  /** The random bytes the authenticator signs, base64url (the options' `challenge`). */
  readonly challenge: string;
  /** When it stops working (epoch ms). */
  readonly expiresAt: number;
}

/**
 * How long a challenge may be answered: five minutes, the upper end of WebAuthn's
 * recommended ceremony timeout, so a person finding their security key is not cut off.
 */
export const passkeyChallengeTtlMs = 5 * 60_000;

/** Who keycard is to authenticators: WEBAUTHN_RP_ID, _RP_NAME and _ORIGINS. */
export interface RelyingParty {
  /** A host name (no scheme or port) the origins are under, such as "example.com". */
  readonly id: string;
  /** The name an authenticator shows when it creates a passkey. */
  readonly name: string;
  /** The page origins a ceremony may come from, such as "https://login.example.com". */
  readonly origins: readonly string[];
}

/** The name a passkey gets when its owner gives none. */
export const defaultPasskeyName = "Passkey";

const maxPasskeyNameLength = 64;

/**
 * The name to store for a passkey: trimmed, "Passkey" when empty, at most 64 characters and
 * without control characters (INVALID_ARGUMENT naming `name` otherwise).
 */
export function passkeyNameOf(typed: string): string {
  const name = typed.trim();
  if (name === "") {
    return defaultPasskeyName;
  }
  if ([...name].length > maxPasskeyNameLength) {
    throw invalidArgument("name", `name must be at most ${maxPasskeyNameLength} characters`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) {
    throw invalidArgument("name", "name must not contain control characters");
  }
  return name;
}

/**
 * keycard's id of a credential: the first 132 bits of the SHA-256 of its credential id,
 * base64url (22 characters). Short and URL-safe whatever the authenticator's id (up to
 * 1023 bytes), so sessions can name it cheaply; derived, so an assertion finds its record
 * without a second index.
 */
export function passkeyIdOf(credentialId: string): string {
  return createHash("sha256").update(credentialId).digest("base64url").slice(0, 22);
}

/**
 * Whether an authenticator's counter after a use shows it was not cloned: it moved
 * forward, or the authenticator keeps none (0 before and after, as synced passkeys do).
 */
export function counterAdvanced(stored: number, reported: number): boolean {
  return (stored === 0 && reported === 0) || reported > stored;
}

/** A ceremony's options for the browser, and the challenge in them to check the answer by. */
export interface CeremonyOptions {
  /** The random challenge, base64url, as the options carry it. */
  readonly challenge: string;
  /** The options as JSON text (PublicKeyCredentialCreationOptionsJSON or ...RequestOptionsJSON). */
  readonly optionsJson: string;
}

/** What a verified registration tells of the new credential. */
export interface NewCredential {
  readonly credentialId: string;
  readonly publicKey: string;
  readonly counter: number;
  readonly transports: readonly string[];
  readonly backedUp: boolean;
  readonly deviceType: string;
}

/** What an assertion claims before it is verified: which credential, and whose. */
export interface AssertionClaims {
  readonly credentialId: string;
  /** The user handle a discoverable credential returns (keycard's user id); absent otherwise. */
  readonly userId?: string;
}

/** What a verified assertion tells: the authenticator's new counter, and whether it verified the user. */
export interface VerifiedAssertion {
  readonly counter: number;
  readonly userVerified: boolean;
}

/** A ceremony's answer that failed verification, with why (for the audit; never secret). */
export interface CeremonyRefusal {
  readonly problem: string;
}
