/**
 * The PostGraphile preset for one application role.
 *
 * PostGraphile's RBAC plugin shapes the schema from the privileges of the
 * role that introspects, so introspecting *as the role* (via
 * pgSettingsForIntrospection) gives each role exactly the types, fields and
 * mutations its grants allow: no @omit bookkeeping to drift from the SQL.
 */
import type { WithPgClient } from "@dataplan/pg";
import { getOperationAST } from "graphql";
import type pg from "pg";
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { toPgSettings } from "../auth/pg-settings.ts";
import { ColumnGrantsPlugin } from "./ColumnGrantsPlugin.ts";
import { KeepIdColumnPlugin } from "./KeepIdColumnPlugin.ts";
import { maskError } from "./mask-error.ts";
import { makePipelinedWithPgClient, meterRequest, type PipelinedOptions, type ResponseLimits } from "./pipelined-adaptor.ts";
import { RoleVisibleUniquesPlugin } from "./RoleVisibleUniquesPlugin.ts";
import { SessionArgumentPlugin } from "./SessionArgumentPlugin.ts";

/** The service, with settings and statement sent in one round trip (./pipelined-adaptor.ts). */
function pipelined(
  service: GraphileConfig.PgServiceConfiguration,
  pool: pg.Pool,
  options: PipelinedOptions,
): GraphileConfig.PgServiceConfiguration {
  const base = service.adaptor;
  return {
    ...service,
    adaptor: {
      ...base,
      createWithPgClient: (settings, variant) =>
        variant === "SUPERUSER" ? base.createWithPgClient(settings, variant) : makePipelinedWithPgClient(pool, options),
    } as typeof base,
  };
}

export interface RolePresetOptions {
  pool: pg.Pool;
  role: string;
  schemas: string[];
  maxRequestLength: number;
  /** Named prepared statements (HASURA_GRAPHQL_USE_PREPARED_STATEMENTS). */
  preparedStatements?: boolean;
  /** The role's own settings (AppRoles.settings), applied in each transaction before the session's. */
  roleSettings?: Readonly<Record<string, string>>;
  /** Bounds on what Postgres may send for one request (./pipelined-adaptor.ts). */
  responseLimits?: ResponseLimits;
  /** Where query operations run: the read replicas' routed withPgClient (server/db/read-replicas.ts); absent: the primary. */
  readWithPgClient?: WithPgClient;
}

/**
 * Grafast gives up planning one operation after this long (the object-field
 * cap of server/graphql-limits.ts keeps real documents far below it): a
 * backstop so no document the limits let through can hold the event loop.
 * Grafast caches the timeout, so resending the document fails at once.
 */
const PLANNING_TIMEOUT_MS = 500;

export function makeRolePreset(opts: RolePresetOptions): GraphileConfig.Preset {
  return {
    extends: [PostGraphileAmberPreset],
    // Hasura clients address rows by their primary key, not Relay global
    // ids: keep `id` the column.
    disablePlugins: ["NodePlugin"],
    plugins: [KeepIdColumnPlugin, RoleVisibleUniquesPlugin, ColumnGrantsPlugin, SessionArgumentPlugin],
    pgServices: [
      pipelined(
        makePgService({ pool: opts.pool, schemas: opts.schemas, pgSettingsForIntrospection: { role: opts.role }, pubsub: false }),
        opts.pool,
        { preparedStatements: opts.preparedStatements ?? true, responseLimits: opts.responseLimits },
      ),
    ],
    grafserv: {
      graphqlPath: "/graphql",
      graphiqlPath: "/graphiql",
      graphiql: true,
      graphiqlOnGraphQLGET: false,
      websockets: false,
      maxRequestLength: opts.maxRequestLength,
      maskError,
      // Grafast writes the response JSON as it walks the plan, instead of
      // building objects that Fastify would then JSON.stringify.
      outputDataAsString: true,
      // Parsed documents kept per schema (grafserv's default is 500): each
      // holds its query text, so this bounds their memory per role.
      parseAndValidateCacheSize: 100,
    },
    grafast: {
      explain: false,
      timeouts: { planning: PLANNING_TIMEOUT_MS },
      context(requestContext, args) {
        // Put there by the GraphQL scope's handlers (server/graphql/session.ts).
        const session = requestContext.hasuraSession;
        // No session means the request bypassed the session hook: refuse to
        // run anything rather than run it with the authenticator's rights.
        if (!session || session.role !== opts.role) {
          throw new Error("request reached GraphQL without a session for this role");
        }
        const pgSettings = { ...opts.roleSettings, ...toPgSettings(session) };
        if (opts.responseLimits) meterRequest(pgSettings);
        // Queries read from a replica; mutations (and the transaction
        // server/hasura/execute.ts wraps them in) keep the primary's. The
        // live engine puts its own poller's withPgClient in after this.
        if (opts.readWithPgClient && getOperationAST(args.document, args.operationName)?.operation === "query") {
          return { pgSettings, withPgClient: opts.readWithPgClient as Grafast.Context["withPgClient"] };
        }
        return { pgSettings };
      },
    },
  };
}
