import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/app/config/config.js";
import { problemsOf } from "../helpers/config.js";

describe("loadConfig rate limits", () => {
  it("allows 5 logins and 30 other auth calls per minute per IP by default, as reference 002", () => {
    expect(loadConfig({})).toMatchObject({ loginRatePerMinute: 5, authRatePerMinute: 30 });
  });

  it("relaxes them to 60 and 300 in dev mode, unless set, and only in dev mode", () => {
    expect(loadConfig({ KEYCARD_DEV: "1" })).toMatchObject({
      devMode: true,
      loginRatePerMinute: 60,
      authRatePerMinute: 300,
    });
    expect(loadConfig({ KEYCARD_DEV: "1", LOGIN_RATE_LIMIT: "5" })).toMatchObject({
      loginRatePerMinute: 5,
    });
    expect(loadConfig({ KEYCARD_DEV: "1", REDIS_URL: "redis://127.0.0.1:6379" })).toMatchObject({
      devMode: false,
      loginRatePerMinute: 5,
      authRatePerMinute: 30,
    });
  });

  it("reads LOGIN_RATE_LIMIT and AUTH_RATE_LIMIT, blank meaning the default", () => {
    expect(loadConfig({ LOGIN_RATE_LIMIT: "10", AUTH_RATE_LIMIT: " 120 " })).toMatchObject({
      loginRatePerMinute: 10,
      authRatePerMinute: 120,
    });
    expect(loadConfig({ LOGIN_RATE_LIMIT: " ", AUTH_RATE_LIMIT: "" })).toMatchObject({
      loginRatePerMinute: 5,
      authRatePerMinute: 30,
    });
  });

  it("accepts 0 as turning a limit off", () => {
    expect(loadConfig({ LOGIN_RATE_LIMIT: "0", AUTH_RATE_LIMIT: "0" })).toMatchObject({
      loginRatePerMinute: 0,
      authRatePerMinute: 0,
    });
  });

  it.each(["-1", "5.5", "five", "5/min", "1000001"])(
    "names the variable when a limit is %s",
    (value) => {
      expect(problemsOf({ LOGIN_RATE_LIMIT: value, AUTH_RATE_LIMIT: value })).toEqual([
        `LOGIN_RATE_LIMIT="${value}" must be a whole number from 0 to 1000000`,
        `AUTH_RATE_LIMIT="${value}" must be a whole number from 0 to 1000000`,
      ]);
    },
  );
});
