import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/app/config/config.js";
import {
  type AttemptCounts,
  accountFingerprint,
  counterKeysOf,
  defaultLoginThrottle,
  delayAfter,
  type FailureCount,
  type FailureWindow,
  judgeAttempt,
  noFailures,
} from "../../src/domain/login-throttle.js";
import { problemsOf } from "../helpers/config.js";

const policy = defaultLoginThrottle;
const t0 = Date.UTC(2030, 0, 1);
const minute = 60_000;
/** The window of an account without failures in the last hour. */
const emptyWindow: FailureWindow = { count: 0, openAt: 0 };

function failures(count: number, lastAt = t0, firstAt = lastAt): FailureCount {
  return { count, firstAt, lastAt };
}

function counts(parts: Partial<AttemptCounts>): AttemptCounts {
  return { pair: noFailures, ip: noFailures, account: emptyWindow, ...parts };
}

/** An account window holding the threshold, full until its oldest failure at `oldestAt` leaves. */
function fullWindow(oldestAt = t0): FailureWindow {
  return { count: policy.lockoutThreshold, openAt: oldestAt + policy.window };
}

describe("the login throttle policy", () => {
  it("lets the first failures of a pair through, then delays 1 s doubling per failure", () => {
    expect([1, 4].map((n) => delayAfter(n, policy.pairDelayAfter, policy))).toEqual([0, 0]);
    expect([5, 6, 7, 8].map((n) => delayAfter(n, policy.pairDelayAfter, policy))).toEqual([
      1_000, 2_000, 4_000, 8_000,
    ]);
  });

  it("caps the delay at the maximum, however many failures", () => {
    expect(delayAfter(14, 5, policy)).toBe(512_000);
    expect(delayAfter(15, 5, policy)).toBe(15 * minute);
    expect(delayAfter(10_000, 5, policy)).toBe(15 * minute);
  });

  it("refuses a delayed pair until its delay after the last failure has passed", () => {
    const state = counts({ pair: failures(7) });
    expect(judgeAttempt(state, t0 + 1_000, policy)).toEqual({
      allowed: false,
      expired: [],
      scope: "pair",
      retryAfterMs: 3_000,
    });
    expect(judgeAttempt(state, t0 + 4_000, policy)).toEqual({ allowed: true, expired: [] });
  });

  it("delays an IP that failed on many accounts (password spraying) in the same way", () => {
    const state = counts({ ip: failures(52) });
    expect(judgeAttempt(state, t0, policy)).toMatchObject({ scope: "ip", retryAfterMs: 4_000 });
    expect(judgeAttempt(counts({ ip: failures(49) }), t0, policy).allowed).toBe(true);
  });

  it("locks an account for everyone while its window holds 100 failures, until the oldest leaves it", () => {
    expect(judgeAttempt(counts({ account: { count: 99, openAt: 0 } }), t0, policy).allowed).toBe(
      true,
    );
    expect(judgeAttempt(counts({ account: fullWindow() }), t0 + minute, policy)).toEqual({
      allowed: false,
      expired: [],
      scope: "account",
      retryAfterMs: 59 * minute,
    });
    expect(judgeAttempt(counts({ account: fullWindow() }), t0 + 60 * minute, policy).allowed).toBe(
      true,
    );
  });

  it("reports the longest wait when several rules refuse", () => {
    const state = counts({ pair: failures(6), account: fullWindow() });
    expect(judgeAttempt(state, t0, policy)).toMatchObject({
      scope: "account",
      retryAfterMs: 60 * minute,
    });
  });

  it("forgets a pair an hour after its last failure, and an IP an hour after its first", () => {
    const later = t0 + 60 * minute;
    const state = counts({
      pair: failures(8, t0),
      ip: failures(60, t0 + 59 * minute, t0),
    });
    expect(judgeAttempt(state, later, policy)).toEqual({
      allowed: true,
      expired: ["pair", "ip"],
    });
  });

  it("turns a rule off with a threshold of 0", () => {
    const off = { ...policy, pairDelayAfter: 0, ipDelayAfter: 0, lockoutThreshold: 0 };
    const state = counts({ pair: failures(500), ip: failures(500), account: fullWindow() });
    expect(judgeAttempt(state, t0, off).allowed).toBe(true);
  });

  it("names counters by fingerprints that contain neither the email nor the address", () => {
    const account = accountFingerprint("email:alice@example.com");
    const keys = counterKeysOf(account, "203.0.113.7");
    const text = JSON.stringify(keys);
    expect(text).not.toContain("alice");
    expect(text).not.toContain("203.0.113.7");
    expect(counterKeysOf(account, "203.0.113.8").pair.id).not.toBe(keys.pair.id);
    expect(counterKeysOf(account, "203.0.113.8").account).toEqual(keys.account);
  });
});

describe("the LOGIN_* settings", () => {
  it("default to the documented policy", () => {
    expect(loadConfig({}).loginThrottle).toEqual(defaultLoginThrottle);
  });

  it("read every rule and refuse a lockout threshold above the NIST cap of 100", () => {
    const config = loadConfig({
      LOGIN_FAILURE_DELAY_AFTER: "3",
      LOGIN_IP_FAILURE_DELAY_AFTER: "0",
      LOGIN_LOCKOUT_THRESHOLD: "10",
      LOGIN_MAX_DELAY: "2m",
      LOGIN_FAILURE_WINDOW: "30m",
    });
    expect(config.loginThrottle).toEqual({
      ...defaultLoginThrottle,
      pairDelayAfter: 3,
      ipDelayAfter: 0,
      lockoutThreshold: 10,
      maxDelay: 2 * minute,
      window: 30 * minute,
    });
    expect(problemsOf({ LOGIN_LOCKOUT_THRESHOLD: "101" })).toEqual([
      'LOGIN_LOCKOUT_THRESHOLD="101" must be a whole number from 0 to 100',
    ]);
  });

  it("refuse LOGIN_LOCKOUT_DURATION, which the rolling window replaced, instead of ignoring it", () => {
    expect(problemsOf({ LOGIN_LOCKOUT_DURATION: "15m" })).toEqual([
      "LOGIN_LOCKOUT_DURATION is no longer read: an account now stays locked while LOGIN_LOCKOUT_THRESHOLD failures fall within the last LOGIN_FAILURE_WINDOW; unset it",
    ]);
  });
});
