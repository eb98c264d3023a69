/**
 * The importer's only ways of putting a name or a value into generated SQL
 * text (policies.sql, helper functions): PostgreSQL's quote_ident and
 * quote_literal, in TypeScript. Nothing from Hasura metadata reaches the
 * SQL any other way. test/import/bool-exp.test.ts checks both against the
 * server's own functions on hostile strings.
 */

// pg_get_keywords() of PostgreSQL 18 whose catcode is not 'U': quote_ident
// quotes these even when they are plain lower-case words.
const KEYWORDS = new Set(
  (
    "all analyse analyze and any array as asc asymmetric authorization between bigint binary bit boolean both case cast " +
    "char character check coalesce collate collation column concurrently constraint create cross current_catalog " +
    "current_date current_role current_schema current_time current_timestamp current_user dec decimal default deferrable " +
    "desc distinct do else end except exists extract false fetch float for foreign freeze from full grant greatest group " +
    "grouping having ilike in initially inner inout int integer intersect interval into is isnull join json json_array " +
    "json_arrayagg json_exists json_object json_objectagg json_query json_scalar json_serialize json_table json_value " +
    "lateral leading least left like limit localtime localtimestamp merge_action national natural nchar none normalize " +
    "not notnull null nullif numeric offset on only or order out outer overlaps overlay placing position precision " +
    "primary real references returning right row select session_user setof similar smallint some substring symmetric " +
    "system_user table tablesample then time timestamp to trailing treat trim true union unique user using values " +
    "varchar variadic verbose when where window with xmlattributes xmlconcat xmlelement xmlexists xmlforest " +
    "xmlnamespaces xmlparse xmlpi xmlroot xmlserialize xmltable"
  ).split(" "),
);

function refuseNul(s: string, what: string): void {
  if (s.includes("\u0000")) throw new Error(`${what} contains a NUL character, which PostgreSQL cannot store`);
}

/** quote_ident: bare when a plain lower-case non-keyword name, else "…" with " doubled. */
export function quoteIdent(name: string): string {
  refuseNul(name, `identifier ${JSON.stringify(name)}`);
  if (name === "") throw new Error("empty identifier");
  if (/^[a-z_][a-z0-9_]*$/.test(name) && !KEYWORDS.has(name)) return name;
  return `"${name.replaceAll('"', '""')}"`;
}

/** schema.name, each part quoted. */
export function quoteQualified(t: { schema: string; name: string }): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
}

/**
 * quote_literal: '…' with ' doubled; with a backslash, E'…' with \ doubled
 * too, so the text means the same whatever standard_conforming_strings is.
 */
export function quoteLiteral(value: string): string {
  refuseNul(value, "value");
  const quoted = value.replaceAll("'", "''");
  return value.includes("\\") ? `E'${quoted.replaceAll("\\", "\\\\")}'` : `'${quoted}'`;
}
