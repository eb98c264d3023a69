/**
 * GET /graphiql serves Ruru, whose header editor takes `Authorization` or
 * `X-Hasura-Role`; its page and assets are the same for every role, so they
 * come from the unauthenticated role's instance and need no authentication.
 * Outside the GraphQL scope; HASURA_GRAPHQL_ENABLE_CONSOLE's gate
 * (server/plugins/console.ts, registered first) closes them.
 */
import fp from "fastify-plugin";
import { convertHandlerResultToResult } from "postgraphile/grafserv";
import { grafservDigest } from "../lib-internals.ts";
import { servFor } from "./schemas.ts";

export interface GraphiQLOptions {
  /** The role whose instance serves the page (its schema is built first). */
  role: string;
}

export default fp<GraphiQLOptions>(
  async (app, opts) => {
    app.get("/graphiql", async (request, reply) => {
      const serv = await servFor(app.schemas, opts.role, request.log);
      const result = await convertHandlerResultToResult(
        await serv.graphiqlHandler(grafservDigest(request, { fastifyv5: { request, reply } })),
      );
      return serv.send(request, reply, result);
    });
    app.get("/ruru-static/*", async (request, reply) => {
      const serv = await servFor(app.schemas, opts.role, request.log);
      const result = await convertHandlerResultToResult(
        await serv.graphiqlStaticHandler(grafservDigest(request, { fastifyv5: { request, reply } })),
      );
      return serv.send(request, reply, result);
    });
  },
  { name: "graphiql", dependencies: ["graphql-schemas"], fastify: "5.x" },
);
