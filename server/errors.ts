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
};
