/**
 * Path → dialect, and the status rule of each: the one place that decides
 * it. Each GraphQL route carries its dialect as Fastify route config
 * (`config.dialect`), so the routes, their handlers and the scope's error
 * handler (server/graphql/scope.ts) read it from the route, never from the URL.
 *
 * - /graphql: PostGraphile's dialect (grafserv's envelope and statuses).
 * - /v1/graphql: Hasura's; every answer, error or not, is 200 (as Hasura).
 * - /v1alpha1/graphql: Hasura's, with the real 4xx/5xx statuses.
 */
export interface Dialect {
  readonly name: "postgraphile" | "hasura";
  /** Hasura's /v1 answers every error, auth and overload included, with 200. */
  readonly errorsAnswer200: boolean;
}

const POSTGRAPHILE: Dialect = { name: "postgraphile", errorsAnswer200: false };
const HASURA_V1: Dialect = { name: "hasura", errorsAnswer200: true };
const HASURA_V1ALPHA1: Dialect = { name: "hasura", errorsAnswer200: false };

/** The GraphQL HTTP routes (POST). */
export const GRAPHQL_ROUTES: ReadonlyArray<{ readonly url: string; readonly dialect: Dialect }> = [
  { url: "/graphql", dialect: POSTGRAPHILE },
  { url: "/v1/graphql", dialect: HASURA_V1 },
  { url: "/v1alpha1/graphql", dialect: HASURA_V1ALPHA1 },
];

/** Route config of every route in the GraphQL scope. */
export interface GraphQLRouteConfig {
  dialect: Dialect;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** Set on the routes of the GraphQL scope only. */
    dialect?: Dialect;
  }
}

/** The status a dialect answers with, for an answer whose real status is `status`. */
export function statusFor(dialect: Dialect, status: number): number {
  return dialect.errorsAnswer200 ? 200 : status;
}
