/**
 * Hasura's mutation root, only where the role's grants allow it:
 * `insert_t`, `insert_t_one`, `update_t`, `update_t_by_pk`, `delete_t`,
 * `delete_t_by_pk`, with `t_mutation_response { affected_rows returning }`.
 *
 * Each mutation is one SQL statement in a transaction carrying the request's
 * role and session (PostGraphile's sideEffectWithPgClientTransaction), so RLS
 * USING filters silently narrow update/delete (affected_rows 0) and WITH
 * CHECK rejects writes. `returning` is built from the statement's RETURNING
 * rows, which Postgres already filtered through the role's SELECT policies;
 * relationships under it are planned like any query.
 *
 * PostGraphile's own CRUD mutations take one row per call; Hasura's take a
 * list, a `where` and `on_conflict`, hence this plugin.
 */
import { pgSelectFromRecords, sideEffectWithPgClientTransaction, type PgClient, type PgSelectStep } from "@dataplan/pg";
import { access, type FieldArgs, type Step } from "grafast";
import type { GraphQLInputFieldConfigMap } from "graphql";
import { sql, type SQL } from "pg-sql2";
import { HasuraError } from "../errors.ts";
import { insertableColumns, selectableColumns, updatableColumns } from "./columns.ts";
import { asList, compileBoolExp, typedValue, type BoolExp } from "./compile.ts";
import { pkFields, type Build } from "./field-args.ts";
import { hasuraModel, type AnyResource, type HasuraConstraint, type HasuraTable } from "./model.ts";
import { conflictConstraints, conflictUpdateColumns, incColumns, presetAssignments } from "./mutation-columns.ts";
import { hasNestedInput, insertInto, insertTree, nestedInsertFields, registerNestedInsertTypes } from "./nested-insert.ts";
import { jsonbAssignments, registerUpdateOperatorTypes, updateOperatorArgs } from "./update-operators.ts";
import { registerWriteOnlyTypes } from "./write-only.ts";

type Row = Record<string, unknown>;

interface MutationResult {
  affected_rows: number;
  rows: Row[];
}

const ALIAS = sql.identifier("t");
const VISIBLE = sql.identifier("visible");

/** RETURNING the role's selectable columns as text, decoded like PostGraphile does. */
function returning(table: HasuraTable): SQL {
  const cols = selectableColumns(table);
  if (!table.canSelect || cols.length === 0) return sql.blank;
  return sql` returning ${sql.join(
    cols.map((c) => sql`(${ALIAS}.${sql.identifier(c.name)})::text as ${sql.identifier(c.name)}`),
    ", ",
  )}`;
}

function decode(table: HasuraTable, rows: Row[]): Row[] {
  return rows.map((row) => {
    const record: Row = {};
    for (const [name, column] of table.columns) {
      const raw = row[name];
      record[name] = raw == null ? null : column.codec.fromPg(raw as string);
    }
    return record;
  });
}

/** `statement` null: nothing to do (Hasura answers an update with nothing to set without running it). */
async function run(client: PgClient, table: HasuraTable, statement: SQL | null): Promise<MutationResult> {
  if (!statement) return { affected_rows: 0, rows: [] };
  const { text, values } = sql.compile(statement);
  const result = await client.query<Row>({ text, values: [...values] });
  return { affected_rows: (result as { rowCount?: number | null }).rowCount ?? result.rows.length, rows: decode(table, [...result.rows]) };
}

function checkColumns(
  table: HasuraTable,
  object: Row,
  allowed: (c: { canInsert: boolean; canUpdate: boolean }) => boolean,
  inputType: string,
): void {
  for (const key of Object.keys(object)) {
    const column = table.columns.get(key);
    if (!column || !allowed(column)) throw new HasuraError("validation-failed", `field '${key}' not found in type: '${inputType}'`, 400);
  }
}

function insertStatement(table: HasuraTable, objects: Row[], onConflict: Row | null, conflictPath?: string): SQL {
  if (!objects.length) throw new HasuraError("validation-failed", "objects must not be empty", 400);
  for (const o of objects) checkColumns(table, o, (c) => c.canInsert, `${table.name}_insert_input`);
  const columns = [...new Set(objects.flatMap((o) => Object.keys(o).filter((k) => o[k] !== undefined)))];
  let statement = insertInto(table, objects, columns);
  if (onConflict) statement = sql`${statement}${conflictClause(table, onConflict, conflictPath)}`;
  return sql`${statement}${returning(table)}`;
}

