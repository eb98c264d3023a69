/**
 * Keeps the SQL PostGraphile generates for a role within the columns that
 * role may SELECT (column-level GRANTs), on both dialects.
 *
 * Postgres refuses a whole statement ("permission denied for table t") as
 * soon as it names one column the role is not granted, even in a join
 * condition or as a throw-away expression. @dataplan/pg names columns the
 * query did not ask for in two places:
 *
 *  - the row-nullness check of every PgSelectSingleStep (list items, joined
 *    rows): it selects a cheap NOT NULL column (typically `id`) unless the
 *    column is flagged `restrictedAccess`, and otherwise falls back to the
 *    codec's `notNullExpression` or, failing that, to the first NOT NULL
 *    column regardless of grants. So: unreadable columns are flagged
 *    `restrictedAccess`, and a table with any unreadable column gets a
 *    `notNullExpression` over readable columns only.
 *  - relations: the join (forward, `remote.key = local.fk`) and the
 *    correlated lookup (backward, `local.fk = remote.key`) both name the
 *    local and the remote key columns, so a relation is dropped from the
 *    registry unless the role may read every one of them. Both dialects
 *    build their relationship fields from the registry, so the field is
 *    absent from the role's schema instead of failing when queried.
 *
 * Like PostGraphile's RBAC plugin, a table with no readable column at all is
 * left alone (it can only be reached through functions, whose results are
 * not subject to column grants; its resource is not selectable anyway).
 */
import { TYPES, type PgCodecAttribute, type PgCodecRelationConfig } from "@dataplan/pg";
import { sql, type SQL } from "pg-sql2";
import { entityPermissions } from "postgraphile/graphile-build-pg/pg-introspection";

// Mirrors @dataplan/pg's CHEAP_ATTRIBUTE_TYPES: fixed-size values that cost
// little to select just to learn whether a row exists.
const CHEAP = new Set<unknown>([
  TYPES.int2,
  TYPES.int,
  TYPES.bigint,
  TYPES.float,
  TYPES.float4,
  TYPES.uuid,
  TYPES.boolean,
  TYPES.date,
  TYPES.timestamp,
  TYPES.timestamptz,
]);

type Attributes = Record<string, PgCodecAttribute>;

/** Per introspected table: does the role read any of its columns (asked once, not once per column). */
const someReadable = new WeakMap<object, boolean>();

/**
 * `'true'` when the row exists, null/false for the all-null row of a left
 * join that matched nothing, reading only readable columns. With a readable
 * NOT NULL column that is exact. Without one, the row exists when any
 * readable column is not null: exact for joined rows (a relation is only
 * kept when its key columns are readable, and they are not null in a row the
 * join matched), and wrong only for a stored row whose every readable column
 * is null (taken for a missing row: null in a /graphql list, an error in a
 * /v1/graphql one, whose items are non-null). No expression over readable
 * columns alone can tell those two apart; granting one NOT NULL column can.
 */
function notNullExpression(attributes: Attributes): ((alias: SQL) => SQL) | undefined {
  const readable = Object.entries(attributes).filter(([, a]) => !a.restrictedAccess && !a.via && !a.expression);
  if (readable.length === 0) return undefined;
  const notNull = readable.filter(([, a]) => a.notNull);
  const exact = notNull.find(([, a]) => CHEAP.has(a.codec)) ?? notNull[0];
  if (exact) {
    const column = sql.identifier(exact[0]);
    return (alias) => sql`(not (${alias}.${column} is null))::text`;
  }
  const columns = readable.map(([name]) => sql.identifier(name));
  return (alias) =>
    sql`(not (${sql.join(
      columns.map((c) => sql`${alias}.${c} is null`),
      " and ",
    )}))::text`;
}

export const ColumnGrantsPlugin: GraphileConfig.Plugin = {
  name: "ColumnGrantsPlugin",
  version: "1.0.0",
  description: "Generated SQL names only columns the introspecting role may select",
  after: ["PgCodecsPlugin", "PgTablesPlugin", "PgRelationsPlugin"],
  gather: {
    hooks: {
      async pgCodecs_attribute(info, event) {
        const { pgAttribute, serviceName, attribute } = event;
        const pgClass = pgAttribute.getClass();
        if (!pgClass || !["r", "v", "m", "f", "p"].includes(pgClass.relkind)) return;
        const { introspection } = await info.helpers.pgIntrospection.getService(serviceName);
        const me = introspection.getCurrentUser();
        if (!me) return;
        const can = (entity: Parameters<typeof entityPermissions>[1]) => entityPermissions(introspection, entity, me, true).select;
        if (can(pgClass) || can(pgAttribute)) return;
        let anyReadable = someReadable.get(pgClass);
        if (anyReadable === undefined) {
          anyReadable = pgClass.getAttributes().some((a) => a.attnum > 0 && can(a));
          someReadable.set(pgClass, anyReadable);
        }
        if (anyReadable) attribute.restrictedAccess = true;
      },
      async pgCodecs_PgCodec(_info, event) {
        const codec = event.pgCodec as { attributes?: Attributes; notNullExpression?: (alias: SQL) => SQL };
        if (!event.pgClass || !codec.attributes || codec.notNullExpression) return;
        if (!Object.values(codec.attributes).some((a) => a.restrictedAccess)) return;
        const expression = notNullExpression(codec.attributes);
        if (expression) codec.notNullExpression = expression;
      },
      async pgRegistry_PgRegistryBuilder_finalize(_info, event) {
        const relationsByCodec = event.registryBuilder.getRegistryConfig().pgRelations as Record<
          string,
          Record<string, PgCodecRelationConfig>
        >;
        for (const relations of Object.values(relationsByCodec)) {
          for (const [name, relation] of Object.entries(relations)) {
            const local = relation.localCodec.attributes as Attributes | undefined;
            const remote = relation.remoteResourceOptions.codec.attributes as Attributes | undefined;
            const readable = (attrs: Attributes | undefined, names: readonly string[]) =>
              names.every((n) => attrs?.[n] && !attrs[n].restrictedAccess);
            if (!readable(local, relation.localAttributes) || !readable(remote, relation.remoteAttributes)) delete relations[name];
          }
        }
      },
    },
  },
};
