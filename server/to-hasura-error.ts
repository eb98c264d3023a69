/**
 * toHasuraError: anything thrown, as the Hasura error a client gets (compat
 * facts §3.2: the code clients match on, a message that does not leak
 * internals, never a raw stack). One function for every place an error is
 * answered: both error handlers (server/app.ts, server/graphql/scope.ts),
 * Hasura-dialect execution (server/hasura/execute.ts) and PostGraphile's
 * masking (server/graphile/mask-error.ts).
 *
 * It returns null for what it cannot name: an internal error, which each
 * caller answers opaquely in its own dialect's words.
 */
import { isSafeError } from "grafast";
import { GraphQLError, Kind, visit, type ASTNode, type DocumentNode } from "graphql";
import { errors, HasuraError, truncateForMessage } from "./errors.ts";

/** Settings some messages name; fixed at start-up. */
export interface ErrorContext {
  /** The pool's checkout bound (HASURA_GRAPHQL_PG_POOL_WAIT_MS). */
  poolWaitMs: number;
  /** The request body limit. */
  maxRequestBytes: number;
}

interface CodedError {
  code?: string;
  message: string;
  statusCode?: number;
}

export function toHasuraError(thrown: unknown, ctx: ErrorContext | undefined): HasuraError | null {
  if (thrown instanceof HasuraError) return thrown;
  if (thrown instanceof GraphQLError) return fromGraphQLError(thrown, ctx);
  if (!(thrown instanceof Error)) return null;
  const e = thrown as Error & CodedError;
  const pool = ctx ? poolTimeoutError(e, ctx.poolWaitMs) : null;
  if (pool) return pool;
  // Grafast's own refusals meant for the client (e.g. a plan over its time budget).
  if (isSafeError(e)) return errors.validation(e.message);
  switch (e.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return errors.invalidJson();
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return ctx ? errors.bodyTooLarge(ctx.maxRequestBytes) : errors.badRequest(e.message, 413);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return errors.unsupportedMediaType();
  }
  const pg = pgError(e);
  if (pg) return pg;
  // Fastify's other client errors keep their status and message.
  if (typeof e.statusCode === "number" && e.statusCode < 500) return errors.badRequest(e.message, e.statusCode);
  return null;
}

/**
 * pg-pool's errors when no connection could be had within its
 * `connectionTimeoutMillis`: every pooled connection stayed busy, or a new
 * one could not be opened in time.
 */
/**
 * A missing session variable as Hasura words it in a mutation: it plans a
 * query, checking every variable first (`missing session variables: "x"`),
 * but fills a mutation's values one by one (`missing session variable: "x"`).
 * Postgres (sql/session.sql) raises the query's wording.
 */
export function inMutation(e: HasuraError): HasuraError {
  const m = e.code === "not-found" ? /^missing session variables: ("[^"]*")$/.exec(e.message) : null;
  return m ? new HasuraError(e.code, `missing session variable: ${m[1]}`, e.statusCode, e.path, e.headers) : e;
}

function poolTimeoutError(e: Error, waitMs: number): HasuraError | null {
  if (e.message === "timeout exceeded when trying to connect") return errors.poolExhausted(waitMs);
  if (e.message === "Connection terminated due to connection timeout") return errors.databaseUnavailable();
  return null;
}

// ---------------------------------------------------------------------------
// PostgreSQL errors

// The connection itself failed (node's socket errors, node-pg's own): the
// database is down or restarting, not the query wrong.
const SOCKET_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
const CONNECTION_LOST =
  /^(Connection terminated unexpectedly|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)$/;

/** SQLSTATE → Hasura's error (all 400; connection failures are databaseUnavailable's 503). */
const SQLSTATES: Record<string, (message: string) => HasuraError> = {
  HA404: errors.sessionVariableMissing,
  // RLS WITH CHECK rejections; a missing GRANT is hidden by the per-role schema.
  "42501": (m) => (/row-level security/.test(m) ? errors.checkViolation() : errors.permissionDenied(m)),
  "23505": errors.uniquenessViolation,
  "23503": errors.foreignKeyViolation,
  "23502": errors.notNullViolation,
  "23001": errors.restrictViolation,
  "23P01": errors.exclusionViolation,
  "23514": errors.checkConstraintViolation,
  "40001": errors.serializationFailure,
  "57014": errors.statementTimeout,
  "42704": errors.constraintError,
  "42P10": errors.constraintError,
};

/** Whether the connection itself failed (the database is down or restarting), not the statement. */
export function isConnectionFailure(e: CodedError): boolean {
  const code = e.code;
  return (code !== undefined && SOCKET_ERRORS.has(code)) || (code === undefined && CONNECTION_LOST.test(e.message));
}

/** Hasura's error for a Postgres (or connection) error; null when unmapped. */
function pgError(e: CodedError): HasuraError | null {
  const code = e.code;
  if (isConnectionFailure(e)) return errors.databaseUnavailable();
  if (!code || !/^[0-9A-Z]{5}$/.test(code)) return null;
  const mapped = Object.hasOwn(SQLSTATES, code) ? SQLSTATES[code]!(e.message) : null;
  if (mapped) return mapped;
  if (code.startsWith("22")) return errors.dataException(e.message);
  if (code.startsWith("08") || code === "57P01" || code === "57P03") return errors.databaseUnavailable();
  return null;
}

// ---------------------------------------------------------------------------
// graphql-js and grafast errors

