import type { ApiKeyRecord } from "../../domain/api-key.js";
import { deviceLabel } from "../../domain/device-label.js";
import type { AuthMethod, SessionKind, SessionRecord, TokenPointer } from "../../domain/session.js";
import type { UserRecord } from "../../domain/user.js";

/** A field name map from a record's properties to short Redis hash field names. */
type FieldNames<T> = Record<keyof T, string>;

/** Any record's fields as hash field/value pairs; a partial record gives only its fields. */
function encodeFields<T extends object>(
  names: Partial<FieldNames<T>>,
  record: Partial<T>,
): string[] {
  return Object.entries(record).flatMap(([name, value]) => {
    const field = names[name as keyof T];
    if (value === undefined || field === undefined) {
      return [];
    }
    const text =
      typeof value === "boolean"
        ? value
          ? "1"
          : "0"
        : typeof value === "object"
          ? JSON.stringify(value)
          : String(value);
    return [field, text];
  });
}

/**
 * The stored fields of a session. Its id is in its key's name (its user's too in the 0.1.0
 * layout; a record adds it as `u`), its device label follows
 * from its user agent and its owner's email, name and roles are the user record's (read in
 * the same round trip; a change of roles ends the sessions anyway), so none of them is
 * stored again; kind and lifetime only when they differ from the common case, the device
 * id only when it is not the API key's id. Redis keeps a
 * hash compact (a listpack) only while every value is at most 64 bytes, so the user agent
 * is split into chunks.
 */
const sessionFields = {
  createdAt: "ca",
  authenticatedAt: "au",
  reauthenticatedAt: "ra",
  expiresAt: "ea",
  lastUsedAt: "lu",
  ip: "ip",
  authMethods: "am",
  apiKeyId: "ak",
  passkeyIds: "pk",
  tokenHash: "tk",
  previousTokenHash: "pv",
  graceUntil: "gu",
  label: "lb",
  location: "lo",
} as const satisfies Partial<FieldNames<SessionRecord>>;

/** User-agent chunks: `ua`, `ua1`, `ua2`, `ua3`, 60 characters each, 240 in all. */
const agentChunk = 60;
const agentFields = ["ua", "ua1", "ua2", "ua3"] as const;

/** Session fields as flat hash field/value pairs, with short names to save memory. */
export function encodeSession(session: SessionRecord): string[] {
  const fields = encodeFields(sessionFields, session);
  agentFields.forEach((field, i) => {
    const chunk = session.userAgent.slice(i * agentChunk, (i + 1) * agentChunk);
    if (chunk !== "" || i === 0) {
      fields.push(field, chunk);
    }
  });
  if (session.kind !== "standard") {
    fields.push("kd", session.kind);
  }
  if (session.lifetime !== session.expiresAt - session.createdAt) {
    fields.push("lf", String(session.lifetime));
  }
  if (session.deviceId !== undefined && session.deviceId !== session.apiKeyId) {
    fields.push("dv", session.deviceId);
  }
  return fields;
}

/** The user fields a session shows, as `HMGET <user> ...ownerFields` returns them. */
export const ownerFields = ["em", "dn", "ro"] as const;

/** A session's owner as the user record has it now. */
export type SessionOwner = Pick<SessionRecord, "email" | "displayName" | "roles">;

/** Reads `HMGET <user> ...ownerFields` back (empty fields for a user that is gone). */
export function decodeOwner([email, displayName, roles]: (string | null)[]): SessionOwner {
  return {
    email: email ?? "",
    displayName: displayName ?? "",
    roles: JSON.parse(roles || "[]") as string[],
  };
}

/**
 * Reads the reply of the kcReadLegacySession script back: the session hash's field/value
 * pairs followed by its owner's fields; an empty reply for a missing session.
 */
export function decodeSessionReply(
  reply: string[],
  userId: string,
  sessionId: string,
): SessionRecord | undefined {
  const pairs = reply.slice(0, reply.length - ownerFields.length);
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    hash[pairs[i] ?? ""] = pairs[i + 1] ?? "";
  }
  const owner = decodeOwner(reply.slice(pairs.length));
  return decodeSession(hash, userId, sessionId, owner);
}

/**
 * Reads a session hash back, given the ids its key names and its owner's current fields;
 * undefined for a missing hash or a tombstone. A record keeps no token hash while its
 * first token is current (the record's name is that token hash's start): its reader fills
 * `tk` in from the token it was given, and a listing shows none.
 */
