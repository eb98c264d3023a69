/**
 * The GraphQL endpoints as one encapsulated Fastify scope. What is
 * registered inside applies to these routes only:
 *
 * - the routes, one per path of ./dialects.ts, each with its dialect as
 *   route config (`config.dialect`);
 * - the in-flight cap (./in-flight.ts): counted here, refused before the body;
 * - the session hook (./session.ts): auth runs before GraphQL, and never on
 *   /healthz, /readyz or /graphiql;
 * - an error handler: every error of these routes (a hook's, a body
 *   parser's, a handler's) in the GraphQL shape, with the route's status
 *   rule. Errors elsewhere get the app's flat shape (server/app.ts).
 *
 * WebSocket routes join by registering here with their own dialect config.
 */
import type { FastifyError, FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import type { Authenticator } from "../auth/authenticate.ts";
import { errors, graphqlErrorBody } from "../errors.ts";
import { makeLimitedParser, type QueryLimits } from "../graphql-limits.ts";
import { toHasuraError, type ErrorContext } from "../to-hasura-error.ts";
import { GRAPHQL_ROUTES, statusFor, type GraphQLRouteConfig } from "./dialects.ts";
import { makeHasuraHandler } from "./hasura-handler.ts";
import { InFlightCap } from "./in-flight.ts";
import { makePostGraphileHandler } from "./postgraphile-handler.ts";
import session, { type SessionOptions } from "./session.ts";
import "./cheap-abort.ts";

declare module "fastify" {
  interface FastifyInstance {
    /** GraphQL requests in progress (./in-flight.ts). */
    requestsInProgress(): number;
  }
}

export interface GraphQLScopeOptions extends SessionOptions {
  maxRequestLength: number;
  maxConcurrentRequests: number;
  /** Depth and cost of one operation (server/graphql-limits.ts). */
  queryLimits: QueryLimits;
  /** Most operations in one /v1/graphql batch. */
  maxBatchSize: number;
  /** Roles that may not introspect the schema (Hasura's `graphql_schema_introspection.disabled_for_roles`). */
  introspectionDisabledFor: ReadonlySet<string>;
  errorContext: ErrorContext;
}

type ScopeOptions = GraphQLScopeOptions & { inFlight: InFlightCap; exposeAuthenticator: (a: Authenticator) => void };

const scope: FastifyPluginAsync<ScopeOptions> = async (scope, opts) => {
  scope.setErrorHandler((err: FastifyError, request, reply) => {
    const e = toHasuraError(err, opts.errorContext) ?? errors.internal();
    if (e.statusCode >= 500) request.log.error({ err }, "request failed");
    // Every route of this scope has a dialect (set below); the error path may allocate.
    const dialect = request.routeOptions.config.dialect!;
    reply.code(statusFor(dialect, e.statusCode)).headers(e.headers);
    return graphqlErrorBody(e);
  });
  opts.inFlight.addHooks(scope);
  await scope.register(session, opts);
  opts.exposeAuthenticator(scope.authenticator);

  // One parser (and its document cache) for both dialects.
  const parse = makeLimitedParser(opts.queryLimits);
  const common = { parse, introspectionDisabledFor: opts.introspectionDisabledFor };
  const postgraphile = makePostGraphileHandler({ ...common, schemas: scope.schemas });
  const hasura = {
    ...common,
    schemas: scope.hasuraSchemas,
    queryLimits: opts.queryLimits,
    maxBatchSize: opts.maxBatchSize,
    errorContext: opts.errorContext,
  };
  for (const { url, dialect } of GRAPHQL_ROUTES) {
    const config: GraphQLRouteConfig = { dialect };
    scope.post(
      url,
      { bodyLimit: opts.maxRequestLength, config },
      dialect.name === "hasura" ? makeHasuraHandler(hasura, dialect) : postgraphile,
    );
  }
};

/** Registers the scope; only the in-flight count (load tests read it) and the authenticator are visible outside it. */
export default fp<GraphQLScopeOptions>(
  async (app, opts) => {
    const inFlight = new InFlightCap(opts.maxConcurrentRequests);
    app.decorate("requestsInProgress", () => inFlight.count);
    // The authenticator is also the WebSockets' (server/subscriptions/socket-auth.ts), outside this scope.
    let authenticator: Authenticator | undefined;
    await app.register(scope, { ...opts, inFlight, exposeAuthenticator: (a) => (authenticator = a) });
    app.decorate("authenticator", authenticator!);
  },
  { name: "graphql-scope", dependencies: ["graphql-schemas", "app-roles"], fastify: "5.x" },
);