/** `path`: where the client's `on_conflict` is, for Hasura's error paths. */
function conflictClause(table: HasuraTable, onConflict: Row, path?: string): SQL {
  const constraint = conflictConstraints(table).find((c) => c.name === onConflict.constraint);
  if (!constraint)
    throw new HasuraError(
      "validation-failed",
      `unexpected value '${String(onConflict.constraint)}' for enum: '${table.name}_constraint'`,
      400,
    );
  const columns = (onConflict.update_columns as string[] | undefined) ?? [];
  if (columns.length === 0) return sql` on conflict on constraint ${sql.identifier(constraint.name)} do nothing`;
  for (const c of columns) {
    // The enum's placeholder when nothing is updatable (Hasura's answer and path).
    if (c === "_PLACEHOLDER") throw new HasuraError("validation-failed", "erroneous column name", 400, path);
    if (!conflictUpdateColumns(table).some((u) => u.name === c))
      throw new HasuraError("validation-failed", `unexpected value '${c}' for enum: '${table.name}_update_column'`, 400);
  }
  return sql` on conflict on constraint ${sql.identifier(constraint.name)} do update set ${sql.join(
    columns.map((c) => sql`${sql.identifier(c)} = excluded.${sql.identifier(c)}`),
    ", ",
  )} where ${updatableWhere(table, constraint, (onConflict.where as BoolExp | undefined) ?? null)}`;
}

/**
 * DO UPDATE touches the conflicting row only if the role may see and update
 * it, and only if the client's `on_conflict.where` holds there: otherwise
 * the row is skipped, as Hasura skips a row outside its update filter.
 * Postgres alone would raise an RLS error for a conflicting row that fails
 * the SELECT or UPDATE policy. The test is a sub-select over the same table
 * as the role, `FOR UPDATE` so that the UPDATE policies' USING applies as
 * well as the SELECT ones (the row is already locked by this statement).
 *
 * Postgres evaluates DO UPDATE's WHERE on that row before its RLS check
 * (ExecOnConflictUpdate), so a bare client condition would read a row the
 * role cannot see, one bit per request (an error when it matches, a skip
 * when not), and could raise errors that depend on its values. Inside the
 * sub-select the policies filter first (security-barrier quals; only
 * leakproof, error-free operators may run before them). The row is found by
 * its primary key when the role can read it (never null), else by the
 * conflict constraint's columns, which Postgres requires the role to read for
 * any ON CONFLICT. Not by ctid: under column grants the role cannot read it.
 * The sub-select sees the row as the statement's snapshot does: one committed
 * concurrently after the statement began is skipped, never read unchecked.
 */
function updatableWhere(table: HasuraTable, constraint: HasuraConstraint, where: BoolExp | null): SQL {
  const key = table.pk ?? constraint.columns;
  const sameRow = sql.join(
    key.map((c) => sql`${VISIBLE}.${sql.identifier(c)} = ${ALIAS}.${sql.identifier(c)}`),
    " and ",
  );
  const condition = where ? sql` and ${compileBoolExp(table, VISIBLE, where)}` : sql.blank;
  return sql`exists (select 1 from ${table.resource.from as SQL} as ${VISIBLE} where ${sameRow}${condition} for update)`;
}

function updateStatement(table: HasuraTable, field: string, where: SQL, set: Row | null, inc: Row | null, ops: Row): SQL | null {
  const assignments: SQL[] = [];
  if (set) {
    checkColumns(table, set, (c) => c.canUpdate, `${table.name}_set_input`);
    for (const [c, v] of Object.entries(set)) {
      if (v !== undefined) assignments.push(sql`${sql.identifier(c)} = ${typedValue(table.columns.get(c)!.codec, v)}`);
    }
  }
  if (inc) {
    checkColumns(table, inc, (c) => c.canUpdate, `${table.name}_inc_input`);
    // Postgres would refuse two assignments to one column with an internal
    // error; Hasura refuses the request while parsing it.
    const twice = set ? Object.keys(inc).filter((c) => inc[c] !== undefined && set[c] !== undefined) : [];
    if (twice.length) {
      throw new HasuraError(
        "validation-failed",
        `Column found in multiple operators: [${twice.map((c) => `'${c}'`).join(", ")}].`,
        400,
        `$.selectionSet.${field}.args`,
      );
    }
    for (const [c, v] of Object.entries(inc)) {
      if (v !== undefined)
        assignments.push(sql`${sql.identifier(c)} = ${ALIAS}.${sql.identifier(c)} + ${typedValue(table.columns.get(c)!.codec, v)}`);
    }
  }
  const setOrInc = [set, inc].flatMap((o) => (o ? Object.keys(o).filter((c) => o[c] !== undefined) : []));
  assignments.push(...jsonbAssignments(table, ALIAS, ops, setOrInc, field));
  assignments.push(...presetAssignments(table, assignments.length === 0));
  // Nothing to set and no preset: Hasura answers affected_rows 0 without running it.
  if (!assignments.length) return null;
  return sql`update ${table.resource.from as SQL} as ${ALIAS} set ${sql.join(assignments, ", ")} where ${where}${returning(table)}`;
}

