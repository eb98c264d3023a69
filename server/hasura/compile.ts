/**
 * Hasura's `where` and `order_by` arguments, compiled to SQL fragments at
 * run time (the planner sees only the argument's step; its value decides
 * the SQL shape). Identifiers come from the role's HasuraModel only, every
 * value is a bind parameter cast to its column's type.
 *
 * Relationship filters and orderings are correlated subqueries; they run as
 * the request's role, so the related table's RLS applies inside them as it
 * does in Hasura, where the related table's select filter is applied.
 */
import { listOfCodec, TYPES } from "@dataplan/pg";
import { sql, type SQL } from "pg-sql2";
import { HasuraError } from "../errors.ts";
import { AGGREGATE_PREDICATES, AGGREGATES, baseCodec, isBoolean } from "./columns.ts";
import { CASTS } from "./comparison.ts";
import { computedCall, computedFieldWithoutArgs, type HasuraComputedField } from "./functions.ts";
import type { AnyCodec, HasuraColumn, HasuraRelationship, HasuraTable } from "./model.ts";

export type BoolExp = Record<string, unknown>;

/** GraphQL input coercion: a single value where a list is expected is a one-element list. */
export function asList<T>(value: T | T[] | null | undefined): T[] {
  return value == null ? [] : Array.isArray(value) ? value : [value];
}

const COMPARISONS: Record<string, SQL> = {
  _eq: sql`=`,
  _neq: sql`<>`,
  _gt: sql`>`,
  _lt: sql`<`,
  _gte: sql`>=`,
  _lte: sql`<=`,
  _like: sql`like`,
  _nlike: sql`not like`,
  _ilike: sql`ilike`,
  _nilike: sql`not ilike`,
  _similar: sql`similar to`,
  _nsimilar: sql`not similar to`,
  _regex: sql`~`,
  _nregex: sql`!~`,
  _iregex: sql`~*`,
  _niregex: sql`!~*`,
  _contains: sql`@>`,
  _contained_in: sql`<@`,
};

/**
 * A table alias for a subquery. pg-sql2 names a symbol when it compiles the
 * statement (`__article_2`, by order of appearance), so the same request
 * shape is the same SQL text and reuses its prepared statement; a name
 * chosen here would have to be unique across the whole statement, and one
 * numbered per call made every statement new.
 */
export function freshAlias(table: HasuraTable): SQL {
  return sql.identifier(Symbol(table.name));
}

export function typedValue(codec: AnyCodec, value: unknown): SQL {
  return sql`${sql.value(codec.toPg(value))}::${codec.sqlType}`;
}

function typedList(codec: AnyCodec, values: unknown[]): SQL {
  const list = listOfCodec(codec);
  return sql`${sql.value(list.toPg(values))}::${list.sqlType}`;
}

/** `where` for rows of `table` named `alias`. `{}` is true. */
export function compileBoolExp(table: HasuraTable, alias: SQL, exp: BoolExp | null | undefined): SQL {
  if (exp == null) return sql.true;
  const parts: SQL[] = [];
  for (const [key, value] of Object.entries(exp)) {
    if (value === undefined) continue;
    if (key === "_and" || key === "_or") {
      const items = asList(value as BoolExp | BoolExp[]);
      const compiled = items.map((item) => compileBoolExp(table, alias, item));
      if (key === "_and") parts.push(compiled.length ? sql.parens(sql.join(compiled, " and ")) : sql.true);
      else parts.push(compiled.length ? sql.parens(sql.join(compiled, " or ")) : sql.false);
    } else if (key === "_not") {
      if (value === null) throw nullValue("_not");
      parts.push(sql`not ${sql.parens(compileBoolExp(table, alias, value as BoolExp))}`);
    } else {
      const column = table.columns.get(key);
      if (column?.canSelect) {
        parts.push(compileComparison(column, sql`${alias}.${sql.identifier(key)}`, value as BoolExp));
        continue;
      }
      const computed = computedFieldWithoutArgs(table, key);
      if (computed) {
        parts.push(compileComputed(computed, alias, value as BoolExp));
        continue;
      }
      const aggRel = aggregatePredicateRelationship(table, key);
      if (aggRel) {
        parts.push(compileAggregatePredicate(aggRel, alias, key, value as BoolExp));
        continue;
      }
      const rel = table.relationships.find((r) => r.name === key);
      if (!rel) throw new HasuraError("validation-failed", `field '${key}' not found in type: '${table.name}_bool_exp'`, 400);
      if (value === null) throw nullValue(key);
      const inner = freshAlias(rel.target);
      parts.push(
        sql`exists (select 1 from ${rel.target.resource.from as SQL} as ${inner} where ${joinCondition(rel, alias, inner)} and ${compileBoolExp(rel.target, inner, value as BoolExp)})`,
      );
    }
  }
  return parts.length ? sql.parens(sql.join(parts, " and ")) : sql.true;
}

