/**
 * The permission matrix: tables × roles, per cell `S U I D` marked 🟩
 * allowed without row rules, ✅ allowed with row rules (RLS policies), ❌ not
 * allowed. A pure function of the catalog (catalog.ts); what the console
 * shows and the first section of policies.expected.md.
 */
import type pg from "pg";
import { COMMANDS, loadCatalog, PRIVILEGE_OF, type Command, type PermissionCatalog, type PolicyRow, type TableFacts } from "./catalog.ts";

export type Mark = "🟩" | "✅" | "❌";

export interface Matrix {
  roles: string[];
  tables: string[];
  cells: Record<string, Record<string, Record<Command, Mark>>>;
}

/** Effective privilege first, then whether some policy restricts it. */
export function matrixOf(cat: PermissionCatalog): Matrix {
  const cells: Matrix["cells"] = {};
  for (const table of cat.tables) {
    cells[table.name] = {};
    const policies = cat.policies.filter((p) => p.tablename === table.name);
    for (const role of cat.roles) {
      const row = {} as Record<Command, Mark>;
      for (const cmd of COMMANDS) {
        row[cmd] = mark(table, policies, role, cmd, cat.allowed[table.name]?.[role]?.[cmd] ?? false);
      }
      cells[table.name]![role] = row;
    }
  }
  return { roles: cat.roles, tables: cat.tables.map((t) => t.name), cells };
}

function mark(table: TableFacts, policies: PolicyRow[], role: string, cmd: Command, allowed: boolean): Mark {
  if (!allowed) return "❌";
  if (!table.rls) return "🟩";
  const applies = (p: PolicyRow) =>
    (p.cmd === "ALL" || p.cmd === PRIVILEGE_OF[cmd]) && (p.roles.includes(role) || p.roles.includes("public"));
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
