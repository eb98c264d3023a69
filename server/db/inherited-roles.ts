/**
 * Inherited roles (Hasura's `inherited_roles`) as Postgres role membership:
 * an application role granted other roles WITH INHERIT has the union of
 * their privileges and policies. That is Hasura's union of rows and
 * columns, but not all of Hasura's rules:
 *
 * - Hasura answers null for a column on a row that only a parent without
 *   that column may see; Postgres shows it.
 * - Hasura inherits a mutation permission only where every parent holding
 *   it has the same one; Postgres ORs them.
 * - A role's own permission replaces the inherited one in Hasura; Postgres
 *   ORs it with the parents'.
 * - A policy that reads another table (`exists (select … from parent)`)
 *   reads it as the inherited role, through the union of the parents' rows.
 *
 * So this module finds every application role with parents whose
 * definition Postgres would serve differently from Hasura, and says why:
 * the server refuses to start with it (plugins/app-roles.ts) and
 * `npm run lint:policies` reports it (db/lint-policies.ts). Conservative:
 * what it cannot prove equal (row rules are compared as PostgreSQL deparses
 * them) it refuses. Only wider-or-different definitions are refused; what
 * Postgres serves exactly as Hasura (one parent per table, or parents with
 * the same columns, or the same row rules) is accepted.
 *
 * A parent is any role the application role inherits directly (app role or
 * not); a parent that is itself an application role with parents is checked
 * on its own.
 */
import type pg from "pg";
import { inCatalogSnapshot } from "./permissions/catalog.ts";

export type Command = "select" | "insert" | "update" | "delete";
const COMMANDS: Command[] = ["select", "insert", "update", "delete"];
const POLCMD: Record<string, Command[]> = {
  r: ["select"],
  a: ["insert"],
  w: ["update"],
  d: ["delete"],
  "*": ["select", "insert", "update", "delete"],
};

export interface InheritedRoleFinding {
  role: string;
  parents: string[];
  /** schema-qualified, as format('%I.%I') spells it. */
  table: string;
  command: Command | null;
  reason: string;
}

/** One line: role, parents, table and why. */
export function describeFinding(f: InheritedRoleFinding): string {
  return `inherited role "${f.role}" (parents ${f.parents.map((p) => `"${p}"`).join(", ")}) on ${f.table}: ${f.reason}`;
}

/** The server's start-up refusal: the first finding, and how many more the lint lists. */
export class InheritedRoleError extends Error {
  readonly findings: InheritedRoleFinding[];
  constructor(findings: InheritedRoleFinding[]) {
    const more = findings.length > 1 ? ` (and ${findings.length - 1} more: npm run lint:policies lists them)` : "";
    super(`${describeFinding(findings[0]!)}${more}`);
    this.name = "InheritedRoleError";
    this.findings = findings;
  }
}

interface TableRow {
  table: string;
  /** In the exposed schema (else only read by its policies). */
  exposed: boolean;
  rls: boolean;
  /** A view with security_invoker: it reads its tables as the role, through the union of the parents' rows. */
  invoker: boolean;
  columns: string[];
}

interface PrivilegeRow {
  role: string;
  table: string;
  select: string[];
  insert: string[];
  update: string[];
  delete: boolean;
}

interface PolicyRow {
  table: string;
  name: string;
  permissive: boolean;
  cmd: string;
  qual: string | null;
  with_check: string | null;
  /** Role names; `public` for PUBLIC. */
  roles: string[];
  /** Tables its expressions read (other than its own), schema-qualified. */
  reads: string[];
  /** SECURITY INVOKER functions it calls outside pg_catalog and hasura (they may read tables). */
  functions: string[];
}

interface Facts {
  parents: Map<string, string[]>;
  tables: Map<string, TableRow>;
  /** Effective privileges (what the role has, inherited included), by role then table. */
  privileges: Map<string, Map<string, PrivilegeRow>>;
  /** The inherited role's own grants (ACL entries to it), by role then table. */
  own: Map<string, Map<string, PrivilegeRow>>;
  policies: PolicyRow[];
  /** Every role each role has the privileges of (itself included). */
  hasPrivsOf: Map<string, Set<string>>;
  /** Effective presets and backend_only of each parent, `role|table|command` → normalised text. */
  presets: Map<string, string>;
  backendOnly: Set<string>;
}

