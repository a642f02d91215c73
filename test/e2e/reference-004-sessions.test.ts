import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestUser, startKeycard, type TestKeycard } from "../helpers/keycard.js";
import type { Json } from "../helpers/rest.js";

const run = promisify(execFile);

/** One curl request: its status and JSON body (`{}` when empty). */
async function curl(...args: string[]): Promise<{ status: number; body: Json }> {
  const { stdout } = await run("curl", ["--silent", "--write-out", "\n%{http_code}", ...args]);
  const cut = stdout.lastIndexOf("\n");
  const text = stdout.slice(0, cut);
  return {
    status: Number(stdout.slice(cut + 1)),
    body: (text === "" ? {} : JSON.parse(text)) as Json,
  };
}

/**
 * Reference 004's session inventory (issue 17) from curl alone, against a server behind a
 * proxy that states the country (LOCATION_HEADER=CF-IPCountry). curl is no browser: it
 * gets no device-id cookie, and each of its logins is a device of its own.
 */
describe("reference 004's session inventory from curl alone", () => {
  let keycard: TestKeycard;

  beforeAll(async () => {
    keycard = await startKeycard({ locationHeader: "cf-ipcountry" });
  });
  afterAll(() => keycard.close());

  it("lists device, location and last activity; renames; revokes one, the others, all", async () => {
    const user = await createTestUser(keycard);
    const credentials = JSON.stringify({ email: user.email, password: user.password });
    const login = (country: string) =>
      curl(
        "-H",
        "content-type: application/json",
        "-H",
        `CF-IPCountry: ${country}`,
        "-d",
        credentials,
        `${keycard.baseUrl}/auth/login`,
      );
    const as = (token: string) => ["-H", `Authorization: Bearer ${token}`];

    const laptop = await login("DE");
    const laptopAgain = await login("DE");
    const phone = await login("US");
    const token = String(laptopAgain.body.session_token);

    const listed = await curl(...as(token), `${keycard.baseUrl}/auth/sessions`);
    expect(listed.status).toBe(200);
    const sessions = listed.body.sessions as Json[];
    expect(sessions.map((session) => session.id)).toEqual([
      phone.body.session_id,
      laptopAgain.body.session_id,
      laptop.body.session_id,
    ]);
    const [phoneSession, current, first] = sessions;
    const devices = new Set(sessions.map((session) => session.device_id));
    expect(devices.size).toBe(3);
    expect([...devices].every((device) => /^[\w-]{22}$/.test(String(device)))).toBe(true);
    expect(sessions.map((session) => session.location)).toEqual(["US", "DE", "DE"]);
    expect(sessions.map((session) => session.current)).toEqual([false, true, false]);
    for (const session of sessions) {
      expect(session).toMatchObject({
        ip_address: "127.0.0.1",
        device_label: expect.stringMatching(/^curl /),
        created_at: expect.any(String),
        last_used_at: expect.any(String),
      });
    }

    const renamed = await curl(
      ...as(token),
      "-X",
      "PATCH",
      "-H",
      "content-type: application/json",
      "-d",
      '{"label": "Old laptop tab"}',
      `${keycard.baseUrl}/auth/sessions/${first?.id}`,
    );
    expect(renamed.status).toBe(200);
    expect(renamed.body.session).toMatchObject({ id: first?.id, label: "Old laptop tab" });

    const one = await curl(
      ...as(token),
      "-X",
      "DELETE",
      `${keycard.baseUrl}/auth/sessions/${phoneSession?.id}`,
    );
    expect(one.body.revoked_count).toBe(1);
    const others = await curl(
      ...as(token),
      "-X",
      "DELETE",
      `${keycard.baseUrl}/auth/sessions?scope=others`,
    );
    expect(others.body.revoked_count).toBe(1);
    const left = await curl(...as(token), `${keycard.baseUrl}/auth/sessions`);
    expect((left.body.sessions as Json[]).map((session) => session.id)).toEqual([current?.id]);

    const all = await curl(
      ...as(token),
      "-X",
      "DELETE",
      `${keycard.baseUrl}/auth/sessions?scope=all`,
    );
    expect(all.body.revoked_count).toBe(1);
    expect((await curl(...as(token), `${keycard.baseUrl}/auth/sessions`)).status).toBe(401);
  });
});
