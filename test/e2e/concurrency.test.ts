import { randomUUID } from "node:crypto";
import { type CallOptions, type Client, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService, RevokeScope } from "../../gen/keycard/v1/auth_service_pb.js";
import { InactiveReason } from "../../gen/keycard/v1/session_pb.js";
import { reasonOf } from "../../src/transport/handlers/errors.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { createTestUser, startKeycard, type TestKeycard } from "../helpers/keycard.js";

/*
 * Concurrency (issue 6): a real keycard on a real Redis under parallel calls from the
 * Connect client over HTTP/2 and HTTP/1.1. Racing refreshes have one winner, parallel logins
 * all count, a revoke is seen by every Validate sent after it is acknowledged, revoke-all
 * leaves nothing older behind, and two replicas on one Redis agree.
 */

type Auth = Client<typeof AuthService>;

const refreshGraceMs = 1_000;

function bearer(token: string): CallOptions {
  return { headers: { authorization: `Bearer ${token}` } };
}

/** Connect clients of `baseUrl`: one multiplexing over HTTP/2, one over HTTP/1.1. */
function clientsOf(baseUrl: string): { h2: Auth; h1: Auth } {
  return {
    h2: createClient(AuthService, createConnectTransport({ baseUrl, httpVersion: "2" })),
    h1: createClient(AuthService, createConnectTransport({ baseUrl, httpVersion: "1.1" })),
  };
}

/** The Connect code and ErrorInfo reason of a failed call, or "5xx" for anything not a ConnectError. */
function failureOf(error: unknown): { code: number; reason: string | undefined } {
  const connect = ConnectError.from(error);
  return { code: connect.code, reason: reasonOf(connect) };
}

/** Starts keycard on a Redis namespace and clock the caller picks, so two replicas can share them. */
function startReplica(namespace: string, clock: FakeClock): Promise<TestKeycard> {
  return startKeycard({ namespace, clock, policy: { refreshGrace: refreshGraceMs } });
}

