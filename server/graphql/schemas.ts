/**
 * The two schema registries, one GraphQL schema per role in each dialect:
 * `app.schemas` (PostGraphile's, /graphql) and `app.hasuraSchemas`
 * (Hasura's, /v1/graphql). Each role's preset gets the server's
 * statement_timeout, the depth and cost limits as a validation rule, and
 * Hasura's error masking with the pool's bound in its message.
 */
import type { FastifyBaseLogger } from "fastify";
import fp from "fastify-plugin";
import type { FastifyGrafserv } from "postgraphile/grafserv/fastify/v5";
import { errors, HasuraError } from "../errors.ts";
import { makeLimitsRule, type QueryLimits } from "../graphql-limits.ts";
import { makeMaskError } from "../graphile/mask-error.ts";
import { makePipelinedWithPgClient, type ResponseLimits } from "../graphile/pipelined-adaptor.ts";
import { makeRolePreset } from "../graphile/preset.ts";
import { SchemaBuildFailed, SchemaRegistry, type SchemaKind, type SchemaRegistryOptions } from "../graphile/schema-registry.ts";
import { TableNameCollisionsPlugin } from "../graphile/TableNameCollisionsPlugin.ts";
import { DeclaredWritesPlugin } from "../graphile/DeclaredWritesPlugin.ts";
import { HasuraDeclarationsPlugin } from "../hasura/declarations.ts";
import { makeHasuraPreset } from "../hasura/preset.ts";
import type { ErrorContext } from "../to-hasura-error.ts";
import { warmSchemas } from "./warm-up.ts";
import { rebuildOnDatabaseChange } from "./watch.ts";

declare module "fastify" {
  interface FastifyInstance {
    /** PostGraphile's dialect (/graphql), one schema per role. */
    schemas: SchemaRegistry;
    /** Hasura's dialect (/v1/graphql), one schema per role. */
    hasuraSchemas: SchemaRegistry;
  }
}

export interface SchemasOptions {
  schemas: string[];
  /** The role whose schema must be built for /readyz to pass; built at once. */
  readinessRole: string;
  maxRequestLength: number;
  /** Rebuild schemas on NOTIFY postgraphile_watch (npm start and npm run dev). */
  watch: boolean;
  /** The connection string the rebuild LISTENs on (server/graphql/watch.ts). */
  listenUrl: string;
  /** The setting listenUrl came from, when not DATABASE_URL (for start-up errors). */
  listenUrlSetting?: string;
  /** Build every role's schema in the background after start. */
  warmSchemas?: boolean;
  /** Schemas each dialect keeps (roles × kinds), least recently used out first (server/graphile/schema-registry.ts). */
  maxCachedSchemas?: number;
  /** Depth and cost of one operation (server/graphql-limits.ts). */
  queryLimits: QueryLimits;
  errorContext: ErrorContext;
  /** Named prepared statements (HASURA_GRAPHQL_USE_PREPARED_STATEMENTS). */
  preparedStatements: boolean;
  /** Rows and bytes Postgres may send for one request. */
  responseLimits: ResponseLimits;
  /** statement_timeout of every request, unless the role sets its own; 0: none. */
  statementTimeoutMs: number;
}

/**
 * The role's GraphQL server of that kind (server/graphile/schema-registry.ts). A build that could not
 * reach the database is Hasura's 503 (the next request retries it); one
 * the schema makes fail is kept (server/graphile/schema-registry.ts) and
 * every request of the role gets it, a 500 naming the role, until the
 * schema changes (watch/notify) or the server restarts; the reason is in
 * the log, once.
 */
/** The schema a session's requests see: the backend one when it may use backend-only mutations. */
export const requestSchemaKind = (session: { backendOnly?: boolean }): SchemaKind => (session.backendOnly ? "backend" : "frontend");

export async function servFor(
  registry: SchemaRegistry,
  role: string,
  log: FastifyBaseLogger,
  kind: SchemaKind = "frontend",
): Promise<FastifyGrafserv> {
  try {
    return await registry.get(role, kind);
  } catch (e) {
    if (e instanceof SchemaBuildFailed)
      throw new HasuraError(
        "unexpected",
        `the GraphQL schema of role "${role}" could not be built; the server log says why (it is not rebuilt until the database schema changes)`,
        500,
      );
    log.error({ err: (e as Error).message, role }, "schema build failed");
    throw errors.schemaUnavailable();
  }
}

