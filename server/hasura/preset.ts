/**
 * Hasura's GraphQL dialect as a PostGraphile preset over the same per-role
 * introspection, grants and RLS as the PostGraphile dialect
 * (server/graphile/preset.ts): PostGraphile's own root fields, CRUD
 * mutations, connections and Relay pieces are switched off, and the Hasura
 * plugins of this folder add Hasura's root fields, arguments and names.
 */
import { makeRolePreset, type RolePresetOptions } from "../graphile/preset.ts";
import { HasuraConstraintsPlugin } from "./constraints-plugin.ts";
import { HasuraDeclarationsPlugin } from "./declarations.ts";
import { HasuraFunctionPlugin } from "./function-plugin.ts";
import { HasuraMutationPlugin } from "./mutation-plugin.ts";
import { HasuraNamingPlugin } from "./naming-plugin.ts";
import { HasuraQueryPlugin } from "./query-plugin.ts";
import { HasuraSubscriptionPlugin } from "./subscription-plugin.ts";
import { HasuraValuesPlugin } from "./values-plugin.ts";

const POSTGRAPHILE_SURFACE = [
  "QueryQueryPlugin",
  "PgAllRowsPlugin",
  "PgRowByUniquePlugin",
  "PgConditionArgumentPlugin",
  "PgConditionCustomFieldsPlugin",
  "PgConnectionArgOrderByPlugin",
  "PgConnectionArgOrderByDefaultValuePlugin",
  "PgOrderAllAttributesPlugin",
  "PgOrderByPrimaryKeyPlugin",
  "PgOrderCustomFieldsPlugin",
  "PgFirstLastBeforeAfterArgsPlugin",
  "PgConnectionTotalCountPlugin",
  "PgMutationCreatePlugin",
  "PgMutationUpdateDeletePlugin",
  "PgMutationPayloadEdgePlugin",
  "PgTableNodePlugin",
  "PgNodeIdAttributesPlugin",
  "PgPolymorphismOnlyArgumentPlugin",
  "PgInterfaceModeUnionAllRowsPlugin",
  "PgJWTPlugin",
  "MutationPayloadQueryPlugin",
  "ClientMutationIdDescriptionPlugin",
];

export function makeHasuraPreset(opts: RolePresetOptions): GraphileConfig.Preset {
  return {
    extends: [makeRolePreset(opts)],
    disablePlugins: POSTGRAPHILE_SURFACE,
    plugins: [
      HasuraDeclarationsPlugin,
      HasuraNamingPlugin,
      HasuraValuesPlugin,
      HasuraConstraintsPlugin,
      HasuraQueryPlugin,
      HasuraMutationPlugin,
      HasuraFunctionPlugin,
      HasuraSubscriptionPlugin,
    ],
    // PostGraphile's relations and procedures plugins also gather the foreign
    // keys and functions into the registry, which ./model.ts and
    // ./functions.ts read: keep them, without their fields.
    schema: { defaultBehavior: "-single -list -connection" },
    grafserv: { graphqlPath: "/v1/graphql", graphiql: false },
  };
}
