/**
 * What a column offers in Hasura's dialect, decided once for the query and
 * mutation plugins and the compiler: which of a table's columns the role's
 * grants let it select, insert or update, which type class a column is in
 * (text operators, numeric aggregates and `_inc`, ordering), and the
 * aggregate functions over it. SQL function names come from AGGREGATES only.
 */
import { sql, type SQL } from "pg-sql2";
import type { AnyCodec, HasuraColumn, HasuraTable } from "./model.ts";

const TEXT = new Set(["text", "varchar", "char", "bpchar", "citext", "name"]);
const NUMERIC = new Set(["int2", "int4", "int8", "float4", "float8", "numeric", "money"]);
const ORDERABLE = new Set([...TEXT, ...NUMERIC, "date", "time", "timetz", "timestamp", "timestamptz", "interval", "uuid"]);

/** The type a domain is over (a domain takes its base type's operators). */
export function baseCodec(codec: AnyCodec): AnyCodec {
  let c = codec;
  while (c.domainOfCodec) c = c.domainOfCodec;
  return c;
}

/** Takes `_like`, `_ilike`, `_similar`, `_regex` and their negations. */
export const isTextType = (codec: AnyCodec) => TEXT.has(baseCodec(codec).name);
/** Takes `avg`/`sum` and `_inc`. */
export const isNumeric = (c: HasuraColumn) => NUMERIC.has(baseCodec(c.codec).name);
/** Takes `avg`, `stddev*`, `var*` (Postgres has none of them for money). */
const isStatistical = (c: HasuraColumn) => isNumeric(c) && baseCodec(c.codec).name !== "money";
/** Takes `max`/`min`. */
export const isOrderable = (c: HasuraColumn) => ORDERABLE.has(baseCodec(c.codec).name);

export const selectableColumns = (t: HasuraTable) => [...t.columns.values()].filter((c) => c.canSelect);
export const insertableColumns = (t: HasuraTable) => [...t.columns.values()].filter((c) => c.canInsert);
export const updatableColumns = (t: HasuraTable) => [...t.columns.values()].filter((c) => c.canUpdate);

/**
 * Hasura's column aggregates (`t_avg_fields`, `t_max_order_by`, …), in its
 * field order. `float`: Hasura types the result Float (the SQL result is
 * cast to float8), whatever the column's type.
 */
export const AGGREGATES: Record<string, { fn: SQL; takes: (c: HasuraColumn) => boolean; float?: true }> = {
  avg: { fn: sql`avg`, takes: isStatistical, float: true },
  max: { fn: sql`max`, takes: isOrderable },
  min: { fn: sql`min`, takes: isOrderable },
  stddev: { fn: sql`stddev`, takes: isStatistical, float: true },
  stddev_pop: { fn: sql`stddev_pop`, takes: isStatistical, float: true },
  stddev_samp: { fn: sql`stddev_samp`, takes: isStatistical, float: true },
  sum: { fn: sql`sum`, takes: isNumeric },
  var_pop: { fn: sql`var_pop`, takes: isStatistical, float: true },
  var_samp: { fn: sql`var_samp`, takes: isStatistical, float: true },
  variance: { fn: sql`variance`, takes: isStatistical, float: true },
};

/**
 * Hasura's aggregate predicates in `where` (`<rel>_aggregate: {count: {predicate: {_gt: 1}}}`),
 * in its field order: the aggregate, what its `arguments` take (`count`: any
 * list of columns, else one column of the type), and its result's type.
 */
export const AGGREGATE_PREDICATES: Record<string, { fn: SQL; argument: "columns" | "bool"; result: "int" | "bool" }> = {
  bool_and: { fn: sql`bool_and`, argument: "bool", result: "bool" },
  bool_or: { fn: sql`bool_or`, argument: "bool", result: "bool" },
  count: { fn: sql`count`, argument: "columns", result: "int" },
};

export const isBoolean = (c: HasuraColumn) => baseCodec(c.codec).name === "bool";
