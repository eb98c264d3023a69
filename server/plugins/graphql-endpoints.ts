/**
 * The authenticated GraphQL endpoints. An encapsulated plugin (no
 * fastify-plugin wrapper): the session hook registered here applies to these
 * routes only, so auth runs before GraphQL and never on /healthz or /graphiql.
 */
import type { FastifyPluginAsync } from "fastify";
import session, { type SessionOptions } from "./session.ts";

export interface GraphQLEndpointsOptions extends SessionOptions {
  maxRequestLength: number;
}

const graphqlEndpoints: FastifyPluginAsync<GraphQLEndpointsOptions> = async (scope, opts) => {
  await scope.register(session, opts);
  scope.post("/graphql", { bodyLimit: opts.maxRequestLength }, (request, reply) => scope.runGraphQL(request, reply));
};

export default graphqlEndpoints;