describe("concurrency on one keycard", () => {
  const clock = new FakeClock();
  let keycard: TestKeycard;
  let h1: Auth;
  let h2: Auth;

  beforeAll(async () => {
    keycard = await startKeycard({ clock, policy: { refreshGrace: refreshGraceMs } });
    ({ h1, h2 } = clientsOf(keycard.baseUrl));
  });
  afterAll(() => keycard?.close());

  /** Logs `user` in over HTTP/2 or HTTP/1.1, alternating with `i`. */
  function login(user: { email: string; password: string }, i = 0) {
    return (i % 2 === 0 ? h2 : h1).login({ email: user.email, password: user.password });
  }

  it("lets exactly one of 20 parallel refreshes of one token win; the rest get SESSION_INVALID", async () => {
    const user = await createTestUser(keycard);
    const first = await login(user);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? h2 : h1).refresh({}, bearer(first.sessionToken)),
      ),
    );
    const winners = outcomes.flatMap((outcome) =>
      outcome.status === "fulfilled" ? [outcome.value] : [],
    );
    const losers = outcomes.flatMap((outcome) =>
      outcome.status === "rejected" ? [failureOf(outcome.reason)] : [],
    );
    expect(winners).toHaveLength(1);
    expect(losers).toEqual(
      Array.from({ length: 19 }, () => ({ code: 16, reason: "SESSION_INVALID" })),
    );
    const winner = winners[0]?.sessionToken ?? "";
    expect(winner).not.toBe(first.sessionToken);
    expect(winners[0]?.sessionId).toBe(first.sessionId);

    // The winner's token works; the old one only within the grace period.
    await expect(h2.validate({ token: winner })).resolves.toMatchObject({
      active: true,
      sessionId: first.sessionId,
    });
    await expect(h1.validate({ token: first.sessionToken })).resolves.toMatchObject({
      active: true,
      sessionId: first.sessionId,
    });
    await expect(h2.listSessions({}, bearer(winner))).resolves.toMatchObject({
      sessions: [expect.objectContaining({ id: first.sessionId })],
    });
    clock.advance(refreshGraceMs);
    await expect(h1.validate({ token: first.sessionToken })).resolves.toMatchObject({
      active: false,
    });
  });

  it("counts 50 parallel logins of one user: 50 distinct sessions, all listed", async () => {
    const user = await createTestUser(keycard);
    const logins = await Promise.all(Array.from({ length: 50 }, (_, i) => login(user, i)));
    const ids = new Set(logins.map((answer) => answer.sessionId));
    expect(ids.size).toBe(50);
    expect(new Set(logins.map((answer) => answer.sessionToken)).size).toBe(50);
    const listed = await h2.listSessions({}, bearer(logins[0]?.sessionToken ?? ""));
    expect(new Set(listed.sessions.map((session) => session.id))).toEqual(ids);
  });

  it("counts 50 parallel logins of 10 users: each user lists exactly their own 5 sessions", async () => {
    const users = await Promise.all(Array.from({ length: 10 }, () => createTestUser(keycard)));
    const logins = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const user = users[i % users.length] as (typeof users)[number];
        return { user: user.id, answer: await login(user, i) };
      }),
    );
    expect(new Set(logins.map(({ answer }) => answer.sessionId)).size).toBe(50);
    for (const user of users) {
      const own = logins.filter((entry) => entry.user === user.id);
      expect(own).toHaveLength(5);
      const listed = await h1.listSessions({}, bearer(own[0]?.answer.sessionToken ?? ""));
      expect(new Set(listed.sessions.map((session) => session.id))).toEqual(
        new Set(own.map(({ answer }) => answer.sessionId)),
      );
    }
  });

  it("answers every Validate sent after a revoke is acknowledged with revoked, and none with an error", async () => {
    const user = await createTestUser(keycard);
    const target = await login(user);
    const other = await login(user, 1);
    let revokeSentAt = Number.POSITIVE_INFINITY;
    let revokeAckedAt = Number.POSITIVE_INFINITY;
    let stop = false;
    const answers: { sentAt: number; answeredAt: number; active: boolean; reason: number }[] = [];
    const errors: unknown[] = [];
    const loops = Array.from({ length: 8 }, async (_, lane) => {
      const client = lane % 2 === 0 ? h2 : h1;
      while (!stop) {
        const sentAt = performance.now();
        try {
          const answer = await client.validate({ token: target.sessionToken });
          answers.push({
            sentAt,
            answeredAt: performance.now(),
            active: answer.active,
            reason: answer.reason,
          });
        } catch (error) {
          errors.push(error);
        }
      }
    });
    const answersSince = (at: number): number =>
      answers.filter((answer) => answer.sentAt > at).length;
    await expect
      .poll(() => answers.length, { timeout: 5_000, message: "answers before the revoke" })
      .toBeGreaterThan(10);
    revokeSentAt = performance.now();
    const revoked = await h2.revokeSession(
      { sessionId: target.sessionId },
      bearer(other.sessionToken),
    );
    revokeAckedAt = performance.now();
    await expect
      .poll(() => answersSince(revokeAckedAt), {
        timeout: 5_000,
        message: "answers to Validates sent after the revoke",
      })
      .toBeGreaterThan(10);
    stop = true;
    await Promise.all(loops);

    expect(revoked.revokedCount).toBe(1);
    expect(errors).toEqual([]);
    const before = answers.filter((answer) => answer.answeredAt < revokeSentAt);
    const after = answers.filter((answer) => answer.sentAt > revokeAckedAt);
    expect(before.length).toBeGreaterThan(10);
    expect(after.length).toBeGreaterThan(10);
    expect(before.every((answer) => answer.active)).toBe(true);
    expect(
      after.filter((answer) => answer.active || answer.reason !== InactiveReason.REVOKED),
    ).toEqual([]);
    // Those in flight across the revoke may say either, but only active or revoked.
    expect(
      answers.filter((answer) => !answer.active && answer.reason !== InactiveReason.REVOKED),
    ).toEqual([]);
  });

  it("leaves no session behind that existed before revoke-all started, with logins racing it", async () => {
    for (let round = 0; round < 3; round += 1) {
      const user = await createTestUser(keycard);
      const older = await Promise.all(Array.from({ length: 6 }, (_, i) => login(user, i)));
      const caller = older[0]?.sessionToken ?? "";
      const [revoked, ...racing] = await Promise.all([
        h2.revokeSession({ scope: RevokeScope.ALL }, bearer(caller)),
        ...Array.from({ length: 6 }, (_, i) => login(user, i)),
      ]);
      expect(revoked).toMatchObject({ revokedCount: expect.any(Number) });
      for (const session of older) {
        await expect(h1.validate({ token: session.sessionToken })).resolves.toMatchObject({
          active: false,
          reason: InactiveReason.REVOKED,
        });
      }
      // A login that raced the revoke either survived or was revoked, and nothing else.
      const survivors = [];
      for (const session of racing) {
        const answer = await h2.validate({ token: session.sessionToken });
        expect(answer.active || answer.reason === InactiveReason.REVOKED).toBe(true);
        if (answer.active) {
          survivors.push(session);
        }
      }
      const fresh = await login(user);
      const listed = await h2.listSessions({}, bearer(fresh.sessionToken));
      expect(new Set(listed.sessions.map((session) => session.id))).toEqual(
        new Set([fresh.sessionId, ...survivors.map((session) => session.sessionId)]),
      );
    }
  });
});

describe("two keycard replicas on one Redis", () => {
  const clock = new FakeClock();
  let a: TestKeycard;
  let b: TestKeycard;

  beforeAll(async () => {
    const namespace = `test-replicas-${randomUUID()}`;
    a = await startReplica(namespace, clock);
    b = await startReplica(namespace, clock);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it("refreshes on one and validates the new and the old token on the other", async () => {
    const onA = clientsOf(a.baseUrl);
    const onB = clientsOf(b.baseUrl);
    const user = await a.server.users.create({
      email: `replica-${randomUUID().slice(0, 8)}@example.com`,
      password: "correct horse battery staple",
      displayName: "Replica",
      roles: ["user"],
    });
    const first = await onB.h1.login({
      email: user.email,
      password: "correct horse battery staple",
    });
    const refreshed = await onA.h2.refresh({}, bearer(first.sessionToken));
    await expect(onB.h2.validate({ token: refreshed.sessionToken })).resolves.toMatchObject({
      active: true,
      sessionId: first.sessionId,
      subject: user.id,
    });
    await expect(onB.h1.validate({ token: first.sessionToken })).resolves.toMatchObject({
      active: true,
    });
    await expect(onB.h2.refresh({}, bearer(first.sessionToken))).rejects.toMatchObject({
      code: 16,
    });
    clock.advance(refreshGraceMs);
    await expect(onB.h2.validate({ token: first.sessionToken })).resolves.toMatchObject({
      active: false,
    });
    await expect(onA.h1.validate({ token: first.sessionToken })).resolves.toMatchObject({
      active: false,
    });
  });
});
