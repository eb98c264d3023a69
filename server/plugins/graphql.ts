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
import v8 from "node:v8";
import type { FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { convertHandlerResultToResult, normalizeRequest, processHeaders, getBodyFromFrameworkBody } from "postgraphile/grafserv";
import type { FastifyGrafserv } from "postgraphile/grafserv/fastify/v5";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { graphqlErrorBody, HasuraError, poolTimeoutError } from "../errors.ts";
import { checkVariablesDepth, introspectionField, makeLimitedParser, makeLimitsRule, type QueryLimits } from "../graphql-limits.ts";
import { maskError } from "../graphile/mask-error.ts";
import { abortLargestRequest, type ResponseLimits } from "../graphile/pipelined-adaptor.ts";
import { makeRolePreset } from "../graphile/preset.ts";
import { SchemaRegistry } from "../graphile/schema-registry.ts";
import { runHasuraRequest, selectOperation } from "../hasura/execute.ts";
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
  /** Depth and cost of one operation (server/graphql-limits.ts). */
  queryLimits: QueryLimits;
  /** Most operations in one /v1/graphql batch. */
  maxBatchSize: number;
  /** The pool's checkout bound, for the message of its timeout. */
  poolWaitMs: number;
  /** Named prepared statements (HASURA_GRAPHQL_USE_PREPARED_STATEMENTS). */
  preparedStatements: boolean;
  /** Rows and bytes Postgres may send for one request. */
  responseLimits: ResponseLimits;
  /** statement_timeout of every request, unless the role sets its own; 0: none. */
  statementTimeoutMs: number;
  /** Heap in use above which the biggest request in progress is aborted; 0: never. */
  maxHeapUsedBytes: number;
  /** Roles that may not introspect the schema (Hasura's `graphql_schema_introspection.disabled_for_roles`). */
  introspectionDisabledFor: ReadonlySet<string>;
}

/** How often the heap is checked for the in-flight abort. */
const HEAP_CHECK_MS = 250;

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

const POOL_EXHAUSTED = "postgres-max-connections-error";

const runGraphQL: Handler = async (serv, request, reply) => {
  const handled = await serv.graphqlHandler(digestOf(request, reply), serv.graphiqlHandler);
  // No connection within the pool's bound (masked by poolAwareMaskError
  // below): the whole request is a 503 with Retry-After, not partial data.
  const exhausted =
    handled?.type === "graphql" &&
    handled.payload.errors?.find((e) => e.extensions?.code === POOL_EXHAUSTED || e.extensions?.code === "postgres-error");
  if (exhausted) {
    reply.code(503).header("retry-after", "1");
    return graphqlErrorBody({ message: exhausted.message, code: exhausted.extensions!.code as string });
  }
  return serv.send(request, reply, await convertHandlerResultToResult(handled));
};

/** Whether a Hasura-dialect answer (or batch of them) carries an error with this code. */
function hasErrorCode(body: unknown, code: string): boolean {
  if (Array.isArray(body)) return body.some((b) => hasErrorCode(b, code));
  const errs = (body as { errors?: Array<{ extensions?: { code?: string } }> } | null)?.errors;
  return Array.isArray(errs) && errs.some((e) => e.extensions?.code === code);
}

/** The body shapes grafserv would refuse, refused first with Hasura's errors. */
function checkGraphQLBody(body: unknown): string {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new HasuraError(
      "parse-failed",
      Array.isArray(body) ? "batched requests are not supported on /graphql; use /v1/graphql" : "When parsing the request body: expected an object",
      400,
    );
  }
  const { query, variables, operationName } = body as Record<string, unknown>;
  if (typeof query !== "string") throw new HasuraError("parse-failed", "the key 'query' was not present", 400);
  if (variables != null && (typeof variables !== "object" || Array.isArray(variables))) {
    throw new HasuraError("parse-failed", "variables must be an object", 400, "$.variables");
  }
  const tooDeep = checkVariablesDepth(variables);
  if (tooDeep) throw tooDeep;
  if (operationName != null && typeof operationName !== "string") {
    throw new HasuraError("parse-failed", "operationName must be a string", 400, "$.operationName");
  }
  return query;
}

