import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import {
  type AssertionClaims,
  type CeremonyOptions,
  type CeremonyRefusal,
  type NewCredential,
  type PasskeyRecord,
  passkeyChallengeTtlMs,
  type VerifiedAssertion,
} from "../../domain/passkey.js";
import type { WebAuthnVerifier } from "../../domain/ports.js";

/** Transports kept of a registration: at most this many, each at most 32 characters. */
const maxTransports = 8;

/** A parsed JSON object, or undefined for text that is not one. */
function objectOf(json: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The message of whatever a verification threw: what the audit says of a refusal. */
function refusalOf(error: unknown): CeremonyRefusal {
  return { problem: error instanceof Error ? error.message : "unverifiable response" };
}

/** keycard's user id from a user handle: the id's UTF-8 bytes, base64url (as registration sets it). */
function userIdOf(userHandle: unknown): string | undefined {
  if (typeof userHandle !== "string" || userHandle === "") {
    return undefined;
  }
  return Buffer.from(userHandle, "base64url").toString("utf8");
}

/** The transports a registration answer reported, bounded; none when absent or malformed. */
function transportsOf(response: RegistrationResponseJSON): string[] {
  const reported: unknown = response.response.transports;
  if (!Array.isArray(reported)) {
    return [];
  }
  return reported
    .filter((transport): transport is string => typeof transport === "string")
    .filter((transport) => transport.length <= 32)
    .slice(0, maxTransports);
}

/**
 * WebAuthn by @simplewebauthn/server: it parses the CBOR and COSE of the answers and checks
 * challenge, origin, relying party, flags, signature and counter. User verification is
 * preferred, never required (a security key without a PIN still signs in, at AAL1), and
 * no attestation is asked for: keycard trusts any authenticator the user chooses.
 */
export function createWebAuthnVerifier(): WebAuthnVerifier {
  return {
    async registrationOptions(rp, user, existing): Promise<CeremonyOptions> {
      const options = await generateRegistrationOptions({
        rpName: rp.name,
        rpID: rp.id,
        userName: user.email,
        userID: new TextEncoder().encode(user.id),
        userDisplayName: user.displayName,
        timeout: passkeyChallengeTtlMs,
        attestationType: "none",
        excludeCredentials: existing.map((passkey) => ({
          id: passkey.credentialId,
          transports: [...passkey.transports],
        })),
        authenticatorSelection: { residentKey: "required", userVerification: "preferred" },
      });
      return { challenge: options.challenge, optionsJson: JSON.stringify(options) };
    },

    async verifyRegistration(
      rp,
      responseJson,
      challenge,
    ): Promise<NewCredential | CeremonyRefusal> {
      const response = objectOf(responseJson) as RegistrationResponseJSON | undefined;
      if (response === undefined || typeof response.response !== "object") {
        return { problem: "response_json is not a RegistrationResponseJSON object" };
      }
      try {
        const verified = await verifyRegistrationResponse({
          response,
          expectedChallenge: challenge,
          expectedOrigin: [...rp.origins],
          expectedRPID: rp.id,
          requireUserVerification: false,
        });
        if (!verified.verified) {
          return { problem: "registration response not verified" };
        }
        const { credential, credentialBackedUp, credentialDeviceType } = verified.registrationInfo;
        return {
          credentialId: credential.id,
          publicKey: Buffer.from(credential.publicKey).toString("base64url"),
          counter: credential.counter,
          transports: transportsOf(response),
          backedUp: credentialBackedUp,
          deviceType: credentialDeviceType,
        };
      } catch (error) {
        return refusalOf(error);
      }
    },

    async authenticationOptions(rp): Promise<CeremonyOptions> {
      const options = await generateAuthenticationOptions({
        rpID: rp.id,
        allowCredentials: [],
        userVerification: "preferred",
        timeout: passkeyChallengeTtlMs,
      });
      return { challenge: options.challenge, optionsJson: JSON.stringify(options) };
    },

    readAssertion(responseJson): AssertionClaims | undefined {
      const response = objectOf(responseJson);
      const inner = response?.response;
      if (typeof response?.id !== "string" || response.id === "" || typeof inner !== "object") {
        return undefined;
      }
      const userId = userIdOf((inner as Record<string, unknown> | null)?.userHandle);
      return userId === undefined
        ? { credentialId: response.id }
        : { credentialId: response.id, userId };
    },

    async verifyAssertion(
      rp,
      responseJson,
      challenge,
      passkey: PasskeyRecord,
    ): Promise<VerifiedAssertion | CeremonyRefusal> {
      const response = objectOf(responseJson) as AuthenticationResponseJSON | undefined;
      if (response === undefined) {
        return { problem: "response_json is not an AuthenticationResponseJSON object" };
      }
      try {
        const verified = await verifyAuthenticationResponse({
          response,
          expectedChallenge: challenge,
          expectedOrigin: [...rp.origins],
          expectedRPID: rp.id,
          credential: {
            id: passkey.credentialId,
            publicKey: Buffer.from(passkey.publicKey, "base64url"),
            counter: passkey.counter,
          },
          requireUserVerification: false,
        });
        if (!verified.verified) {
          return { problem: "signature not verified" };
        }
        const { newCounter, userVerified } = verified.authenticationInfo;
        return { counter: newCounter, userVerified };
      } catch (error) {
        return refusalOf(error);
      }
    },
  };
}
