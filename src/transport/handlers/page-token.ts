import { createHash } from "node:crypto";
import { invalidArgument, type KeycardError } from "../../domain/errors.js";
import { type Cursor, type PageRequest, pageSizeOf } from "../../domain/page.js";

/**
 * Page tokens: a listing position (see Cursor), opaque to clients, bound to the request it
 * continues. A token is base64url of `1.<created at>.<check>.<id>`, where the check is a
 * digest of the position and of what the request lists (the method and its owner), so
 * that a token from another listing, a truncated or edited one fails as INVALID_ARGUMENT
 * instead of starting somewhere unintended. The check needs no secret: a token grants
 * nothing (the request is authorized on its own), it only says where to resume.
 */
const version = "1";
const checkLength = 16;
const maxTokenLength = 512;
const timePattern = /^(0|[1-9]\d{0,15})$/;

/** What a page token continues: the RPC and the owner of what it lists (empty for none). */
export interface PageScope {
  readonly method: string;
  readonly owner: string;
}

function checkOf(scope: PageScope, createdAt: number, id: string): string {
  return createHash("sha256")
    .update(`keycard page token\n${scope.method}\n${scope.owner}\n${createdAt}\n${id}`)
    .digest("base64url")
    .slice(0, checkLength);
}

/** The `next_page_token` for a page: empty on the last page. */
export function pageTokenOf(next: Cursor | undefined, scope: PageScope): string {
  if (next === undefined) {
    return "";
  }
  const { createdAt, id } = next;
  // The id last: ids are base64url today, but nothing here depends on that.
  const text = [version, String(createdAt), checkOf(scope, createdAt, id), id].join(".");
  return Buffer.from(text, "utf8").toString("base64url");
}

/** The one refusal for every token this listing did not hand out, whatever is wrong with it. */
function foreignToken(): KeycardError {
  return invalidArgument(
    "page_token",
    "page_token is not a next_page_token of this listing: send the one the previous page returned, with the same request, or none to start again",
  );
}

/** The position a `page_token` resumes after; undefined for an empty token (the first page). */
export function cursorOfPageToken(token: string, scope: PageScope): Cursor | undefined {
  if (token === "") {
    return undefined;
  }
  if (token.length > maxTokenLength || !/^[A-Za-z0-9_-]+$/.test(token)) {
    throw foreignToken();
  }
  const bytes = Buffer.from(token, "base64url");
  if (bytes.toString("base64url") !== token) {
    throw foreignToken();
  }
  const [tag, time = "", check, ...idParts] = bytes.toString("utf8").split(".");
  const id = idParts.join(".");
  const createdAt = Number(time);
  if (
    tag !== version ||
    !timePattern.test(time) ||
    !Number.isSafeInteger(createdAt) ||
    id === "" ||
    check !== checkOf(scope, createdAt, id)
  ) {
    throw foreignToken();
  }
  return { createdAt, id };
}

/** The page a List request asks for, from its `page_size` and `page_token`. */
export function pageRequestOf(
  request: { readonly pageSize: number; readonly pageToken: string },
  scope: PageScope,
): PageRequest {
  const size = pageSizeOf(request.pageSize);
  const after = cursorOfPageToken(request.pageToken, scope);
  return after === undefined ? { size } : { size, after };
}
