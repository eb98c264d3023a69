/**
 * What the application roles may do in the exposed schema, read from the live
 * catalog (never from policies.sql): the single source of `npm run
 * permissions`, of the committed policies.expected.md that `--check` compares
 * with, and of the admin console's matrix.
 *
 * `loadCatalog` does all the reading (catalog tables and `has_*_privilege`
 * by oid, so it works as the owner and as the authenticator, which has no
 * USAGE on the schema); everything else here is a pure function of what it
 * returned. The rendering has two parts:
 *
 * - the matrix, tables × roles, per cell `S U I D` (select, update, insert,
 *   delete) marked 🟩 allowed without row rules, ✅ allowed with row rules
 *   (RLS policies), ❌ not allowed;
 * - per table, the RLS flags, each role's privileges (columns listed unless
 *   the grant is table-wide), its sequences' grants and every policy with
 *   USING / WITH CHECK as PostgreSQL deparses them.
 *
 * Roles: the NOLOGIN roles granted to the authenticator (as the server's
 * allow-list reads them) that have USAGE on the schema (roles are
 * cluster-wide, so another project's roles on a shared cluster stay out), in
 * byte order of their names.
 */
import type pg from "pg";
import { loadAppRoles } from "../plugins/app-roles.ts";

export type Mark = "🟩" | "✅" | "❌";
export const COMMANDS = ["S", "U", "I", "D"] as const;
export type Command = (typeof COMMANDS)[number];
const PRIV: Record<Command, Privilege> = { S: "SELECT", U: "UPDATE", I: "INSERT", D: "DELETE" };
/** The detail tables' columns, in the matrix's order. */
const PRIVILEGES = ["SELECT", "UPDATE", "INSERT", "DELETE"] as const;
export type Privilege = (typeof PRIVILEGES)[number];

export const LEGEND =
  "🟩 allowed without row rules · ✅ allowed with row rules (RLS) · ❌ not allowed — S select, U update, I insert, D delete";

export interface Matrix {
  roles: string[];
  tables: string[];
  cells: Record<string, Record<string, Record<Command, Mark>>>;
}

export interface PolicyRow {
  tablename: string;
  policyname: string;
  permissive: string;
  roles: string[];
  cmd: string;
  qual: string | null;
  with_check: string | null;
}

export interface TableFacts {
  name: string;
  /** pg_class.relkind: r table, p partitioned table, v view, m materialized view. */
  kind: string;
  rls: boolean;
  force: boolean;
}

/** One ACL entry of a table (columns null) or of some of its columns. */
export interface Grant {
  table: string;
  /** An application role, or PUBLIC. */
  grantee: string;
  privilege: string;
  columns: string[] | null;
}

export interface SequenceGrants {
  name: string;
  /** The table that owns it (identity or serial column), if any. */
  table: string | null;
  grants: Array<{ grantee: string; privilege: string }>;
}

/** Everything the rendering needs, as read from the catalog. */
export interface PermissionCatalog {
  schema: string;
  roles: string[];
  tables: TableFacts[];
  /** Effective privileges (inherited and PUBLIC ones included; a column grant counts for S/U/I). */
  allowed: Record<string, Record<string, Record<Command, boolean>>>;
  grants: Grant[];
  sequences: SequenceGrants[];
  policies: PolicyRow[];
}

const PUBLIC = "PUBLIC";

/** The server's application roles (plugins/app-roles.ts) that have USAGE on `schema`, in byte order. */
export async function appRolesOf(client: pg.ClientBase, authenticator: string, schema: string): Promise<string[]> {
  const roles = await loadAppRoles(client, authenticator);
  const { rows } = await client.query<{ role: string }>(
    `select role from unnest($1::text[]) with ordinality as r(role, n)
     where has_schema_privilege(role, (select oid from pg_catalog.pg_namespace where nspname = $2), 'USAGE')
     order by n`,
    [roles, schema],
  );
  return rows.map((r) => r.role);
}

export async function loadPolicies(client: pg.ClientBase, schema: string, table?: string): Promise<PolicyRow[]> {
  const { rows } = await client.query<PolicyRow>(
    `select tablename, policyname, permissive, roles::text[] as roles, cmd, qual, with_check
     from pg_catalog.pg_policies where schemaname = $1 and ($2::text is null or tablename = $2)
     order by tablename collate "C", policyname collate "C"`,
    [schema, table ?? null],
  );
  return rows;
}

