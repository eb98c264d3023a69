/**
 * The input types of Hasura's aggregate predicates, a table's
 * `t_aggregate_bool_exp` (`count`, `bool_and`, `bool_or`), each
 * `{arguments, distinct, filter: t_bool_exp, predicate: Int_comparison_exp!}`,
 * offered in `<parent>_bool_exp` as `<rel>_aggregate` where the role may
 * aggregate the related table (./query-plugin.ts). Compiled by ./compile.ts
 * from the same table (columns.ts AGGREGATE_PREDICATES).
 */
import { TYPES } from "@dataplan/pg";
import type { GraphQLInputFieldConfigMap } from "graphql";
import { AGGREGATE_PREDICATES, isBoolean, selectableColumns } from "./columns.ts";
import { comparisonName, registerComparison } from "./comparison.ts";
import type { Build } from "./field-args.ts";
import type { HasuraTable } from "./model.ts";

/** Hasura's enum of the columns a single-column predicate takes. */
export const predicateColumnsEnum = (t: string, fn: string) => `${t}_select_column_${t}_aggregate_bool_exp_${fn}_arguments_columns`;

export function registerAggregatePredicateTypes(build: Build, table: HasuraTable): void {
  const { GraphQLList, GraphQLNonNull, GraphQLBoolean } = build.graphql;
  const t = table.name;
  const booleans = selectableColumns(table).filter(isBoolean);
  const offered = Object.entries(AGGREGATE_PREDICATES).filter(([, p]) => p.argument === "columns" || booleans.length);
  registerComparison(build, TYPES.int);
  registerComparison(build, TYPES.boolean);

  build.registerInputObjectType(
    `${t}_aggregate_bool_exp`,
    {},
    () => ({
      fields: () => Object.fromEntries(offered.map(([fn]) => [fn, { type: build.getInputTypeByName(`${t}_aggregate_bool_exp_${fn}`) }])),
    }),
    "Hasura aggregate_bool_exp",
  );

  for (const [fn, p] of offered) {
    if (p.argument === "bool") {
      build.registerEnumType(
        predicateColumnsEnum(t, fn),
        {},
        () => ({
          description: `select "${t}_aggregate_bool_exp_${fn}_arguments_columns" columns of table "${t}"`,
          values: Object.fromEntries(booleans.map((c) => [c.name, { value: c.name, description: "column name" }])),
        }),
        "Hasura aggregate predicate columns",
      );
    }
    build.registerInputObjectType(
      `${t}_aggregate_bool_exp_${fn}`,
      {},
      () => ({
        fields: (): GraphQLInputFieldConfigMap => ({
          arguments: {
            type:
              p.argument === "columns"
                ? new GraphQLList(new GraphQLNonNull(build.getTypeByName(`${t}_select_column`)))
                : new GraphQLNonNull(build.getTypeByName(predicateColumnsEnum(t, fn))),
          },
          distinct: { type: GraphQLBoolean },
          filter: { type: build.getInputTypeByName(`${t}_bool_exp`) },
          predicate: {
            type: new GraphQLNonNull(build.getInputTypeByName(comparisonName(build, p.result === "int" ? TYPES.int : TYPES.boolean))),
          },
        }),
      }),
      "Hasura aggregate predicate",
    );
  }
}