const PARENTS_SQL = `
  select r.rolname::text as role, array_agg(p.rolname::text order by p.rolname collate "C") as parents
  from pg_catalog.pg_roles r
  join pg_catalog.pg_auth_members m on m.member = r.oid and m.inherit_option
  join pg_catalog.pg_roles p on p.oid = m.roleid
  where r.rolname = any ($1::text[])
  group by r.rolname order by r.rolname collate "C"`;

// The schema's tables and those its policies read (any schema).
const TABLES_SQL = `
  with policy_reads as (
    select d.refobjid from pg_catalog.pg_policy pol
    join pg_catalog.pg_class c on c.oid = pol.polrelid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_policy'::regclass and d.objid = pol.oid
      and d.refclassid = 'pg_catalog.pg_class'::regclass
    where n.nspname = $1
  )
  select c.oid::int8 as oid, format('%I.%I', n.nspname, c.relname) as table, n.nspname = $1 as exposed,
         c.relrowsecurity as rls,
         c.relkind = 'v' and exists (select 1 from unnest(c.reloptions) o where o ~* '^security_invoker=(true|on|yes|1)$') as invoker,
         array(select a.attname::text from pg_catalog.pg_attribute a
               where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped order by a.attnum) as columns
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'v', 'm', 'f') and (n.nspname = $1 or c.oid in (select refobjid from policy_reads))
  order by n.nspname collate "C", c.relname collate "C"`;

const PRIVILEGES_SQL = `
  select x.rolname::text as role, format('%I.%I', n.nspname, c.relname) as table,
    ${["SELECT", "INSERT", "UPDATE"]
      .map(
        (p) => `array(select a.attname::text from pg_catalog.pg_attribute a
          where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
            and pg_catalog.has_column_privilege(x.oid, c.oid, a.attnum, '${p}') order by a.attnum) as ${p.toLowerCase()}`,
      )
      .join(",\n    ")},
    pg_catalog.has_table_privilege(x.oid, c.oid, 'DELETE') as delete
  from pg_catalog.pg_roles x cross join pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where x.rolname = any ($1::text[]) and c.oid = any ($2::int8[]::oid[])`;

// ACL entries granted to the role itself: table-wide (all columns) or per column.
const OWN_SQL = `
  select g.rolname::text as role, format('%I.%I', n.nspname, c.relname) as table, x.privilege_type as privilege, null::text as column
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  cross join lateral aclexplode(c.relacl) x join pg_catalog.pg_roles g on g.oid = x.grantee
  where g.rolname = any ($1::text[]) and c.oid = any ($2::int8[]::oid[])
  union all
  select g.rolname::text, format('%I.%I', n.nspname, c.relname), x.privilege_type, a.attname::text
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
  cross join lateral aclexplode(a.attacl) x join pg_catalog.pg_roles g on g.oid = x.grantee
  where g.rolname = any ($1::text[]) and c.oid = any ($2::int8[]::oid[])`;

const POLICIES_SQL = `
  select format('%I.%I', n.nspname, c.relname) as table, pol.polname::text as name, pol.polpermissive as permissive,
    pol.polcmd::text as cmd, pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) as qual,
    pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid) as with_check,
    array(select case when r = 0 then 'public' else (select rolname::text from pg_catalog.pg_roles where oid = r) end
          from unnest(pol.polroles) r) as roles,
    array(select distinct format('%I.%I', rn.nspname, rc.relname)
          from pg_catalog.pg_depend d join pg_catalog.pg_class rc on rc.oid = d.refobjid
          join pg_catalog.pg_namespace rn on rn.oid = rc.relnamespace
          where d.classid = 'pg_catalog.pg_policy'::regclass and d.objid = pol.oid
            and d.refclassid = 'pg_catalog.pg_class'::regclass and d.refobjid <> pol.polrelid) as reads,
    array(select distinct p.oid::regprocedure::text
          from pg_catalog.pg_depend d join pg_catalog.pg_proc p on p.oid = d.refobjid
          where d.classid = 'pg_catalog.pg_policy'::regclass and d.objid = pol.oid
            and d.refclassid = 'pg_catalog.pg_proc'::regclass and not p.prosecdef
            and p.pronamespace not in ('pg_catalog'::regnamespace, coalesce(to_regnamespace('hasura'), 0))) as functions
  from pg_catalog.pg_policy pol join pg_catalog.pg_class c on c.oid = pol.polrelid
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.oid = any ($1::int8[]::oid[])
  order by n.nspname collate "C", c.relname collate "C", pol.polname collate "C"`;

