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
/** Takes `max`/`min`. */
export const isOrderable = (c: HasuraColumn) => ORDERABLE.has(baseCodec(c.codec).name);

export const selectableColumns = (t: HasuraTable) => [...t.columns.values()].filter((c) => c.canSelect);
export const insertableColumns = (t: HasuraTable) => [...t.columns.values()].filter((c) => c.canInsert);
export const updatableColumns = (t: HasuraTable) => [...t.columns.values()].filter((c) => c.canUpdate);

/** Hasura's column aggregates (`t_avg_fields`, `t_max_order_by`, …), in its field order. */
export const AGGREGATES: Record<string, { fn: SQL; takes: (c: HasuraColumn) => boolean }> = {
  avg: { fn: sql`avg`, takes: isNumeric },
  max: { fn: sql`max`, takes: isOrderable },
  min: { fn: sql`min`, takes: isOrderable },
  sum: { fn: sql`sum`, takes: isNumeric },
};
