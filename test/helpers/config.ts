import { expect } from "vitest";
import { ConfigError, loadConfig } from "../../src/app/config/config.js";

/** The problems loadConfig reports for an environment; fails the test if it reports none. */
export function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}