const HAS_PRIVS_OF_SQL = `
  select x.rolname::text as role, array(select r.rolname::text from pg_catalog.pg_roles r
                                        where pg_catalog.pg_has_role(x.oid, r.oid, 'USAGE')) as roles
  from pg_catalog.pg_roles x where x.rolname = any ($1::text[])`;

const DECLARATIONS_SQL = `
  select x.role, format('%I.%I', n.nspname, c.relname) as table, e.command, e.backend_only, null::text as preset
  from unnest($1::text[]) x(role) cross join lateral hasura.effective_permission(x.role::name) e
  join pg_catalog.pg_class c on c.oid = e.table_oid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.oid = any ($2::int8[]::oid[]) and e.backend_only
  union all
  select x.role, format('%I.%I', n.nspname, c.relname), e.command, false,
         format('%s=%s', e.column_name, coalesce(e.session_variable, quote_literal(e.value)))
  from unnest($1::text[]) x(role) cross join lateral hasura.effective_column_preset(x.role::name) e
  join pg_catalog.pg_class c on c.oid = e.table_oid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.oid = any ($2::int8[]::oid[])`;

async function loadFacts(client: pg.ClientBase, schema: string, appRoles: string[]): Promise<Facts | null> {
  const { rows: parentRows } = await client.query<{ role: string; parents: string[] }>(PARENTS_SQL, [appRoles]);
  if (parentRows.length === 0) return null;
  const parents = new Map(parentRows.map((r) => [r.role, r.parents]));
  // Parents that inherit in turn (application roles or not): the role gets their union too, so they are checked as well.
  for (let next = parentRows; next.length; ) {
    const frontier = [...new Set(next.flatMap((r) => r.parents))].filter((p) => !parents.has(p));
    next = frontier.length ? (await client.query<{ role: string; parents: string[] }>(PARENTS_SQL, [frontier])).rows : [];
    for (const r of next) parents.set(r.role, r.parents);
  }
  const inherited = [...parents.keys()];
  const allParents = [...new Set([...parents.values()].flat())];
  const everyone = [...new Set([...inherited, ...allParents])];

  const { rows: tableRows } = await client.query<TableRow & { oid: string }>(TABLES_SQL, [schema]);
  const oids = tableRows.map((t) => t.oid);
  const tables = new Map(tableRows.map(({ oid: _, ...t }) => [t.table, t]));

  const privileges = new Map<string, Map<string, PrivilegeRow>>();
  for (const p of (await client.query<PrivilegeRow>(PRIVILEGES_SQL, [everyone, oids])).rows) {
    privileges.set(p.role, (privileges.get(p.role) ?? new Map()).set(p.table, p));
  }

  const own = new Map<string, Map<string, PrivilegeRow>>();
  const { rows: ownRows } = await client.query<{ role: string; table: string; privilege: string; column: string | null }>(OWN_SQL, [
    inherited,
    oids,
  ]);
  for (const r of ownRows) {
    const byTable = own.get(r.role) ?? new Map<string, PrivilegeRow>();
    own.set(r.role, byTable);
    const row = byTable.get(r.table) ?? { role: r.role, table: r.table, select: [], insert: [], update: [], delete: false };
    byTable.set(r.table, row);
    const columns = r.column === null ? (tables.get(r.table)?.columns ?? []) : [r.column];
    if (r.privilege === "DELETE") row.delete = true;
    else if (r.privilege === "SELECT" || r.privilege === "INSERT" || r.privilege === "UPDATE") {
      const key = r.privilege.toLowerCase() as "select" | "insert" | "update";
      row[key] = [...new Set([...row[key], ...columns])];
    }
  }

  const policies = (await client.query<PolicyRow>(POLICIES_SQL, [oids])).rows;
  const hasPrivsOf = new Map(
    (await client.query<{ role: string; roles: string[] }>(HAS_PRIVS_OF_SQL, [everyone])).rows.map((r) => [r.role, new Set(r.roles)]),
  );

  const presets = new Map<string, string>();
  const backendOnly = new Set<string>();
  const { rows: declared } = await client.query<{ exists: boolean }>(
    "select pg_catalog.to_regprocedure('hasura.effective_column_preset(name)') is not null as exists",
  );
  if (declared[0]?.exists) {
    const { rows } = await client.query<{ role: string; table: string; command: Command; backend_only: boolean; preset: string | null }>(
      DECLARATIONS_SQL,
      [allParents, oids],
    );
    const lists = new Map<string, string[]>();
    for (const r of rows) {
      const key = `${r.role}|${r.table}|${r.command}`;
      if (r.backend_only) backendOnly.add(key);
      if (r.preset !== null) lists.set(key, [...(lists.get(key) ?? []), r.preset]);
    }
    for (const [key, list] of lists) presets.set(key, list.sort().join(", "));
  }
  return { parents, tables, privileges, own, policies, hasPrivsOf, presets, backendOnly };
}