/** `<rel>_aggregate` in a `where`: an array relationship whose table the role may aggregate. */
function aggregatePredicateRelationship(table: HasuraTable, key: string): HasuraRelationship | undefined {
  if (!key.endsWith("_aggregate")) return undefined;
  return table.relationships.find((r) => r.kind === "array" && `${r.name}_aggregate` === key && r.target.permissions.allowAggregations);
}

/**
 * Hasura's aggregate predicate: `{count: {arguments, distinct, filter,
 * predicate}}` (or `bool_and` / `bool_or`) compares one aggregate over the
 * related rows (those the role may see, narrowed by `filter`) with
 * `predicate`. The aggregate is a scalar subquery run as the role.
 */
function compileAggregatePredicate(rel: HasuraRelationship, outer: SQL, key: string, value: BoolExp): SQL {
  if (value === null) throw nullValue(key);
  const target = rel.target;
  const given = Object.entries(value).filter(([, v]) => v !== undefined);
  if (given.length !== 1) throw new HasuraError("validation-failed", "exactly one predicate should be specified", 400);
  const [name, spec] = given[0]! as [string, BoolExp | null];
  const signature = AGGREGATE_PREDICATES[name];
  if (!signature) throw new HasuraError("validation-failed", `field '${name}' not found in type: '${target.name}_aggregate_bool_exp'`, 400);
  if (spec === null) throw nullValue(name);
  if (spec.predicate == null) {
    throw new HasuraError(
      "validation-failed",
      `missing required field 'predicate' in type '${target.name}_aggregate_bool_exp_${name}'`,
      400,
    );
  }
  const inner = freshAlias(target);
  const columns = asList(spec.arguments as string | string[] | null).map((c) => {
    const column = target.columns.get(c);
    const fits = signature.argument === "columns" ? column?.canSelect : column?.canSelect && isBoolean(column);
    if (!fits) throw new HasuraError("validation-failed", `unexpected value '${c}' for the arguments of '${name}'`, 400);
    return sql`${inner}.${sql.identifier(c)}`;
  });
  if (signature.argument === "bool" && columns.length !== 1) {
    throw new HasuraError("validation-failed", `'${name}' takes one column as its arguments`, 400);
  }
  const distinct = spec.distinct === true ? sql`distinct ` : sql.blank;
  // Several columns count as one row value, as count(columns:) of t_aggregate_fields does.
  const args = columns.length === 0 ? sql`*` : sql`${distinct}${columns.length === 1 ? columns[0]! : sql`(${sql.join(columns, ", ")})`}`;
  const aggregate = signature.result === "int" ? sql`${signature.fn}(${args})::int` : sql`${signature.fn}(${args})`;
  const from = target.resource.from as SQL;
  const subquery = sql`(select ${aggregate} from ${from} as ${inner} where ${joinCondition(rel, outer, inner)} and ${compileBoolExp(target, inner, spec.filter as BoolExp | null)})`;
  const codec = signature.result === "int" ? TYPES.int : TYPES.boolean;
  return compileComparison({ name: "predicate", codec }, subquery, spec.predicate as BoolExp);
}

