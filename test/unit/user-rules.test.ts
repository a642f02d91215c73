import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BootstrapError, loadBootstrapFile } from "../../src/app/bootstrap.js";
import { maxRoles } from "../../src/domain/user-rules.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { inMemoryApp } from "../helpers/keycard.js";

/**
 * One set of rules for an account's fields: the admin API and the bootstrap file refuse the
 * same values, with the same words.
 */
describe("the rules of an account's fields", () => {
  const dir = mkdtempSync(join(tmpdir(), "user-rules-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function bootstrapProblems(user: Record<string, unknown>): readonly string[] {
    const path = join(dir, `${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, JSON.stringify({ users: [user] }));
    try {
      loadBootstrapFile(path, { tokenPrefix: "kc" });
    } catch (error) {
      if (error instanceof BootstrapError) {
        return error.problems;
      }
      throw error;
    }
    return [];
  }

  async function apiRefusal(user: Record<string, unknown>): Promise<string> {
    const app = inMemoryApp(new FakeClock());
    try {
      await app.users.create({
        email: String(user.email),
        displayName: String(user.display_name),
        password: String(user.password),
        roles: user.roles as string[],
      });
    } catch (error) {
      return (error as Error).message;
    }
    return "";
  }

  const valid = {
    email: "rules@example.com",
    display_name: "Rules",
    password: "correct horse",
    roles: ["user"],
  };
  const cases: [string, Record<string, unknown>, string][] = [
    ["email", { email: "not-an-address" }, "email must be an address like name@example.com"],
    ["display_name", { display_name: "x".repeat(201) }, "display_name must be 1 to 200 characters"],
    ["password", { password: "short" }, "password must be 8 to 1024 bytes"],
    ["role", { roles: ["has space"] }, "1 to 64 letters, digits, '.', '_', ':' or '-'"],
    [
      "role count",
      { roles: Array.from({ length: maxRoles + 1 }, (_, i) => `r${i}`) },
      `roles must be at most ${maxRoles}`,
    ],
  ];

  for (const [field, change, words] of cases) {
    it(`refuses a bad ${field} in the API and the bootstrap file alike`, async () => {
      const user = { ...valid, ...change };
      expect(await apiRefusal(user)).toContain(words);
      expect(bootstrapProblems(user).join("\n")).toContain(words);
    });
  }

  it("accepts the valid account in both", async () => {
    expect(await apiRefusal(valid)).toBe("");
    expect(bootstrapProblems(valid)).toEqual([]);
  });
});
