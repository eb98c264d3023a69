/**
 * The role's Hasura declarations (sql/permissions.sql, read by
 * server/hasura/declarations.ts) in PostGraphile's dialect, as behaviors:
 *
 *  - a backend-only insert, update or delete of the role is not in its
 *    schema (no createT / updateT… / deleteT…) unless the schema is the
 *    role's backend one (admin secret and
 *    `x-hasura-use-backend-only-permissions: true`, as Hasura's dialect);
 *  - a column with an insert or update preset for the role is not in its
 *    create or patch input: the preset trigger sets it whatever a client
 *    sends, so offering it would only mislead.
 *
 * Hasura's dialect reads the same declarations into its model
 * (server/hasura/model.ts).
 */
import type { PgCodec, PgResource, PgResourceUnique } from "@dataplan/pg";
import { tableDeclarations, type TableDeclarations } from "../hasura/declarations.ts";

// biome-ignore lint/suspicious/noExplicitAny: only the codec's name and attributes are read
type AnyCodec = PgCodec<any, any, any, any, any, any, any>;
// biome-ignore lint/suspicious/noExplicitAny: only the resource's codec is read
type AnyResource = PgResource<any, any, any, any, any>;

function declarationsOf(codec: AnyCodec, build: GraphileBuild.Build): TableDeclarations | null {
  const pg = codec.extensions?.pg as { schemaName?: string; name?: string } | undefined;
  if (!pg?.schemaName || !pg.name || !codec.attributes) return null;
  return tableDeclarations(build.input.hasuraDeclarations, pg.schemaName, pg.name);
}

const HIDE = { insert: "-insert", update: "-update", delete: "-delete" } as const;

/** `-insert`/`-update`/`-delete` for the commands that are backend-only in this schema. */
function hiddenCommands(
  resource: AnyResource,
  build: GraphileBuild.Build,
  commands: readonly (keyof typeof HIDE)[],
): GraphileBuild.BehaviorString[] {
  if (build.options.hasuraBackendOnlyPermissions) return [];
  const declared = declarationsOf(resource.codec, build);
  return declared ? commands.filter((c) => declared.backendOnly.has(c)).map((c) => HIDE[c]) : [];
}

export const DeclaredWritesPlugin: GraphileConfig.Plugin = {
  name: "DeclaredWritesPlugin",
  version: "1.0.0",
  description: "Backend-only mutations and column presets of the role's Hasura declarations, as behaviors",
  after: ["PgRBACPlugin"],
  schema: {
    entityBehavior: {
      pgResource: {
        override(behavior, resource, build) {
          return [behavior, ...hiddenCommands(resource as AnyResource, build, ["insert", "update", "delete"])];
        },
      },
      pgResourceUnique: {
        override(behavior, [resource, _unique]: [AnyResource, PgResourceUnique], build) {
          return [behavior, ...hiddenCommands(resource, build, ["update", "delete"])];
        },
      },
      pgCodecAttribute: {
        override(behavior, [codec, attributeName], build) {
          const declared = declarationsOf(codec as AnyCodec, build);
          if (!declared) return behavior;
          const hidden: GraphileBuild.BehaviorString[] = [];
          if (declared.presets.insert.has(attributeName)) hidden.push(HIDE.insert);
          if (declared.presets.update.has(attributeName)) hidden.push(HIDE.update);
          return [behavior, ...hidden];
        },
      },
    },
  },
};
