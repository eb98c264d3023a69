/**
 * Hasura's nested inserts: `t_insert_input` takes, besides columns, a field
 * per relationship whose target the role may insert into, typed
 * `<target>_obj_rel_insert_input { data, on_conflict }` or
 * `<target>_arr_rel_insert_input { data: [...], on_conflict }`.
 *
 * An object tree is written as Hasura writes it (its Execute/Insert.hs),
 * one INSERT per table and row group, all in the mutation's transaction and
 * all as the request's role: every row meets its own table's grants and
 * WITH CHECK, and one refusal rolls the whole request back. A row reached
 * through this table's own foreign key (`article.author`) is inserted first
 * and its key copied into the row; rows whose foreign key points here
 * (`author.articles`, a one-to-one back) are inserted after it, with its
 * key. `affected_rows` counts every row inserted.
 *
 * Keys travel between statements as the text Postgres returned, bound as
 * parameters and cast to the receiving column's type; identifiers come
 * from the role's model only. A statement RETURNs only what is needed: the
 * keys the next statements take and, for the mutation's own rows, what
 * `returning` may show. So a nested row the role may insert but not read
 * is inserted as in Hasura, except where its key must be read back (an
 * object relationship's target, a row with nested rows of its own): there
 * RETURNING makes Postgres check the role's SELECT policy on it.
 */
import type { PgClient } from "@dataplan/pg";
import type { GraphQLInputFieldConfigMap } from "graphql";
import { sql, type SQL } from "pg-sql2";
import { errors, HasuraError } from "../errors.ts";
import { toHasuraError } from "../to-hasura-error.ts";
import { insertableColumns, selectableColumns } from "./columns.ts";
import { typedValue } from "./compile.ts";
import type { Build } from "./field-args.ts";
import type { HasuraRelationship, HasuraTable } from "./model.ts";

type Row = Record<string, unknown>;

export interface InsertOutcome {
  affected_rows: number;
  /** The mutation's own rows as Postgres returned them: the role's readable columns, as text. */
  rows: Row[];
}

/**
 * The caller's `ON CONFLICT …` for `table` (./mutation-plugin.ts: checks
 * the constraint and update columns, guards `where`). It names the row
 * being inserted `t`, as every statement here aliases its target.
 */
export type ConflictClause = (table: HasuraTable, onConflict: Row) => SQL;

const ALIAS = sql.identifier("t");

/** The related row is inserted before this one (this table holds the foreign key). */
const insertedFirst = (rel: HasuraRelationship) => !rel.isReferencee;

/** Whether the role may set `column` of `table` in an insert (granted, and no preset forces it). */
function settable(table: HasuraTable, column: string): boolean {
  return insertableColumns(table).some((c) => c.name === column) && !table.permissions.presets.insert.has(column);
}

/**
 * The relationships `t_insert_input` offers: the role may insert into the
 * target (Hasura: an insert permission on it), and may set the key columns
 * on the side that receives the other's key.
 */
export function insertableRelationships(table: HasuraTable): HasuraRelationship[] {
  let rels = offered.get(table);
  if (!rels) {
    rels = table.relationships.filter((rel) => {
      if (!rel.target.canInsert || insertableColumns(rel.target).length === 0) return false;
      return insertedFirst(rel)
        ? rel.localColumns.every((c) => settable(table, c))
        : rel.remoteColumns.every((c) => settable(rel.target, c));
    });
    offered.set(table, rels);
  }
  return rels;
}
const offered = new WeakMap<HasuraTable, HasuraRelationship[]>();

/** `t_obj_rel_insert_input` and `t_arr_rel_insert_input`, for a table the role may insert into. */
export function registerNestedInsertTypes(build: Build, table: HasuraTable): void {
  const { GraphQLList, GraphQLNonNull } = build.graphql;
  const t = table.name;
  const onConflict = () => {
    const type = build.getTypeByName(`${t}_on_conflict`);
    return type ? { on_conflict: { type, description: "upsert condition" } } : {};
  };
  build.registerInputObjectType(
    `${t}_obj_rel_insert_input`,
    {},
    () => ({
      description: `input type for inserting object relation for remote table "${t}"`,
      fields: () => ({ data: { type: new GraphQLNonNull(build.getTypeByName(`${t}_insert_input`)) }, ...onConflict() }),
    }),
    "Hasura obj_rel_insert_input",
  );
  build.registerInputObjectType(
    `${t}_arr_rel_insert_input`,
    {},
    () => ({
      description: `input type for inserting array relation for remote table "${t}"`,
      fields: () => ({
        data: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(build.getTypeByName(`${t}_insert_input`)))) },
        ...onConflict(),
      }),
    }),
    "Hasura arr_rel_insert_input",
  );
}