/**
 * Reads the catalog in one read-only transaction with only pg_catalog on the
 * search_path: policy expressions deparse with every other name
 * schema-qualified, the same whoever reads them (a schema the reader has no
 * USAGE on would otherwise be spelled out, a visible one not) and whatever
 * the role's or database's search_path.
 */
export async function loadCatalog(client: pg.ClientBase, opts: { schema: string; authenticator: string }): Promise<PermissionCatalog> {
  await client.query("begin read only");
  try {
    await client.query("set local search_path = pg_catalog");
    const catalog = await readCatalog(client, opts);
    await client.query("commit");
    return catalog;
  } catch (e) {
    await client.query("rollback").catch(() => {});
    throw e;
  }
}

async function readCatalog(client: pg.ClientBase, opts: { schema: string; authenticator: string }): Promise<PermissionCatalog> {
  const { schema } = opts;
  const roles = await appRolesOf(client, opts.authenticator, schema);
  const { rows: tables } = await client.query<TableFacts & { oid: string }>(
    `select c.oid::text as oid, c.relname as name, c.relkind::text as kind, c.relrowsecurity as rls, c.relforcerowsecurity as force
     from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm')
     order by c.relname collate "C"`,
    [schema],
  );
  const oids = tables.map((t) => t.oid);

  // By oid throughout: the caller (the authenticator) need not have USAGE on the schema.
  const { rows: privileges } = await client.query<{ tbl: string; role: string; s: boolean; u: boolean; i: boolean; d: boolean }>(
    `select c.relname as tbl, r.rolname as role,
            has_any_column_privilege(r.oid, c.oid, 'SELECT') as s,
            has_any_column_privilege(r.oid, c.oid, 'UPDATE') as u,
            has_any_column_privilege(r.oid, c.oid, 'INSERT') as i,
            has_table_privilege(r.oid, c.oid, 'DELETE') as d
     from pg_catalog.pg_class c cross join pg_catalog.pg_roles r
     where c.oid = any($1::oid[]) and r.rolname = any($2::text[])`,
    [oids, roles],
  );
  const allowed: PermissionCatalog["allowed"] = {};
  for (const p of privileges) (allowed[p.tbl] ??= {})[p.role] = { S: p.s, U: p.u, I: p.i, D: p.d };

  // Direct grants to the roles and to PUBLIC (grantee 0); columns in table order.
  const { rows: grants } = await client.query<Grant>(
    `select c.relname as table, coalesce(g.rolname, 'PUBLIC') as grantee, x.privilege_type as privilege, null::text[] as columns
     from pg_catalog.pg_class c cross join lateral aclexplode(c.relacl) x
     left join pg_catalog.pg_roles g on g.oid = x.grantee
     where c.oid = any($1::oid[]) and (x.grantee = 0 or g.rolname = any($2::text[]))
     union all
     select c.relname, coalesce(g.rolname, 'PUBLIC'), x.privilege_type, array_agg(a.attname::text order by a.attnum)
     from pg_catalog.pg_class c join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
     cross join lateral aclexplode(a.attacl) x
     left join pg_catalog.pg_roles g on g.oid = x.grantee
     where c.oid = any($1::oid[]) and (x.grantee = 0 or g.rolname = any($2::text[]))
     group by 1, 2, 3`,
    [oids, roles],
  );

  const { rows: seqRows } = await client.query<{ name: string; tbl: string | null; grantee: string | null; privilege: string | null }>(
    `select s.relname as name, t.relname as tbl, coalesce(g.rolname, case when x.grantee = 0 then 'PUBLIC' end) as grantee, x.privilege_type as privilege
     from pg_catalog.pg_class s join pg_catalog.pg_namespace n on n.oid = s.relnamespace
     left join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_class'::regclass and d.objid = s.oid
       and d.refclassid = 'pg_catalog.pg_class'::regclass and d.deptype in ('a', 'i')
     left join pg_catalog.pg_class t on t.oid = d.refobjid
     left join lateral aclexplode(s.relacl) x on true
     left join pg_catalog.pg_roles g on g.oid = x.grantee
     where n.nspname = $1 and s.relkind = 'S'`,
    [schema],
  );
  const sequences = new Map<string, SequenceGrants>();
  for (const r of seqRows) {
    const seq = sequences.get(r.name) ?? { name: r.name, table: r.tbl, grants: [] };
    sequences.set(r.name, seq);
    if (r.grantee && r.privilege && (r.grantee === PUBLIC || roles.includes(r.grantee))) seq.grants.push({ grantee: r.grantee, privilege: r.privilege });
  }

  return {
    schema,
    roles,
    tables: tables.map(({ name, kind, rls, force }) => ({ name, kind, rls, force })),
    allowed,
    grants,
    sequences: [...sequences.values()].sort((a, b) => byName(a.name, b.name)),
    policies: await loadPolicies(client, schema),
  };
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The matrix (pure): effective privilege, then whether some policy restricts it. */
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
  const applies = (p: PolicyRow) => (p.cmd === "ALL" || p.cmd === PRIV[cmd]) && (p.roles.includes(role) || p.roles.includes("public"));
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

/** A Markdown table cell: one line, pipes escaped. */
const cell = (s: string | null | undefined) => (s ?? "").replace(/\s+/g, " ").trim().replaceAll("|", "\\|");

/** What `npm run permissions` prints, and the first section of the expected file. */
export function renderMatrix(m: Matrix, schema = "public"): string {
  return [
    `# Permissions of schema ${schema}`,
    "",
    LEGEND,
    "",
    `| table | ${m.roles.map(cell).join(" | ")} |`,
    `|---|${m.roles.map(() => "---").join("|")}|`,
    ...m.tables.map((t) => `| ${cell(t)} | ${m.roles.map((r) => COMMANDS.map((c) => `${c}${m.cells[t]![r]![c]}`).join(" ")).join(" | ")} |`),
    "",
  ].join("\n");
}

const KIND: Record<string, string> = { r: "Table", p: "Partitioned table", v: "View", m: "Materialized view" };

/** One table's section: RLS flags, privileges per role, sequences, policies. */
export function renderTable(cat: PermissionCatalog, name: string): string {
  const table = cat.tables.find((t) => t.name === name);
  if (!table) throw new Error(`no table ${name} in schema ${cat.schema} (tables: ${cat.tables.map((t) => t.name).join(", ") || "none"})`);
  const out = [`## ${name}`, ""];
  if (table.kind === "v" || table.kind === "m") out.push(`${KIND[table.kind]}: row-level security does not apply.`);
  else {
    const prefix = table.kind === "r" ? "" : `${KIND[table.kind] ?? table.kind}. `;
    out.push(`${prefix}Row-level security: ${table.rls ? "enabled" : "DISABLED"}, ${table.force ? "forced" : "NOT FORCED"}.`);
  }
  out.push("", `| role | ${PRIVILEGES.join(" | ")} |`, `|---|${PRIVILEGES.map(() => "---").join("|")}|`);
  const grants = cat.grants.filter((g) => g.table === name);
  const other: string[] = [];
  for (const role of [...cat.roles, PUBLIC]) {
    const own = grants.filter((g) => g.grantee === role);
    const cells = PRIVILEGES.map((p) => {
      if (own.some((g) => g.privilege === p && !g.columns)) return "all";
      return cell(own.find((g) => g.privilege === p && g.columns)?.columns?.join(", "));
    });
    if (cells.some(Boolean)) out.push(`| ${cell(role)} | ${cells.join(" | ")} |`);
    const rest = own
      .filter((g) => !(PRIVILEGES as readonly string[]).includes(g.privilege))
      .map((g) => (g.columns ? `${g.privilege} (${g.columns.join(", ")})` : g.privilege))
      .sort(byName);
    if (rest.length) other.push(`${role}: ${rest.join(", ")}`);
  }
  if (other.length) out.push("", `Other privileges: ${other.join("; ")}.`);
  const sequences = cat.sequences.filter((s) => s.table === name);
  if (sequences.length) out.push("", `Sequences: ${sequences.map(sequenceGrants).join("; ")}.`);
  const policies = cat.policies.filter((p) => p.tablename === name);
  if (policies.length) {
    out.push("", "| policy | command | to | using | with check |", "|---|---|---|---|---|");
    for (const p of policies) {
      const kind = p.permissive === "PERMISSIVE" ? "" : ` (${p.permissive.toLowerCase()})`;
      out.push(`| ${cell(p.policyname)}${kind} | ${p.cmd} | ${cell(p.roles.join(", "))} | ${cell(p.qual)} | ${cell(p.with_check)} |`);
    }
  } else {
    out.push("", "No policies.");
  }
  return out.join("\n") + "\n";
}

function sequenceGrants(s: SequenceGrants): string {
  const byGrantee = new Map<string, string[]>();
  for (const g of s.grants) byGrantee.set(g.grantee, [...(byGrantee.get(g.grantee) ?? []), g.privilege]);
  const list = [...byGrantee].sort(([a], [b]) => byName(a, b)).map(([who, privs]) => `${who} ${privs.sort(byName).join(", ")}`);
  return `${s.name} (${list.join(", ") || "no grants"})`;
}

export const GENERATED_NOTE =
  "<!-- Generated from the catalog by `npm run permissions -- --write <file>`; `npm run permissions -- --check <file>` (CI) fails on any difference. Regenerate, do not edit. -->";

/** The whole expected file: the matrix, then every table's section. */
export function renderDocument(cat: PermissionCatalog): string {
  const out = [GENERATED_NOTE, "", renderMatrix(matrixOf(cat), cat.schema), "# Tables", ""];
  out.push(
    "Privileges: `all` is a table-wide grant, otherwise the granted columns (a role without any privilege on a table is",
    "not listed). Policies as PostgreSQL deparses them, names schema-qualified: `( SELECT hasura.…() AS …)` is the",
    "once-per-statement form of a session helper.",
  );
  const loose = cat.sequences.filter((s) => s.table === null);
  if (loose.length) out.push("", `Sequences owned by no table: ${loose.map(sequenceGrants).join("; ")}.`);
  for (const t of cat.tables) out.push("", renderTable(cat, t.name).trimEnd());
  return out.join("\n") + "\n";
}

// ---------------------------------------------------------------------------
// Comparing a committed rendering with the live one.

type Op = { op: " " | "-" | "+"; line: string; expected: number; live: number };

/** Line edit script (longest common subsequence), common prefix and suffix trimmed first. */
function editScript(a: string[], b: string[]): Op[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) endA--, endB--;
  const ops: Op[] = [];
  for (let i = 0; i < start; i++) ops.push({ op: " ", line: a[i]!, expected: i, live: i });
  const n = endA - start;
  const m = endB - start;
  if (n * m > 25_000_000) {
    for (let i = start; i < endA; i++) ops.push({ op: "-", line: a[i]!, expected: i, live: start });
    for (let j = start; j < endB; j++) ops.push({ op: "+", line: b[j]!, expected: endA, live: j });
  } else {
    // lcs[i][j]: LCS length of a[start+i..endA) and b[start+j..endB).
    const lcs = new Uint32Array((n + 1) * (m + 1));
    const at = (i: number, j: number) => i * (m + 1) + j;
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        lcs[at(i, j)] = a[start + i] === b[start + j] ? lcs[at(i + 1, j + 1)]! + 1 : Math.max(lcs[at(i + 1, j)]!, lcs[at(i, j + 1)]!);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[start + i] === b[start + j]) {
        ops.push({ op: " ", line: a[start + i]!, expected: start + i, live: start + j });
        i++, j++;
      } else if (i < n && (j === m || lcs[at(i + 1, j)]! >= lcs[at(i, j + 1)]!)) {
        ops.push({ op: "-", line: a[start + i]!, expected: start + i, live: start + j });
        i++;
      } else {
        ops.push({ op: "+", line: b[start + j]!, expected: start + i, live: start + j });
        j++;
      }
    }
  }
  for (let k = 0; endA + k < a.length; k++) ops.push({ op: " ", line: a[endA + k]!, expected: endA + k, live: endB + k });
  return ops;
}

