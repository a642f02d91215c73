import { describe, expect, it } from "vitest";
import { keySlot, slotCount, slotTags } from "../../src/store/redis/slots.js";

describe("Redis Cluster key slots", () => {
  it("hashes keys as CLUSTER KEYSLOT does, hash tags included", () => {
    expect(keySlot("foo")).toBe(12182);
    expect(keySlot("123456789")).toBe(12739);
    expect(keySlot("{user1000}.following")).toBe(keySlot("{user1000}.followers"));
    expect(keySlot("{user1000}.following")).toBe(keySlot("user1000"));
    expect(keySlot("foo{}{bar}")).not.toBe(keySlot("bar"));
    expect(keySlot("foo{{bar}}zap")).toBe(keySlot("{bar"));
  });

  it("names one hash tag per slot, each hashing to its own slot", () => {
    const tags = slotTags();
    expect(tags).toHaveLength(slotCount);
    expect(tags.every((tag, slot) => keySlot(`keycard:{${tag}}:live-count`) === slot)).toBe(true);
    expect(new Set(tags).size).toBe(slotCount);
  });
});
