import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, describe, expect, inject, it } from "vitest";
import { SecretKeeper } from "../../src/service/secret-keeper.js";
import { reencryptTotpSecrets } from "../../src/service/totp-reencrypt.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createUserOverRest,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { reencryptMain } from "../helpers/reencrypt.js";
import { restClient } from "../helpers/rest.js";
import { enrollTotpOverRest, totpCode } from "../helpers/totp-codes.js";

const admin = { authorization: `Bearer ${testAdminToken}` };

describe("rotating KEYCARD_ENCRYPTION_KEY keeps TOTP and API keys working", () => {
  const clock = new FakeClock();
  const namespace = `rotation-${randomUUID()}`;
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const running: TestKeycard[] = [];
  const keycardWith = async (encryptionKey: Buffer, previous: Buffer[] = []) => {
    const keycard = await startKeycard({
      clock,
      namespace,
      encryptionKey,
      previousEncryptionKeys: previous,
    });
    running.push(keycard);
    return { keycard, rest: restClient(keycard.baseUrl) };
  };
  afterAll(() => Promise.all(running.map((keycard) => keycard.close())));

  it("decrypts and finds under the previous key, re-encrypts, then works on the new key alone", async () => {
    const before = await keycardWith(oldKey);
    const user = await createUserOverRest(before.rest);
    const { secret } = await enrollTotpOverRest(
      before.keycard.baseUrl,
      user.id,
      testAdminToken,
      clock.now(),
    );
    const issue = async (name: string): Promise<string> => {
      const reply = await before.rest.post(
        `/admin/users/${user.id}/api-keys`,
        { name, skip_totp: true },
        admin,
      );
      return String(reply.body.key);
    };
    const usedKey = await issue("used during the rotation");
    const idleKey = await issue("not used during the rotation");
    const login = async (rest: typeof before.rest, body: object) =>
      (await rest.post("/auth/login", body)).status;
    const withCode = async () => {
      clock.advance(30_000);
      return {
        email: user.email,
        password: user.password,
        totp_code: await totpCode(secret, clock.now()),
      };
    };

    const during = await keycardWith(newKey, [oldKey]);
    expect(await login(during.rest, await withCode())).toBe(200);
    expect(await login(during.rest, { api_key: usedKey })).toBe(200);

    const moved = await reencryptTotpSecrets(
      during.keycard.store,
      new SecretKeeper(newKey, [oldKey]),
    );
    expect(moved.secretsMoved).toBe(1);
    const again = await reencryptMain({
      REDIS_URL: inject("redisUrl"),
      REDIS_KEY_PREFIX: namespace,
      KEYCARD_ENCRYPTION_KEY: newKey.toString("base64"),
      KEYCARD_PREVIOUS_ENCRYPTION_KEYS: oldKey.toString("base64"),
    });
    expect(again.code).toBe(0);
    expect(again.lines.at(-1)).toContain("done: 0 TOTP secrets re-encrypted");

    const after = await keycardWith(newKey);
    expect(await login(after.rest, await withCode())).toBe(200);
    expect(await login(after.rest, { api_key: usedKey })).toBe(200);
    expect(await login(after.rest, { api_key: idleKey })).toBe(401);
    // A server missing the key a secret is under says so, rather than failing with a 500.
    const wrongKeyNow = await keycardWith(oldKey);
    const refused = await wrongKeyNow.rest.post("/auth/login", await withCode());
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe("ENCRYPTION_KEY_MISSING");
  });
});
