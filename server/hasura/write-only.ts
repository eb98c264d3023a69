/**
 * A table the role may write but not read (INSERT, UPDATE or DELETE
 * granted, no SELECT on any column), as Hasura shows it: `insert_t`,
 * `update_t` and `delete_t` answer `affected_rows` only (no `returning`);
 * no `insert_t_one` and no `_by_pk` fields, which return the row.
 *
 * Their `where` is `t_bool_exp` with nothing to filter on but `_and`,
 * `_or` and `_not` (Hasura's is built from the select permission's
 * columns, which are none), so the statement never reads a column and
 * Postgres needs no SELECT for it: `{}` is every row the role's UPDATE or
 * DELETE policy lets it touch.
 */
import type { GraphQLInputFieldConfigMap } from "graphql";
import type { Build } from "./field-args.ts";
import type { HasuraTable } from "./model.ts";

export function registerWriteOnlyTypes(build: Build, table: HasuraTable): void {
  const { GraphQLList, GraphQLNonNull } = build.graphql;
  const t = table.name;
  build.registerInputObjectType(
    `${t}_bool_exp`,
    {},
    () => ({
      description: `Boolean expression to filter rows from the table "${t}". All fields are combined with a logical 'AND'.`,
      fields: (): GraphQLInputFieldConfigMap => {
        const self = build.getInputTypeByName(`${t}_bool_exp`);
        return {
          _and: { type: new GraphQLList(new GraphQLNonNull(self)) },
          _not: { type: self },
          _or: { type: new GraphQLList(new GraphQLNonNull(self)) },
        };
      },
    }),
    "Hasura bool_exp of a table the role writes but cannot read",
  );
}
