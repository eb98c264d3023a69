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
 *    `notNullExpression` over a readable column (see rowWitness).
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
import { PgSelectSingleStep, TYPES, type PgCodecAttribute, type PgCodecRelationConfig } from "@dataplan/pg";
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
 * The column whose nullness tells whether a selected row exists, reading
 * only readable columns: a readable NOT NULL column (a cheap one first), or
 * a readable primary-key column (NOT NULL, or declared so by a view's
 * `@primaryKey`). It is null only in the all-null row a left join adds when
 * nothing matched. Null when the role reads no such column.
 */
function rowWitness(attributes: Attributes, primaryKey: ReadonlySet<string>): string | null {
  const readable = Object.entries(attributes).filter(([, a]) => !a.restrictedAccess && !a.via && !a.expression);
  const notNull = readable.filter(([name, a]) => a.notNull || primaryKey.has(name));
  return (notNull.find(([, a]) => CHEAP.has(a.codec)) ?? notNull[0])?.[0] ?? null;
}

/**
 * A table the role reads without such a column (only a nullable unique key,
 * say): no expression over its readable columns tells a stored row whose
 * every readable column is null from the all-null row of an unmatched left
 * join, and PostGraphile's fallback (`not (row is null)`) took the first for
 * the second: null in a /graphql list, an error in a /v1/graphql one (whose
 * items are non-null), so the role could not read such a table at all. The
 * codec says instead that a selected row exists (true wherever the row is
 * selected from the table itself: lists, lookups, a relationship fetched on
 * its own), and `forbidJoinInlining` keeps it out of left joins.
 */
const ROW_EXISTS = () => sql`'true'::text`;

declare global {
  namespace DataplanPg {
    interface PgCodecExtensions {
      /** No readable column tells a missing joined row: fetched on its own, never through a left join. */
      rowWitnessless?: boolean;
    }
  }
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
        const { pgClass } = event;
        const codec = event.pgCodec as {
          attributes?: Attributes;
          notNullExpression?: (alias: SQL) => SQL;
          extensions?: DataplanPg.PgCodecExtensions;
        };
        if (!pgClass || !codec.attributes || codec.notNullExpression) return;
        const readable = Object.values(codec.attributes).filter((a) => !a.restrictedAccess && !a.via && !a.expression);
        // No readable column: left alone (see above).
        if (readable.length === 0) return;
        const pkNumbers = pgClass.getConstraints().find((c) => c.contype === "p")?.conkey ?? [];
        const primaryKey = new Set(
          pgClass
            .getAttributes()
            .filter((a) => pkNumbers.includes(a.attnum))
            .map((a) => a.attname),
        );
        const witness = rowWitness(codec.attributes, primaryKey);
        if (witness) {
          // Every column readable: PostGraphile's own choice is a NOT NULL or key column already.
          if (readable.length === Object.keys(codec.attributes).length) return;
          const column = sql.identifier(witness);
          codec.notNullExpression = (alias) => sql`(not (${alias}.${column} is null))::text`;
        } else {
          codec.notNullExpression = ROW_EXISTS;
          codec.extensions = { ...codec.extensions, rowWitnessless: true };
        }
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
  schema: {
    hooks: {
      GraphQLObjectType_fields_field(field, build) {
        const plan = field.plan;
        if (!plan || !build.graphql.isObjectType(build.graphql.getNamedType(field.type))) return field;
        return { ...field, plan: forbidJoinInlining(plan) };
      },
    },
  },
};

/**
 * Wraps a field's plan: a single row of a witnessless table (above) is
 * fetched by its own select (batched per request level), never inlined into
 * its parent's query as a left join, where its absence could not be told.
 */
// biome-ignore lint/suspicious/noExplicitAny: grafast plan resolvers are typed per field; this wrapper passes every argument through
function forbidJoinInlining(plan: (...args: any[]) => any) {
  // biome-ignore lint/suspicious/noExplicitAny: as above
  return function (this: unknown, ...args: any[]) {
    const $step = plan.apply(this, args);
    if ($step instanceof PgSelectSingleStep && $step.resource.codec.extensions?.rowWitnessless) {
      const $select = $step.getClassStep();
      if ($select.unique()) $select.setInliningForbidden();
    }
    return $step;
  };
}
