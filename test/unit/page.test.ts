import { describe, expect, it } from "vitest";
import { KeycardError } from "../../src/domain/errors.js";
import { type Cursor, type Page, pageOf, pageSizeOf } from "../../src/domain/page.js";
import {
  cursorOfPageToken,
  type PageScope,
  pageRequestOf,
  pageTokenOf,
} from "../../src/transport/handlers/page-token.js";

/** Items created at the given times, with ids in the order given. */
function itemsAt(...times: number[]): Cursor[] {
  return times.map((createdAt, index) => ({ createdAt, id: `id-${index}` }));
}

/** Every item of a listing, page after page of `size`, as a client following tokens sees it. */
function walk(items: readonly Cursor[], size: number, order: "oldest-first" | "newest-first") {
  const pages: Page<Cursor>[] = [];
  let after: Cursor | undefined;
  do {
    const page = pageOf(items, after === undefined ? { size } : { size, after }, order);
    pages.push(page);
    after = page.next;
  } while (after !== undefined);
  return pages;
}

function refusal(run: () => unknown): KeycardError {
  try {
    run();
  } catch (error) {
    if (error instanceof KeycardError) {
      return error;
    }
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("pageSizeOf", () => {
  it("reads zero as the default of 100 and keeps sizes up to 1000", () => {
    expect(pageSizeOf(0)).toBe(100);
    expect(pageSizeOf(1)).toBe(1);
    expect(pageSizeOf(1000)).toBe(1000);
  });

  it("treats a size above 1000 as 1000", () => {
    expect(pageSizeOf(1001)).toBe(1000);
    expect(pageSizeOf(2_147_483_647)).toBe(1000);
  });

  it("refuses a negative size as INVALID_ARGUMENT on page_size", () => {
    expect(refusal(() => pageSizeOf(-1))).toMatchObject({
      reason: "INVALID_ARGUMENT",
      field: "page_size",
    });
  });
});

describe("pageOf", () => {
  it("pages newest first by creation time, then id, each item exactly once", () => {
    const items = itemsAt(5, 9, 1, 9, 3, 7, 9);
    const pages = walk(items, 2, "newest-first");
    const listed = pages.flatMap((page) =>
      page.items.map((item) => `${item.createdAt}/${item.id}`),
    );
    expect(listed).toEqual(["9/id-6", "9/id-3", "9/id-1", "7/id-5", "5/id-0", "3/id-4", "1/id-2"]);
    expect(pages.map((page) => page.items.length)).toEqual([2, 2, 2, 1]);
    expect(pages.at(-1)?.next).toBeUndefined();
  });

  it("pages oldest first, and ends without a next position when the last page is full", () => {
    const pages = walk(itemsAt(1, 2, 3, 4), 2, "oldest-first");
    expect(pages.map((page) => page.items.map((item) => item.createdAt))).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it("answers one empty last page for an empty listing", () => {
    expect(pageOf([], { size: 10 }, "newest-first")).toEqual({ items: [] });
  });

  it("resumes after its position even when that item is gone, skipping nothing", () => {
    const items = itemsAt(10, 20, 30, 40);
    const first = pageOf(items, { size: 2 }, "newest-first");
    expect(first.items.map((item) => item.createdAt)).toEqual([40, 30]);
    const after = first.next;
    const without30 = items.filter((item) => item.createdAt !== 30);
    const withNewest = [...without30, { createdAt: 50, id: "new" }];
    expect(pageOf(withNewest, { size: 2, ...(after && { after }) }, "newest-first")).toEqual({
      items: [
        { createdAt: 20, id: "id-1" },
        { createdAt: 10, id: "id-0" },
      ],
    });
  });
});

describe("page tokens", () => {
  const scope: PageScope = { method: "ListUserSessions", owner: "user-a" };
  const position: Cursor = { createdAt: 1_760_000_000_123, id: "Zx3_-abcDEF0123456789a" };

  it("carry a position back for the same listing, and are base64url that does not show it", () => {
    const token = pageTokenOf(position, scope);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(token).not.toContain(position.id);
    expect(token).not.toContain(String(position.createdAt));
    expect(cursorOfPageToken(token, scope)).toEqual(position);
  });

  it("are empty for the last page, and an empty one asks for the first page", () => {
    expect(pageTokenOf(undefined, scope)).toBe("");
    expect(cursorOfPageToken("", scope)).toBeUndefined();
  });

  it("keep an id that has dots or other characters", () => {
    const odd = { createdAt: 0, id: "a.b.c é" };
    expect(cursorOfPageToken(pageTokenOf(odd, scope), scope)).toEqual(odd);
  });

  it.each([
    ["of another user", { method: "ListUserSessions", owner: "user-b" }],
    ["of another method", { method: "ListApiKeys", owner: "user-a" }],
  ])("refuse a token %s", (_, other) => {
    expect(refusal(() => cursorOfPageToken(pageTokenOf(position, scope), other))).toMatchObject({
      reason: "INVALID_ARGUMENT",
      field: "page_token",
      message: expect.stringContaining("next_page_token"),
    });
  });

  it("refuse a token whose position was changed", () => {
    const token = pageTokenOf(position, scope);
    const text = Buffer.from(token, "base64url").toString("utf8");
    const later = text.replace(String(position.createdAt), String(position.createdAt + 1));
    const otherId = text.replace(position.id, `${position.id.slice(0, -1)}b`);
    for (const tampered of [later, otherId]) {
      const forged = Buffer.from(tampered, "utf8").toString("base64url");
      expect(refusal(() => cursorOfPageToken(forged, scope)).field).toBe("page_token");
    }
  });

  it.each([
    "garbage",
    "12",
    "not base64!",
    "x".repeat(600),
    Buffer.from("2.1.abc.def").toString("base64url"),
    Buffer.from("1.-5.abc.def").toString("base64url"),
    Buffer.from("1.99999999999999999999.abc.def").toString("base64url"),
    Buffer.from("1.5.abc.").toString("base64url"),
    Buffer.from("1.5").toString("base64url"),
  ])("refuse the malformed token %j as INVALID_ARGUMENT", (token) => {
    expect(refusal(() => cursorOfPageToken(token, scope))).toMatchObject({
      reason: "INVALID_ARGUMENT",
      field: "page_token",
    });
  });

  it("refuse a token with a character appended or cut off", () => {
    const token = pageTokenOf(position, scope);
    for (const changed of [`${token}A`, token.slice(0, -1), token.slice(1)]) {
      expect(refusal(() => cursorOfPageToken(changed, scope)).field).toBe("page_token");
    }
  });

  it("make a page request from page_size and page_token", () => {
    expect(pageRequestOf({ pageSize: 0, pageToken: "" }, scope)).toEqual({ size: 100 });
    const pageToken = pageTokenOf(position, scope);
    expect(pageRequestOf({ pageSize: 5000, pageToken }, scope)).toEqual({
      size: 1000,
      after: position,
    });
  });
});
