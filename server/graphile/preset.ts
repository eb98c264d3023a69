/**
 * The PostGraphile preset for one application role.
 *
 * PostGraphile's RBAC plugin shapes the schema from the privileges of the
 * role that introspects, so introspecting *as the role* (via
 * pgSettingsForIntrospection) gives each role exactly the types, fields and
 * mutations its grants allow: no @omit bookkeeping to drift from the SQL.
 */
import type pg from "pg";
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { toPgSettings } from "../auth/session.ts";
import { KeepIdColumnPlugin } from "./KeepIdColumnPlugin.ts";
import { maskError } from "./mask-error.ts";
import { RoleVisibleUniquesPlugin } from "./RoleVisibleUniquesPlugin.ts";

export interface RolePresetOptions {
  pool: pg.Pool;
  role: string;
  schemas: string[];
  maxRequestLength: number;
}

export function makeRolePreset(opts: RolePresetOptions): GraphileConfig.Preset {
  return {
    extends: [PostGraphileAmberPreset],
    // Hasura clients address rows by their primary key, not Relay global
    // ids: keep `id` the column.
    disablePlugins: ["NodePlugin"],
    plugins: [KeepIdColumnPlugin, RoleVisibleUniquesPlugin],
    pgServices: [
      makePgService({
        pool: opts.pool,
        schemas: opts.schemas,
        pgSettingsForIntrospection: { role: opts.role },
        pubsub: false,
      }),
    ],
    grafserv: {
      graphqlPath: "/graphql",
      graphiqlPath: "/graphiql",
      graphiql: true,
      graphiqlOnGraphQLGET: false,
      websockets: false,
      maxRequestLength: opts.maxRequestLength,
      maskError,
    },
    grafast: {
      explain: false,
      context(requestContext) {
        const session = requestContext.fastifyv5?.request.hasuraSession;
        // No session means the request bypassed the session hook: refuse to
        // run anything rather than run it with the authenticator's rights.
        if (!session || session.role !== opts.role) {
          throw new Error("request reached GraphQL without a session for this role");
        }
        return { pgSettings: toPgSettings(session) };
      },
    },
  };
}