/** The relationship fields of `t_insert_input`. */
export function nestedInsertFields(build: Build, table: HasuraTable): GraphQLInputFieldConfigMap {
  return Object.fromEntries(
    insertableRelationships(table).flatMap((rel) => {
      const type = build.getTypeByName(`${rel.target.name}_${rel.kind === "array" ? "arr" : "obj"}_rel_insert_input`);
      if (!type) return [];
      return [[rel.name, { type, description: rel.kind === "array" ? "An array relationship" : "An object relationship" }]];
    }),
  );
}

/** Whether any object names a relationship, even as null (else the plain one-statement insert does). */
export function hasNestedInput(table: HasuraTable, objects: Row[]): boolean {
  const rels = insertableRelationships(table);
  return rels.length > 0 && objects.some((o) => rels.some((r) => o[r.name] !== undefined));
}

interface Context {
  client: PgClient;
  conflict: ConflictClause;
}

interface Written {
  affected: number;
  /** As Postgres returned them (text), the columns asked for. */
  rows: Row[];
}

/**
 * Inserts `objects` into `table` with their nested rows. `path` is Hasura's
 * error path of the objects (`$.selectionSet.insert_t.args.objects`), `list`
 * whether it is a list (errors name the index).
 */
export async function insertTree(
  client: PgClient,
  conflict: ConflictClause,
  table: HasuraTable,
  objects: Row[],
  onConflict: Row | null,
  path: string,
  list: boolean,
): Promise<InsertOutcome> {
  const returning = table.canSelect ? selectableColumns(table).map((c) => c.name) : [];
  const written = await insertMany({ client, conflict }, table, objects, onConflict, new Map(), returning, path, list);
  return { affected_rows: written.affected, rows: written.rows };
}

async function insertMany(
  ctx: Context,
  table: HasuraTable,
  objects: Row[],
  onConflict: Row | null,
  fixed: ReadonlyMap<string, SQL>,
  returning: string[],
  path: string,
  list: boolean,
): Promise<Written> {
  const at = (i: number) => (list ? `${path}[${i}]` : path);
  const rels = insertableRelationships(table);
  if (!objects.some((o) => rels.some((r) => o[r.name] != null))) {
    const columns = new Set(objects.flatMap((o, i) => checkColumns(table, o, fixed, at(i))));
    return execute(ctx, insertSql(ctx, table, objects, [...columns], fixed, onConflict, returning), path);
  }
  // Hasura inserts an object with relationships on its own, in order.
  const out: Written = { affected: 0, rows: [] };
  for (let i = 0; i < objects.length; i++) {
    const one = await insertOne(ctx, table, objects[i]!, onConflict, fixed, returning, at(i));
    out.affected += one.affected;
    out.rows.push(...one.rows);
  }
  return out;
}

async function insertOne(
  ctx: Context,
  table: HasuraTable,
  object: Row,
  onConflict: Row | null,
  fixed: ReadonlyMap<string, SQL>,
  returning: string[],
  path: string,
): Promise<Written> {
  const rels = insertableRelationships(table).filter((r) => object[r.name] != null);
  const columns = checkColumns(table, object, fixed, path);
  const first = rels.filter(insertedFirst);
  const after = rels.filter((r) => !insertedFirst(r));
  for (const rel of first) {
    const taken = rel.localColumns.filter((c) => fixed.has(c) || columns.includes(c));
    if (taken.length) {
      throw new HasuraError(
        "validation-failed",
        `cannot insert object relationship "${rel.name}" as ${quoted(taken)} column values are already determined`,
        400,
        `${path}.${rel.name}`,
      );
    }
  }

  let affected = 0;
  const values = new Map(fixed);
  for (const rel of first) {
    const input = object[rel.name] as Row;
    const target = await insertOne(
      ctx,
      rel.target,
      input.data as Row,
      (input.on_conflict as Row) ?? null,
      new Map(),
      rel.remoteColumns,
      `${path}.${rel.name}.data`,
    );
    const row = target.rows[0];
    if (!row) {
      throw new HasuraError(
        "not-supported",
        `cannot proceed to insert object relation "${rel.name}" since insert to table "${rel.target.name}" affects zero rows`,
        400,
        `${path}.${rel.name}`,
      );
    }
    affected += target.affected;
    for (const [i, local] of rel.localColumns.entries()) values.set(local, keyValue(table, local, row[rel.remoteColumns[i]!]));
  }

  const needed = [...new Set([...returning, ...after.flatMap((r) => r.localColumns)])];
  const own = await execute(ctx, insertSql(ctx, table, [object], columns, values, onConflict, needed), path);
  affected += own.affected;
  const row = own.rows[0];
  if (after.length && !row) {
    throw new HasuraError(
      "not-supported",
      `cannot proceed to insert array relations since insert to table "${table.name}" affects zero rows`,
      400,
      path,
    );
  }
  for (const rel of after) {
    const input = object[rel.name] as Row;
    const parentKey = new Map(rel.remoteColumns.map((remote, i) => [remote, keyValue(rel.target, remote, row![rel.localColumns[i]!])]));
    const data = rel.kind === "array" ? (input.data as Row[]) : [input.data as Row];
    if (!data.length) continue;
    const children = await insertMany(
      ctx,
      rel.target,
      data,
      (input.on_conflict as Row) ?? null,
      parentKey,
      [],
      `${path}.${rel.name}.data`,
      rel.kind === "array",
    );
    affected += children.affected;
  }
  return { affected, rows: own.rows };
}

