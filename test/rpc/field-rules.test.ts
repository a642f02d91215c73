import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/keycard/v1/admin_service_pb.js";
import { BootstrapError, loadBootstrapFile } from "../../src/app/bootstrap/file.js";
import { failureOf } from "../helpers/connect-failure.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { inMemoryApp, testAdminToken } from "../helpers/keycard.js";

/**
 * One set of rules for an account's fields, declared in the proto (keycard/v1/rules.proto):
 * the admin API and the bootstrap file refuse the same values, with the same words.
 */
describe("the rules of an account's fields", () => {
  const dir = mkdtempSync(join(tmpdir(), "field-rules-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const app = inMemoryApp(new FakeClock());
  const admin = createClient(
    AdminService,
    createRouterTransport(app.routes, { router: app.routerOptions }),
  );
  const asAdmin = { headers: { authorization: `Bearer ${testAdminToken}` } };

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

  /** The API's refusal of the account: its message, code and ErrorInfo; "" when created. */
  async function apiRefusal(user: Record<string, unknown>): Promise<string> {
    try {
      await admin.createUser(
        {
          email: String(user.email),
          displayName: String(user.display_name),
          password: String(user.password),
          roles: user.roles as string[],
        },
        asAdmin,
      );
    } catch (error) {
      const refusal = ConnectError.from(error);
      const [info] = refusal.findDetails(ErrorInfoSchema);
      return `${Code[refusal.code]} ${info?.reason} ${info?.metadata.field}: ${refusal.rawMessage}`;
    }
    return "";
  }

  const valid = {
    email: "rules@example.com",
    display_name: "Rules",
    password: "correct horse",
    roles: ["user"],
  };
  const cases: [string, Record<string, unknown>, string, string][] = [
    ["email", { email: "not-an-address" }, "email", "must be an address like name@example.com"],
    [
      "display_name",
      { display_name: "x".repeat(201) },
      "display_name",
      "must be 1 to 200 characters",
    ],
    ["blank display_name", { display_name: "   " }, "display_name", "must be 1 to 200 characters"],
    ["password", { password: "short" }, "password", "must be 8 to 1024 bytes"],
    ["long password", { password: "é".repeat(513) }, "password", "must be 8 to 1024 bytes"],
    [
      "role",
      { roles: ["ok", "has space"] },
      "roles[1]",
      "must be 1 to 64 letters, digits, '.', '_', ':' or '-'",
    ],
    [
      "role count",
      { roles: Array.from({ length: 101 }, (_, i) => `r${i}`) },
      "roles",
      "must be at most 100",
    ],
  ];

  for (const [name, change, field, words] of cases) {
    it(`refuses a bad ${name} in the API and the bootstrap file alike`, async () => {
      const user = { ...valid, ...change };
      expect(await apiRefusal(user)).toBe(
        `InvalidArgument INVALID_ARGUMENT ${field}: ${field} ${words}`,
      );
      expect(bootstrapProblems(user)).toEqual([`users[0].${field} ${words}`]);
    });
  }

  it("accepts the valid account in both, spaces around the email and all", async () => {
    const spaced = { ...valid, email: "  Rules@Example.com " };
    expect(bootstrapProblems(spaced)).toEqual([]);
    expect(await apiRefusal(spaced)).toBe("");
  });
});

describe("the identifiers an admin call names", () => {
  const app = inMemoryApp(new FakeClock());
  const admin = createClient(
    AdminService,
    createRouterTransport(app.routes, { router: app.routerOptions }),
  );
  const asAdmin = { headers: { authorization: `Bearer ${testAdminToken}` } };

  it("are required, refused with INVALID_ARGUMENT naming the field before any lookup", async () => {
    const calls: [string, Promise<unknown>][] = [
      ["user_id", admin.disableUser({}, asAdmin)],
      ["user_id", admin.setPassword({ password: "long enough" }, asAdmin)],
      ["user_id", admin.createApiKey({ name: "ci" }, asAdmin)],
      ["user_id", admin.enrollTotp({}, asAdmin)],
      ["api_key_id", admin.revokeApiKey({}, asAdmin)],
      ["user_id", admin.listApiKeys({}, asAdmin)],
      ["user_id", admin.listUserSessions({}, asAdmin)],
    ];
    for (const [field, call] of calls) {
      const refusal = await failureOf(call);
      expect(refusal.code).toBe(Code.InvalidArgument);
      expect(refusal.rawMessage).toBe(`${field} is required`);
    }
  });

  it("are checked after the caller: without the admin token the answer is UNAUTHENTICATED", async () => {
    expect((await failureOf(admin.disableUser({}))).code).toBe(Code.Unauthenticated);
  });
});
