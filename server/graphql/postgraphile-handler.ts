/**
 * The /graphql handler: PostGraphile's dialect through grafserv, on the
 * schema of the session's role, after the same request checks as Hasura's
 * dialect (body, depth and cost, introspection, subscriptions).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { convertHandlerResultToResult } from "postgraphile/grafserv";
import { errors, graphqlErrorBody, UNAVAILABLE_CODES } from "../errors.ts";
import { checkGraphQLRequest, selectOperation } from "../graphql-request.ts";
import { introspectionField, type Parsed } from "../graphql-limits.ts";
import type { SchemaRegistry } from "../graphile/schema-registry.ts";
import { grafservDigest } from "../lib-internals.ts";
import { requestSchemaKind, servFor } from "./schemas.ts";
import { grafastContextOf } from "./session.ts";

export interface PostGraphileHandlerOptions {
  schemas: SchemaRegistry;
  /** The token-, depth- and cost-limited parser (server/graphql-limits.ts), shared with Hasura's dialect. */
  parse: (query: string) => Parsed;
  introspectionDisabledFor: ReadonlySet<string>;
}

export function makePostGraphileHandler(opts: PostGraphileHandlerOptions) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const body = request.body;
    checkGraphQLRequest(body, errors.batchNotSupported);
    // The depth and cost limits before grafserv parses (they are also its validation rule).
    const limited = opts.parse(body.query);
    if ("error" in limited) throw limited.error;
    const role = request.hasuraSession!.role;
    if (opts.introspectionDisabledFor.has(role)) {
      const field = introspectionField(limited.document);
      if (field) throw errors.introspectionDisabledPostGraphile(field);
    }
    // Only the subscription refusal: grafserv words the other selection errors itself.
    if (limited.document.definitions.some((d) => d.kind === "OperationDefinition" && d.operation === "subscription")) {
      selectOperation(limited.document, body.operationName ?? undefined);
    }
    const serv = await servFor(opts.schemas, role, request.log, requestSchemaKind(request.hasuraSession!));
    const handled = await serv.graphqlHandler(grafservDigest(request, grafastContextOf(request, reply)), serv.graphiqlHandler);
    // The database could not serve it (no pooled connection within its
    // bound, or the database down): the whole request is a 503 with
    // Retry-After, not partial data.
    const unavailable =
      handled?.type === "graphql" && handled.payload.errors?.find((e) => UNAVAILABLE_CODES.has(e.extensions?.code as string));
    if (unavailable) {
      reply.code(503).header("retry-after", "1");
      return graphqlErrorBody({ message: unavailable.message, code: unavailable.extensions!.code as string });
    }
    return serv.send(request, reply, await convertHandlerResultToResult(handled));
  };
}
