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
  // Hasura's dialect; /v1 answers every error with 200 (as Hasura does),
  // /v1alpha1 keeps the real status.
  scope.post("/v1/graphql", { bodyLimit: opts.maxRequestLength }, (request, reply) => scope.runHasuraGraphQL(request, reply, false));
  scope.post("/v1alpha1/graphql", { bodyLimit: opts.maxRequestLength }, (request, reply) => scope.runHasuraGraphQL(request, reply, true));
};

export default graphqlEndpoints;