export default fp<GraphQLOptions>(
  async (app, opts) => {
    // Every role's requests get the server's statement_timeout unless the
    // DBA bounded them already: on the login role or the database (which
    // applies at login: then it is in effect here) or on the role itself
    // (`alter role … set statement_timeout`, applied per transaction below).
    const { rows } = await app.pgPool.query<{ timeout: string }>("select current_setting('statement_timeout') as timeout");
    const dbaTimeout = rows[0]?.timeout !== "0";
    const defaults: Record<string, string> = opts.statementTimeoutMs && !dbaTimeout ? { statement_timeout: `${opts.statementTimeoutMs}ms` } : {};
    const presetOptions = (role: string) => ({
      pool: app.pgPool,
      role,
      schemas: opts.schemas,
      maxRequestLength: opts.maxRequestLength,
      preparedStatements: opts.preparedStatements,
      roleSettings: { ...defaults, ...app.appRoles.settings(role) },
      responseLimits: opts.responseLimits,
    });
    // The same depth and cost limits as /v1/graphql, as a validation rule
    // (runGraphQL also checks them before grafserv parses), and a pool
    // checkout timeout masked as Hasura's error so runGraphQL can make the
    // request a 503.
    const limitsRule = makeLimitsRule(opts.queryLimits);
    const limitsPlugin: GraphileConfig.Plugin = {
      name: "HasuraAuthPgLimitsPlugin",
      version: "0.0.0",
      grafserv: {
        middleware: {
          setPreset(next, event) {
            event.validationRules.push(limitsRule);
            return next();
          },
        },
      },
    };
    type Mask = (error: GraphQLError) => GraphQLError | GraphQLFormattedError;
    const poolAware = (mask: Mask): Mask => (error) => {
      const pool = poolTimeoutError(error.originalError, opts.poolWaitMs);
      if (pool) return new GraphQLError(pool.message, { path: error.path, extensions: { path: "$", code: pool.code } });
      return mask(error);
    };
    const parseLimited = makeLimitedParser(opts.queryLimits);
    const registry = new SchemaRegistry((role) => {
      const preset = makeRolePreset(presetOptions(role));
      return {
        extends: [preset],
        plugins: [limitsPlugin],
        // Wraps the role preset's own masking (server/graphile/mask-error.ts).
        grafserv: { maskError: poolAware(preset.grafserv?.maskError ?? maskError) },
      };
    });
    const hasuraRegistry = new SchemaRegistry((role) => makeHasuraPreset(presetOptions(role)));
    // Refusing new requests under memory pressure (server/plugins/overload.ts)
    // does not stop one already running: cut off the biggest.
    if (opts.maxHeapUsedBytes > 0) {
      const timer = setInterval(() => {
        if (v8.getHeapStatistics().used_heap_size > opts.maxHeapUsedBytes && abortLargestRequest()) {
          app.log.warn("heap above HASURA_GRAPHQL_MAX_HEAP_USED_BYTES: aborted the largest request in progress");
        }
      }, HEAP_CHECK_MS).unref();
      app.addHook("onClose", async () => clearInterval(timer));
    }
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
      const query = checkGraphQLBody(request.body);
      const limited = parseLimited(query);
      if ("error" in limited) throw limited.error;
      if (opts.introspectionDisabledFor.has(request.hasuraSession!.role)) {
        const field = introspectionField(limited.document);
        if (field) throw new HasuraError("validation-failed", `Cannot query field "${field}" on type "Query".`, 400, `$.selectionSet.${field}`);
      }
      const { operationName } = request.body as { operationName?: string };
      // Only the subscription refusal: grafserv words the other selection errors itself.
      if (limited.document.definitions.some((d) => d.kind === "OperationDefinition" && d.operation === "subscription")) {
        selectOperation(limited.document, operationName ?? undefined);
      }
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
        parse: parseLimited,
        limits: opts.queryLimits,
        introspection: !opts.introspectionDisabledFor.has(request.hasuraSession!.role),
        maxBatchSize: opts.maxBatchSize,
        poolWaitMs: opts.poolWaitMs,
      });
      reply.code(realStatus ? result.status : 200);
      if (result.status === 503 || hasErrorCode(result.body, POOL_EXHAUSTED) || hasErrorCode(result.body, "postgres-error")) reply.header("retry-after", "1");
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
