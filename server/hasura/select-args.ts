/**
 * Hasura's select arguments (`where`, `order_by`, `limit`, `offset`,
 * `distinct_on`) applied to a PostGraphile PgSelectStep, so a whole nested
 * query still plans into one SQL statement.
 */
import type { PgSelectQueryBuilder, PgSelectStep } from "@dataplan/pg";
import { constant, lambda, type FieldArgs, type Step } from "grafast";
import { sql, type SQL } from "pg-sql2";
import { HasuraError } from "../errors.ts";
import { asList, compileBoolExp, compileOrderBy, freshAlias, type BoolExp, type OrderBy, type OrderTerm } from "./compile.ts";
import type { AnyResource, HasuraTable } from "./model.ts";

interface SelectArgs {
  where?: BoolExp | null;
  order_by?: OrderBy | OrderBy[] | null;
  distinct_on?: string[] | string | null;
  limit?: number | null;
  offset?: number | null;
}

function nonNegative(value: unknown): number | null {
  if (value == null) return null;
  if (typeof value !== "number" || value < 0) {
    throw new HasuraError("validation-failed", "expected a non-negative 32-bit integer for type 'Int', but found an integer", 400);
  }
  return value;
}

/**
 * Where `distinct_on` and an aggregate's `limit`/`offset` read the rows again
 * when they are not the table's: a function call built from the value of
 * `$args` (./function-plugin.ts), or null where they cannot be read again
 * (a computed field: its field has no `distinct_on`).
 */
export interface RowSource {
  $args: Step;
  from: ((args: unknown) => SQL) | null;
}

export function applySelectArgs($select: PgSelectStep<AnyResource>, table: HasuraTable, fieldArgs: FieldArgs, source?: RowSource): void {
  selectArgsApplier(table, fieldArgs, source)($select);
}

/**
 * applySelectArgs in two steps: its steps are made first, so a select made
 * after them (a volatile function's, a side effect, which may only depend on
 * steps made before it) can take them.
 */
export function selectArgsApplier(
  table: HasuraTable,
  fieldArgs: FieldArgs,
  source?: RowSource,
): ($select: PgSelectStep<AnyResource>) => void {
  const $args = {
    where: fieldArgs.getRaw("where"),
    order_by: fieldArgs.getRaw("order_by"),
    distinct_on: table.pk && source?.from !== null ? fieldArgs.getRaw("distinct_on") : constant(null),
    limit: fieldArgs.getRaw("limit"),
    offset: fieldArgs.getRaw("offset"),
  };
  const $apply = lambda(
    [$args.where, $args.order_by, $args.distinct_on, $args.limit, $args.offset, source?.$args ?? constant(null)],
    ([where, orderBy, distinctOn, limit, offset, sourceArgs]) =>
      (qb: PgSelectQueryBuilder) =>
        applyToQuery(
          qb,
          table,
          {
            where: where as BoolExp,
            order_by: orderBy as OrderBy,
            distinct_on: distinctOn as string[] | null,
            limit: nonNegative(limit),
            offset: nonNegative(offset),
          },
          // A null `from` offers neither distinct_on nor an aggregate, so is never called.
          () => (source ? source.from!(sourceArgs) : (table.resource.from as SQL)),
        ),
    true,
  );
  const rowLimit = table.permissions.rowLimit;
  const $first = rowLimit == null ? lambda($args.limit, nonNegative, true) : lambda($args.limit, capAt(rowLimit), true);
  const $offset = lambda($args.offset, nonNegative, true);
  return ($select) => {
    $select.apply($apply);
    $select.setFirst($first);
    $select.setOffset($offset);
  };
}

/**
 * The role's select `limit` (sql/permissions.sql): the most rows one
 * selection returns, whatever the client asks. As in Hasura it bounds the
 * rows (and an aggregate's `nodes`), not what an aggregate counts: the
 * aggregate's own clone ignores `first` (./query-plugin.ts), so `count`
 * stays the count of every row the role may see.
 */
