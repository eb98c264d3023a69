/**
 * Errors in Hasura's shape, defined once (code, status, message) and
 * rendered once by the error handler of server/app.ts.
 *
 * GraphQL endpoints answer {"errors":[{"message","extensions":{"path","code"}}]};
 * other endpoints answer Hasura's flat {"error","path","code"}.
 */
export class HasuraError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly path: string;
  readonly headers: Record<string, string>;
  constructor(code: string, message: string, statusCode = 400, path = "$", headers: Record<string, string> = {}) {
    super(message);
    this.name = "HasuraError";
    this.code = code;
    this.statusCode = statusCode;
    this.path = path;
    this.headers = headers;
  }
}

/** Longest client-supplied value an error message repeats. */
export const MAX_ECHOED_CHARS = 100;

/**
 * A value the client chose (role name, header, claim), shortened for an
 * error message: a 10 kB role name must not come back as a 10 kB error, nor
 * fill the logs.
 */
export function truncateForMessage(value: string): string {
  if (value.length <= MAX_ECHOED_CHARS) return value;
  // Do not cut a surrogate pair in half.
  const end = /[\uD800-\uDBFF]/.test(value[MAX_ECHOED_CHARS - 1]!) ? MAX_ECHOED_CHARS - 1 : MAX_ECHOED_CHARS;
  return `${value.slice(0, end)}…`;
}

export interface GraphQLErrorBody {
  errors: Array<{ message: string; extensions: { path: string; code: string } }>;
}

export function graphqlErrorBody(err: { message: string; code: string; path?: string }): GraphQLErrorBody {
  return { errors: [{ message: err.message, extensions: { path: err.path ?? "$", code: err.code } }] };
}

export function flatErrorBody(err: { message: string; code: string; path?: string }) {
  return { error: err.message, path: err.path ?? "$", code: err.code };
}

// The errors the proxy itself raises, named once.
export const errors = {
  databaseUnavailable: () =>
    new HasuraError("postgres-error", "database is unavailable, retry shortly", 503, "$", { "retry-after": "1" }),
  notReady: () => new HasuraError("unexpected", "the GraphQL schema is not ready yet", 503, "$", { "retry-after": "1" }),
  unknownRole: () => new HasuraError("access-denied", "Your requested role is not in allowed roles", 400),
  internal: () => new HasuraError("unexpected", "internal error", 500),
  notFound: () => new HasuraError("not-found", "resource does not exist", 404),
  /** No pooled connection freed up within HASURA_GRAPHQL_PG_POOL_WAIT_MS. */
  poolExhausted: (waitMs: number) =>
    new HasuraError(
      "postgres-max-connections-error",
      `no database connection became free within ${waitMs} ms (all are busy); retry shortly`,
      503,
      "$",
      { "retry-after": "1" },
    ),
  /** A request whose answer from Postgres crossed HASURA_GRAPHQL_MAX_RESPONSE_ROWS / _BYTES. */
  responseTooLarge: (limit: string) =>
    new HasuraError(
      "bad-request",
      `the response is larger than the limit of ${limit}; ask for fewer rows (limit, where) or fewer nested lists`,
      400,
    ),
  /** Load shedding (server/plugins/overload.ts). */
  overloaded: (why: string) =>
    new HasuraError("unexpected", `the server is overloaded (${why}); retry shortly`, 503, "$", { "retry-after": "1" }),
};

/**
 * pg-pool's errors when no connection could be had within its
 * `connectionTimeoutMillis`, as Hasura errors (503 + Retry-After): every
 * pooled connection stayed busy, or a new one could not be opened in time.
 */
export function poolTimeoutError(e: unknown, waitMs: number): HasuraError | null {
  if (!(e instanceof Error)) return null;
  if (e.message === "timeout exceeded when trying to connect") return errors.poolExhausted(waitMs);
  if (e.message === "Connection terminated due to connection timeout") return errors.databaseUnavailable();
  return null;
}