function pkWhere(table: HasuraTable, values: Row): SQL {
  return sql.join(
    table.pk!.map((c) => sql`${ALIAS}.${sql.identifier(c)} = ${typedValue(table.columns.get(c)!.codec, values[c])}`),
    " and ",
  );
}

/**
 * `objects` with their nested rows (./nested-insert.ts) when any names a
 * relationship; else one INSERT statement.
 */
function insertRows(table: HasuraTable, $args: Step<Row>, field: string, one: boolean): Step<MutationResult> {
  return sideEffectWithPgClientTransaction(table.resource.executor, $args, async (client, args) => {
    const objects = one ? [args.object as Row] : asList(args.objects as Row | Row[]);
    const onConflict = (args.on_conflict as Row) ?? null;
    if (!hasNestedInput(table, objects))
      return run(client, table, insertStatement(table, objects, onConflict, `$.selectionSet.${field}.args.on_conflict`));
    const path = `$.selectionSet.${field}.args.${one ? "object" : "objects"}`;
    const tree = await insertTree(client, conflictClause, table, objects, onConflict, path, !one);
    return { affected_rows: tree.affected_rows, rows: decode(table, tree.rows) };
  }) as Step<MutationResult>;
}

function mutate(table: HasuraTable, $args: Step<Row>, statement: (args: Row) => SQL | null): Step<MutationResult> {
  return sideEffectWithPgClientTransaction(table.resource.executor, $args, (client, args) =>
    run(client, table, statement(args)),
  ) as Step<MutationResult>;
}

/** The returned rows as PostGraphile rows, so `returning { author { … } }` plans like a query. */
function returnedRows(table: HasuraTable, $result: Step<MutationResult>): PgSelectStep<AnyResource> {
  return pgSelectFromRecords(table.resource, access($result, "rows") as never) as unknown as PgSelectStep<AnyResource>;
}

