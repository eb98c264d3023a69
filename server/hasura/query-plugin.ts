/**
 * Hasura's query surface for every table the role may select: root fields
 * `t`, `t_by_pk`, `t_aggregate`; relationship fields from foreign keys;
 * the input and enum types they take (`t_bool_exp`, `t_order_by`,
 * `t_select_column`, `<Scalar>_comparison_exp`, `order_by`, …), named as
 * Hasura names them so typed clients and codegen configs keep working.
 *
 * The table types themselves (`t` with a field per selectable column) are
 * PostGraphile's, renamed by ./naming-plugin.ts; plans are PostGraphile's
 * steps, so a nested query is still one SQL statement.
 */
import { TYPES, type PgSelectSingleStep, type PgSelectStep } from "@dataplan/pg";
import type { FieldArgs, Step } from "grafast";
import type { GraphQLInputFieldConfigMap } from "graphql";
import { sql } from "pg-sql2";
import { MAX_ROWS_EXTENSION } from "../graphql-limits.ts";
import { registerAggregatePredicateTypes } from "./aggregate-predicates.ts";
import { AGGREGATES, selectableColumns } from "./columns.ts";
import { comparisonName, registerComparison } from "./comparison.ts";
import { asList, DIRECTIONS } from "./compile.ts";
import { offersRootField, type QueryRootField } from "./declarations.ts";
import { offersSubscriptionField } from "./subscription-plugin.ts";
import { pkFields, selectArgs, type Build } from "./field-args.ts";
import { hasuraModel, type AnyCodec, type AnyResource, type HasuraColumn, type HasuraTable } from "./model.ts";
import { applySelectArgs } from "./select-args.ts";