const capsByLimit = new Map<number, (limit: unknown) => number>();
function capAt(rowLimit: number): (limit: unknown) => number {
  let cap = capsByLimit.get(rowLimit);
  if (!cap) {
    // One function per limit value: grafast deduplicates lambda steps by their callback.
    cap = (limit: unknown) => Math.min(nonNegative(limit) ?? rowLimit, rowLimit);
    capsByLimit.set(rowLimit, cap);
  }
  return cap;
}

function applyToQuery(qb: PgSelectQueryBuilder, table: HasuraTable, args: SelectArgs, from: () => SQL): void {
  const alias = qb.alias;
  if (args.where) qb.where(compileBoolExp(table, alias, args.where));
  const distinct = asList(args.distinct_on);
  if (distinct.length) qb.where(distinctRows(table, alias, distinct, args, from));
  if (qb.mode === "aggregate") {
    // In Hasura a `limit`/`offset` given to `_aggregate` bounds the rows
    // aggregated; PostGraphile's aggregate ignores pagination, so restrict
    // the rows to that window instead.
    if (args.limit != null || args.offset != null) qb.where(windowRows(table, alias, args, from));
    return;
  }
  for (const spec of compileOrderBy(table, alias, args.order_by)) qb.orderBy(spec);
}

function pkTuple(table: HasuraTable, alias: SQL): SQL {
  const pk = table.pk;
  if (!pk) {
    throw new HasuraError(
      "not-supported",
      `distinct_on, and limit/offset on an aggregate, need a primary key of '${table.name}' the role can select`,
      400,
    );
  }
  return sql.join(
    pk.map((c) => sql`${alias}.${sql.identifier(c)}`),
    ", ",
  );
}

function orderSql(specs: OrderTerm[]): SQL {
  return sql.join(
    specs.map(
      (s) =>
        sql`${s.fragment} ${s.direction === "DESC" ? sql`desc` : sql`asc`}${s.nulls === "FIRST" ? sql` nulls first` : sql` nulls last`}`,
    ),
    ", ",
  );
}

/**
 * `distinct_on`: keep the first row of each group, in `order_by` order. The
 * group's first rows are found by a DISTINCT ON subquery over the same filter
 * (PgSelectStep has no DISTINCT ON of its own).
 */
function distinctRows(table: HasuraTable, alias: SQL, distinct: string[], args: SelectArgs, from: () => SQL): SQL {
  for (const col of distinct) {
    if (!table.columns.get(col)?.canSelect)
      throw new HasuraError("validation-failed", `unexpected value '${col}' for enum: '${table.name}_select_column'`, 400);
  }
  const leading = asList(args.order_by)
    .flatMap((o) => Object.keys(o).filter((k) => o[k] != null))
    .slice(0, distinct.length);
  if (leading.length && (leading.length < distinct.length || !distinct.every((c) => leading.includes(c)))) {
    throw new HasuraError("validation-failed", `"distinct_on" columns must match initial "order_by" columns`, 400);
  }
  const inner = freshAlias(table);
  const order = compileOrderBy(table, inner, args.order_by);
  const distinctCols = sql.join(
    distinct.map((c) => sql`${inner}.${sql.identifier(c)}`),
    ", ",
  );
  const orderBy = order.length ? orderSql(order) : distinctCols;
  return sql`(${pkTuple(table, alias)}) in (select distinct on (${distinctCols}) ${pkTuple(table, inner)} from ${from()} as ${inner} where ${compileBoolExp(table, inner, args.where)} order by ${orderBy})`;
}

function windowRows(table: HasuraTable, alias: SQL, args: SelectArgs, from: () => SQL): SQL {
  const inner = freshAlias(table);
  const order = compileOrderBy(table, inner, args.order_by);
  const distinct = asList(args.distinct_on);
  return sql`(${pkTuple(table, alias)}) in (select ${pkTuple(table, inner)} from ${from()} as ${inner} where ${compileBoolExp(table, inner, args.where)}${distinct.length ? sql` and ${distinctRows(table, inner, distinct, args, from)}` : sql.blank}${order.length ? sql` order by ${orderSql(order)}` : sql.blank}${args.limit != null ? sql` limit ${sql.value(args.limit)}` : sql.blank}${args.offset != null ? sql` offset ${sql.value(args.offset)}` : sql.blank})`;
}
