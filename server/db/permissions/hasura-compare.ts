/**
 * `npm run permissions -- --compare-hasura <dir>`: the live catalog
 * (catalog.ts, matrix.ts) against a Hasura project's metadata
 * (server/import/metadata.ts), per table × role × command: none / all rows /
 * some rows, the column lists, and the Hasura declarations (limit, agg, root
 * fields, presets, backend-only, in the matrix's wording). What a user runs
 * after importing a Hasura project, and after every later change to the SQL.
 *
 * Hasura's rules, restated: `admin` may do everything everywhere without
 * declaring it on every tracked table; a role without a permission on a
 * table gets nothing, and no role (admin included) gets anything on a
 * relation Hasura does not track; an inherited role without its own permission
 * on a table gets its parents' combined as the importer states it
 * (import/inherited-roles.ts: rows ORed, the columns every parent's rows may
 * show, a mutation only where the parents agree). Row rules are only
 * classified, not compared: "some rows" on both sides matches whatever the
 * filters say (the policy tests and the generated policies.expected.md check
 * those).
 */
import type pg from "pg";
import { resolveInheritedRoles } from "../../import/inherited-roles.ts";
import type { HasuraMetadata, TableMetadata } from "../../import/metadata.ts";
import { type Command, COMMANDS, type Declaration, type PermissionCatalog, type Preset, PUBLIC } from "./catalog.ts";
import { type Mark, matrixOf, notesOf } from "./matrix.ts";

export type Rows = "none" | "all rows" | "some rows";

interface Cell {
  rows: Rows;
  /** null: every column (also for delete, which has none). */
  columns: string[] | null;
}

const NAME: Record<Command, "select" | "update" | "insert" | "delete"> = {
  S: "select",
  U: "update",
  I: "insert",
  D: "delete",
};
const ROWS_OF: Record<Mark, Rows> = { "🟩": "all rows", "✅": "some rows", "❌": "none" };
const HASURA_ADMIN = "admin";

/** Each table's columns in table order (for `*` and table-wide grants). */
export async function loadTableColumns(client: pg.ClientBase, schema: string): Promise<Record<string, string[]>> {
  const { rows } = await client.query<{ tbl: string; cols: string[] }>(
    `select c.relname as tbl, array_agg(a.attname::text order by a.attnum) as cols
     from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
     where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm', 'f')
     group by c.relname`,
    [schema],
  );
  return Object.fromEntries(rows.map((r) => [r.tbl, r.cols]));
}

function isEmptyExp(e: Record<string, unknown> | null): boolean {
  return e === null || Object.keys(e).length === 0;
}

/** A table's own permission of a role, as a cell. */
function ownCell(t: TableMetadata, role: string, cmd: Command): Cell | undefined {
  const cols = (c: string[] | "*") => (c === "*" ? null : c);
  switch (cmd) {
    case "S": {
      const p = t.select.get(role);
      return p && { rows: isEmptyExp(p.filter) ? "all rows" : "some rows", columns: cols(p.columns) };
    }
    case "I": {
      const p = t.insert.get(role);
      return p && { rows: isEmptyExp(p.check) ? "all rows" : "some rows", columns: cols(p.columns) };
    }
    case "U": {
      const p = t.update.get(role);
      return p && { rows: isEmptyExp(p.filter) && isEmptyExp(p.check) ? "all rows" : "some rows", columns: cols(p.columns) };
    }
    case "D": {
      const p = t.delete.get(role);
      return p && { rows: isEmptyExp(p.filter) ? "all rows" : "some rows", columns: null };
    }
  }
}

/** Hasura's answer for a role: own permission, else (inherited role) the parents' combined, else none. */
function hasuraCell(t: TableMetadata | undefined, role: string, cmd: Command, parents: Map<string, string[]>, seen: string[] = []): Cell {
  // A relation the metadata does not track is exposed to no role, admin included.
  if (!t) return { rows: "none", columns: [] };
  if (role === HASURA_ADMIN) return { rows: "all rows", columns: null };
  const own = ownCell(t, role, cmd);
  if (own) return own;
  const ps = parents.get(role);
  if (!ps || seen.includes(role)) return { rows: "none", columns: [] };
  const cells = ps.map((p) => hasuraCell(t, p, cmd, parents, [...seen, role])).filter((c) => c.rows !== "none");
  if (cells.length === 0) return { rows: "none", columns: [] };
  const rows: Rows = cells.some((c) => c.rows === "all rows") ? "all rows" : "some rows";
  if (cells.some((c) => c.columns === null)) return { rows, columns: null };
  return { rows, columns: [...new Set(cells.flatMap((c) => c.columns ?? []))] };
}

/** The columns a role may use for a command, from its own, inherited and PUBLIC grants; null: table-wide. */
function liveColumns(cat: PermissionCatalog, table: string, role: string, cmd: Command): string[] | null {
  const privilege = { S: "SELECT", U: "UPDATE", I: "INSERT", D: "DELETE" }[cmd];
  const roles = new Set([...(cat.memberOf[role] ?? [role]), PUBLIC]);
  const grants = cat.grants.filter((g) => g.table === table && g.privilege === privilege && roles.has(g.grantee));
  if (grants.some((g) => g.columns === null)) return null;
  return [...new Set(grants.flatMap((g) => g.columns ?? []))];
}

