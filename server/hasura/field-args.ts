/**
 * The GraphQL arguments Hasura's fields take, shared by the query and
 * mutation plugins: the primary key columns (`t_by_pk`, `delete_t_by_pk`,
 * `t_pk_columns_input`) and the select arguments of every list field (their
 * plan is ./select-args.ts).
 */
import type { GraphQLInputType } from "graphql";
import type { HasuraTable } from "./model.ts";

// graphile-build's Build is typed per registered plugin; these helpers only
// call its registry and graphql members.
// biome-ignore lint/suspicious/noExplicitAny: graphile-build's Build is generic over every plugin's additions; these plugins use a few of its members
export type Build = any;

/** One non-null argument per primary-key column. */
export function pkFields(build: Build, table: HasuraTable) {
  const { GraphQLNonNull } = build.graphql;
  return Object.fromEntries(
    table.pk!.map((c) => [c, { type: new GraphQLNonNull(build.getGraphQLTypeByPgCodec(table.columns.get(c)!.codec, "input")) }]),
  );
}

/** `distinct_on` (with a primary key), `limit`, `offset`, `order_by`, `where`. */
export function selectArgs(build: Build, table: HasuraTable) {
  const { GraphQLList, GraphQLNonNull, GraphQLInt } = build.graphql;
  const args: Record<string, { type: GraphQLInputType; description: string }> = {};
  if (table.pk) {
    args.distinct_on = {
      type: new GraphQLList(new GraphQLNonNull(build.getTypeByName(`${table.name}_select_column`))),
      description: "distinct select on columns",
    };
  }
  args.limit = { type: GraphQLInt, description: "limit the number of rows returned" };
  args.offset = { type: GraphQLInt, description: "skip the first n rows. Use only with order_by" };
  args.order_by = {
    type: new GraphQLList(new GraphQLNonNull(build.getTypeByName(`${table.name}_order_by`))),
    description: "sort the rows by one or more columns",
  };
  args.where = { type: build.getTypeByName(`${table.name}_bool_exp`), description: "filter the rows returned" };
  return args;
}