export function decodeSession(
  hash: Record<string, string>,
  userId: string,
  sessionId: string,
  owner: SessionOwner,
): SessionRecord | undefined {
  if (hash.ca === undefined) {
    return undefined;
  }
  const userAgent = agentFields.map((field) => hash[field] ?? "").join("");
  return {
    id: sessionId,
    userId,
    createdAt: Number(hash.ca),
    expiresAt: Number(hash.ea),
    lastUsedAt: Number(hash.lu),
    ip: hash.ip ?? "",
    userAgent,
    authMethods: JSON.parse(hash.am ?? "[]") as AuthMethod[],
    ...owner,
    kind: sessionKindOf(hash.kd),
    lifetime: hash.lf === undefined ? Number(hash.ea) - Number(hash.ca) : Number(hash.lf),
    deviceLabel: deviceLabel(userAgent),
    tokenHash: hash.tk ?? "",
    ...(hash.ak === undefined ? {} : { apiKeyId: hash.ak }),
    ...(hash.pk === undefined ? {} : { passkeyIds: JSON.parse(hash.pk) as string[] }),
    ...deviceOf(hash),
    ...(hash.lb === undefined ? {} : { label: hash.lb }),
    ...(hash.lo === undefined ? {} : { location: hash.lo }),
    ...(hash.au === undefined ? {} : { authenticatedAt: Number(hash.au) }),
    ...(hash.ra === undefined ? {} : { reauthenticatedAt: Number(hash.ra) }),
    ...(hash.pv === undefined ? {} : { previousTokenHash: hash.pv, graceUntil: Number(hash.gu) }),
  };
}

/** A session's device: its own field, else the API key that opened it, else none. */
function deviceOf(hash: Record<string, string>): Pick<SessionRecord, "deviceId"> {
  const deviceId = hash.dv ?? hash.ak;
  return deviceId === undefined ? {} : { deviceId };
}

/** A stored session kind; sessions written before kinds existed are standard ones. */
function sessionKindOf(text: string | undefined): SessionKind {
  return text === "remember_me" || text === "api" ? text : "standard";
}

/** A 0.1.0 token pointer as one short string: "<userId> <sessionId> <expiresAt>". */
export function encodePointer(session: SessionRecord): string {
  return `${session.userId} ${session.id} ${session.expiresAt}`;
}

/** Reads a pointer back; undefined when absent or not in the expected form. */
export function decodePointer(text: string | null): TokenPointer | undefined {
  const [userId, sessionId, expiresAt] = text?.split(" ") ?? [];
  if (userId === undefined || sessionId === undefined || expiresAt === undefined) {
    return undefined;
  }
  return { userId, sessionId, expiresAt: Number(expiresAt) };
}

const userFields: FieldNames<UserRecord> = {
  id: "id",
  email: "em",
  displayName: "dn",
  passwordHash: "ph",
  roles: "ro",
  disabled: "di",
  createdAt: "ca",
  totpSecret: "ts",
  totpPending: "tp",
};

/** User fields as hash field/value pairs; a patch gives only the fields it changes. */
export function encodeUser(user: Partial<UserRecord>): string[] {
  return encodeFields(userFields, user);
}

/** Reads a user hash back; undefined for a missing (empty) hash. */
export function decodeUser(hash: Record<string, string>): UserRecord | undefined {
  if (hash.id === undefined || hash.em === undefined) {
    return undefined;
  }
  return {
    id: hash.id,
    email: hash.em,
    displayName: hash.dn ?? "",
    passwordHash: hash.ph ?? "",
    roles: JSON.parse(hash.ro ?? "[]") as string[],
    disabled: hash.di === "1",
    createdAt: Number(hash.ca),
    totpSecret: hash.ts ?? "",
    totpPending: hash.tp ?? "",
  };
}

const apiKeyFields: FieldNames<ApiKeyRecord> = {
  id: "id",
  userId: "uid",
  name: "nm",
  keyHash: "kh",
  hint: "hi",
  createdAt: "ca",
  lastUsedAt: "lu",
  expiresAt: "ea",
  revoked: "rv",
  skipTotp: "st",
};

/** API key fields as hash field/value pairs; a patch gives only the fields it changes. */
export function encodeApiKey(key: Partial<ApiKeyRecord>): string[] {
  return encodeFields(apiKeyFields, key);
}

/** Reads an API key hash back; undefined for a missing (empty) hash. */
export function decodeApiKey(hash: Record<string, string>): ApiKeyRecord | undefined {
  if (hash.id === undefined || hash.uid === undefined || hash.kh === undefined) {
    return undefined;
  }
  return {
    id: hash.id,
    userId: hash.uid,
    name: hash.nm ?? "",
    keyHash: hash.kh,
    hint: hash.hi ?? "",
    createdAt: Number(hash.ca),
    lastUsedAt: Number(hash.lu ?? 0),
    expiresAt: Number(hash.ea ?? 0),
    revoked: hash.rv === "1",
    skipTotp: hash.st === "1",
  };
}
