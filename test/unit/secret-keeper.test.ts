import { createCipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { KeycardError } from "../../src/domain/errors.js";
import { SecretKeeper } from "../../src/service/secret-keeper.js";

const derived = (master: Buffer, purpose: string): Buffer =>
  Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), purpose, 32));

/** A TOTP secret as keycard stored it before key ids (`v1.<iv>.<tag>.<body>`). */
function storedV1(master: Buffer, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", derived(master, "keycard totp encryption"), iv);
  const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return ["v1", iv, cipher.getAuthTag(), body]
    .map((part) => (typeof part === "string" ? part : part.toString("base64url")))
    .join(".");
}

describe("SecretKeeper's key ring", () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);

  it("still reads secrets stored before key ids, under the current or a previous key", () => {
    expect(new SecretKeeper(oldKey).decrypt(storedV1(oldKey, "JBSWY3DPEHPK3PXP"))).toBe(
      "JBSWY3DPEHPK3PXP",
    );
    expect(new SecretKeeper(newKey, [oldKey]).decrypt(storedV1(oldKey, "JBSWY3DPEHPK3PXP"))).toBe(
      "JBSWY3DPEHPK3PXP",
    );
  });

  it("encrypts under the current key, naming it, and knows what needs re-encrypting", () => {
    const rotated = new SecretKeeper(newKey, [oldKey]);
    const before = new SecretKeeper(oldKey).encrypt("secret");
    const now = rotated.encrypt("secret");
    expect(now).toMatch(/^v2\.[A-Za-z0-9_-]{8}\./);
    expect(rotated.isCurrent(now)).toBe(true);
    expect(rotated.isCurrent(before)).toBe(false);
    expect(rotated.decrypt(before)).toBe("secret");
    expect(() => new SecretKeeper(oldKey).decrypt(now)).toThrow(KeycardError);
  });

  it("hashes API keys as before, and gives the previous keys' hashes to look up", () => {
    const legacy = createHmac("sha256", derived(oldKey, "keycard api key hash"))
      .update("kc_key_x")
      .digest("base64url");
    expect(new SecretKeeper(oldKey).hashApiKey("kc_key_x")).toBe(legacy);
    const rotated = new SecretKeeper(newKey, [oldKey]);
    expect(rotated.hashApiKey("kc_key_x")).not.toBe(legacy);
    expect(rotated.previousApiKeyHashes("kc_key_x")).toEqual([legacy]);
  });

  it("refuses a tampered secret", () => {
    const keeper = new SecretKeeper(newKey);
    const stored = keeper.encrypt("secret");
    const tampered = `${stored.slice(0, -2)}${stored.endsWith("A") ? "B" : "A"}A`;
    expect(() => keeper.decrypt(tampered)).toThrow();
  });

  it("hashes a recovery code under a key of its own and the account's id, finding old ones by every key", () => {
    const before = new SecretKeeper(oldKey);
    const rotated = new SecretKeeper(newKey, [oldKey]);
    const hash = before.hashRecoveryCode("user-1", "7k2m9qxwar4t");
    expect(hash).toBe(
      createHmac("sha256", derived(oldKey, "keycard recovery code hash"))
        .update("user-1:7k2m9qxwar4t")
        .digest("base64url"),
    );
    expect(hash).not.toBe(before.hashRecoveryCode("user-2", "7k2m9qxwar4t"));
    expect(hash).not.toBe(before.hashApiKey("user-1:7k2m9qxwar4t"));
    expect(rotated.recoveryCodeHashes("user-1", "7k2m9qxwar4t")).toEqual([
      rotated.hashRecoveryCode("user-1", "7k2m9qxwar4t"),
      hash,
    ]);
  });
});
