/**
 * PostGraphile, one schema per role (SchemaRegistry). `app.runGraphQL`
 * runs a request on the schema of the role the session hook chose (the
 * authenticated endpoints are in server/plugins/graphql-endpoints.ts);
 * GET /graphiql serves Ruru, whose header editor takes `Authorization` or
 * `X-Hasura-Role`, and needs no authentication.
 *
 * We route to grafserv's handlers ourselves, rather than `serv.addTo(app)`,
 * because the schema is only known once the request's role is.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { convertHandlerResultToResult, normalizeRequest, processHeaders, getBodyFromFrameworkBody } from "postgraphile/grafserv";
import type { FastifyGrafserv } from "postgraphile/grafserv/fastify/v5";
import { HasuraError } from "../errors.ts";
import { makeRolePreset } from "../graphile/preset.ts";
import { SchemaRegistry } from "../graphile/schema-registry.ts";
import { runHasuraRequest } from "../hasura/execute.ts";
import { makeHasuraPreset } from "../hasura/preset.ts";

declare module "fastify" {
  interface FastifyInstance {
    /** PostGraphile's dialect (/graphql), one schema per role. */
    schemas: SchemaRegistry;
    /** Hasura's dialect (/v1/graphql), one schema per role. */
    hasuraSchemas: SchemaRegistry;
    /** Runs a GraphQL request on the schema of `request.hasuraSession.role`. */
    runGraphQL(request: FastifyRequest, reply: FastifyReply): Promise<unknown>;
    /**
     * Runs a Hasura-dialect request (or batch) on the role's Hasura schema.
     * `realStatus` keeps 4xx/5xx statuses (/v1alpha1); /v1 answers 200.
     */
    runHasuraGraphQL(request: FastifyRequest, reply: FastifyReply, realStatus: boolean): Promise<unknown>;
  }
}

export interface GraphQLOptions {
  schemas: string[];
  /** The role whose schema must be built for /readyz to pass. */
  readinessRole: string;
  maxRequestLength: number;
  /** Rebuild schemas on NOTIFY postgraphile_watch (npm run dev). */
  watch: boolean;
  /** Build every role's schema in the background after start. */
  warmSchemas?: boolean;
}

// Mirrors grafserv's own Fastify adaptor (servers/fastify/v5), which keeps it private.
function digestOf(request: FastifyRequest, reply: FastifyReply) {
  return normalizeRequest({
    httpVersionMajor: request.raw.httpVersionMajor,
    httpVersionMinor: request.raw.httpVersionMinor,
    isSecure: request.protocol === "https",
    method: request.method,
    path: request.url,
    headers: processHeaders(request.headers),
    getQueryParams: () => request.query as Record<string, string>,
    getBody: () => getBodyFromFrameworkBody(request.body),
    requestContext: {
      fastifyv5: { request, reply },
    },
    preferJSON: true,
  });
}

type Handler = (serv: FastifyGrafserv, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

const runGraphQL: Handler = async (serv, request, reply) => {
  const result = await convertHandlerResultToResult(
    await serv.graphqlHandler(digestOf(request, reply), serv.graphiqlHandler),
  );
  return serv.send(request, reply, result);
};

export default fp<GraphQLOptions>(
  async (app, opts) => {
    const presetOptions = (role: string) => ({ pool: app.pgPool, role, schemas: opts.schemas, maxRequestLength: opts.maxRequestLength });
    const registry = new SchemaRegistry((role) => makeRolePreset(presetOptions(role)));
    const hasuraRegistry = new SchemaRegistry((role) => makeHasuraPreset(presetOptions(role)));
    app.decorate("schemas", registry);
    app.decorate("hasuraSchemas", hasuraRegistry);
    app.addHook("onClose", () => Promise.all([registry.release(), hasuraRegistry.release()]));

    // Build the unauthenticated role's schema now: most first requests need it.
    void registry.get(opts.readinessRole).catch((e: Error) => app.log.error({ err: e.message }, "schema build failed"));
    // Then warm every other role's schema in the background, one at a time,
    // so a request rarely meets a cold build (whose final, synchronous step
    // stalls the event loop for ~100-300 ms; see README "Per-role schemas").
    let closing = false;
    app.addHook("preClose", async () => {
      closing = true;
    });
    if (opts.warmSchemas) {
      app.addHook("onReady", async () => {
        void (async () => {
          for (const reg of [registry, hasuraRegistry]) {
            for (const role of app.appRoles.list()) {
              if (closing) return;
              await reg.get(role).catch(() => {});
              await new Promise((r) => setImmediate(r));
            }
          }
        })();
      });
    }

    const servFor = async (role: string, from: SchemaRegistry = registry) => {
      try {
        return await from.get(role);
      } catch (e) {
        app.log.error({ err: (e as Error).message, role }, "schema build failed");
        throw new HasuraError("unexpected", "the GraphQL schema could not be built", 503, "$", { "retry-after": "1" });
      }
    };

    app.decorate("runGraphQL", async (request: FastifyRequest, reply: FastifyReply) => {
      const serv = await servFor(request.hasuraSession!.role);
      return runGraphQL(serv, request, reply);
    });

    app.decorate("runHasuraGraphQL", async (request: FastifyRequest, reply: FastifyReply, realStatus: boolean) => {
      const serv = await servFor(request.hasuraSession!.role, hasuraRegistry);
      const result = await runHasuraRequest(request.body, {
        schema: await serv.getSchema(),
        resolvedPreset: serv.resolvedPreset,
        request,
        reply,
        log: (err) => request.log.error({ err }, "GraphQL execution failed"),
      });
      reply.code(realStatus ? result.status : 200);
      return result.body;
    });

    // GraphiQL (Ruru) is the same page for every role: serve it from the
    // unauthenticated role's instance.
    app.get("/graphiql", async (request, reply) => {
      const serv = await servFor(opts.readinessRole);
      const result = await convertHandlerResultToResult(await serv.graphiqlHandler(digestOf(request, reply)));
      return serv.send(request, reply, result);
    });
    app.get("/ruru-static/*", async (request, reply) => {
      const serv = await servFor(opts.readinessRole);
      const result = await convertHandlerResultToResult(await serv.graphiqlStaticHandler(digestOf(request, reply)));
      return serv.send(request, reply, result);
    });

    if (opts.watch) {
      // One LISTEN connection for all roles (PostGraphile's own channel);
      // policies.sql and the dev loop notify it after every change.
      const client = await app.pgPool.connect();
      client.on("notification", () => {
        app.log.info("database changed: rebuilding GraphQL schemas");
        registry.invalidate();
        hasuraRegistry.invalidate();
        void app.appRoles.refresh();
      });
      await client.query("listen postgraphile_watch");
      app.addHook("onClose", async () => {
        client.removeAllListeners("notification");
        client.release(true);
      });
    }
  },
  { name: "graphql", dependencies: ["database", "app-roles"], fastify: "5.x" },
);
