/**
 * PostgreSQL errors in GraphQL responses, as Hasura reports them (compat
 * facts §3.2): the code clients match on, a message that does not leak
 * internals, never a raw stack. Unmapped errors fall back to grafserv's
 * default masking (an opaque id, details in the server log).
 */
import { GraphQLError } from "grafast/graphql";
import { defaultMaskError } from "postgraphile/grafserv";
import { HasuraError } from "../errors.ts";

interface PgError {
  code?: string;
  message: string;
  constraint?: string;
  table?: string;
}

// The connection itself failed (node's socket errors, node-pg's own): the
// database is down or restarting, not the query wrong.
const SOCKET_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);
const CONNECTION_LOST = /^(Connection terminated unexpectedly|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)$/;
function isConnectionLoss(e: PgError): boolean {
  return (e.code !== undefined && SOCKET_ERRORS.has(e.code)) || (e.code === undefined && CONNECTION_LOST.test(e.message));
}

/** Hasura's code and message for a Postgres error, or null when unmapped. */
export function hasuraCodeForPgError(e: PgError): { code: string; message: string } | null {
  const code = e.code;
  if (isConnectionLoss(e)) return { code: "postgres-error", message: "database is unavailable, retry shortly" };
  if (!code || !/^[0-9A-Z]{5}$/.test(code)) return null;
  switch (code) {
    case "HA404": // sql/session.sql: a required session variable is missing
      return { code: "not-found", message: e.message };
    case "42501":
      // RLS WITH CHECK rejections; a missing GRANT is hidden by the per-role schema.
      if (/row-level security/.test(e.message)) {
        return { code: "permission-error", message: "Check constraint violation. insert/update check constraint failed" };
      }
      return { code: "permission-error", message: e.message };
    case "23505":
      return { code: "constraint-violation", message: `Uniqueness violation. ${e.message}` };
    case "23503":
      return { code: "constraint-violation", message: `Foreign key violation. ${e.message}` };
    case "23502":
      return { code: "constraint-violation", message: `Not-NULL violation. ${e.message}` };
    case "23001":
      return { code: "constraint-violation", message: `Can not delete or update due to data being referred. ${e.message}` };
    case "23P01":
      return { code: "constraint-violation", message: `Exclusion violation. ${e.message}` };
    case "23514":
      return { code: "permission-error", message: `Check constraint violation. ${e.message}` };
    case "40001":
      return { code: "concurrent-update", message: "serialization failure due to concurrent update" };
    case "57014":
      return { code: "timeout", message: "the query was cancelled: statement timeout" };
    case "42704":
    case "42P10":
      return { code: "constraint-error", message: e.message };
  }
  if (code.startsWith("22")) return { code: "data-exception", message: e.message };
  if (code.startsWith("08") || code === "57P01" || code === "57P03") {
    return { code: "postgres-error", message: "database is unavailable, retry shortly" };
  }
  return null;
}

export function maskError(error: GraphQLError): GraphQLError {
  // The proxy's own refusals (e.g. a response over its size bound) keep their code and message.
  if (error.originalError instanceof HasuraError) {
    const e = error.originalError;
    return new GraphQLError(e.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, extensions: { path: e.path, code: e.code } });
  }
  const original = error.originalError as PgError | undefined;
  const mapped = original ? hasuraCodeForPgError(original) : null;
  if (mapped) {
    return new GraphQLError(mapped.message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions: { path: "$", code: mapped.code },
    });
  }
  return defaultMaskError(error);
}