function registerTableTypes(build: Build, table: HasuraTable): void {
  const { GraphQLList, GraphQLNonNull, GraphQLInt, GraphQLBoolean, GraphQLFloat } = build.graphql;
  const t = table.name;
  const columns = selectableColumns(table).filter((c) => comparisonName(build, c.codec));
  for (const c of columns) registerComparison(build, c.codec);
  registerAggregatePredicateTypes(build, table);

  build.registerInputObjectType(
    `${t}_bool_exp`,
    {},
    () => ({
      description: `Boolean expression to filter rows from the table "${t}". All fields are combined with a logical 'AND'.`,
      fields: () => {
        const self = build.getInputTypeByName(`${t}_bool_exp`);
        const fields: GraphQLInputFieldConfigMap = {
          _and: { type: new GraphQLList(new GraphQLNonNull(self)) },
          _not: { type: self },
          _or: { type: new GraphQLList(new GraphQLNonNull(self)) },
        };
        for (const c of columns) fields[c.name] = { type: build.getInputTypeByName(comparisonName(build, c.codec)) };
        for (const rel of table.relationships) {
          fields[rel.name] = { type: build.getInputTypeByName(`${rel.target.name}_bool_exp`) };
          if (rel.kind === "array" && rel.target.permissions.allowAggregations) {
            fields[`${rel.name}_aggregate`] = { type: build.getInputTypeByName(`${rel.target.name}_aggregate_bool_exp`) };
          }
        }
        return fields;
      },
    }),
    "Hasura bool_exp",
  );

  build.registerEnumType(
    `${t}_select_column`,
    {},
    () => ({
      description: `select columns of table "${t}"`,
      values: Object.fromEntries(selectableColumns(table).map((c) => [c.name, { value: c.name, description: "column name" }])),
    }),
    "Hasura select_column",
  );

  const orderable = selectableColumns(table);
  build.registerInputObjectType(
    `${t}_order_by`,
    {},
    () => ({
      description: `Ordering options when selecting data from "${t}".`,
      fields: () => {
        const orderBy = build.getTypeByName("order_by");
        const fields: GraphQLInputFieldConfigMap = {};
        for (const c of orderable) fields[c.name] = { type: orderBy };
        for (const rel of table.relationships) {
          if (rel.kind === "object") fields[rel.name] = { type: build.getInputTypeByName(`${rel.target.name}_order_by`) };
          else fields[`${rel.name}_aggregate`] = { type: build.getInputTypeByName(`${rel.target.name}_aggregate_order_by`) };
        }
        return fields;
      },
    }),
    "Hasura order_by",
  );

  const aggregateOps: Array<[string, HasuraColumn[]]> = Object.entries(AGGREGATES).map(([op, { takes }]) => [
    op,
    selectableColumns(table).filter(takes),
  ]);
  build.registerInputObjectType(
    `${t}_aggregate_order_by`,
    {},
    () => ({
      description: `order by aggregate values of table "${t}"`,
      fields: () => {
        const orderBy = build.getTypeByName("order_by");
        const fields: GraphQLInputFieldConfigMap = { count: { type: orderBy } };
        for (const [op, cols] of aggregateOps) if (cols.length) fields[op] = { type: build.getInputTypeByName(`${t}_${op}_order_by`) };
        return fields;
      },
    }),
    "Hasura aggregate_order_by",
  );

  for (const [op, cols] of aggregateOps) {
    if (!cols.length) continue;
    build.registerInputObjectType(
      `${t}_${op}_order_by`,
      {},
      () => ({
        description: `order by ${op}() on columns of table "${t}"`,
        fields: () => Object.fromEntries(cols.map((c) => [c.name, { type: build.getTypeByName("order_by") }])),
      }),
      "Hasura <op>_order_by",
    );
    build.registerObjectType(
      `${t}_${op}_fields`,
      {},
      () => ({
        description: `aggregate ${op} on columns`,
        fields: () =>
          Object.fromEntries(
            cols.map((c) => {
              const { fn: sqlFn, float } = AGGREGATES[op]!;
              // Hasura: sum, max and min have the column's own scalar (`Int` for an integer column, not bigint).
              const outCodec = float ? TYPES.float : c.codec;
              const type = float ? GraphQLFloat : build.getGraphQLTypeByPgCodec(outCodec, "output");
              return [
                c.name,
                {
                  type,
                  plan: ($agg: PgSelectSingleStep<AnyResource>) =>
                    $agg.select(
                      sql`${sqlFn}(${$agg.getClassStep().alias}.${sql.identifier(c.name)})${float ? sql`::float8` : sql.blank}`,
                      outCodec,
                    ),
                },
              ];
            }),
          ),
      }),
      "Hasura <op>_fields",
    );
  }

  build.registerObjectType(
    `${t}_aggregate_fields`,
    {},
    () => ({
      description: `aggregate fields of "${t}"`,
      fields: () => {
        // biome-ignore lint/suspicious/noExplicitAny: graphile-build field specs are typed per plugin; the map is handed to build.extend as is
        const fields: Record<string, any> = {
          count: {
            type: new GraphQLNonNull(GraphQLInt),
            args: {
              columns: { type: new GraphQLList(new GraphQLNonNull(build.getTypeByName(`${t}_select_column`))) },
              distinct: { type: GraphQLBoolean },
            },
            plan($agg: PgSelectSingleStep<AnyResource>, fieldArgs: FieldArgs) {
              // These two arguments shape the SQL, so they are read at plan time.
              const columns = evalArg(fieldArgs, "columns") as string[] | string | null;
              const distinct = evalArg(fieldArgs, "distinct") === true;
              const alias = $agg.getClassStep().alias;
              const cols = asList(columns).filter((c) => table.columns.get(c)?.canSelect);
              const expr = cols.length
                ? sql`count(${distinct ? sql`distinct ` : sql.blank}${
                    cols.length === 1
                      ? sql`${alias}.${sql.identifier(cols[0])}`
                      : sql`(${sql.join(
                          cols.map((c) => sql`${alias}.${sql.identifier(c)}`),
                          ", ",
                        )})`
                  })`
                : sql`count(*)`;
              return $agg.select(sql`${expr}::int`, TYPES.int);
            },
          },
        };
        for (const [op, cols] of aggregateOps) {
          if (!cols.length) continue;
          fields[op] = {
            type: build.getTypeByName(`${t}_${op}_fields`),
            plan: ($agg: Step) => $agg,
          };
        }
        return fields;
      },
    }),
    "Hasura aggregate_fields",
  );

  build.registerObjectType(
    `${t}_aggregate`,
    {},
    () => ({
      description: `aggregated selection of "${t}"`,
      fields: () => ({
        aggregate: {
          type: build.getTypeByName(`${t}_aggregate_fields`),
          plan: ($select: PgSelectStep<AnyResource>) => $select.clone("aggregate").singleAsRecord(),
        },
        nodes: {
          type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(build.getTypeByName(t)))),
          extensions: maxRows(table),
          plan: ($select: PgSelectStep<AnyResource>) => $select,
        },
      }),
    }),
    "Hasura aggregate",
  );
}

/** The declared select `limit`, for the document's row estimate (server/graphql-limits.ts). */
function maxRows(table: HasuraTable): Record<string, number> | undefined {
  const limit = table.permissions.rowLimit;
  return limit == null ? undefined : { [MAX_ROWS_EXTENSION]: limit };
}

function evalArg(fieldArgs: FieldArgs, name: string): unknown {
  const $step = fieldArgs.getRaw(name) as Step & { eval?: () => unknown };
  return $step.eval ? $step.eval() : null;
}

const listPlan = (table: HasuraTable) => (_$root: Step, fieldArgs: FieldArgs) => {
  const $select = table.resource.find() as PgSelectStep<AnyResource>;
  applySelectArgs($select, table, fieldArgs);
  return $select;
};

