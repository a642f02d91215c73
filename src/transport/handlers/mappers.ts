import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type ApiKey,
  ApiKeySchema,
  AuthMethod,
  type Passkey,
  PasskeySchema,
  type Session,
  SessionKind,
  SessionSchema,
  type User,
  UserSchema,
} from "../../../gen/keycard/v1/session_pb.js";
import type { ApiKeyRecord } from "../../domain/api-key.js";
import { type Assurance, sessionAssurance } from "../../domain/assurance.js";
import type { PasskeyRecord } from "../../domain/passkey.js";
import type { AuthMethod as DomainAuthMethod, SessionListing } from "../../domain/session.js";
import type { UserRecord } from "../../domain/user.js";

const sessionKinds = {
  standard: SessionKind.STANDARD,
  remember_me: SessionKind.REMEMBER_ME,
  api: SessionKind.API,
} as const;

const authMethods: Readonly<Record<DomainAuthMethod, AuthMethod>> = {
  password: AuthMethod.PASSWORD,
  api_key: AuthMethod.API_KEY,
  totp: AuthMethod.TOTP,
  recovery_code: AuthMethod.RECOVERY_CODE,
  passkey: AuthMethod.PASSKEY,
  passkey_verified: AuthMethod.PASSKEY_VERIFIED,
};

/**
 * The API view of a session; `current` marks the one making the request. Its methods go
 * out twice: as AuthMethod values and, for clients of the deprecated field, as the
 * domain's strings.
 */
export function sessionToProto(session: SessionListing, currentSessionId?: string): Session {
  return create(SessionSchema, {
    id: session.id,
    createdAt: timestampFromMs(session.createdAt),
    expiresAt: timestampFromMs(session.expiresAt),
    lastUsedAt: timestampFromMs(session.lastUsedAt),
    ipAddress: session.ip,
    userAgent: session.userAgent,
    current: session.id === currentSessionId,
    authMethods: [...session.authMethods],
    // A method this version does not know (stored by a newer one) reads as unspecified.
    authenticationMethods: session.authMethods.map(
      (method) => authMethods[method] ?? AuthMethod.UNSPECIFIED,
    ),
    apiKeyId: session.apiKeyId ?? "",
    passkeyIds: [...(session.passkeyIds ?? [])],
    deviceLabel: session.deviceLabel,
    deviceId: session.deviceId ?? "",
    label: session.label ?? "",
    location: session.location ?? "",
    kind: sessionKinds[session.kind],
    ...assuranceToProto(sessionAssurance(session)),
  });
}

/** The assurance fields Session and ValidateResponse share. */
export function assuranceToProto({ authTime, amr, aal }: Assurance) {
  return { authTime: timestampFromMs(authTime), amr: [...amr], aal };
}

/** The API view of an account: never the password hash. */
export function userToProto(user: UserRecord): User {
  return create(UserSchema, {
    id: user.id,
    email: user.email,
    displayName: user.displayName,
    roles: [...user.roles],
    disabled: user.disabled,
    createdAt: timestampFromMs(user.createdAt),
    totpEnabled: user.totpSecret !== "",
  });
}

/** The API view of an API key: never the key, never its hash. */
export function apiKeyToProto(key: ApiKeyRecord): ApiKey {
  return create(ApiKeySchema, {
    id: key.id,
    userId: key.userId,
    name: key.name,
    hint: key.hint,
    createdAt: timestampFromMs(key.createdAt),
    ...(key.lastUsedAt === 0 ? {} : { lastUsedAt: timestampFromMs(key.lastUsedAt) }),
    ...(key.expiresAt === 0 ? {} : { expiresAt: timestampFromMs(key.expiresAt) }),
    revoked: key.revoked,
    skipTotp: key.skipTotp,
  });
}

/** The API view of a passkey: never its public key or credential id. */
export function passkeyToProto(passkey: PasskeyRecord): Passkey {
  return create(PasskeySchema, {
    id: passkey.id,
    name: passkey.name,
    createdAt: timestampFromMs(passkey.createdAt),
    ...(passkey.lastUsedAt === 0 ? {} : { lastUsedAt: timestampFromMs(passkey.lastUsedAt) }),
    transports: [...passkey.transports],
    backedUp: passkey.backedUp,
    deviceType: passkey.deviceType,
  });
}