function registerMutationTypes(build: Build, table: HasuraTable): void {
  const { GraphQLList, GraphQLNonNull, GraphQLInt } = build.graphql;
  const t = table.name;
  const inputFields = (cols: { name: string; codec: unknown }[]) => (): GraphQLInputFieldConfigMap =>
    Object.fromEntries(
      cols.flatMap((c) => {
        const type = build.getGraphQLTypeByPgCodec(c.codec, "input");
        return type ? [[c.name, { type }]] : [];
      }),
    );
  if (table.canInsert) {
    build.registerInputObjectType(
      `${t}_insert_input`,
      {},
      () => ({
        description: `input type for inserting data into table "${t}"`,
        fields: () => ({ ...inputFields(insertableColumns(table))(), ...nestedInsertFields(build, table) }),
      }),
      "Hasura insert_input",
    );
    registerNestedInsertTypes(build, table);
    const constraints = conflictConstraints(table);
    if (constraints.length) {
      build.registerEnumType(
        `${t}_constraint`,
        {},
        () => ({
          description: `unique or primary key constraints on table "${t}"`,
          values: Object.fromEntries(
            constraints.map((c) => [
              c.name,
              { value: c.name, description: `unique or primary key constraint on columns ${c.columns.map((x) => `"${x}"`).join(", ")}` },
            ]),
          ),
        }),
        "Hasura constraint enum",
      );
      build.registerEnumType(
        `${t}_update_column`,
        {},
        () => {
          const cols = conflictUpdateColumns(table);
          // Hasura's placeholder when nothing is updatable: only `[]` (DO NOTHING) works.
          const values = cols.length
            ? Object.fromEntries(cols.map((c) => [c.name, { value: c.name, description: "column name" }]))
            : { _PLACEHOLDER: { value: "_PLACEHOLDER", description: "placeholder (do not use)" } };
          return { description: `update columns of table "${t}"`, values };
        },
        "Hasura update_column enum",
      );
      build.registerInputObjectType(
        `${t}_on_conflict`,
        {},
        () => ({
          description: `on_conflict condition type for table "${t}"`,
          fields: () => ({
            constraint: { type: new GraphQLNonNull(build.getTypeByName(`${t}_constraint`)) },
            update_columns: {
              type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(build.getTypeByName(`${t}_update_column`)))),
              defaultValue: [],
            },
            where: { type: build.getTypeByName(`${t}_bool_exp`) },
          }),
        }),
        "Hasura on_conflict",
      );
    }
  }
  if (table.canUpdate) {
    // Without a column to set (every updatable one is a preset) there is no _set.
    if (updatableColumns(table).length)
      build.registerInputObjectType(
        `${t}_set_input`,
        {},
        () => ({ description: `input type for updating data in table "${t}"`, fields: inputFields(updatableColumns(table)) }),
        "Hasura set_input",
      );
    registerUpdateOperatorTypes(build, table);
    const numeric = incColumns(table);
    if (numeric.length) {
      build.registerInputObjectType(
        `${t}_inc_input`,
        {},
        () => ({ description: `input type for incrementing numeric columns in table "${t}"`, fields: inputFields(numeric) }),
        "Hasura inc_input",
      );
    }
  }
  if (table.pk && (table.canUpdate || table.canDelete)) {
    build.registerInputObjectType(
      `${t}_pk_columns_input`,
      {},
      () => ({
        description: `primary key columns input for table: ${t}`,
        fields: () => pkFields(build, table),
      }),
      "Hasura pk_columns_input",
    );
  }
  build.registerObjectType(
    `${t}_mutation_response`,
    {},
    () => ({
      description: `response of any mutation on the table "${t}"`,
      fields: () => {
        // biome-ignore lint/suspicious/noExplicitAny: graphile-build field specs are typed per plugin; the map is handed to build.extend as is
        const fields: Record<string, any> = {
          affected_rows: {
            type: new GraphQLNonNull(GraphQLInt),
            description: "number of rows affected by the mutation",
            plan: ($r: Step<MutationResult>) => access($r, "affected_rows"),
          },
        };
        // Without a select grant Hasura's response has only affected_rows.
        if (table.canSelect && build.getTypeByName(t)) {
          fields.returning = {
            type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(build.getTypeByName(t)))),
            description: "data from the rows affected by the mutation",
            plan: ($r: Step<MutationResult>) => returnedRows(table, $r),
          };
        }
        return fields;
      },
    }),
    "Hasura mutation_response",
  );
}

