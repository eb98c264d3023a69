/**
 * Renders what the application roles may do in a database, read back from
 * the catalogs (not from policies.sql): per table, the RLS flags, each
 * role's privileges (columns listed when not the whole table) and every
 * policy with its USING and WITH CHECK as PostgreSQL deparses them.
 * policies.expected.md is this rendering, reviewed; expected.test.ts fails
 * on any difference.
 */
import type { TestDatabase } from "../helpers/pg.ts";

const PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE"] as const;

const cell = (s: string | null | undefined) => (s ?? "").replace(/\s+/g, " ").trim().replaceAll("|", "\\|");

export async function renderPolicies(db: TestDatabase, roles: readonly string[], title: string): Promise<string> {
  const tables = await db.asRoot<{ name: string; rls: boolean; force: boolean; columns: number }>(
    `select c.relname as name, c.relrowsecurity as rls, c.relforcerowsecurity as force,
            (select count(*)::int from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns
     from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
     order by c.relname`,
  );
  const tableGrants = await db.asRoot<{ tbl: string; role: string; privilege: string }>(
    `select c.relname as tbl, g.rolname as role, x.privilege_type as privilege
     from pg_class c, aclexplode(c.relacl) x join pg_roles g on g.oid = x.grantee
     where c.relnamespace = 'public'::regnamespace and g.rolname = any($1)`,
    [roles],
  );
  const columnGrants = await db.asRoot<{ tbl: string; role: string; privilege: string; columns: string[] }>(
    `select c.relname as tbl, g.rolname as role, x.privilege_type as privilege, array_agg(a.attname::text order by a.attnum) as columns
     from pg_class c join pg_attribute a on a.attrelid = c.oid, aclexplode(a.attacl) x join pg_roles g on g.oid = x.grantee
     where c.relnamespace = 'public'::regnamespace and g.rolname = any($1)
     group by 1, 2, 3`,
    [roles],
  );
  const policies = await db.asRoot<{ tbl: string; name: string; cmd: string; roles: string[]; permissive: string; qual: string | null; check: string | null }>(
    `select tablename as tbl, policyname as name, cmd, roles::text[] as roles, permissive, qual, with_check as check
     from pg_policies where schemaname = 'public' order by tablename, policyname`,
  );
  const sequences = await db.asRoot<{ role: string; n: number }>(
    `select g.rolname as role, count(*)::int as n
     from pg_class c, aclexplode(c.relacl) x join pg_roles g on g.oid = x.grantee
     where c.relnamespace = 'public'::regnamespace and c.relkind = 'S' and x.privilege_type = 'USAGE' and g.rolname = any($1)
     group by 1 order by 1`,
    [roles],
  );

  const out: string[] = [
    `# ${title}`,
    "",
    "Generated from the migrated database by `test/policies/expected.test.ts`, which fails when the",
    "database stops matching it. After an intended change to the policies, regenerate it with",
    "`UPDATE_POLICIES_EXPECTED=1 npm test -- test/policies/expected.test.ts` and review the diff.",
    "",
    "Privileges: `all` is a table-level grant; otherwise the granted columns. Policies: as PostgreSQL",
    "deparses them (`(SELECT hasura.…() AS …)` is the once-per-statement InitPlan form).",
    "",
    `Identity sequences (USAGE): ${sequences.map((s) => `${s.role} (${s.n})`).join(", ") || "none"}.`,
  ];
  for (const table of tables) {
    out.push("", `## ${table.name}`, "");
    out.push(`Row-level security: ${table.rls ? "enabled" : "DISABLED"}, ${table.force ? "forced" : "NOT FORCED"}.`, "");
    out.push(`| role | ${PRIVILEGES.join(" | ")} |`, `|---|${PRIVILEGES.map(() => "---").join("|")}|`);
    for (const role of roles) {
      const cells = PRIVILEGES.map((p) => {
        if (tableGrants.some((g) => g.tbl === table.name && g.role === role && g.privilege === p)) return "all";
        const cols = columnGrants.find((g) => g.tbl === table.name && g.role === role && g.privilege === p)?.columns;
        return cols ? cell(cols.join(", ")) : "";
      });
      if (cells.some(Boolean)) out.push(`| ${role} | ${cells.join(" | ")} |`);
    }
    const own = policies.filter((p) => p.tbl === table.name);
    if (own.length) {
      out.push("", "| policy | command | to | using | with check |", "|---|---|---|---|---|");
      for (const p of own) {
        const kind = p.permissive === "PERMISSIVE" ? "" : ` (${p.permissive.toLowerCase()})`;
        out.push(`| ${cell(p.name)}${kind} | ${p.cmd} | ${cell(p.roles.join(", "))} | ${cell(p.qual)} | ${cell(p.check)} |`);
      }
    } else {
      out.push("", "No policies.");
    }
  }
  return out.join("\n") + "\n";
}