/** A source of an inherited role's rights on a table: one parent, or the role's own grants and policies. */
interface Source {
  name: string;
  own: boolean;
  privileges(table: string): PrivilegeRow | undefined;
  /** Whether the policy applies to this source (PUBLIC policies apply to every source). */
  applies(p: PolicyRow): boolean;
  /** Applies, and not only as a PUBLIC policy: what makes a source hold a command. */
  names(p: PolicyRow): boolean;
}

const ROLE_NAME = /\bCURRENT_USER\b|\bCURRENT_ROLE\b|\bhasura\.role\(\)/;

function sourcesOf(role: string, facts: Facts): Source[] {
  const parents = facts.parents.get(role)!;
  const sources: Source[] = parents.map((parent) => {
    const roles = facts.hasPrivsOf.get(parent) ?? new Set([parent]);
    const names = (p: PolicyRow) => p.roles.some((r) => r !== "public" && roles.has(r));
    return {
      name: parent,
      own: false,
      privileges: (table) => facts.privileges.get(parent)?.get(table),
      applies: (p) => p.roles.includes("public") || names(p),
      names,
    };
  });
  const names = (p: PolicyRow) => p.roles.includes(role);
  sources.push({
    name: `${role} (own)`,
    own: true,
    privileges: (table) => facts.own.get(role)?.get(table),
    applies: (p) => p.roles.includes("public") || names(p),
    names,
  });
  return sources;
}

/** Columns (or, for delete, "all") a source may use the command on. */
function columnsFor(s: Source, table: string, command: Command): string[] {
  const p = s.privileges(table);
  if (!p) return [];
  if (command === "delete") return p.delete ? ["*"] : [];
  return p[command];
}

/** A policy as the command sees it: permissive or restrictive, and its expressions for that command. */
function ruleText(p: PolicyRow, command: Command): string {
  const kind = p.permissive ? "permissive" : "restrictive";
  const check = p.with_check ?? p.qual;
  switch (command) {
    case "select":
      return `${kind} using (${p.qual})`;
    case "insert":
      return `${kind} with check (${check})`;
    case "update":
      return `${kind} using (${p.qual}) with check (${check})`;
    case "delete":
      return `${kind} using (${p.qual})`;
  }
}

const sameList = (lists: string[][]) => lists.every((l) => l.join("\u0000") === lists[0]!.join("\u0000"));
const show = (columns: string[]) => (columns.length ? columns.join(", ") : "none");

/**
 * Every finding for every application role with parents, in role, table,
 * command order. Runs inside the caller's transaction, whose search_path
 * must be only pg_catalog (policy expressions then name every table with
 * its schema); see loadInheritedRoleFindings.
 */
export async function checkInheritedRoles(
  client: pg.ClientBase,
  opts: { schema: string; appRoles: string[] },
): Promise<InheritedRoleFinding[]> {
  const facts = await loadFacts(client, opts.schema, opts.appRoles);
  return facts ? findingsOf(facts, new Set(opts.appRoles)) : [];
}