export const HasuraQueryPlugin: GraphileConfig.Plugin = {
  name: "HasuraQueryPlugin",
  version: "1.0.0",
  description: "Hasura's query root, relationships and their argument types",
  // Its init needs the codecs' GraphQL type names, set by these plugins' init.
  after: ["PgBasicsPlugin", "PgCodecsPlugin", "PgTypesPlugin", "PgTablesPlugin", "PgAttributesPlugin", "PgEnumTablesPlugin"],
  schema: {
    hooks: {
      init: {
        // Needs every codec's GraphQL type name, set by PgCodecsPlugin's init.
        after: ["PgCodecs"],
        callback(_, build) {
          const b = build as Build;
          b.registerEnumType(
            "order_by",
            {},
            () => ({
              description: "column ordering options",
              values: Object.fromEntries(
                Object.keys(DIRECTIONS)
                  .sort()
                  .map((name) => {
                    const { direction, nulls } = DIRECTIONS[name]!;
                    const order = direction === "ASC" ? "ascending" : "descending";
                    return [name, { value: name, description: `in ${order} order, nulls ${nulls.toLowerCase()}` }];
                  }),
              ),
            }),
            "Hasura order_by enum",
          );
          for (const table of hasuraModel(b).tables) if (table.canSelect) registerTableTypes(b, table);
          return _;
        },
      },

      GraphQLObjectType_fields(fields, build, context) {
        const b = build as Build;
        const { scope } = context;
        const { GraphQLList, GraphQLNonNull, GraphQLString } = b.graphql;
        const model = hasuraModel(b);

        if (scope.isRootQuery) {
          // biome-ignore lint/suspicious/noExplicitAny: graphile-build field specs are typed per plugin; the map is handed to build.extend as is
          const added: Record<string, any> = {};
          for (const table of model.tables) {
            if (!table.canSelect) continue;
            const type = b.getTypeByName(table.name);
            if (!type) continue;
            const t = table.name;
            const offers = (field: QueryRootField) =>
              offersRootField(table.permissions, field) ||
              (!!b.options.hasuraLiveQueryRoot && offersSubscriptionField(table.permissions, field));
            if (offers("select")) {
              added[t] = {
                description: `fetch data from the table: "${t}"`,
                type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(type))),
                extensions: maxRows(table),
                args: selectArgs(b, table),
                plan: listPlan(table),
              };
            }
            if (offers("select_aggregate")) {
              added[`${t}_aggregate`] = {
                description: `fetch aggregated fields from the table: "${t}"`,
                type: new GraphQLNonNull(b.getTypeByName(`${t}_aggregate`)),
                args: selectArgs(b, table),
                plan: listPlan(table),
              };
            }
            const pk = table.pk;
            if (pk && offers("select_by_pk")) {
              added[`${t}_by_pk`] = {
                description: `fetch data from the table: "${t}" using primary key columns`,
                type,
                args: pkFields(b, table),
                plan: (_$root: Step, fieldArgs: FieldArgs) =>
                  table.resource.get(Object.fromEntries(pk.map((c) => [c, fieldArgs.getRaw(c)]))),
              };
            }
          }
          if (Object.keys(added).length === 0) {
            // Hasura's placeholder when a role can query nothing.
            added.no_queries_available = {
              type: new GraphQLNonNull(GraphQLString),
              plan: () => b.grafast.constant("There are no queries available to the current role."),
            };
          }
          return b.extend(fields, added, "Hasura query root fields");
        }

        const codec = scope.pgCodec as AnyCodec | undefined;
        if (codec && scope.isPgClassType) {
          const table = model.byCodec.get(codec);
          if (!table) return fields;
          // biome-ignore lint/suspicious/noExplicitAny: graphile-build field specs are typed per plugin; the map is handed to build.extend as is
          const added: Record<string, any> = {};
          for (const rel of table.relationships) {
            const targetType = b.getTypeByName(rel.target.name);
            if (!targetType) continue;
            if (rel.kind === "object") {
              added[rel.name] = {
                description: "An object relationship",
                type: rel.nonNull ? new GraphQLNonNull(targetType) : targetType,
                plan: ($parent: PgSelectSingleStep<AnyResource>) => $parent.singleRelation(rel.registryName),
              };
            } else {
              const relPlan = ($parent: PgSelectSingleStep<AnyResource>, fieldArgs: FieldArgs) => {
                const $select = $parent.manyRelation(rel.registryName) as PgSelectStep<AnyResource>;
                applySelectArgs($select, rel.target, fieldArgs);
                return $select;
              };
              added[rel.name] = {
                description: "An array relationship",
                type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(targetType))),
                extensions: maxRows(rel.target),
                args: selectArgs(b, rel.target),
                plan: relPlan,
              };
              // Hasura: only where the related table allows the role aggregations.
              if (rel.target.permissions.allowAggregations) {
                added[`${rel.name}_aggregate`] = {
                  description: "An aggregate relationship",
                  type: new GraphQLNonNull(b.getTypeByName(`${rel.target.name}_aggregate`)),
                  args: selectArgs(b, rel.target),
                  plan: relPlan,
                };
              }
            }
          }
          return b.extend(fields, added, `Hasura relationships of ${table.name}`);
        }
        return fields;
      },
    },
  },
};
