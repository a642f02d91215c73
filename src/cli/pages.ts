/** The paging fields every List request has. */
export interface PageFields {
  readonly pageSize: number;
  readonly pageToken: string;
}

/** The largest page the API serves. */
const largestPage = 1000;

/**
 * Every item of a listing, following next_page_token to the end in the largest pages: a
 * command-line user asking for a list expects all of it, not its first page.
 */
export async function everyPage<T>(
  fetchPage: (page: PageFields) => Promise<{ items: T[]; nextPageToken: string }>,
): Promise<T[]> {
  const items: T[] = [];
  let pageToken = "";
  do {
    const page = await fetchPage({ pageSize: largestPage, pageToken });
    items.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return items;
}
