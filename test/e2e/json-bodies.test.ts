import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { maxJsonDepth } from "../../src/transport/http/json-text.js";
import { startKeycard, type TestKeycard, testAdminToken } from "../helpers/keycard.js";
import { LogLines } from "../helpers/log-lines.js";

/** A JSON door: a path that takes a JSON body, and how its answers say "bad request". */
interface Door {
  readonly path: string;
  readonly status: number;
  readonly headers?: Record<string, string>;
}

const doors: Door[] = [
  { path: "/auth/login", status: 400 },
  { path: "/auth/validate", status: 400 },
  { path: "/admin/users", status: 400, headers: { authorization: `Bearer ${testAdminToken}` } },
  { path: "/api/v1/auth/login", status: 400 },
  // Connect: Login goes through connect-node, Validate through the lean path.
  { path: "/keycard.v1.AuthService/Login", status: 400 },
  { path: "/keycard.v1.AuthService/Validate", status: 400 },
];

const nested = (depth: number): string => `${"[".repeat(depth)}${"]".repeat(depth)}`;

/** Bodies every JSON door must refuse with its 400, and never log as an error. */
const badBodies: Record<string, string | Uint8Array> = {
  "a 30,000-deep array": nested(30_000),
  [`an array nested ${maxJsonDepth + 1} deep in a field`]: `{"token":${nested(maxJsonDepth + 1)}}`,
  "a repeated key": '{"token":"a","token":"b"}',
  "a repeated key written with an escape": '{"token":"a","\\u0074oken":"b"}',
  "invalid UTF-8": new Uint8Array([...Buffer.from('{"token":"'), 0xff, ...Buffer.from('"}')]),
  "truncated JSON": '{"token":',
  "a number where a string goes": '{"token":5,"email":5}',
};

describe("every JSON door refuses the same malformed bodies with 400, and logs no error", () => {
  const log = new LogLines();
  let keycard: TestKeycard;

  beforeAll(async () => {
    keycard = await startKeycard({ logger: pino({ level: "info" }, log) });
  });
  afterAll(() => keycard.close());

  for (const door of doors) {
    it(`POST ${door.path}`, async () => {
      const answers: Record<string, number> = {};
      for (const [name, body] of Object.entries(badBodies)) {
        const reply = await fetch(`${keycard.baseUrl}${door.path}`, {
          method: "POST",
          headers: { "content-type": "application/json", ...door.headers },
          body,
        });
        await reply.arrayBuffer();
        answers[name] = reply.status;
      }
      expect(answers).toEqual(
        Object.fromEntries(Object.keys(badBodies).map((name) => [name, door.status])),
      );
      expect(log.lines.filter((line) => Number(line.level) >= 50)).toEqual([]);
    });
  }

  it("tells REST and Connect clients the same reason for a repeated key and invalid UTF-8", async () => {
    const reasonOf = async (path: string, body: string | Uint8Array): Promise<string> => {
      const reply = await fetch(`${keycard.baseUrl}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      return String(((await reply.json()) as { message?: unknown }).message);
    };
    for (const name of ["a repeated key", "invalid UTF-8"]) {
      const body = badBodies[name] ?? "";
      const rest = await reasonOf("/auth/validate", body);
      expect(await reasonOf("/keycard.v1.AuthService/Validate", body)).toContain(rest);
    }
  });

  it("refuses a REST body field it does not know, naming it, where Connect ignores it", async () => {
    const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const reply = await fetch(`${keycard.baseUrl}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
      return { status: reply.status, body: (await reply.json()) as Record<string, unknown> };
    };
    const typo = await post("/auth/login", { email: "a@example.com", pasword: "secret" });
    expect(typo).toEqual({
      status: 400,
      body: {
        error: "INVALID_ARGUMENT",
        message: expect.stringMatching(
          /^Unknown field "pasword" in the body; LoginRequest has email, password, /,
        ),
      },
    });
    const connect = await post("/keycard.v1.AuthService/Login", { email: "a@x.com", pasword: "s" });
    expect(connect.body.message).not.toContain("pasword");
    expect(connect.body.message).toMatch(/password/);
  });

  it("answers an RPC path posted with a form or no Content-Type with 415 saying which types it takes", async () => {
    for (const headers of [
      { "content-type": "application/x-www-form-urlencoded" },
      {} as Record<string, string>,
    ]) {
      const reply = await fetch(`${keycard.baseUrl}/keycard.v1.AuthService/Login`, {
        method: "POST",
        headers,
        body: "{}",
      });
      expect(reply.status).toBe(415);
      const body = (await reply.json()) as { code: string; message: string };
      expect(body.code).toBe("invalid_argument");
      expect(body.message).toContain("application/json");
      expect(body.message).toContain("Content-Type: application/json");
    }
    const json = await fetch(`${keycard.baseUrl}/keycard.v1.AuthService/Validate`, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body: "{}",
    });
    expect(json.status).toBe(200);
  });
});