function fromGraphQLError(error: GraphQLError, ctx: ErrorContext | undefined): HasuraError | null {
  const original = error.originalError;
  // Variable coercion wraps graphql-js' own GraphQLError; neither has a path.
  if (!error.path && (!original || original instanceof GraphQLError)) return requestError(error);
  if (original instanceof GraphQLError) return null;
  const mapped = original ? toHasuraError(original, ctx) : null;
  // Hasura points a rejected insert at its `objects` argument.
  if (mapped && (mapped.code === "constraint-violation" || mapped.code === "permission-error") && !(original instanceof HasuraError)) {
    const field = error.path?.length === 1 ? String(error.path[0]) : null;
    if (field?.startsWith("insert_")) {
      // Hasura words a failed insert check unlike an update's (its withCheckPermission).
      const message = mapped.message === errors.checkViolation().message ? errors.insertCheckViolation().message : mapped.message;
      return new HasuraError(
        mapped.code,
        message,
        mapped.statusCode,
        `$.selectionSet.${field}.args.${field.endsWith("_one") ? "object" : "objects"}`,
      );
    }
  }
  return mapped;
}

// graphql-js' messages for variables it cannot coerce, as Hasura words them.
const JSON_TYPE = (raw: string) =>
  raw.startsWith('"')
    ? "a string"
    : raw === "true" || raw === "false"
      ? "a boolean"
      : raw.startsWith("[")
        ? "an array"
        : raw.startsWith("{")
          ? "an object"
          : /^-?\d/.test(raw)
            ? "a number"
            : "a value";
const REQUEST_ERRORS: Array<[RegExp, (m: RegExpExecArray) => string]> = [
  [/Int cannot represent non-integer value: (.*)$/s, (m) => `expected a 32-bit integer for type "Int", but found ${JSON_TYPE(m[1]!)}`],
  [
    /Int cannot represent non 32-bit signed integer value: (.*)$/s,
    () => `expected a 32-bit integer for type "Int", but found a number out of range`,
  ],
  [/Float cannot represent non numeric value: (.*)$/s, (m) => `expected a float for type "Float", but found ${JSON_TYPE(m[1]!)}`],
  [/String cannot represent a non string value: (.*)$/s, (m) => `expected a string for type "String", but found ${JSON_TYPE(m[1]!)}`],
  [/Boolean cannot represent a non boolean value: (.*)$/s, (m) => `expected a boolean for type "Boolean", but found ${JSON_TYPE(m[1]!)}`],
  [
    /Field "([^"]+)" is not defined by type "([^"]+)"/,
    (m) => `field ${JSON.stringify(truncateForMessage(m[1]!))} not found in type: '${m[2]}'`,
  ],
  [/Expected non-nullable type "([^"!]+)!?" not to be null/, (m) => `unexpected null value for type ${JSON.stringify(m[1])}`],
  [
    /^Variable "\$([^"]+)" of required type "[^"]+" was not provided/,
    (m) => `expecting a value for non-nullable variable: ${JSON.stringify(m[1])}`,
  ],
  [/Expected type "([^"]+)" to be an object/, (m) => `expected an object for type ${JSON.stringify(m[1])}, but found another value`],
  [
    /Value "([^"]*)" does not exist in "([^"]+)" enum/,
    (m) => `expected one of the values of the enum ${JSON.stringify(m[2])}, but found ${JSON.stringify(truncateForMessage(m[1]!))}`,
  ],
];

/**
 * An error of the request itself (variables that do not coerce, …): grafast
 * reports it without a path or an underlying error. A client mistake, so
 * `validation-failed`, never `unexpected`.
 */
function requestError(error: GraphQLError): HasuraError {
  const variable = /^Variable "\$([^"]+)"/.exec(error.message)?.[1];
  const path = variable ? `$.variableValues.${variable}` : "$";
  for (const [pattern, message] of REQUEST_ERRORS) {
    const m = pattern.exec(error.message);
    if (m) return errors.validation(message(m), path);
  }
  return errors.validation(truncateForMessage(error.message), path);
}

/** graphql-js validation messages (of a document against a schema), reworded as Hasura's. */
export function validationError(error: GraphQLError, document: DocumentNode): HasuraError {
  const path = selectionPath(document, error.nodes?.[0]);
  let m = /^Cannot query field "([^"]+)" on type "([^"]+)"\./.exec(error.message);
  if (m) return errors.validation(`field '${m[1]}' not found in type: '${m[2]}'`, path);
  m = /^Field "([^"]+)" is not defined by type "([^"]+)"\./.exec(error.message);
  if (m) return errors.validation(`field "${m[1]}" not found in type: '${m[2]}'`, path);
  m = /^Unknown argument "([^"]+)" on field "[^".]+\.([^"]+)"\./.exec(error.message);
  if (m) return errors.validation(`'${m[2]}' has no argument named '${m[1]}'`, path);
  if (/^Schema is not configured to execute mutation operation/.test(error.message)) return errors.noMutations();
  if (/^Schema is not configured to execute subscription operation/.test(error.message)) return errors.noSubscriptions();
  m = /^Field "([^"]+)" argument "([^"]+)" of type "([^"]+)" is required, but it was not provided\./.exec(error.message);
  if (m) return errors.validation(`missing required field '${m[2]}'`, path);
  return errors.validation(error.message, path);
}

/** Hasura's `$.selectionSet.a.selectionSet.b` path to a node of the document. */
function selectionPath(document: DocumentNode, target: ASTNode | undefined): string {
  if (!target) return "$";
  let found: string | null = null;
  visit(document, {
    enter(node, _key, _parent, _path, ancestors) {
      if (found !== null) return false;
      if (node !== target) return undefined;
      const fields = [...ancestors, node].filter((a): a is ASTNode => !Array.isArray(a) && (a as ASTNode).kind === Kind.FIELD);
      found = `$${fields.map((f) => `.selectionSet.${(f as { name: { value: string } }).name.value}`).join("")}`;
      return false;
    },
  });
  return found ?? "$";
}