function nullValue(field: string): HasuraError {
  return new HasuraError("validation-failed", `unexpected null value for field '${field}'`, 400);
}

export function joinCondition(rel: HasuraRelationship, outer: SQL, inner: SQL): SQL {
  return sql.join(
    rel.localColumns.map((local, i) => sql`${inner}.${sql.identifier(rel.remoteColumns[i])} = ${outer}.${sql.identifier(local)}`),
    " and ",
  );
}

/** A scalar computed field compares like a column; a `setof <table>` one filters like an array relationship. */
function compileComputed(field: HasuraComputedField, alias: SQL, value: BoolExp): SQL {
  const call = computedCall(field, alias);
  const target = field.returns.table;
  if (!target) return compileComparison({ name: field.name, codec: field.returns.codec }, call, value);
  if (value === null) throw nullValue(field.name);
  const inner = freshAlias(target);
  return sql`exists (select 1 from ${call} as ${inner} where ${compileBoolExp(target, inner, value)})`;
}

function compileComparison(column: Pick<HasuraColumn, "name" | "codec">, expr: SQL, ops: BoolExp): SQL {
  if (ops === null) throw nullValue(column.name);
  const parts: SQL[] = [];
  for (const [op, value] of Object.entries(ops)) {
    if (value === undefined) continue;
    if (value === null) throw nullValue(op);
    const codec = column.codec;
    if (op === "_cast") {
      parts.push(compileCasts(column, expr, value as BoolExp));
    } else if (op === "_is_null") {
      parts.push(value ? sql`${expr} is null` : sql`${expr} is not null`);
    } else if (op === "_in") {
      parts.push(sql`${expr} = any(${typedList(codec, value as unknown[])})`);
    } else if (op === "_nin") {
      parts.push(sql`${expr} <> all(${typedList(codec, value as unknown[])})`);
    } else if (op === "_has_key") {
      parts.push(sql`${expr} ? ${sql.value(String(value))}::text`);
    } else if (op === "_has_keys_any" || op === "_has_keys_all") {
      const keys = sql`${sql.value((value as string[]).map(String))}::text[]`;
      parts.push(op === "_has_keys_any" ? sql`${expr} ?| ${keys}` : sql`${expr} ?& ${keys}`);
    } else if (COMPARISONS[op]) {
      parts.push(sql`${expr} ${COMPARISONS[op]} ${typedValue(codec, value)}`);
    } else {
      throw new HasuraError("validation-failed", `field '${op}' not found in comparison expression`, 400);
    }
  }
  return parts.length ? sql.parens(sql.join(parts, " and ")) : sql.true;
}

/** `_cast: {String: {…}}`: the value cast to each named type, compared as that type (comparison.ts CASTS). */
function compileCasts(column: Pick<HasuraColumn, "name" | "codec">, expr: SQL, casts: BoolExp): SQL {
  const base = baseCodec(column.codec).name;
  const targets = CASTS[base] ?? {};
  const parts: SQL[] = [];
  for (const [typeName, ops] of Object.entries(casts)) {
    if (ops === undefined) continue;
    const target = Object.hasOwn(targets, typeName) ? targets[typeName] : undefined;
    if (!target) throw new HasuraError("validation-failed", `field '${typeName}' not found in type: '${base}_cast_exp'`, 400);
    parts.push(compileComparison({ name: typeName, codec: target }, sql`(${expr})::${target.sqlType}`, ops as BoolExp));
  }
  return parts.length ? sql.parens(sql.join(parts, " and ")) : sql.true;
}

/** One ORDER BY term (a PgOrderSpec PostGraphile's query builder accepts). */
export interface OrderTerm {
  fragment: SQL;
  codec: AnyCodec;
  direction: "ASC" | "DESC";
  nulls: "FIRST" | "LAST";
}