export default fp<SchemasOptions>(
  async (app, opts) => {
    // Every role's requests get the server's statement_timeout unless the
    // DBA bounded them already: on the login role or the database (which
    // applies at login: then it is in effect here) or on the role itself
    // (`alter role … set statement_timeout`, applied per transaction below).
    const { rows } = await app.pgPool.query<{ timeout: string }>("select current_setting('statement_timeout') as timeout");
    const dbaTimeout = rows[0]?.timeout !== "0";
    const defaults: Record<string, string> =
      opts.statementTimeoutMs && !dbaTimeout ? { statement_timeout: `${opts.statementTimeoutMs}ms` } : {};
    // Query operations on the read replicas, if any (server/db/read-replicas.ts).
    const pipelinedOptions = { preparedStatements: opts.preparedStatements, responseLimits: opts.responseLimits };
    const readWithPgClient = app.readReplicas.size
      ? app.readReplicas.route(
          (pool) => makePipelinedWithPgClient(pool, pipelinedOptions),
          makePipelinedWithPgClient(app.pgPool, pipelinedOptions),
        )
      : undefined;
    const presetOptions = (role: string) => ({
      pool: app.pgPool,
      role,
      schemas: opts.schemas,
      maxRequestLength: opts.maxRequestLength,
      preparedStatements: opts.preparedStatements,
      roleSettings: { ...defaults, ...app.appRoles.settings(role) },
      responseLimits: opts.responseLimits,
      readWithPgClient,
    });
    // The same depth and cost limits as /v1/graphql, as a validation rule
    // (the /graphql handler also checks them before grafserv parses), and
    // errors masked as Hasura's (a pool timeout among them, which the
    // handler turns into a 503).
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
    const maskError = makeMaskError(opts.errorContext);
    // Each failed build is logged once; a kept failure is not rebuilt per request or /readyz poll.
    const registryOptions = (dialect: string): SchemaRegistryOptions => ({
      maxSchemas: opts.maxCachedSchemas,
      pinned: [opts.readinessRole],
      onEvicted: ({ role, kind }) =>
        app.log.info({ role, dialect, kind, max: opts.maxCachedSchemas }, "schema evicted (HASURA_GRAPHQL_MAX_CACHED_SCHEMAS)"),
      onBuildFailed: (error, { role, kind, kept }) =>
        app.log.error(
          { err: error.message, role, dialect, kind },
          kept ? "schema build failed; kept until the database schema changes" : "schema build failed; the next request retries",
        ),
    });
    // Both dialects read the role's Hasura declarations: backend-only
    // mutations exist only in the role's backend schema, preset columns are
    // never input (server/graphile/DeclaredWritesPlugin.ts).
    const registry = new SchemaRegistry(
      (role, kind) => ({
        extends: [makeRolePreset(presetOptions(role))],
        plugins: [limitsPlugin, HasuraDeclarationsPlugin, DeclaredWritesPlugin, TableNameCollisionsPlugin],
        schema: { hasuraBackendOnlyPermissions: kind === "backend" },
        grafserv: { maskError },
      }),
      registryOptions("/graphql"),
    );
    const hasuraRegistry = new SchemaRegistry(
      (role, kind) => ({
        extends: [makeHasuraPreset(presetOptions(role))],
        // Hasura's names are the tables' own, but PostGraphile's codec names must still differ.
        plugins: [TableNameCollisionsPlugin],
        schema: { hasuraBackendOnlyPermissions: kind === "backend", hasuraLiveQueryRoot: kind === "live" },
      }),
      registryOptions("/v1/graphql"),
    );
    app.decorate("schemas", registry);
    app.decorate("hasuraSchemas", hasuraRegistry);
    app.addHook("onClose", () => Promise.all([registry.release(), hasuraRegistry.release()]));

    // Build the unauthenticated role's schema now: most first requests need it.
    void registry.get(opts.readinessRole).catch(() => {}); // logged by onBuildFailed
    if (opts.warmSchemas) warmSchemas(app, [registry, hasuraRegistry]);
    if (opts.watch) await rebuildOnDatabaseChange(app, [registry, hasuraRegistry], opts.listenUrl, opts.listenUrlSetting);
  },
  { name: "graphql-schemas", dependencies: ["database", "app-roles"], fastify: "5.x" },
);
