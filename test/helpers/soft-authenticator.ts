import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { type CBORType, encodeCBOR } from "@levischuck/tiny-cbor";

/** A credential the software authenticator created: its key pair, owner and counter. */
export interface SoftCredential {
  /** The credential id, base64url. */
  readonly id: string;
  /** The user handle the relying party gave at registration (base64url). */
  readonly userHandle: string;
  readonly rpId: string;
  readonly privateKey: KeyObject;
  /** The signature counter of its last use (0 at creation). */
  counter: number;
}

/** What a ceremony may bend, to play a misbehaving or hostile client. */
export interface CeremonyOverrides {
  /** The page origin the browser reports; the authenticator's own origin by default. */
  readonly origin?: string;
  /** The RP id the authenticator hashes into its data; the options' by default. */
  readonly rpId?: string;
  /** Whether the authenticator verified the user (PIN, biometric); its default otherwise. */
  readonly userVerified?: boolean;
  /** The signature counter to report; the credential's last one + 1 by default (0 keeps 0). */
  readonly counter?: number;
  /** The credential to answer with; the newest by default. */
  readonly credential?: SoftCredential;
  /** The challenge to sign instead of the options' one. */
  readonly challenge?: string;
}

/** How a software authenticator behaves. */
export interface SoftAuthenticatorOptions {
  /** The origin of the page it is used from, such as "http://localhost:8080". */
  readonly origin: string;
  /** Whether it verifies the user (UV flag); true by default. */
  readonly userVerification?: boolean;
  /** Whether it keeps a signature counter; true by default (false: always 0, like synced passkeys). */
  readonly counts?: boolean;
}

const flags = { up: 0x01, uv: 0x04, be: 0x08, bs: 0x10, at: 0x40 } as const;

function b64url(bytes: Uint8Array | Buffer): string {
  return Buffer.from(bytes).toString("base64url");
}

function sha256(data: Uint8Array | string): Buffer {
  return createHash("sha256").update(data).digest();
}

/** The credential's ES256 public key as a COSE_Key map (RFC 9053): kty EC2, alg -7, crv P-256. */
function coseKeyOf(privateKey: KeyObject): Uint8Array {
  const jwk = privateKey.export({ format: "jwk" });
  return encodeCBOR(
    new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x ?? "", "base64url")],
      [-3, Buffer.from(jwk.y ?? "", "base64url")],
    ]),
  );
}

/** A 4-byte big-endian signature counter. */
function counterBytes(counter: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(counter);
  return bytes;
}

/**
 * A WebAuthn authenticator in software for tests (an ES256 key per credential in
 * node:crypto): it answers the options keycard hands out with the RegistrationResponseJSON
 * and AuthenticationResponseJSON that @simplewebauthn/browser would send, with "none"
 * attestation, discoverable credentials (the user handle comes back), and flags, counter,
 * origin and RP id that a test may bend (see CeremonyOverrides).
 */
export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];

  constructor(private readonly options: SoftAuthenticatorOptions) {}

  /** Creates a credential for PublicKeyCredentialCreationOptionsJSON (as text or parsed). */
  register(creationOptions: string | object, overrides: CeremonyOverrides = {}): object {
    const options = parsed(creationOptions);
    const rp = options.rp as { id: string };
    const user = options.user as { id: string };
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const credential: SoftCredential = {
      id: b64url(randomBytes(32)),
      userHandle: user.id,
      rpId: rp.id,
      privateKey,
      counter: 0,
    };
    const credentialId = Buffer.from(credential.id, "base64url");
    const attested = Buffer.concat([
      Buffer.alloc(16),
      Buffer.from([credentialId.length >> 8, credentialId.length & 0xff]),
      credentialId,
      coseKeyOf(privateKey),
    ]);
    const authData = Buffer.concat([
      this.header(overrides.rpId ?? rp.id, overrides, flags.at),
      counterBytes(0),
      attested,
    ]);
    const attestationObject = encodeCBOR(
      new Map<string, CBORType>([
        ["fmt", "none"],
        ["attStmt", new Map<string, CBORType>()],
        ["authData", authData],
      ]),
    );
    this.credentials.push(credential);
    return {
      id: credential.id,
      rawId: credential.id,
      type: "public-key",
      response: {
        clientDataJSON: this.clientData("webauthn.create", options, overrides),
        attestationObject: b64url(attestationObject),
        transports: ["internal", "hybrid"],
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  /** Signs PublicKeyCredentialRequestOptionsJSON's challenge with a credential. */
  assert(requestOptions: string | object, overrides: CeremonyOverrides = {}): object {
    const options = parsed(requestOptions);
    const credential = overrides.credential ?? this.credentials.at(-1);
    if (credential === undefined) {
      throw new Error("the software authenticator has no credential: register one first");
    }
    const counter =
      overrides.counter ?? (this.options.counts === false ? 0 : credential.counter + 1);
    credential.counter = Math.max(credential.counter, counter);
    const authData = Buffer.concat([
      this.header(overrides.rpId ?? credential.rpId, overrides, 0),
      counterBytes(counter),
    ]);
    const clientDataJSON = this.clientData("webauthn.get", options, overrides);
    const signed = Buffer.concat([authData, sha256(Buffer.from(clientDataJSON, "base64url"))]);
    return {
      id: credential.id,
      rawId: credential.id,
      type: "public-key",
      response: {
        clientDataJSON,
        authenticatorData: b64url(authData),
        signature: b64url(sign("sha256", signed, credential.privateKey)),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  /** rpIdHash and flags: user present, verified unless told otherwise, backed up, and `extra`. */
  private header(rpId: string, overrides: CeremonyOverrides, extra: number): Buffer {
    const verified = overrides.userVerified ?? this.options.userVerification ?? true;
    const flagByte = flags.up | (verified ? flags.uv : 0) | flags.be | flags.bs | extra;
    return Buffer.concat([sha256(rpId), Buffer.from([flagByte])]);
  }

  /** The browser's clientDataJSON for a ceremony, base64url. */
  private clientData(
    type: string,
    options: Record<string, unknown>,
    overrides: CeremonyOverrides,
  ): string {
    return b64url(
      Buffer.from(
        JSON.stringify({
          type,
          challenge: overrides.challenge ?? options.challenge,
          origin: overrides.origin ?? this.options.origin,
          crossOrigin: false,
        }),
      ),
    );
  }
}

function parsed(options: string | object): Record<string, unknown> {
  return (typeof options === "string" ? JSON.parse(options) : options) as Record<string, unknown>;
}