/** Which table (and which part) each line of a rendering belongs to. */
function sectionsOf(lines: string[]): Array<{ table: string | null; label: string }> {
  let current: string | null = null;
  return lines.map((line) => {
    const heading = /^## (.+)$/.exec(line);
    if (heading) current = heading[1]!;
    if (current !== null) return { table: current, label: `table ${current}: details` };
    const row = /^\| (.+?) \| /.exec(line);
    if (row && row[1] !== "table" && !line.startsWith("|---")) {
      const table = row[1]!.replaceAll("\\|", "|");
      return { table, label: `table ${table}: matrix row` };
    }
    return { table: null, label: "header (title, legend, roles)" };
  });
}

const rowCells = (line: string) => line.slice(2, -2).split(" | ");

/** The role names of the matrix header (`| table | a | b |`). */
function matrixRoles(lines: string[]): string[] | null {
  const header = lines.find((l) => l.startsWith("| table | "));
  return header ? rowCells(header).slice(1) : null;
}

/** For a changed matrix row (same roles on both sides): which cells changed, e.g. `anonymous S🟩→S✅`. */
function changedCells(lines: Op[], rolesA: string[] | null, rolesB: string[] | null): string {
  const removed = lines.filter((o) => o.op === "-");
  const added = lines.filter((o) => o.op === "+");
  if (!rolesA || rolesA.join("|") !== rolesB?.join("|") || removed.length !== 1 || added.length !== 1) return "";
  if (!removed[0]!.line.startsWith("| ") || !added[0]!.line.startsWith("| ")) return "";
  const before = rowCells(removed[0]!.line).slice(1);
  const after = rowCells(added[0]!.line).slice(1);
  if (before.length !== rolesA.length || after.length !== rolesA.length) return "";
  const changes: string[] = [];
  rolesA.forEach((role, k) => {
    const was = before[k]!.split(" ");
    const now = after[k]!.split(" ");
    const diff = now.map((c, x) => (c === was[x] ? "" : `${was[x] ?? "∅"}→${c}`)).filter(Boolean);
    if (diff.length) changes.push(`${role} ${diff.join(" ")}`);
  });
  return changes.join(", ");
}

