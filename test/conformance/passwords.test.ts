import { describe, expect, it } from "vitest";
import { FakeClock } from "../helpers/fake-clock.js";
import { createUserOverRest, keycardForSuite } from "../helpers/keycard.js";

const day = 86_400_000;

describe("passwords (ASVS 4.0.3 V2.1, V2.4)", () => {
  const clock = new FakeClock();
  const suite = keycardForSuite({ clock });
  const rest = suite.rest;

  /** An account created over the admin API with `password`. */
  async function userWith(password: string): Promise<{ id: string; email: string }> {
    return createUserOverRest(rest, "Pat", { password });
  }

  async function loginStatus(email: string, password: string): Promise<number> {
    return (await rest.post("/auth/login", { email, password })).status;
  }

  it("ASVS 4.0.3 2.1.2, 5.0 6.2.9: passwords of 64 and 128 characters are accepted and work", async () => {
    for (const length of [64, 128]) {
      const password = "p".repeat(length);
      const user = await userWith(password);
      expect(await loginStatus(user.email, password)).toBe(200);
    }
  });

  it("ASVS 4.0.3 2.1.3: a password is never truncated: every character counts", async () => {
    const password = `${"long passphrase ".repeat(8)}end`;
    const user = await userWith(password);
    expect(await loginStatus(user.email, password.slice(0, 72))).toBe(401);
    expect(await loginStatus(user.email, `${password.slice(0, -1)}E`)).toBe(401);
    expect(await loginStatus(user.email, password)).toBe(200);
  });

  it("ASVS 4.0.3 2.1.4: any printable Unicode is accepted: spaces, accents, CJK and emoji", async () => {
    const password = "grüße, 東京 🐎 correct   horse";
    const user = await userWith(password);
    expect(await loginStatus(user.email, password)).toBe(200);
    expect(await loginStatus(user.email, password.replace("ü", "u"))).toBe(401);
  });

  it("ASVS 4.0.3 2.1.9: no composition rules: an all-lowercase passphrase is accepted", async () => {
    const user = await userWith("all lowercase words");
    expect(await loginStatus(user.email, "all lowercase words")).toBe(200);
  });

  it("ASVS 4.0.3 2.1.10: a password never expires", async () => {
    const password = "a password kept for years";
    const user = await userWith(password);
    clock.advance(800 * day);
    expect(await loginStatus(user.email, password)).toBe(200);
  });

  it("ASVS 4.0.3 2.4.1, 2.4.2: passwords are stored only as salted argon2id hashes at OWASP's parameters", async () => {
    const password = "the same password twice";
    const [first, second] = [await userWith(password), await userWith(password)];
    const hashes = await Promise.all(
      [first, second].map(
        async (user) => (await suite.keycard.store.users.findById(user.id))?.passwordHash,
      ),
    );
    for (const hash of hashes) {
      const [, kind, version, parameters, salt, digest] = String(hash).split("$");
      expect([kind, version]).toEqual(["argon2id", "v=19"]);
      expect(parameters?.split(",").sort()).toEqual(["m=19456", "p=1", "t=2"]);
      expect(Buffer.from(salt ?? "", "base64").length).toBeGreaterThanOrEqual(16);
      expect(Buffer.from(digest ?? "", "base64").length).toBe(32);
      expect(hash).not.toContain(password);
    }
    expect(hashes[0]).not.toBe(hashes[1]);
  });
});