/** The metadata's declarations and presets in the catalog's shape, so matrix.ts words both sides alike. */
function hasuraNotes(md: HasuraMetadata, schema: string): ReturnType<typeof notesOf> {
  const declarations: Declaration[] = [];
  const presets: Preset[] = [];
  for (const t of md.tables.filter((x) => x.table.schema === schema)) {
    const table = t.table.name;
    const base = {
      table,
      rowLimit: null,
      allowAggregations: false,
      queryRootFields: null,
      subscriptionRootFields: null,
      backendOnly: false,
    };
    for (const [role, p] of t.select)
      declarations.push({
        ...base,
        role,
        command: "select",
        rowLimit: p.limit ?? null,
        allowAggregations: p.allowAggregations,
        queryRootFields: p.queryRootFields ?? null,
        subscriptionRootFields: p.subscriptionRootFields ?? null,
      });
    for (const [command, perms] of [
      ["insert", t.insert],
      ["update", t.update],
      ["delete", t.delete],
    ] as const)
      for (const [role, p] of perms) declarations.push({ ...base, role, command, backendOnly: p.backendOnly });
    for (const [command, perms] of [
      ["insert", t.insert],
      ["update", t.update],
    ] as const)
      for (const [role, p] of perms)
        for (const [column, value] of Object.entries(p.set)) {
          const session = typeof value === "string" && /^x-hasura-/i.test(value);
          presets.push({
            table,
            role,
            command,
            column,
            sessionVariable: session ? value.toLowerCase() : null,
            value: session ? null : value === null ? null : String(value),
          });
        }
  }
  return notesOf({ declarations, presets });
}

/** Columns on one side only, each list in table order. */
function listDiff(hasura: string[], live: string[], order: string[]): string {
  const byOrder = (a: string, b: string) => order.indexOf(a) - order.indexOf(b);
  const onlyH = hasura.filter((c) => !live.includes(c)).sort(byOrder);
  const onlyL = live.filter((c) => !hasura.includes(c)).sort(byOrder);
  return [onlyH.length ? `only in Hasura: ${onlyH.join(", ")}` : "", onlyL.length ? `only in PostgreSQL: ${onlyL.join(", ")}` : ""]
    .filter(Boolean)
    .join("; ");
}

/** Every difference, one line each, in table, role, command order; empty when the catalog states the metadata. */
export function compareWithHasura(cat: PermissionCatalog, columnsOf: Record<string, string[]>, input: HasuraMetadata): string[] {
  const out: string[] = [];
  const schema = cat.schema;
  // Inherited roles as the importer states them: their resolved permissions as their own (import/inherited-roles.ts:
  // own permission first, select combined with only the columns every parent's rows may show, mutations only where
  // the parents agree), so hasuraCell needs no parents.
  const md = resolveInheritedRoles(input, {
    columnsOf: (t) => (t.table.schema === schema ? columnsOf[t.table.name] : undefined),
  }).metadata;
  const parents = new Map<string, string[]>();
  for (const r of md.inheritedRoles) parents.set(r.roleName, []);
  const roleSets = md.inheritedRoles.flatMap((r) => r.roleSet);
  const byName = new Map(md.tables.filter((t) => t.table.schema === schema).map((t) => [t.table.name, t]));
  for (const t of byName.keys())
    if (!cat.tables.some((x) => x.name === t)) out.push(`${schema}.${t}: in the Hasura metadata, not in the database`);
  const hasuraRoles = new Set<string>([...parents.keys(), ...roleSets]);
  for (const t of byName.values()) for (const m of [t.select, t.insert, t.update, t.delete]) for (const r of m.keys()) hasuraRoles.add(r);
  for (const r of [...hasuraRoles].sort())
    if (!cat.roles.includes(r)) out.push(`role ${r}: in the Hasura metadata, not an application role of the database`);

  const matrix = matrixOf(cat);
  const liveNotes = matrix.notes;
  const wanted = hasuraNotes(md, schema);
  for (const table of matrix.tables) {
    const t = byName.get(table);
    for (const role of matrix.roles) {
      for (const cmd of COMMANDS) {
        const where = `${schema}.${table} ${role} ${NAME[cmd]}`;
        const h = hasuraCell(t, role, cmd, parents);
        const liveRows = ROWS_OF[matrix.cells[table]![role]![cmd]];
        if (h.rows !== liveRows) {
          out.push(`${where}: Hasura ${h.rows}, PostgreSQL ${liveRows}`);
          continue;
        }
        if (h.rows === "none") continue;
        if (cmd !== "D") {
          const all = columnsOf[table] ?? [];
          const d = listDiff(h.columns ?? all, liveColumns(cat, table, role, cmd) ?? all, all);
          if (d) out.push(`${where} columns: ${d}`);
        }
        // Declarations of an inherited role without its own permission are combined in the catalog; compared where declared.
        if (role === HASURA_ADMIN || (t && !ownCell(t, role, cmd))) continue;
        // Same wording both sides (notesOf); parts sorted, as presets may come in another order.
        const norm = (n: string | undefined) => (n ?? "").split(", ").filter(Boolean).sort().join(", ");
        const hn = norm(wanted[table]?.[role]?.[cmd]);
        const ln = norm(liveNotes[table]?.[role]?.[cmd]);
        if (hn !== ln) out.push(`${where}: Hasura [${hn}], PostgreSQL [${ln}]`);
      }
    }
  }
  return out;
}

/** The metadata's schemas other than the compared one (one schema per run, as the matrix). */
export function otherSchemas(md: HasuraMetadata, schema: string): string[] {
  return [...new Set(md.tables.map((t) => t.table.schema).filter((s) => s !== schema))].sort();
}