export interface DocumentDiff {
  /** Tables whose matrix row or section differ. */
  tables: string[];
  /** The readable diff (empty when equal). */
  text: string;
}

/**
 * A unified-style diff (`-` expected, `+` live) in blocks, one per table
 * part, each headed by the table and the line numbers in both files.
 */
export function diffDocuments(expected: string, live: string): DocumentDiff {
  const a = expected.split("\n");
  const b = live.split("\n");
  const ops = editScript(a, b);
  const secA = sectionsOf(a);
  const secB = sectionsOf(b);
  const rolesA = matrixRoles(a);
  const rolesB = matrixRoles(b);
  const sectionOf = (o: Op) => (o.op === "+" ? secB[o.live]! : secA[o.expected]!);
  const blocks: string[] = [];
  const tables = new Set<string>();
  let k = 0;
  while (k < ops.length) {
    if (ops[k]!.op === " ") {
      k++;
      continue;
    }
    let end = k;
    while (end < ops.length && ops[end]!.op !== " ") end++;
    // One change region; its lines grouped by section, `-` before `+` within each.
    const groups = new Map<string, Op[]>();
    for (const o of ops.slice(k, end)) {
      const s = sectionOf(o);
      if (s.table !== null) tables.add(s.table);
      groups.set(s.label, [...(groups.get(s.label) ?? []), o]);
    }
    const labels = [...groups.keys()];
    labels.forEach((label, g) => {
      const lines = groups.get(label)!;
      const first = lines[0]!;
      const expectedLine = (lines.find((o) => o.op === "-") ?? first).expected + 1;
      const liveLine = (lines.find((o) => o.op === "+") ?? first).live + 1;
      const body: string[] = [];
      const before = ops[k - 1];
      if (g === 0 && before && before.line.trim() && secA[before.expected]!.label === label) body.push(`  ${before.line}`);
      body.push(...lines.filter((o) => o.op === "-").map((o) => `- ${o.line}`));
      body.push(...lines.filter((o) => o.op === "+").map((o) => `+ ${o.line}`));
      const after = ops[end];
      if (g === labels.length - 1 && after && after.line.trim() && secA[after.expected]!.label === label) body.push(`  ${after.line}`);
      const cells = label.endsWith(": matrix row") ? changedCells(lines, rolesA, rolesB) : "";
      blocks.push(`@@ ${label} (expected line ${expectedLine}, live line ${liveLine})${cells ? `: ${cells}` : ""} @@\n${body.join("\n")}`);
    });
    k = end;
  }
  return { tables: [...tables], text: blocks.join("\n\n") };
}
