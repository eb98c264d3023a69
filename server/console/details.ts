/**
 * What the console's Permissions tab shows beyond the matrix: for each table,
 * role and column command, the columns the role may use (effective
 * privileges: inherited and PUBLIC grants count), and the policy lint's
 * findings filed under the table they concern.
 */
import type pg from "pg";
import { type LintRow, lintPolicies } from "../db/lint-policies.ts";
import { quoteIdent } from "../import/sql-quote.ts";

/** table → role → SELECT | INSERT | UPDATE → columns, in table order. */
export type ColumnGrants = Record<string, Record<string, Record<string, string[]>>>;

export async function loadColumnGrants(
  client: pg.ClientBase,
  schema: string,
  roles: string[],
): Promise<{ all: Record<string, string[]>; granted: ColumnGrants }> {
  const { rows } = await client.query<{ tbl: string; role: string | null; priv: string | null; columns: string[] }>(
    `select c.relname as tbl, null as role, null as priv, array_agg(a.attname::text order by a.attnum) as columns
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm')
      group by c.relname
     union all
     select c.relname, r.rolname, p.priv,
            coalesce(array_agg(a.attname::text order by a.attnum)
                       filter (where pg_catalog.has_column_privilege(r.oid, c.oid, a.attnum, p.priv)), '{}')
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
       cross join pg_catalog.pg_roles r
       cross join unnest(array['SELECT', 'INSERT', 'UPDATE']) as p(priv)
      where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm') and r.rolname = any($2::text[])
      group by c.relname, r.rolname, p.priv`,
    [schema, roles],
  );
  const all: Record<string, string[]> = {};
  const granted: ColumnGrants = {};
  for (const r of rows) {
    if (r.role === null || r.priv === null) {
      all[r.tbl] = r.columns;
      continue;
    }
    granted[r.tbl] ??= {};
    granted[r.tbl]![r.role] ??= {};
    granted[r.tbl]![r.role]![r.priv] = r.columns;
  }
  return { all, granted };
}

export interface LintFinding extends LintRow {
  /** The table the finding concerns, or null (a function, the schema). */
  table: string | null;
}

/**
 * `npm run lint:policies`' findings for one schema, each with its table:
 * the lint names objects as `schema.table`, `schema.table(column)`, `policy
 * on schema.table` (format's %I quoting) or `"role" on table`.
 */
export async function lintByTable(
  client: pg.ClientBase,
  opts: { schema: string; authenticator: string },
  tables: string[],
): Promise<LintFinding[]> {
  const rows = await lintPolicies(client, opts);
  const qualified = tables.map((t) => ({ t, q: `${quoteIdent(opts.schema)}.${quoteIdent(t)}`, bare: quoteIdent(t) }));
  return rows.map((r) => {
    const hit = qualified.find(
      ({ t, q, bare }) =>
        r.object === q ||
        r.object.startsWith(`${q}(`) ||
        r.object.endsWith(` on ${q}`) ||
        r.object.endsWith(` on ${bare}`) ||
        r.object.endsWith(` on ${t}`),
    );
    return { ...r, table: hit?.t ?? null };
  });
}