/** checkInheritedRoles in its own read-only transaction. */
export function loadInheritedRoleFindings(
  client: pg.ClientBase,
  opts: { schema: string; appRoles: string[] },
): Promise<InheritedRoleFinding[]> {
  return inCatalogSnapshot(client, () => checkInheritedRoles(client, opts));
}

/** A policy reading its own table (`exists (select … from t t2 …)`): pg_depend cannot tell it from its own columns. */
function readsOf(p: PolicyRow): string[] {
  const own = new RegExp(`\\b(?:FROM|JOIN)\\s+${p.table.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w."])`);
  return own.test(`${p.qual ?? ""} ${p.with_check ?? ""}`) ? [...p.reads, p.table] : p.reads;
}

/**
 * The findings of every application role with parents: its own, then those of
 * each parent that inherits in turn (at any depth), which reach it through
 * membership whether that parent is an application role, a refused one or
 * none.
 */
function findingsOf(facts: Facts, appRoles: ReadonlySet<string>): InheritedRoleFinding[] {
  const byRole = new Map([...facts.parents.keys()].map((role) => [role, roleFindings(facts, role)]));
  const out: InheritedRoleFinding[] = [];
  for (const role of [...facts.parents.keys()].filter((r) => appRoles.has(r)).sort()) {
    const parents = facts.parents.get(role)!;
    out.push(...byRole.get(role)!);
    for (const ancestor of inheritingAncestors(facts, role)) {
      const via = `through "${ancestor}" (parents ${facts.parents
        .get(ancestor)!
        .map((p) => `"${p}"`)
        .join(", ")}), which it inherits`;
      for (const f of byRole.get(ancestor)!) out.push({ ...f, role, parents, reason: `${via}: ${f.reason}` });
    }
  }
  return out;
}

/** The role's parents, theirs and so on, that have parents themselves. */
function inheritingAncestors(facts: Facts, role: string): string[] {
  const seen = new Set<string>();
  const visit = (r: string) => {
    for (const p of facts.parents.get(r) ?? []) {
      if (facts.parents.has(p) && !seen.has(p)) {
        seen.add(p);
        visit(p);
      }
    }
  };
  visit(role);
  return [...seen].sort();
}

