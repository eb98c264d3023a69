/**
 * Errors in Hasura's shape: the class, the table of every error the proxy
 * itself raises (code, status, message, headers), and the two body shapes.
 * A leaf module: everything may import it, it imports nothing.
 *
 * What turns a thrown value (a Postgres error, a pool timeout, a Fastify or
 * graphql-js error) into one of these: server/to-hasura-error.ts. Which
 * status a dialect answers with: server/graphql/dialects.ts.
 *
 * GraphQL endpoints answer {"errors":[{"message","extensions":{"path","code"}}]};
 * other endpoints answer Hasura's flat {"error","path","code"}.
 */

/** Every 503 tells the client when to retry (Hasura sends none; load balancers and clients use it). */
const RETRY_AFTER: Readonly<Record<string, string>> = Object.freeze({ "retry-after": "1" });
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

export class HasuraError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    code: string,
    message: string,
    statusCode = 400,
    path = "$",
    headers: Readonly<Record<string, string>> = statusCode === 503 ? RETRY_AFTER : NO_HEADERS,
  ) {
    super(message);
    this.name = "HasuraError";
    this.code = code;
    this.statusCode = statusCode;
    this.path = path;
    this.headers = headers;
  }
}

/** Longest client-supplied value an error message repeats. */
const MAX_ECHOED_CHARS = 100;

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

const E = (code: string, message: string, status = 400, path = "$") => new HasuraError(code, message, status, path);

/**
 * The errors the proxy raises, one row each: code, message, status, path.
 * (Authentication's own refusals are worded in server/auth/, the dialect's
 * compile-time ones in server/hasura/; both throw HasuraError too.)
 */
