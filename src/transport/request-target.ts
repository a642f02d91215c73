/** The path of a request target without its query: `/auth/verify?rd=x` gives `/auth/verify`. */
export function pathOf(url: string | undefined): string {
  const target = url ?? "/";
  const query = target.indexOf("?");
  return query === -1 ? target : target.slice(0, query);
}

/**
 * The query of a request target as parameters; undefined when it has none, so the many
 * requests without one (Validate's doors) allocate nothing.
 */
export function queryOf(url: string | undefined): URLSearchParams | undefined {
  const query = url?.indexOf("?") ?? -1;
  return query === -1 ? undefined : new URLSearchParams(url?.slice(query + 1));
}
