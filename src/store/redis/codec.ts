import type { SessionRecord, TokenPointer } from "../../domain/session.js";
import type { UserRecord } from "../../domain/user.js";

/** Session fields as flat hash field/value pairs, with short names to save memory. */
export function encodeSession(session: SessionRecord): string[] {
  const fields = [
    "uid",
    session.userId,
    "sid",
    session.id,
    "ca",
    String(session.createdAt),
    "ea",
    String(session.expiresAt),
    "lu",
    String(session.lastUsedAt),
    "ip",
    session.ip,
    "ua",
    session.userAgent,
    "am",
    session.authMethods.join(","),
    "ro",
    JSON.stringify(session.roles),
    "em",
    session.email,
    "dn",
    session.displayName,
    "tk",
    session.tokenHash,
  ];
  if (session.previousTokenHash !== undefined && session.graceUntil !== undefined) {
    fields.push("pv", session.previousTokenHash, "gu", String(session.graceUntil));
  }
  return fields;
}

/** Reads a session hash back; undefined for a missing (empty) hash. */
export function decodeSession(hash: Record<string, string>): SessionRecord | undefined {
  if (hash.sid === undefined || hash.uid === undefined || hash.tk === undefined) {
    return undefined;
  }
  const base: SessionRecord = {
    id: hash.sid,
    userId: hash.uid,
    createdAt: Number(hash.ca),
    expiresAt: Number(hash.ea),
    lastUsedAt: Number(hash.lu),
    ip: hash.ip ?? "",
    userAgent: hash.ua ?? "",
    authMethods: hash.am ? hash.am.split(",") : [],
    roles: JSON.parse(hash.ro ?? "[]") as string[],
    email: hash.em ?? "",
    displayName: hash.dn ?? "",
    tokenHash: hash.tk,
  };
  if (hash.pv === undefined) {
    return base;
  }
  return { ...base, previousTokenHash: hash.pv, graceUntil: Number(hash.gu) };
}

/** A token pointer as one short string: "<userId> <sessionId> <expiresAt>". */
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

/** User fields as hash field/value pairs. */
export function encodeUser(user: UserRecord): string[] {
  return [
    "id",
    user.id,
    "em",
    user.email,
    "dn",
    user.displayName,
    "ph",
    user.passwordHash,
    "ro",
    JSON.stringify(user.roles),
    "di",
    user.disabled ? "1" : "0",
    "ca",
    String(user.createdAt),
  ];
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
  };
}
