/**
 * The permission matrix: tables × roles, per cell `S U I D` marked 🟩
 * allowed without row rules, ✅ allowed with row rules (RLS policies), ❌ not
 * allowed, each followed by the Hasura declarations that apply to it in
 * brackets (`S✅[limit 10, agg]`, `I✅[author_id=x-hasura-user-id,
 * backend-only]`). A pure function of the catalog (catalog.ts); what the
 * console shows and the first section of policies.expected.md.
 */
import type pg from "pg";
import {
  COMMANDS,
  loadCatalog,
  PRIVILEGE_OF,
  type Command,
  type Declaration,
  type PermissionCatalog,
  type PolicyRow,
  type Preset,
  type TableFacts,
} from "./catalog.ts";

export type Mark = "🟩" | "✅" | "❌";

export interface Matrix {
  roles: string[];
  tables: string[];
  cells: Record<string, Record<string, Record<Command, Mark>>>;
  /** The declarations of a cell's command, as shown in brackets; absent when none. */
  notes: Record<string, Record<string, Partial<Record<Command, string>>>>;
  /** Inherited roles and their parents (catalog.ts). */
  parents: Record<string, string[]>;
}

const COMMAND_OF: Record<Declaration["command"], Command> = { select: "S", update: "U", insert: "I", delete: "D" };

/** Effective privilege first, then whether some policy restricts it. */
export function matrixOf(cat: PermissionCatalog): Matrix {
  const cells: Matrix["cells"] = {};
  for (const table of cat.tables) {
    cells[table.name] = {};
    const policies = cat.policies.filter((p) => p.tablename === table.name);
    for (const role of cat.roles) {
      const row = {} as Record<Command, Mark>;
      const memberOf = cat.memberOf[role] ?? [role];
      for (const cmd of COMMANDS) {
        row[cmd] = mark(table, policies, memberOf, cmd, cat.allowed[table.name]?.[role]?.[cmd] ?? false);
      }
      cells[table.name]![role] = row;
    }
  }
  return { roles: cat.roles, tables: cat.tables.map((t) => t.name), cells, notes: notesOf(cat), parents: cat.parents };
}

/**
 * What each cell's declarations say, compactly: select `limit N`, `agg`,
 * `query: <root fields>`, `subscription: <root fields>`; insert and update
 * presets `column=x-hasura-…` or `column='literal'`; `backend-only`.
 */
export function notesOf(cat: Pick<PermissionCatalog, "declarations" | "presets">): Matrix["notes"] {
  const parts = new Map<string, string[]>();
  const add = (table: string, role: string, cmd: Command, part: string) => {
    const key = JSON.stringify([table, role, cmd]);
    parts.set(key, [...(parts.get(key) ?? []), part]);
  };
  for (const d of cat.declarations) {
    const cmd = COMMAND_OF[d.command];
    if (d.command === "select") {
      if (d.rowLimit !== null) add(d.table, d.role, cmd, `limit ${d.rowLimit}`);
      if (d.allowAggregations) add(d.table, d.role, cmd, "agg");
      if (d.queryRootFields) add(d.table, d.role, cmd, `query: ${d.queryRootFields.join(" ") || "none"}`);
      if (d.subscriptionRootFields) add(d.table, d.role, cmd, `subscription: ${d.subscriptionRootFields.join(" ") || "none"}`);
    }
  }
  for (const p of cat.presets) add(p.table, p.role, COMMAND_OF[p.command], presetText(p));
  for (const d of cat.declarations) if (d.backendOnly) add(d.table, d.role, COMMAND_OF[d.command], "backend-only");
  const notes: Matrix["notes"] = {};
  for (const [key, list] of parts) {
    const [table, role, cmd] = JSON.parse(key) as [string, string, Command];
    notes[table] ??= {};
    notes[table]![role] ??= {};
    notes[table]![role]![cmd] = list.join(", ");
  }
  return notes;
}

function presetText(p: Preset): string {
  return `${p.column}=${p.sessionVariable ?? `'${(p.value ?? "").replaceAll("'", "''")}'`}`;
}

function mark(table: TableFacts, policies: PolicyRow[], memberOf: string[], cmd: Command, allowed: boolean): Mark {
  if (!allowed) return "❌";
  if (!table.rls) return "🟩";
  // An inherited role is subject to its parents' policies too.
  const applies = (p: PolicyRow) =>
    (p.cmd === "ALL" || p.cmd === PRIVILEGE_OF[cmd]) && (p.roles.includes("public") || p.roles.some((r) => memberOf.includes(r)));
  const permissive = policies.filter((p) => p.permissive === "PERMISSIVE" && applies(p));
  if (permissive.length === 0) return "❌"; // granted, but RLS lets no row through
  const unrestricted = (p: PolicyRow) => isTrue(p.qual) && (cmd === "S" || cmd === "D" || isTrue(p.with_check ?? p.qual));
  const restricted = policies.some((p) => p.permissive !== "PERMISSIVE" && applies(p) && !unrestricted(p));
  return permissive.some(unrestricted) && !restricted ? "🟩" : "✅";
}

function isTrue(expr: string | null): boolean {
  return expr === null || expr.trim() === "true";
}

export async function loadMatrix(client: pg.ClientBase, opts: { schema: string; authenticator: string }): Promise<Matrix> {
  return matrixOf(await loadCatalog(client, opts));
}
