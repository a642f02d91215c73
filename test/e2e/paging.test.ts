import { type CallOptions, Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/keycard/v1/admin_service_pb.js";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { failureOf } from "../helpers/connect-failure.js";
import {
  createTestUser,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { expectError, type Json, type Rest, restClient } from "../helpers/rest.js";

/*
 * Every List RPC a page at a time (AIP-158), over Connect and over REST against a real
 * server on Redis: each item exactly once and in the documented order, the default and the
 * largest page, and page tokens that are garbage, edited or from another listing refused
 * as INVALID_ARGUMENT (400 over REST), never a 500.
 */

let keycard: TestKeycard;
let auth: ReturnType<typeof createClient<typeof AuthService>>;
let admin: ReturnType<typeof createClient<typeof AdminService>>;
let rest: Rest;

beforeAll(async () => {
  keycard = await startKeycard();
  const transport = createConnectTransport({ baseUrl: keycard.baseUrl, httpVersion: "1.1" });
  auth = createClient(AuthService, transport);
  admin = createClient(AdminService, transport);
  rest = restClient(keycard.baseUrl);
});

afterAll(async () => {
  await keycard?.close();
});

function bearer(token: string): CallOptions {
  return { headers: { authorization: `Bearer ${token}` } };
}

const asAdmin = bearer(testAdminToken);
const adminHeaders = { authorization: `Bearer ${testAdminToken}` };

type User = Awaited<ReturnType<typeof createTestUser>>;

/** Logs the user in `count` times, one after another; the logins, oldest first. */
async function loginTimes(user: User, count: number) {
  const logins = [];
  for (let i = 0; i < count; i += 1) {
    logins.push(await auth.login({ email: user.email, password: user.password }));
  }
  return logins;
}

/** Follows next_page_token to the end; every page, in order. */
async function allPages<T>(
  fetchPage: (pageToken: string) => Promise<{ items: T[]; nextPageToken: string }>,
): Promise<T[][]> {
  const pages: T[][] = [];
  let pageToken = "";
  do {
    const page = await fetchPage(pageToken);
    pages.push(page.items);
    pageToken = page.nextPageToken;
  } while (pageToken !== "" && pages.length < 1_000);
  expect(pageToken).toBe("");
  return pages;
}

/** Expects a call refused for its page token: InvalidArgument, reason and field named. */
async function expectTokenRefused(call: Promise<unknown>): Promise<void> {
  const error = await failureOf(call);
  expect(error.code).toBe(Code.InvalidArgument);
  expect(error.findDetails(ErrorInfoSchema)).toMatchObject([
    { reason: "INVALID_ARGUMENT", metadata: { field: "page_token" } },
  ]);
  expect(error.rawMessage).toMatch(/page_token/);
}

/** A valid token with one character changed. */
function edited(token: string): string {
  const at = Math.floor(token.length / 2);
  return `${token.slice(0, at)}${token[at] === "A" ? "B" : "A"}${token.slice(at + 1)}`;
}

describe("ListUserSessions a page at a time", () => {
  it("returns every session exactly once, newest first, and an empty token on the last page", async () => {
    const user = await createTestUser(keycard);
    const logins = await loginTimes(user, 7);
    const newestFirst = logins.map((login) => login.sessionId).reverse();

    const pages = await allPages(async (pageToken) => {
      const page = await admin.listUserSessions(
        { userId: user.id, pageSize: 3, pageToken },
        asAdmin,
      );
      return {
        items: page.sessions.map((session) => session.id),
        nextPageToken: page.nextPageToken,
      };
    });

    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual(newestFirst);
    const whole = await admin.listUserSessions({ userId: user.id }, asAdmin);
    expect(whole.sessions.map((session) => session.id)).toEqual(newestFirst);
    expect(whole.nextPageToken).toBe("");
  });

  it("skips no session when sessions are revoked between pages, the last one listed included", async () => {
    const user = await createTestUser(keycard);
    const logins = await loginTimes(user, 6);
    const [s0, s1, s2, s3, s4, s5] = logins.map((login) => login.sessionId);
    const first = await admin.listUserSessions({ userId: user.id, pageSize: 2 }, asAdmin);
    expect(first.sessions.map((session) => session.id)).toEqual([s5, s4]);

    for (const revoked of [s4, s2]) {
      const answer = await admin.revokeUserSessions(
        { userId: user.id, sessionId: revoked ?? "" },
        asAdmin,
      );
      expect(answer.revokedCount).toBe(1);
    }
    const [newest] = await loginTimes(user, 1);
    const remaining = await allPages(async (pageToken) => {
      const page = await admin.listUserSessions(
        { userId: user.id, pageSize: 2, pageToken: pageToken || first.nextPageToken },
        asAdmin,
      );
      return {
        items: page.sessions.map((session) => session.id),
        nextPageToken: page.nextPageToken,
      };
    });

    expect(remaining.flat()).toEqual([s3, s1, s0]);
    expect(remaining.flat()).not.toContain(newest?.sessionId);
  });

  it("refuses a token of another user's sessions, an edited one and garbage, and a negative page_size", async () => {
    const alice = await createTestUser(keycard);
    const bob = await createTestUser(keycard);
    await loginTimes(alice, 2);
    await loginTimes(bob, 2);
    const { nextPageToken } = await admin.listUserSessions(
      { userId: alice.id, pageSize: 1 },
      asAdmin,
    );
    expect(nextPageToken).not.toBe("");

    for (const pageToken of [nextPageToken, edited(nextPageToken), "garbage", "%%%", "1"]) {
      await expectTokenRefused(
        admin.listUserSessions({ userId: bob.id, pageSize: 1, pageToken }, asAdmin),
      );
    }
    await expectTokenRefused(
      admin.listUserSessions({ userId: alice.id, pageToken: edited(nextPageToken) }, asAdmin),
    );
    await expectTokenRefused(
      admin.listApiKeys({ userId: alice.id, pageToken: nextPageToken }, asAdmin),
    );
    const negative = await failureOf(
      admin.listUserSessions({ userId: alice.id, pageSize: -1 }, asAdmin),
    );
    expect(negative.code).toBe(Code.InvalidArgument);
    expect(negative.findDetails(ErrorInfoSchema)[0]?.metadata.field).toBe("page_size");
  });
});

describe("ListSessions a page at a time", () => {
  it("pages through the caller's own sessions, the current one marked, and a token is good for that user only", async () => {
    const user = await createTestUser(keycard);
    const logins = await loginTimes(user, 5);
    const caller = logins[2];
    if (caller === undefined) {
      throw new Error("expected five logins");
    }

    const pages = await allPages(async (pageToken) => {
      const page = await auth.listSessions({ pageSize: 2, pageToken }, bearer(caller.sessionToken));
      return { items: page.sessions, nextPageToken: page.nextPageToken };
    });

    expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
    expect(pages.flat().map((session) => session.id)).toEqual(
      logins.map((login) => login.sessionId).reverse(),
    );
    expect(pages.flat().filter((session) => session.current)).toMatchObject([
      { id: caller.sessionId },
    ]);

    // Another session of the same user may go on; another user may not.
    const first = await auth.listSessions({ pageSize: 2 }, bearer(caller.sessionToken));
    const other = logins[4]?.sessionToken ?? "";
    const next = await auth.listSessions(
      { pageSize: 2, pageToken: first.nextPageToken },
      bearer(other),
    );
    expect(next.sessions.map((session) => session.id)).toEqual(
      [logins[2], logins[1]].map((login) => login?.sessionId),
    );
    const [stranger] = await loginTimes(await createTestUser(keycard), 1);
    await expectTokenRefused(
      auth.listSessions({ pageToken: first.nextPageToken }, bearer(stranger?.sessionToken ?? "")),
    );
  });
});

describe("ListApiKeys a page at a time", () => {
  async function createKeys(userId: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let start = 0; start < count; start += 25) {
      const batch = Array.from({ length: Math.min(25, count - start) }, (_, i) =>
        admin.createApiKey({ userId, name: `key ${start + i}`, skipTotp: true }, asAdmin),
      );
      for (const created of await Promise.all(batch)) {
        ids.push(created.apiKey?.id ?? "");
      }
    }
    return ids;
  }

  it("returns every key exactly once, newest first, revoked ones included", async () => {
    const user = await createTestUser(keycard);
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      ids.push(...(await createKeys(user.id, 1)));
    }
    await admin.revokeApiKey({ apiKeyId: ids[1] ?? "" }, asAdmin);

    const pages = await allPages(async (pageToken) => {
      const page = await admin.listApiKeys({ userId: user.id, pageSize: 2, pageToken }, asAdmin);
      return { items: page.apiKeys, nextPageToken: page.nextPageToken };
    });

    expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
    const listed = pages.flat();
    const whole = await admin.listApiKeys({ userId: user.id }, asAdmin);
    expect(listed.map((key) => key.id)).toEqual(whole.apiKeys.map((key) => key.id));
    expect(new Set(listed.map((key) => key.id))).toEqual(new Set(ids));
    const created = listed.map(
      (key) => Number(key.createdAt?.seconds) * 1e3 + (key.createdAt?.nanos ?? 0) / 1e6,
    );
    expect(created).toEqual([...created].sort((a, b) => b - a));
    expect(listed.find((key) => key.id === ids[1])?.revoked).toBe(true);
  });

  it("answers 100 keys without a page_size and at most 1000 for a larger one", async () => {
    const user = await createTestUser(keycard);
    const ids = await createKeys(user.id, 1_001);

    const byDefault = await admin.listApiKeys({ userId: user.id }, asAdmin);
    expect(byDefault.apiKeys).toHaveLength(100);
    expect(byDefault.nextPageToken).not.toBe("");

    const largest = await admin.listApiKeys({ userId: user.id, pageSize: 5_000 }, asAdmin);
    expect(largest.apiKeys).toHaveLength(1_000);
    const last = await admin.listApiKeys(
      { userId: user.id, pageSize: 5_000, pageToken: largest.nextPageToken },
      asAdmin,
    );
    expect(last.apiKeys).toHaveLength(1);
    expect(last.nextPageToken).toBe("");
    const listed = [...largest.apiKeys, ...last.apiKeys].map((key) => key.id);
    expect(new Set(listed)).toEqual(new Set(ids));
  });
});