/** One role's findings, as if it were the only inherited role. */
function roleFindings(facts: Facts, role: string): InheritedRoleFinding[] {
  const out: InheritedRoleFinding[] = [];
  const parents = facts.parents.get(role)!;
  const schemaTables = [...facts.tables.values()].filter((t) => t.exposed);
  const sources = sourcesOf(role, facts);
  const find = (table: string, command: Command | null, reason: string) => out.push({ role, parents, table, command, reason });
  for (const t of schemaTables) {
    const policies = t.rls ? facts.policies.filter((p) => p.table === t.table) : [];
    for (const command of COMMANDS) {
      const forCommand = policies.filter((p) => POLCMD[p.cmd]?.includes(command));
      // As a set: a parent inheriting one rule from two of its own parents has it once (OR and AND are idempotent).
      const rules = (s: Source) => [
        ...new Set(
          forCommand
            .filter((p) => s.applies(p))
            .map((p) => ruleText(p, command))
            .sort(),
        ),
      ];
      const holding = sources.filter((s) => columnsFor(s, t.table, command).length > 0 || forCommand.some((p) => s.names(p)));
      const ownSource = holding.find((s) => s.own);
      if (ownSource && holding.length > 1) {
        find(
          t.table,
          command,
          `it has ${command} grants or policies of its own where its parents (${holding
            .filter((s) => !s.own)
            .map((s) => s.name)
            .join(
              ", ",
            )}) also have ${command}: Postgres would allow either, Hasura only its own. Give the role no ${command} of its own on this table, or no parents that have it`,
        );
        continue;
      }
      if (holding.length < 2) continue;
      const restrictive = holding.map((s) => rules(s).filter((r) => r.startsWith("restrictive")));
      if (!sameList(restrictive)) {
        find(
          t.table,
          command,
          `restrictive ${command} policies differ between its parents: Postgres would apply each parent's to the rows of the others too`,
        );
        continue;
      }
      const columns = holding.map((s) => columnsFor(s, t.table, command));
      const rowRules = holding.map(rules);
      if (command === "select") {
        // A security-invoker view's rows are its tables' for the role: not a rule that can be compared.
        if (!t.invoker && sameList(rowRules)) continue;
        // Hasura shows a column on the rows of the parents that have it; Postgres on every row. The same
        // when every parent has it, or when one that has it sees every row (no row rule).
        const allRows = (i: number) =>
          !t.invoker && (!t.rls || (rowRules[i]!.includes("permissive using (true)") && !restrictive[i]!.length));
        const union = [...new Set(columns.flat())];
        if (union.every((c) => columns.every((cs) => cs.includes(c)) || columns.some((cs, i) => cs.includes(c) && allRows(i)))) continue;
        find(
          t.table,
          command,
          `its parents read different columns (${holding.map((s, i) => `${s.name}: ${show(columns[i]!)}`).join("; ")}) under different row rules: Postgres would show every parent's columns on the rows any parent may see (Hasura answers null there). Give the parents the same columns or the same policies`,
        );
        continue;
      }
      // Hasura inherits a mutation permission only when every parent holding it has the same one.
      const differs: string[] = [];
      if (!sameList(columns)) differs.push(`${command} columns (${holding.map((s, i) => `${s.name}: ${show(columns[i]!)}`).join("; ")})`);
      if (!sameList(rowRules)) differs.push(`${command} policies`);
      const key = (s: Source) => `${s.name}|${t.table}|${command}`;
      if (!sameList(holding.map((s) => [facts.presets.get(key(s)) ?? ""])))
        differs.push(`presets (${holding.map((s) => `${s.name}: ${facts.presets.get(key(s)) || "none"}`).join("; ")})`);
      if (!sameList(holding.map((s) => [String(facts.backendOnly.has(key(s)))])))
        differs.push(`backend_only (${holding.map((s) => `${s.name}: ${facts.backendOnly.has(key(s))}`).join("; ")})`);
      if (differs.length)
        find(
          t.table,
          command,
          `its parents' ${command} permissions differ in ${differs.join(", ")}: Hasura inherits a mutation only where every parent holding it agrees, Postgres would allow any parent's. Make them the same, or leave ${command} to one parent`,
        );
    }

    // A policy that reads another table reads it as this role: through the union of the sources' rows.
    for (const p of policies) {
      const users = sources.filter((s) => s.applies(p));
      if (users.length === 0) continue;
      const nonPublic = users.some((s) => s.names(p));
      if (!nonPublic) continue;
      const byName = users.map((s) => s.name).join(", ");
      if (ROLE_NAME.test(`${p.qual ?? ""} ${p.with_check ?? ""}`)) {
        find(t.table, null, `policy ${p.name} (of ${byName}) reads the role's name, which is "${role}" when "${role}" runs it`);
      }
      if (p.functions.length) {
        find(
          t.table,
          null,
          `policy ${p.name} (of ${byName}) calls ${p.functions.join(", ")}, which runs as "${role}" and may read other rows than as its parent`,
        );
      }
      for (const read of readsOf(p)) {
        const u = facts.tables.get(read);
        const readPolicies = u?.rls ? facts.policies.filter((q) => q.table === read && POLCMD[q.cmd]?.includes("select")) : [];
        const involved = sources.filter(
          (s) => users.includes(s) || columnsFor(s, read, "select").length > 0 || readPolicies.some((q) => s.names(q)),
        );
        const view = (s: Source) =>
          `${columnsFor(s, read, "select").length > 0}|${[
            ...new Set(
              readPolicies
                .filter((q) => s.applies(q))
                .map((q) => ruleText(q, "select"))
                .sort(),
            ),
          ].join("\u0000")}`;
        if (involved.length > 1 && new Set(involved.map(view)).size > 1) {
          find(
            t.table,
            null,
            `policy ${p.name} (of ${byName}) reads ${read}, whose rows differ between ${involved.map((s) => s.name).join(", ")}: run as "${role}" it would read all of their rows, not only its parent's`,
          );
        }
      }
    }
  }
  return out;
}