/** Hasura's `order_by` enum values: the enum (query-plugin.ts) is generated from this table. */
export const DIRECTIONS: Record<string, Pick<OrderTerm, "direction" | "nulls">> = {
  asc: { direction: "ASC", nulls: "LAST" },
  asc_nulls_last: { direction: "ASC", nulls: "LAST" },
  asc_nulls_first: { direction: "ASC", nulls: "FIRST" },
  desc: { direction: "DESC", nulls: "FIRST" },
  desc_nulls_first: { direction: "DESC", nulls: "FIRST" },
  desc_nulls_last: { direction: "DESC", nulls: "LAST" },
};

export type OrderBy = Record<string, unknown>;

/**
 * `order_by` as ORDER BY terms for rows of `table` named `alias`. Keys of
 * one object keep their order, as in Hasura.
 */
export function compileOrderBy(table: HasuraTable, alias: SQL, orderBy: OrderBy | OrderBy[] | null | undefined): OrderTerm[] {
  const items = asList(orderBy);
  const specs: OrderTerm[] = [];
  for (const item of items) {
    for (const [key, value] of Object.entries(item)) {
      if (value == null) continue;
      const column = table.columns.get(key);
      if (column?.canSelect) {
        specs.push({ fragment: sql`${alias}.${sql.identifier(key)}`, codec: column.codec, ...direction(value) });
        continue;
      }
      const computed = computedFieldWithoutArgs(table, key);
      if (computed && !computed.returns.table) {
        specs.push({ fragment: computedCall(computed, alias), codec: computed.returns.codec, ...direction(value) });
        continue;
      }
      const aggRel = key.endsWith("_aggregate")
        ? table.relationships.find((r) => r.kind === "array" && `${r.name}_aggregate` === key)
        : undefined;
      if (aggRel) {
        specs.push(...aggregateOrder(aggRel, alias, value as OrderBy));
        continue;
      }
      const rel = table.relationships.find((r) => r.kind === "object" && r.name === key);
      if (!rel) throw new HasuraError("validation-failed", `field '${key}' not found in type: '${table.name}_order_by'`, 400);
      const inner = freshAlias(rel.target);
      for (const spec of compileOrderBy(rel.target, inner, value as OrderBy)) {
        specs.push({
          ...spec,
          fragment: sql`(select ${spec.fragment} from ${rel.target.resource.from as SQL} as ${inner} where ${joinCondition(rel, alias, inner)} limit 1)`,
        });
      }
    }
  }
  return specs;
}

function direction(value: unknown): Pick<OrderTerm, "direction" | "nulls"> {
  const d = DIRECTIONS[String(value)];
  if (!d) throw new HasuraError("validation-failed", `unexpected value '${String(value)}' for enum: 'order_by'`, 400);
  return d;
}

function aggregateOrder(rel: HasuraRelationship, alias: SQL, value: OrderBy): OrderTerm[] {
  const specs: OrderTerm[] = [];
  const from = rel.target.resource.from as SQL;
  for (const [fn, inner] of Object.entries(value)) {
    if (inner == null) continue;
    const a = freshAlias(rel.target);
    const where = joinCondition(rel, alias, a);
    if (fn === "count") {
      specs.push({ fragment: sql`(select count(*) from ${from} as ${a} where ${where})`, codec: TYPES.bigint, ...direction(inner) });
      continue;
    }
    const aggregate = AGGREGATES[fn]?.fn;
    if (!aggregate)
      throw new HasuraError("validation-failed", `field '${fn}' not found in type: '${rel.target.name}_aggregate_order_by'`, 400);
    for (const [col, dir] of Object.entries(inner as OrderBy)) {
      const column = rel.target.columns.get(col);
      if (!column?.canSelect)
        throw new HasuraError("validation-failed", `field '${col}' not found in type: '${rel.target.name}_${fn}_order_by'`, 400);
      specs.push({
        fragment: sql`(select ${aggregate}(${a}.${sql.identifier(col)}) from ${from} as ${a} where ${where})`,
        codec: column.codec,
        ...direction(dir),
      });
    }
  }
  return specs;
}