/** The object's column names; a column the parent's key determines, or an unknown one, is refused. */
function checkColumns(table: HasuraTable, object: Row, fixed: ReadonlyMap<string, SQL>, path: string): string[] {
  const rels = new Set(insertableRelationships(table).map((r) => r.name));
  const columns: string[] = [];
  for (const [key, value] of Object.entries(object)) {
    if (value === undefined || rels.has(key)) continue;
    if (!table.columns.get(key)?.canInsert) {
      throw new HasuraError("validation-failed", `field '${key}' not found in type: '${table.name}_insert_input'`, 400, path);
    }
    columns.push(key);
  }
  const taken = columns.filter((c) => fixed.has(c));
  if (taken.length) {
    throw new HasuraError(
      "validation-failed",
      `cannot insert ${quoted(taken)} columns as their values are already being determined by parent insert`,
      400,
      path,
    );
  }
  return columns;
}

const quoted = (columns: string[]) => columns.map((c) => `"${c}"`).join(", ");

/** A key value Postgres returned as text, bound and cast to the receiving column's type. */
function keyValue(table: HasuraTable, column: string, raw: unknown): SQL {
  return raw == null ? sql.null : sql`${sql.value(String(raw))}::${table.columns.get(column)!.codec.sqlType}`;
}

/**
 * `insert into <table> as t (…) values …` of `objects`' `given` columns
 * (checked by the caller) and the `fixed` ones (same SQL in every row); a
 * column an object lacks is `default`. The plain insert uses it too.
 */
export function insertInto(table: HasuraTable, objects: Row[], given: string[], fixed: ReadonlyMap<string, SQL> = new Map()): SQL {
  const columns = [...given, ...fixed.keys()];
  const target = sql`${table.resource.from as SQL} as ${ALIAS}`;
  if (columns.length === 0) {
    if (objects.length > 1) throw new HasuraError("validation-failed", "cannot insert several rows without any column", 400);
    return sql`insert into ${target} default values`;
  }
  const rows = objects.map(
    (o) =>
      sql`(${sql.join(
        columns.map((c) => fixed.get(c) ?? (o[c] === undefined ? sql`default` : typedValue(table.columns.get(c)!.codec, o[c]))),
        ", ",
      )})`,
  );
  return sql`insert into ${target} (${sql.join(
    columns.map((c) => sql.identifier(c)),
    ", ",
  )}) values ${sql.join(rows, ", ")}`;
}

/** The INSERT with `on_conflict`, RETURNING `returning` as text. */
function insertSql(
  ctx: Context,
  table: HasuraTable,
  objects: Row[],
  given: string[],
  fixed: ReadonlyMap<string, SQL>,
  onConflict: Row | null,
  returning: string[],
): SQL {
  let statement = insertInto(table, objects, given, fixed);
  if (onConflict) statement = sql`${statement}${ctx.conflict(table, onConflict)}`;
  if (!returning.length) return statement;
  return sql`${statement} returning ${sql.join(
    returning.map((c) => sql`(${ALIAS}.${sql.identifier(c)})::text as ${sql.identifier(c)}`),
    ", ",
  )}`;
}

/**
 * Runs one statement. A refusal (check, uniqueness, foreign key) names the
 * nested input it came from, as Hasura's path does.
 */
async function execute(ctx: Context, statement: SQL, path: string): Promise<Written> {
  const { text, values } = sql.compile(statement);
  try {
    const result = await ctx.client.query<Row>({ text, values: [...values] });
    return { affected: (result as { rowCount?: number | null }).rowCount ?? result.rows.length, rows: [...result.rows] };
  } catch (e) {
    const mapped = e instanceof HasuraError ? null : toHasuraError(e, undefined);
    if (mapped && (mapped.code === "constraint-violation" || mapped.code === "permission-error")) {
      // Hasura words a failed insert check unlike an update's (its withCheckPermission).
      const message = mapped.message === errors.checkViolation().message ? errors.insertCheckViolation().message : mapped.message;
      throw new HasuraError(mapped.code, message, mapped.statusCode, path);
    }
    throw e;
  }
}