export const HasuraMutationPlugin: GraphileConfig.Plugin = {
  name: "HasuraMutationPlugin",
  version: "1.0.0",
  description: "Hasura's insert/update/delete mutations",
  after: ["HasuraQueryPlugin"],
  schema: {
    hooks: {
      init: {
        after: ["PgCodecs"],
        callback(_, build) {
          for (const table of hasuraModel(build as Build).tables) {
            if (!(table.canInsert || table.canUpdate || table.canDelete)) continue;
            registerMutationTypes(build, table);
            if (!table.canSelect) registerWriteOnlyTypes(build, table);
          }
          return _;
        },
      },
      GraphQLObjectType_fields(fields, build, context) {
        if (!context.scope.isRootMutation) return fields;
        const b = build as Build;
        const { GraphQLList, GraphQLNonNull } = b.graphql;
        // biome-ignore lint/suspicious/noExplicitAny: graphile-build field specs are typed per plugin; the map is handed to build.extend as is
        const added: Record<string, any> = {};
        for (const table of hasuraModel(b).tables) {
          // A role that cannot select the table gets affected_rows only (./write-only.ts).
          const t = table.name;
          const response = b.getTypeByName(`${t}_mutation_response`);
          const rowType = b.getTypeByName(t);
          const boolExp = b.getTypeByName(`${t}_bool_exp`);
          const onConflict = b.getTypeByName(`${t}_on_conflict`);
          const pkArgs = table.pk ? pkFields(b, table) : null;
          if (table.canInsert && insertableColumns(table).length) {
            const insertInput = b.getTypeByName(`${t}_insert_input`);
            added[`insert_${t}`] = {
              description: `insert data into the table: "${t}"`,
              type: response,
              args: {
                objects: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(insertInput))) },
                ...(onConflict ? { on_conflict: { type: onConflict } } : {}),
              },
              plan: (_$root: Step, fieldArgs: FieldArgs) => insertRows(table, fieldArgs.getRaw() as Step<Row>, `insert_${t}`, false),
            };
            // It returns the row: not for a role that cannot select the table.
            if (table.canSelect)
              added[`insert_${t}_one`] = {
                description: `insert a single row into the table: "${t}"`,
                type: rowType,
                args: { object: { type: new GraphQLNonNull(insertInput) }, ...(onConflict ? { on_conflict: { type: onConflict } } : {}) },
                plan: (_$root: Step, fieldArgs: FieldArgs) =>
                  returnedRows(table, insertRows(table, fieldArgs.getRaw() as Step<Row>, `insert_${t}_one`, true)).single(),
              };
          }
          if (table.canUpdate && (updatableColumns(table).length || table.permissions.presets.update.size)) {
            const setInput = b.getTypeByName(`${t}_set_input`);
            const incInput = b.getTypeByName(`${t}_inc_input`);
            const ops = {
              ...(setInput ? { _set: { type: setInput } } : {}),
              ...(incInput ? { _inc: { type: incInput } } : {}),
              ...updateOperatorArgs(b, table),
            };
            added[`update_${t}`] = {
              description: `update data of the table: "${t}"`,
              type: response,
              args: { where: { type: new GraphQLNonNull(boolExp) }, ...ops },
              plan: (_$root: Step, fieldArgs: FieldArgs) =>
                mutate(table, fieldArgs.getRaw() as Step<Row>, (args) =>
                  updateStatement(
                    table,
                    `update_${t}`,
                    compileBoolExp(table, ALIAS, args.where as BoolExp),
                    (args._set as Row) ?? null,
                    (args._inc as Row) ?? null,
                    args,
                  ),
                ),
            };
            added[`update_${t}_many`] = {
              description: `update multiples rows of table: "${t}"`,
              type: new GraphQLList(response),
              args: {
                updates: {
                  type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(b.getTypeByName(`${t}_updates`)))),
                  description: "updates to execute, in order",
                },
              },
              // One statement per entry, in order, in the request's transaction.
              plan: (_$root: Step, fieldArgs: FieldArgs) =>
                sideEffectWithPgClientTransaction(
                  table.resource.executor,
                  fieldArgs.getRaw("updates") as Step<Row[]>,
                  async (client, updates) => {
                    const results: MutationResult[] = [];
                    for (const u of asList(updates)) {
                      const statement = updateStatement(
                        table,
                        `update_${t}_many`,
                        compileBoolExp(table, ALIAS, u.where as BoolExp),
                        (u._set as Row) ?? null,
                        (u._inc as Row) ?? null,
                        u,
                      );
                      results.push(await run(client, table, statement));
                    }
                    return results;
                  },
                ),
            };
            if (table.pk) {
              added[`update_${t}_by_pk`] = {
                description: `update single row of the table: "${t}"`,
                type: rowType,
                args: { pk_columns: { type: new GraphQLNonNull(b.getTypeByName(`${t}_pk_columns_input`)) }, ...ops },
                plan: (_$root: Step, fieldArgs: FieldArgs) =>
                  returnedRows(
                    table,
                    mutate(table, fieldArgs.getRaw() as Step<Row>, (args) =>
                      updateStatement(
                        table,
                        `update_${t}_by_pk`,
                        pkWhere(table, args.pk_columns as Row),
                        (args._set as Row) ?? null,
                        (args._inc as Row) ?? null,
                        args,
                      ),
                    ),
                  ).single(),
              };
            }
          }
          if (table.canDelete) {
            added[`delete_${t}`] = {
              description: `delete data from the table: "${t}"`,
              type: response,
              args: { where: { type: new GraphQLNonNull(boolExp) } },
              plan: (_$root: Step, fieldArgs: FieldArgs) =>
                mutate(
                  table,
                  fieldArgs.getRaw() as Step<Row>,
                  (args) =>
                    sql`delete from ${table.resource.from as SQL} as ${ALIAS} where ${compileBoolExp(table, ALIAS, args.where as BoolExp)}${returning(table)}`,
                ),
            };
            if (pkArgs) {
              added[`delete_${t}_by_pk`] = {
                description: `delete single row from the table: "${t}"`,
                type: rowType,
                args: pkArgs,
                plan: (_$root: Step, fieldArgs: FieldArgs) =>
                  returnedRows(
                    table,
                    mutate(
                      table,
                      fieldArgs.getRaw() as Step<Row>,
                      (args) => sql`delete from ${table.resource.from as SQL} as ${ALIAS} where ${pkWhere(table, args)}${returning(table)}`,
                    ),
                  ).single(),
              };
            }
          }
        }
        return b.extend(fields, added, "Hasura mutation root fields");
      },
    },
  },
};
