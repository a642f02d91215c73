import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/domain/ports.js";
import type { Sighting, SightingRules } from "../../src/domain/sightings.js";
import { newId } from "../../src/domain/token.js";
import { untilExpiry, untilReady } from "./store-contract.js";

const minute = 60_000;

/** Short rules, so that forgetting and trimming show in a few calls. */
const rules: SightingRules = { windowMs: 10 * minute, perKind: 3, retainMs: 60 * minute };

const device = (value: string): Sighting => ({ kind: "device", value });
const place = (value: string): Sighting => ({ kind: "location", value });

/**
 * What every store promises about the devices and places users log in from: a kind's
 * first sighting is not new, a sighting unseen for longer than the window is, each kind is
 * bounded, concurrent logins of one new device are told once, and a user gone longer than
 * the retention starts over. `makeStore` must give a store of its own on the real clock.
 */
export function describeSightingContract(name: string, makeStore: () => Store): void {
  describe(`the ${name} store's sightings`, () => {
    let store: Store;
    const start = Date.now();

    beforeAll(async () => {
      store = makeStore();
      await untilReady(store);
    });
    afterAll(() => store.close());

    const record = (userId: string, seen: Sighting[], at: number) =>
      store.sightings.record(userId, seen, at, rules);

    it("tells nothing new at a user's first login, then what was not seen before", async () => {
      const user = newId();
      expect(await record(user, [device("laptop"), place("DE")], start)).toEqual([false, false]);
      expect(await record(user, [device("laptop"), place("DE")], start + 1)).toEqual([
        false,
        false,
      ]);
      expect(await record(user, [device("phone"), place("FR")], start + 2)).toEqual([true, true]);
      expect(await record(user, [device("phone"), place("DE")], start + 3)).toEqual([false, false]);
    });

    it("answers nothing for a login with nothing to recognise", async () => {
      expect(await record(newId(), [], start)).toEqual([]);
    });

    it("tells a kind's first sighting apart: not new, though the other kind has history", async () => {
      const user = newId();
      await record(user, [device("laptop")], start);
      expect(await record(user, [device("phone"), place("DE")], start + 1)).toEqual([true, false]);
      expect(await record(user, [place("FR")], start + 2)).toEqual([true]);
    });

    it("counts a sighting as new once it was last seen more than the window ago", async () => {
      const user = newId();
      await record(user, [device("laptop"), device("old")], start);
      expect(await record(user, [device("laptop")], start + rules.windowMs)).toEqual([false]);
      const later = start + rules.windowMs + 1;
      expect(await record(user, [device("old"), device("laptop")], later)).toEqual([true, false]);
    });

    it("keeps the newest sightings of each kind, forgetting older ones beyond the bound", async () => {
      const user = newId();
      await record(user, [place("DE")], start);
      for (let index = 0; index < 5; index += 1) {
        await record(user, [device(`device-${index}`)], start + 1 + index);
      }
      const at = start + 10;
      expect(await record(user, [device("device-4"), device("device-2")], at)).toEqual([
        false,
        false,
      ]);
      expect(await record(user, [device("device-1"), place("DE")], at + 1)).toEqual([true, false]);
    });

    it("tells exactly one of many concurrent logins from one new device", async () => {
      const user = newId();
      await record(user, [device("laptop")], start);
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => record(user, [device("new")], start + 1)),
      );
      expect(answers.filter(([fresh]) => fresh === true)).toHaveLength(1);
    });

    it("keeps each user's sightings apart", async () => {
      const [alice, bob] = [newId(), newId()];
      await record(alice, [device("laptop")], start);
      await record(alice, [device("phone")], start + 1);
      expect(await record(bob, [device("phone")], start + 2)).toEqual([false]);
    });

    it("forgets a user entirely the retention after their last login", async () => {
      const user = newId();
      const short = { ...rules, retainMs: 150 };
      await store.sightings.record(user, [device("laptop")], Date.now(), short);
      const until = Date.now() + 200;
      await expect.poll(async () => Date.now() >= until, untilExpiry).toBe(true);
      expect(await store.sightings.record(user, [device("phone")], Date.now(), short)).toEqual([
        false,
      ]);
    });
  });
}
