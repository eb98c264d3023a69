/**
 * One conformance case of the Hasura GraphQL dialect (`POST /v1/graphql`).
 *
 * A case is sent as `role` (X-Hasura-Role) with `session` as extra
 * X-Hasura-* headers, to a server in development mode (no admin secret), so
 * the headers are the session, as in Hasura.
 *
 * Expectations come from the seed data of the migrations and Hasura's
 * documented semantics, never from this server's output.
 */
export type Expectation = { data: unknown } | { errorCode: string; message?: string | RegExp };

export interface ConformanceCase {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  role: string;
  session?: Record<string, string>;
  /**
   * Runs on the project's write database, one case after another in array
   * order (implied for `mutation` operations), so it may see what earlier
   * write cases did. Read cases run on a pristine database.
   */
  writes?: boolean;
  expect: Expectation;
}

/** `[{id: 1}, {id: 2}]` from `ids(1, 2)`. */
export function ids(...values: number[]): Array<{ id: number }> {
  return values.map((id) => ({ id }));
}

export function isWrite(c: ConformanceCase): boolean {
  return c.writes === true || /^\s*mutation\b/.test(c.query);
}
