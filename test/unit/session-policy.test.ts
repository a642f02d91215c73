import { describe, expect, it } from "vitest";
import {
  isIdle,
  isRenewalDue,
  isTouchDue,
  judgeToken,
  refreshedExpiry,
  type SessionPolicy,
  type SessionRecord,
  secondsUntil,
  sessionTerms,
} from "../../src/domain/session.js";

const second = 1_000;
const hour = 3_600_000;
const day = 24 * hour;
const now = Date.UTC(2030, 0, 15, 12, 0, 0);

const policy: SessionPolicy = {
  defaultDuration: 12 * hour,
  maxDuration: 30 * day,
  idleTimeout: 0,
  refreshGrace: 10 * second,
  retention: 7 * day,
  touchInterval: 60 * second,
  renewAfter: 0.8,
  rememberDuration: 30 * day,
  apiSessionDuration: 15 * 60 * second,
  maxSessionsPerUser: 100,
};

const session: SessionRecord = {
  id: "session-1",
  userId: "user-1",
  createdAt: now - hour,
  expiresAt: now + 11 * hour,
  lastUsedAt: now - 5 * second,
  ip: "203.0.113.7",
  userAgent: "unit-test",
  authMethods: ["password"],
  roles: ["user"],
  email: "alice@example.com",
  displayName: "Alice",
  kind: "standard",
  lifetime: 12 * hour,
  deviceLabel: "unit-test 1.0",
  tokenHash: "current-hash",
};

const pointer = { userId: session.userId, sessionId: session.id, expiresAt: session.expiresAt };

const afterRefresh: SessionRecord = {
  ...session,
  tokenHash: "current-hash",
  previousTokenHash: "previous-hash",
  graceUntil: now + 5 * second,
};

describe("judgeToken", () => {
  it("calls a token unknown when nothing points to its hash", () => {
    expect(judgeToken({}, "current-hash", now, policy)).toEqual({
      active: false,
      reason: "unknown",
    });
  });

  it("calls a token expired when its pointer remains after the session expired", () => {
    const expired = { ...pointer, expiresAt: now - second };
    expect(judgeToken({ pointer: expired }, "current-hash", now, policy)).toEqual({
      active: false,
      reason: "expired",
    });
  });

  it("calls a token expired when its session ended exactly now", () => {
    const endingNow = { ...pointer, expiresAt: now };
    expect(judgeToken({ pointer: endingNow }, "current-hash", now, policy)).toEqual({
      active: false,
      reason: "expired",
    });
  });

  it("calls a token revoked when its pointer remains but the session ended before its expiry", () => {
    expect(judgeToken({ pointer }, "current-hash", now, policy)).toEqual({
      active: false,
      reason: "revoked",
    });
  });

  it("calls a token expired when the store still returns a session past its expiry", () => {
    const stale = { ...session, expiresAt: now };
    expect(judgeToken({ pointer, session: stale }, "current-hash", now, policy)).toEqual({
      active: false,
      reason: "expired",
    });
  });

  it("calls a token idle when the session was unused for longer than the idle timeout", () => {
    const idlePolicy = { ...policy, idleTimeout: 30 * 60 * second };
    const idle = { ...session, lastUsedAt: now - 30 * 60 * second - 1 };
    expect(judgeToken({ pointer, session: idle }, "current-hash", now, idlePolicy)).toEqual({
      active: false,
      reason: "idle_timeout",
    });
  });

  it("accepts a token used exactly at the idle timeout", () => {
    const idlePolicy = { ...policy, idleTimeout: 30 * 60 * second };
    const onTheEdge = { ...session, lastUsedAt: now - 30 * 60 * second };
    expect(judgeToken({ pointer, session: onTheEdge }, "current-hash", now, idlePolicy)).toEqual({
      active: true,
      session: onTheEdge,
    });
  });

  it("never calls a token idle when the idle timeout is zero", () => {
    const unusedForAges = { ...session, lastUsedAt: now - 10 * day };
    expect(judgeToken({ pointer, session: unusedForAges }, "current-hash", now, policy)).toEqual({
      active: true,
      session: unusedForAges,
    });
  });

  it("accepts the session's current token", () => {
    expect(judgeToken({ pointer, session }, "current-hash", now, policy)).toEqual({
      active: true,
      session,
    });
  });

  it("accepts the rotated-out token during its grace period", () => {
    const lookup = { pointer, session: afterRefresh };
    expect(judgeToken(lookup, "previous-hash", now, policy)).toEqual({
      active: true,
      session: afterRefresh,
    });
    expect(judgeToken(lookup, "current-hash", now, policy)).toEqual({
      active: true,
      session: afterRefresh,
    });
  });

  it("calls a rotated-out token presented after its grace revoked and the session stolen", () => {
    const lookup = { pointer, session: afterRefresh };
    const afterGrace = now + 5 * second;
    expect(judgeToken(lookup, "previous-hash", afterGrace, policy)).toEqual({
      active: false,
      reason: "revoked",
      stolen: afterRefresh,
    });
  });

  it("calls a token from two rotations ago stolen even within the latest grace", () => {
    expect(judgeToken({ pointer, session: afterRefresh }, "first-hash", now, policy)).toEqual({
      active: false,
      reason: "revoked",
      stolen: afterRefresh,
    });
  });

  it("calls a previous token stolen when the session has no grace period recorded", () => {
    const { graceUntil: _, ...withoutGrace } = afterRefresh;
    expect(judgeToken({ pointer, session: withoutGrace }, "previous-hash", now, policy)).toEqual({
      active: false,
      reason: "revoked",
      stolen: withoutGrace,
    });
  });

  it("does not call a plainly revoked token stolen", () => {
    const verdict = judgeToken({ pointer }, "current-hash", now, policy);
    expect(verdict).not.toHaveProperty("stolen");
  });
});

