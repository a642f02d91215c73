import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultLoginThrottle } from "../../src/domain/login-throttle.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { createTestUser, startKeycard, type TestKeycard } from "../helpers/keycard.js";
import { type Reply, restClient } from "../helpers/rest.js";

const second = 1_000;
const minute = 60_000;
const hour = 60 * minute;
const limit = defaultLoginThrottle.lockoutThreshold;

/** A repeatable stream of numbers in [0, 1), so a failing run can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

let addresses = 0;
/** An address no earlier attempt came from, so only the account's own limit applies. */
function newAddress(): string {
  addresses += 1;
  return `203.0.${Math.floor(addresses / 250)}.${(addresses % 250) + 1}`;
}

/** The most of `times` that fall within any one hour. */
function busiestHour(times: readonly number[]): number {
  return Math.max(0, ...times.map((at) => times.filter((t) => t > at - hour && t <= at).length));
}

describe("failed logins per account, on two keycards sharing one Redis, on a fake clock", () => {
  const clock = new FakeClock();
  let replicas: TestKeycard[];

  beforeAll(async () => {
    const options = {
      clock,
      namespace: `failed-attempts-${randomUUID()}`,
      trustedProxies: ["127.0.0.1"],
      loginThrottle: defaultLoginThrottle,
    };
    replicas = await Promise.all([startKeycard(options), startKeycard(options)]);
  });
  afterAll(() => Promise.all(replicas.map((replica) => replica.close())));

  /** A login from `address`, on one replica or the other. */
  function login(index: number, address: string, body: object): Promise<Reply> {
    const replica = replicas[index % replicas.length] as TestKeycard;
    return restClient(replica.baseUrl).post("/auth/login", body, { "x-forwarded-for": address });
  }

  /** `count` wrong passwords for `email` at once, each from an address of its own. */
  function guessAtOnce(email: string, count: number): Promise<Reply[]> {
    return Promise.all(
      Array.from({ length: count }, (_, index) =>
        login(index, newAddress(), { email, password: `guess-${index}` }),
      ),
    );
  }

  it("ASVS 4.0.3 2.2.1, NIST SP 800-63B 5.2.2: at most 100 failed attempts per account in any hour, whatever their timing", async () => {
    const user = await createTestUser(replicas[0] as TestKeycard);
    const random = seededRandom(13);
    const checkedAt: number[] = [];
    const end = clock.now() + 3 * hour;
    while (clock.now() < end) {
      const burst = await guessAtOnce(user.email, 1 + Math.floor(random() * 30));
      const checked = burst.filter((reply) => reply.status === 401).length;
      checkedAt.push(...Array<number>(checked).fill(clock.now()));
      const refused = burst.find((reply) => reply.status === 429);
      clock.advance(
        refused === undefined
          ? Math.floor(random() * 5 * minute)
          : Number(refused.headers.get("retry-after")) * second,
      );
    }
    expect(busiestHour(checkedAt)).toBe(limit);
    expect(checkedAt.length).toBeLessThanOrEqual(3 * limit);
  });

  it("ASVS 4.0.3 2.2.1: the owner's successful login does not give an attacker another 100 in the same hour", async () => {
    const user = await createTestUser(replicas[0] as TestKeycard);
    await guessAtOnce(user.email, limit / 2);
    const own = await login(0, newAddress(), { email: user.email, password: user.password });
    expect(own.status).toBe(200);
    const after = await guessAtOnce(user.email, limit);
    expect(after.filter((reply) => reply.status === 401)).toHaveLength(limit / 2);
    expect(after.filter((reply) => reply.status === 429)).toHaveLength(limit / 2);
  });
});
