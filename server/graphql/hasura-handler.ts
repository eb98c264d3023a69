/**
 * The /v1/graphql and /v1alpha1/graphql handler: Hasura's dialect
 * (server/hasura/execute.ts) on the schema of the session's role, answered
 * with its route's status rule (./dialects.ts).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { UNAVAILABLE_CODES } from "../errors.ts";
import type { Parsed, QueryLimits } from "../graphql-limits.ts";
import type { SchemaRegistry } from "../graphile/schema-registry.ts";
import { runHasuraRequest } from "../hasura/execute.ts";
import type { ErrorContext } from "../to-hasura-error.ts";
import { statusFor, type Dialect } from "./dialects.ts";
import { requestSchemaKind, servFor } from "./schemas.ts";
import { grafastContextOf } from "./session.ts";

export interface HasuraHandlerOptions {
  schemas: SchemaRegistry;
  /** The token-, depth- and cost-limited parser (server/graphql-limits.ts), shared with /graphql. */
  parse: (query: string) => Parsed;
  queryLimits: QueryLimits;
  introspectionDisabledFor: ReadonlySet<string>;
  /** Most operations in one batch. */
  maxBatchSize: number;
  errorContext: ErrorContext;
}

/** Whether a Hasura-dialect answer (or batch of them) carries an error the database caused by being unavailable. */
function hasUnavailable(body: unknown): boolean {
  if (Array.isArray(body)) return body.some(hasUnavailable);
  const errs = (body as { errors?: Array<{ extensions?: { code?: string } }> } | null)?.errors;
  return Array.isArray(errs) && errs.some((e) => UNAVAILABLE_CODES.has(e.extensions?.code as string));
}

export function makeHasuraHandler(opts: HasuraHandlerOptions, dialect: Dialect) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const { role } = request.hasuraSession!;
    const serv = await servFor(opts.schemas, role, request.log, requestSchemaKind(request.hasuraSession!));
    const result = await runHasuraRequest(request.body, {
      schema: await serv.getSchema(),
      resolvedPreset: serv.resolvedPreset,
      requestContext: grafastContextOf(request, reply),
      log: (err) => request.log.error({ err }, "GraphQL execution failed"),
      parse: opts.parse,
      limits: opts.queryLimits,
      introspection: !opts.introspectionDisabledFor.has(role),
      maxBatchSize: opts.maxBatchSize,
      errorContext: opts.errorContext,
    });
    reply.code(statusFor(dialect, result.status));
    if (result.status === 503 || hasUnavailable(result.body)) reply.header("retry-after", "1");
    return result.body;
  };
}