describe("sessionTerms", () => {
  const password = { apiKey: false, rememberMe: false, durationSeconds: 0 };

  it("gives a password login the default duration when none is requested", () => {
    expect(sessionTerms(password, now, policy)).toEqual({
      kind: "standard",
      lifetime: 12 * hour,
      expiresAt: now + 12 * hour,
    });
  });

  it("uses the requested number of seconds", () => {
    expect(sessionTerms({ ...password, durationSeconds: 90 }, now, policy).expiresAt).toBe(
      now + 90 * second,
    );
    expect(sessionTerms({ ...password, durationSeconds: 3 * 86_400 }, now, policy).lifetime).toBe(
      3 * day,
    );
  });

  it("caps a longer request, and the default, at the maximum duration", () => {
    const year = { ...password, durationSeconds: 365 * 86_400 };
    expect(sessionTerms(year, now, policy).expiresAt).toBe(now + 30 * day);
    expect(sessionTerms(password, now, { ...policy, maxDuration: hour }).lifetime).toBe(hour);
  });

  it("gives remember-me its own thirty-day lifetime", () => {
    expect(sessionTerms({ ...password, rememberMe: true }, now, policy)).toEqual({
      kind: "remember_me",
      lifetime: 30 * day,
      expiresAt: now + 30 * day,
    });
  });

  it("gives an API-key login a short API session, which a request can only shorten", () => {
    const apiKey = { apiKey: true, rememberMe: true, durationSeconds: 0 };
    expect(sessionTerms(apiKey, now, policy)).toEqual({
      kind: "api",
      lifetime: 15 * 60 * second,
      expiresAt: now + 15 * 60 * second,
    });
    expect(sessionTerms({ ...apiKey, durationSeconds: 60 }, now, policy).lifetime).toBe(
      60 * second,
    );
    expect(sessionTerms({ ...apiKey, durationSeconds: 86_400 }, now, policy).lifetime).toBe(
      15 * 60 * second,
    );
  });

  it("gives an API-key login a standard session when API sessions are not configured", () => {
    const apiKey = { apiKey: true, rememberMe: false, durationSeconds: 0 };
    expect(sessionTerms(apiKey, now, { ...policy, apiSessionDuration: 0 }).kind).toBe("standard");
  });
});