export const errors = {
  // HTTP (server/app.ts, server/to-hasura-error.ts)
  notFound: () => E("not-found", "resource does not exist", 404),
  internal: () => E("unexpected", "internal error", 500),
  invalidJson: () => E("invalid-json", "Error in $: Failed reading: not a valid json value", 400),
  bodyTooLarge: (maxBytes: number) => E("bad-request", `request body is larger than ${maxBytes} bytes`, 413),
  unsupportedMediaType: () => E("bad-request", "unsupported content type; send application/json", 415),
  /** Any other 4xx Fastify raises, with its own message. */
  badRequest: (message: string, status: number) => E("bad-request", message, status),
  requestTimeout: () => E("timeout", "the request did not arrive in time", 408),
  headersTooLarge: () => E("bad-request", "request headers are too large", 431),
  malformedRequest: () => E("bad-request", "malformed HTTP request", 400),

  // Load and the database (503: retry; see UNAVAILABLE_CODES)
  /** Load shedding (server/plugins/overload.ts, server/graphql/in-flight.ts). */
  overloaded: (why: string) => E("unexpected", `the server is overloaded (${why}); retry shortly`, 503),
  databaseUnavailable: () => E("postgres-error", "database is unavailable, retry shortly", 503),
  /** No pooled connection freed up within HASURA_GRAPHQL_PG_POOL_WAIT_MS. */
  poolExhausted: (waitMs: number) =>
    E("postgres-max-connections-error", `no database connection became free within ${waitMs} ms (all are busy); retry shortly`, 503),
  schemaUnavailable: () => E("unexpected", "the GraphQL schema could not be built", 503),
  /** A request whose answer from Postgres crossed HASURA_GRAPHQL_MAX_RESPONSE_ROWS / _BYTES. */
  responseTooLarge: (limit: string) =>
    E("bad-request", `the response is larger than the limit of ${limit}; ask for fewer rows (limit, where) or fewer nested lists`, 400),
  /** Anything else that failed while a Hasura-dialect operation ran (Hasura's opaque wording). */
  databaseQueryError: () => E("unexpected", "database query error", 500),

  // Errors Postgres raised (server/to-hasura-error.ts maps SQLSTATEs to these; `pg` is Postgres' message)
  sessionVariableMissing: (pg: string) => E("not-found", pg), // HA404, sql/session.sql
  checkViolation: () => E("permission-error", "Check constraint violation. insert/update check constraint failed"), // RLS WITH CHECK
  /** An insert's (or upsert's) RLS WITH CHECK: Hasura checks inserts in its own statement, with its own words. */
  insertCheckViolation: () => E("permission-error", "check constraint of an insert/update permission has failed"),
  permissionDenied: (pg: string) => E("permission-error", pg),
  uniquenessViolation: (pg: string) => E("constraint-violation", `Uniqueness violation. ${pg}`),
  foreignKeyViolation: (pg: string) => E("constraint-violation", `Foreign key violation. ${pg}`),
  notNullViolation: (pg: string) => E("constraint-violation", `Not-NULL violation. ${pg}`),
  restrictViolation: (pg: string) => E("constraint-violation", `Can not delete or update due to data being referred. ${pg}`),
  exclusionViolation: (pg: string) => E("constraint-violation", `Exclusion violation. ${pg}`),
  checkConstraintViolation: (pg: string) => E("permission-error", `Check constraint violation. ${pg}`),
  serializationFailure: () => E("concurrent-update", "serialization failure due to concurrent update"),
  statementTimeout: () => E("timeout", "the query was cancelled: statement timeout"),
  /** A request whose statements went on past HASURA_GRAPHQL_OPERATION_TIMEOUT_MS (server/graphile/pipelined-adaptor.ts). */
  operationTimeout: (maxMs: number) => E("timeout", `the operation was stopped: it ran longer than the limit of ${maxMs} ms`),
  constraintError: (pg: string) => E("constraint-error", pg),
  dataException: (pg: string) => E("data-exception", pg),

  // Session (server/graphql/session.ts)
  notApplicationRole: (role: string) => E("access-denied", `role "${truncateForMessage(role)}" is not an application role`, 400),

  // The request body (server/graphql/request.ts, server/hasura/execute.ts)
  notAnObject: () => E("parse-failed", "When parsing the request body: expected an object", 400),
  batchNotSupported: () => E("parse-failed", "batched requests are not supported on /graphql; use /v1/graphql", 400),
  noQuery: () => E("parse-failed", "the key 'query' was not present", 400),
  variablesNotObject: () => E("parse-failed", "variables must be an object", 400, "$.variables"),
  operationNameNotString: () => E("parse-failed", "operationName must be a string", 400, "$.operationName"),
  variablesTooDeep: (maxDepth: number) =>
    E("validation-failed", `the variables are nested deeper than the limit of ${maxDepth} levels`, 400, "$.variables"),
  emptyBatch: () => E("parse-failed", "a batch must contain at least one query", 400),
  batchTooLarge: (max: number, got: number) => E("bad-request", `a batch may contain at most ${max} queries, got ${got}`, 400),

  // The document (server/graphql-limits.ts, server/hasura/execute.ts, server/graphql/request.ts)
  invalidQuery: (detail: string) => E("validation-failed", `not a valid graphql query: ${detail}`, 400, "$.query"),
  tooManyTokens: (maxTokens: number) => E("validation-failed", `the query is longer than the limit of ${maxTokens} tokens`, 400, "$.query"),
  /** A depth, cost, object-field or row-estimate bound (server/graphql-limits.ts words it). */
  overLimit: (message: string) => E("validation-failed", message, 400),
  /** graphql-js validation and coercion, reworded (server/to-hasura-error.ts). */
  validation: (message: string, path = "$") => E("validation-failed", message, 400, path),
  noMutations: () => E("validation-failed", "no mutations exist", 400),
  noSubscriptions: () => E("validation-failed", "no subscriptions exist", 400),
  noSuchOperation: (name: string) =>
    E("validation-failed", `no such operation found in the document: ${JSON.stringify(truncateForMessage(name))}`, 400),
  operationNameRequired: () =>
    E("validation-failed", "exactly one operation has to be present in the document when operationName is not specified", 400),
  subscriptionOverHttp: () => E("unexpected-payload", "subscriptions are not supported over HTTP, use websockets instead", 400),
  streamingNotSupported: () => E("not-supported", "streaming results (@defer/@stream) are not supported on this endpoint", 400),
  /** HASURA_GRAPHQL_INTROSPECTION_DISABLED_FOR_ROLES, as each dialect reports an unknown field. */
  introspectionDisabledHasura: (field: string) =>
    E("validation-failed", `field '${field}' not found in type: 'query_root'`, 400, `$.selectionSet.${field}`),
  introspectionDisabledPostGraphile: (field: string) =>
    E("validation-failed", `Cannot query field "${field}" on type "Query".`, 400, `$.selectionSet.${field}`),
};

/**
 * Codes that mean "the database cannot serve you now": on /graphql one of
 * them makes the whole request a 503; on Hasura's endpoints an answer that
 * carries one gets Retry-After even when its status is 200.
 */
export const UNAVAILABLE_CODES: ReadonlySet<string> = new Set(["postgres-error", "postgres-max-connections-error"]);

interface GraphQLErrorBody {
  errors: Array<{ message: string; extensions: { path: string; code: string } }>;
}

export function graphqlErrorBody(err: { message: string; code: string; path?: string }): GraphQLErrorBody {
  return { errors: [{ message: err.message, extensions: { path: err.path ?? "$", code: err.code } }] };
}

export function flatErrorBody(err: { message: string; code: string; path?: string }) {
  return { error: err.message, path: err.path ?? "$", code: err.code };
}
