/**
 * Hasura's jsonb update operators (`_prepend`, `_append`, `_delete_key`,
 * `_delete_elem`, `_delete_at_path`) on `update_t`, `update_t_by_pk` and
 * `update_t_many`, for the jsonb columns the role may update, with their
 * input types (`t_append_input`, …), and `t_updates`, one entry of
 * `update_t_many(updates: [t_updates!]!)`.
 *
 * Each operator is the Postgres jsonb operator Hasura compiles it to
 * (its Translate/Update.hs): `||` (either side), `-` text, `-` integer,
 * `#-` text[]; the value is a bind parameter cast to that operand's type.
 */
import { sql, type SQL } from "pg-sql2";
import { HasuraError } from "../errors.ts";
import { asList, typedValue } from "./compile.ts";
import { baseCodec, updatableColumns } from "./columns.ts";
import type { Build } from "./field-args.ts";
import type { HasuraColumn, HasuraTable } from "./model.ts";

type Row = Record<string, unknown>;

interface JsonbOperator {
  /** The input type's name after `t_`. */
  type: string;
  description: string;
  /** The GraphQL type of each column's value. */
  input: (build: Build, column: HasuraColumn) => unknown;
  /** The new value of `column` (read as `current`). */
  apply: (column: HasuraColumn, current: SQL, value: unknown) => SQL;
}

/** Hasura's parser refuses null for these (the GraphQL field is nullable: a required one would require every column). */
function required(value: unknown, type: string): unknown {
  if (value === null) throw new HasuraError("validation-failed", `unexpected null value for type "${type}"`, 400);
  return value;
}

/** In Hasura's argument order. */
const JSONB_OPERATORS: Record<string, JsonbOperator> = {
  _prepend: {
    type: "prepend_input",
    description: "prepend existing jsonb value of filtered columns with new jsonb value",
    input: (build, c) => build.getGraphQLTypeByPgCodec(c.codec, "input"),
    apply: (c, current, value) => sql`${typedValue(c.codec, value)} || ${current}`,
  },
  _append: {
    type: "append_input",
    description: "append existing jsonb value of filtered columns with new jsonb value",
    input: (build, c) => build.getGraphQLTypeByPgCodec(c.codec, "input"),
    apply: (c, current, value) => sql`${current} || ${typedValue(c.codec, value)}`,
  },
  _delete_key: {
    type: "delete_key_input",
    description: "delete key/value pair or string element. key/value pairs are matched based on their key value",
    input: (build) => build.graphql.GraphQLString,
    apply: (_c, current, value) => sql`${current} - ${value == null ? sql.null : sql.value(String(value))}::text`,
  },
  _delete_elem: {
    type: "delete_elem_input",
    description:
      "delete the array element with specified index (negative integers count from the end). throws an error if top level container is not an array",
    input: (build) => build.graphql.GraphQLInt,
    apply: (_c, current, value) => sql`${current} - ${sql.value(Number(required(value, "Int")))}::int`,
  },
  _delete_at_path: {
    type: "delete_at_path_input",
    description: "delete the field or element with specified path (for JSON arrays, negative integers count from the end)",
    input: (build) => new build.graphql.GraphQLList(new build.graphql.GraphQLNonNull(build.graphql.GraphQLString)),
    apply: (_c, current, value) => sql`${current} #- ${sql.value(asList(required(value, "[String!]") as string[]).map(String))}::text[]`,
  },
};

/**
 * The jsonb columns the role may update (a preset column is the preset's)
 * and read: each operator reads the value it changes, and Postgres checks
 * SELECT on every column a statement reads.
 */
function jsonbColumns(table: HasuraTable): HasuraColumn[] {
  return updatableColumns(table).filter(
    (c) => c.canSelect && baseCodec(c.codec).name === "jsonb" && !table.permissions.presets.update.has(c.name),
  );
}

/** `t_<op>_input` for each jsonb operator, and `t_updates`; for a table the role may update. */
export function registerUpdateOperatorTypes(build: Build, table: HasuraTable): void {
  const t = table.name;
  const columns = jsonbColumns(table);
  if (columns.length) {
    for (const op of Object.values(JSONB_OPERATORS)) {
      build.registerInputObjectType(
        `${t}_${op.type}`,
        {},
        () => ({
          description: op.description,
          fields: () => Object.fromEntries(columns.map((c) => [c.name, { type: op.input(build, c) }])),
        }),
        `Hasura ${op.type}`,
      );
    }
  }
  build.registerInputObjectType(
    `${t}_updates`,
    {},
    () => ({
      fields: () => {
        const { GraphQLNonNull } = build.graphql;
        const set = build.getTypeByName(`${t}_set_input`);
        const inc = build.getTypeByName(`${t}_inc_input`);
        return {
          ...(set ? { _set: { type: set, description: "sets the columns of the filtered rows to the given values" } } : {}),
          ...(inc ? { _inc: { type: inc, description: "increments the numeric columns with given value of the filtered values" } } : {}),
          ...updateOperatorArgs(build, table),
          where: {
            type: new GraphQLNonNull(build.getTypeByName(`${t}_bool_exp`)),
            description: "filter the rows which have to be updated",
          },
        };
      },
    }),
    "Hasura updates",
  );
}

/** The jsonb operator arguments of the table's update fields (none without jsonb columns). */
export function updateOperatorArgs(build: Build, table: HasuraTable): Record<string, { type: unknown; description: string }> {
  if (!jsonbColumns(table).length) return {};
  return Object.fromEntries(
    Object.entries(JSONB_OPERATORS).map(([name, op]) => [
      name,
      { type: build.getTypeByName(`${table.name}_${op.type}`), description: op.description },
    ]),
  );
}

/**
 * The SET items of the jsonb operators in `args` for rows named `alias`.
 * `taken`: the columns `_set`/`_inc` already assign; a column in two
 * operators is refused as Hasura refuses it (Postgres would refuse two
 * assignments with an internal error).
 */
export function jsonbAssignments(table: HasuraTable, alias: SQL, args: Row, taken: string[], field: string): SQL[] {
  const allowed = new Set(jsonbColumns(table).map((c) => c.name));
  const seen = new Set(taken);
  const twice: string[] = [];
  const assignments: SQL[] = [];
  for (const [name, op] of Object.entries(JSONB_OPERATORS)) {
    const values = args[name] as Row | null | undefined;
    if (values == null) continue;
    for (const [c, value] of Object.entries(values)) {
      if (value === undefined) continue;
      if (!allowed.has(c)) throw new HasuraError("validation-failed", `field '${c}' not found in type: '${table.name}_${op.type}'`, 400);
      if (seen.has(c)) twice.push(c);
      seen.add(c);
      const column = table.columns.get(c)!;
      assignments.push(sql`${sql.identifier(c)} = ${op.apply(column, sql`${alias}.${sql.identifier(c)}`, value)}`);
    }
  }
  if (twice.length) {
    throw new HasuraError(
      "validation-failed",
      `Column found in multiple operators: [${[...new Set(twice)].map((c) => `'${c}'`).join(", ")}].`,
      400,
      `$.selectionSet.${field}.args`,
    );
  }
  return assignments;
}