describe("isRenewalDue", () => {
  const young = { ...session, createdAt: now, expiresAt: now + 12 * hour };

  it("is not due before the configured share of the lifetime has passed", () => {
    expect(isRenewalDue(young, now + 9 * hour, policy)).toBe(false);
  });

  it("is due once 80 % of the lifetime has passed", () => {
    expect(isRenewalDue(young, now + 9.6 * hour, policy)).toBe(true);
    expect(isRenewalDue(young, now + 11 * hour, policy)).toBe(true);
  });

  it("is never due for an API session, or with renewal turned off", () => {
    expect(isRenewalDue({ ...young, kind: "api" }, now + 11 * hour, policy)).toBe(false);
    expect(isRenewalDue(young, now + 11 * hour, { ...policy, renewAfter: 0 })).toBe(false);
  });

  it("is not due when the absolute maximum leaves nothing to extend", () => {
    const old = { ...young, createdAt: now - 30 * day + 12 * hour };
    expect(isRenewalDue(old, now + 11 * hour, policy)).toBe(false);
  });
});

describe("isIdle", () => {
  const idlePolicy = { ...policy, idleTimeout: hour };

  it("times out a standard session unused for longer than the idle timeout", () => {
    expect(isIdle({ ...session, lastUsedAt: now - 2 * hour }, now, idlePolicy)).toBe(true);
    expect(isIdle({ ...session, lastUsedAt: now - 0.5 * hour }, now, idlePolicy)).toBe(false);
  });

  it("never times out a remember-me session", () => {
    const remembered = { ...session, kind: "remember_me" as const, lastUsedAt: now - 20 * day };
    expect(isIdle(remembered, now, idlePolicy)).toBe(false);
  });
});

describe("refreshedExpiry", () => {
  it("extends a young session by its own lifetime from now", () => {
    expect(refreshedExpiry(session, now, policy)).toBe(now + 12 * hour);
  });

  it("never extends a session past its creation plus the maximum duration", () => {
    const old = { ...session, createdAt: now - 29 * day - 20 * hour };
    expect(refreshedExpiry(old, now, policy)).toBe(old.createdAt + 30 * day);
    expect(refreshedExpiry(old, now, policy)).toBeLessThan(now + 12 * hour);
  });

  it("extends an API session by its short lifetime, or by a requested one", () => {
    const api = { ...session, kind: "api" as const, lifetime: 15 * 60 * second };
    expect(refreshedExpiry(api, now, policy)).toBe(now + 15 * 60 * second);
    expect(refreshedExpiry(api, now, policy, 3_600)).toBe(now + hour);
  });

  it("stays within the maximum for any moment of a session's life", () => {
    for (let age = 0; age <= 30 * day; age += 7 * hour) {
      const expiry = refreshedExpiry(session, session.createdAt + age, policy);
      expect(expiry).toBeLessThanOrEqual(session.createdAt + policy.maxDuration);
      expect(expiry).toBeLessThanOrEqual(session.createdAt + age + policy.defaultDuration);
    }
  });
});

describe("isTouchDue", () => {
  it("is not due within the touch interval of the last use", () => {
    const used = { ...session, lastUsedAt: now - 59 * second };
    expect(isTouchDue(used, now, policy)).toBe(false);
  });

  it("is due once the touch interval has passed", () => {
    expect(isTouchDue({ ...session, lastUsedAt: now - 60 * second }, now, policy)).toBe(true);
    expect(isTouchDue({ ...session, lastUsedAt: now - hour }, now, policy)).toBe(true);
  });

  it("is always due when the interval is zero", () => {
    const justUsed = { ...session, lastUsedAt: now };
    expect(isTouchDue(justUsed, now, { ...policy, touchInterval: 0 })).toBe(true);
  });
});

describe("secondsUntil", () => {
  it("counts whole seconds until a moment", () => {
    expect(secondsUntil(now + 90 * second + 999, now)).toBe(90);
  });

  it("is zero for a moment already past", () => {
    expect(secondsUntil(now - hour, now)).toBe(0);
  });
});