describe("ListUsers a page at a time", () => {
  it("repeats and skips nobody when users are created between pages", async () => {
    for (let i = 0; i < 4; i += 1) {
      await createTestUser(keycard);
    }
    const before = await admin.listUsers({ pageSize: 1_000 }, asAdmin);
    expect(before.nextPageToken).toBe("");

    const seen: string[] = [];
    let pageToken = "";
    let created: User | undefined;
    do {
      const page = await admin.listUsers({ pageSize: 2, pageToken }, asAdmin);
      seen.push(...page.users.map((user) => user.id));
      pageToken = page.nextPageToken;
      created ??= await createTestUser(keycard);
    } while (pageToken !== "");

    expect(seen).toEqual([...before.users.map((user) => user.id), created?.id]);
    await expectTokenRefused(admin.listUsers({ pageToken: "MTA" }, asAdmin));
    await expectTokenRefused(admin.listUsers({ pageToken: "2" }, asAdmin));
  });
});

describe("paging over REST", () => {
  async function restPages(path: string, field: string, headers: Record<string, string>) {
    return allPages(async (pageToken) => {
      const query = `page_size=2${pageToken === "" ? "" : `&page_token=${pageToken}`}`;
      const reply = await rest.get(`${path}?${query}`, headers);
      expect(reply.status).toBe(200);
      return {
        items: (reply.body[field] as Json[]).map((item) => String(item.id)),
        nextPageToken: String(reply.body.next_page_token),
      };
    });
  }

  it("follows next_page_token through GET /admin/users/{id}/sessions, /api-keys and /auth/sessions", async () => {
    const user = await createTestUser(keycard);
    const logins = await loginTimes(user, 5);
    const sessionIds = logins.map((login) => login.sessionId).reverse();
    const token = logins[0]?.sessionToken ?? "";
    const keyIds: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const created = await admin.createApiKey({ userId: user.id, name: `k${i}` }, asAdmin);
      keyIds.unshift(created.apiKey?.id ?? "");
    }

    const adminSessions = await restPages(
      `/admin/users/${user.id}/sessions`,
      "sessions",
      adminHeaders,
    );
    expect(adminSessions.map((page) => page.length)).toEqual([2, 2, 1]);
    expect(adminSessions.flat()).toEqual(sessionIds);
    const own = await restPages("/auth/sessions", "sessions", { authorization: `Bearer ${token}` });
    expect(own.flat()).toEqual(sessionIds);
    const keys = await restPages(`/admin/users/${user.id}/api-keys`, "api_keys", adminHeaders);
    expect(keys.map((page) => page.length)).toEqual([2, 1]);
    expect(new Set(keys.flat())).toEqual(new Set(keyIds));
    const users = await restPages("/admin/users", "users", adminHeaders);
    expect(users.flat()).toContain(user.id);
    expect(new Set(users.flat()).size).toBe(users.flat().length);
  });

  it("takes a token from Connect, and answers 400 INVALID_ARGUMENT for a bad one, never a 500", async () => {
    const alice = await createTestUser(keycard);
    const bob = await createTestUser(keycard);
    const [aliceLogin] = await loginTimes(alice, 2);
    await loginTimes(bob, 1);
    const { nextPageToken } = await admin.listUserSessions(
      { userId: alice.id, pageSize: 1 },
      asAdmin,
    );
    const next = await rest.get(
      `/admin/users/${alice.id}/sessions?page_size=1&page_token=${nextPageToken}`,
      adminHeaders,
    );
    expect(next.status).toBe(200);
    expect((next.body.sessions as Json[]).map((session) => session.id)).toEqual([
      aliceLogin?.sessionId,
    ]);
    expect(next.body.next_page_token).toBe("");

    for (const query of [
      `page_token=${nextPageToken}`,
      `page_token=${edited(nextPageToken)}`,
      "page_token=garbage",
      "page_token=%F0%9F%94%91",
      `page_token=${"A".repeat(2_000)}`,
      "page_size=-5",
      "page_size=many",
    ]) {
      expectError(
        await rest.get(`/admin/users/${bob.id}/sessions?${query}`, adminHeaders),
        400,
        "INVALID_ARGUMENT",
      );
    }
    expectError(
      await rest.get(`/admin/users/${bob.id}/api-keys?page_token=${nextPageToken}`, adminHeaders),
      400,
      "INVALID_ARGUMENT",
    );
    expectError(
      await rest.get(`/auth/sessions?page_token=${nextPageToken}`, {
        authorization: `Bearer ${aliceLogin?.sessionToken ?? ""}`,
      }),
      400,
      "INVALID_ARGUMENT",
    );
    const clamped = await rest.get(
      `/admin/users/${alice.id}/sessions?page_size=99999`,
      adminHeaders,
    );
    expect(clamped.status).toBe(200);
    expect(clamped.body.sessions as Json[]).toHaveLength(2);
  });
});
