import { invalidArgument } from "./errors.js";

/**
 * Where a listing resumes: right after the item created at `createdAt` (epoch ms) with this
 * id. Every listing is ordered by creation time and then id, so a position names one place
 * in it whether or not its item still exists, and items added or removed elsewhere do not
 * move it (as an offset would).
 */
export interface Cursor {
  readonly createdAt: number;
  readonly id: string;
}

/** One page asked for: at most `size` items, those after `after` (from the first when absent). */
export interface PageRequest {
  readonly size: number;
  readonly after?: Cursor;
}

/** One page of a listing, and the position its next page starts after (absent on the last). */
export interface Page<T> {
  readonly items: T[];
  readonly next?: Cursor;
}

/** Which way a listing runs: oldest first (ascending) or newest first (descending). */
export type ListOrder = "oldest-first" | "newest-first";

/** The page size when a request gives none (AIP-158: a default, not "everything"). */
export const defaultPageSize = 100;

/** The largest page: a request for more gets this many. */
export const maxPageSize = 1000;

/** The page size a request's `page_size` means: 0 the default, more than the maximum the maximum. */
export function pageSizeOf(requested: number): number {
  if (!Number.isInteger(requested) || requested < 0) {
    throw invalidArgument("page_size", "page_size must not be negative");
  }
  return requested === 0 ? defaultPageSize : Math.min(requested, maxPageSize);
}

/** The position of an item: its creation time and id. */
export function cursorOf(item: Cursor): Cursor {
  return { createdAt: item.createdAt, id: item.id };
}

/** Compares two positions oldest first: by creation time, then by id. */
export function compareCursors(a: Cursor, b: Cursor): number {
  if (a.createdAt !== b.createdAt) {
    return a.createdAt - b.createdAt;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * One page of a whole listing held in memory (a user's sessions or keys): sorted in `order`,
 * resumed after the request's position, cut to its size.
 */
export function pageOf<T extends Cursor>(
  items: readonly T[],
  request: PageRequest,
  order: ListOrder,
): Page<T> {
  const sign = order === "oldest-first" ? 1 : -1;
  const { after } = request;
  const sorted = [...items].sort((a, b) => sign * compareCursors(a, b));
  const rest =
    after === undefined ? sorted : sorted.filter((item) => sign * compareCursors(item, after) > 0);
  return pageFrom(rest, request.size);
}

/**
 * A page from the items that follow its position, in order: the first `size`, and the next
 * position when there are more (so a store read asks for `size + 1` to learn whether there
 * are).
 */
export function pageFrom<T extends Cursor>(following: readonly T[], size: number): Page<T> {
  const items = following.slice(0, size);
  const last = items.at(-1);
  return following.length > size && last !== undefined
    ? { items, next: cursorOf(last) }
    : { items };
}
