import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestUser, postJson, startKeycard, type TestKeycard } from "../helpers/keycard.js";

async function timedLogin(keycard: TestKeycard, email: string, password: string) {
  const started = performance.now();
  const response = await postJson(`${keycard.baseUrl}/auth/login`, { email, password });
  return { ms: performance.now() - started, response };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

describe("login failures", () => {
  let keycard: TestKeycard;
  beforeAll(async () => {
    keycard = await startKeycard();
  });
  afterAll(() => keycard.close());

  it("look and take the same for an unknown email as for a wrong password", async () => {
    const user = await createTestUser(keycard);
    const unknown: number[] = [];
    const wrong: number[] = [];
    const bodies = new Set<string>();
    for (let attempt = 0; attempt < 7; attempt += 1) {
      const missing = await timedLogin(
        keycard,
        `nobody-${attempt}@example.com`,
        "whatever-password",
      );
      const mistaken = await timedLogin(keycard, user.email, `wrong-password-${attempt}`);
      unknown.push(missing.ms);
      wrong.push(mistaken.ms);
      for (const { response } of [missing, mistaken]) {
        expect(response.status).toBe(401);
        bodies.add(JSON.stringify(response.body));
      }
    }
    expect([...bodies]).toEqual([
      JSON.stringify({ error: "INVALID_CREDENTIALS", message: "Invalid email or password" }),
    ]);
    const ratio = median(unknown) / median(wrong);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });
});
