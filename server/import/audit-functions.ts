/**
 * Functions and triggers an imported Hasura project's migrations define,
 * checked against what changes here (issue 14). Hasura ran every statement
 * on its admin connection, so a trigger could read and write any table;
 * here a request runs as its role, and so does every SECURITY INVOKER
 * trigger it fires. Run after the migrations and policies.sql are applied
 * (the grants and policies are then those the roles will have); it reports,
 * it changes nothing:
 *
 *  - a function reading a custom setting (`current_setting('hasura.user')`):
 *    fine where this server sets it per transaction as Hasura does
 *    (server/auth/pg-settings.ts), named where it does not;
 *  - a SECURITY INVOKER trigger function that reads or writes a table a role
 *    firing it has no privilege (or, under RLS, no policy) for: that
 *    request would now be refused. The offered fix is SECURITY DEFINER with a
 *    fixed search_path, or the grant;
 *  - a security_invoker view (emit-policies.ts makes every tracked view one)
 *    a role may select while it may not read a base table: Hasura read the
 *    view as admin; here every select of it is refused (no privilege) or
 *    empty (no policy).
 *
 * Tables are found in the function's text (insert into / update / delete
 * from / from / join / truncate, resolved against the catalog, so other
 * words are ignored); dynamic SQL (`execute '…'`) is not seen.
 */
import type pg from "pg";
import { toPgSettings } from "../auth/pg-settings.ts";
import { quoteIdent } from "./sql-quote.ts";

export interface FunctionFinding {
  /** schema.name(args), or `view schema.name` */
  function: string;
  detail: string;
  /** The offered fix, as SQL or words; none when the function keeps working. */
  fix?: string;
}

export interface AuditOptions {
  /** The application roles (the roles requests run as). */
  roles: string[];
  /** Owners whose functions are not the migrations' (the rule helpers' reader). */
  excludeOwners?: string[];
}

/** The settings every request's transaction carries (role excluded: it is not read with current_setting). */
const SET_HERE = Object.keys(toPgSettings({ role: "r", variables: {}, claims: null })).filter((k) => k !== "role");

/** Schemas whose functions are not the migrations': the catalog's and the sql/ helper library's. */
const NOT_MIGRATIONS = ["pg_catalog", "information_schema", "hasura"];

const FUNCTIONS_SQL = `
select p.oid::int as oid, n.nspname as schema, p.proname as name, pg_catalog.pg_get_function_identity_arguments(p.oid) as args,
       p.prosecdef as definer, p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype as is_trigger, p.prosrc as src,
       coalesce(p.proconfig, '{}') as config, pg_catalog.pg_get_userbyid(p.proowner) as owner
  from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
 where n.nspname <> all ($1::text[]) and n.nspname !~ '^pg_'
   and not exists (select 1 from pg_catalog.pg_depend d
                    where d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and d.objid = p.oid and d.deptype = 'e')
   and pg_catalog.pg_get_userbyid(p.proowner) <> all ($2::text[])
 order by 2, 3, 4`;

const TRIGGERS_SQL = `
select t.tgname as name, t.tgfoid::int as fn, n.nspname as schema, c.relname as "table", t.tgtype::int as type
  from pg_catalog.pg_trigger t join pg_catalog.pg_class c on c.oid = t.tgrelid
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
 where not t.tgisinternal
 order by 3, 4, 1`;

// The relations each security_invoker view reads (its rewrite rule's dependencies).
const VIEWS_SQL = `
select distinct vn.nspname as schema, v.relname as name, bn.nspname as base_schema, b.relname as base
  from pg_catalog.pg_class v join pg_catalog.pg_namespace vn on vn.oid = v.relnamespace
  join pg_catalog.pg_rewrite r on r.ev_class = v.oid
  join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass and d.objid = r.oid
   and d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.refobjid <> v.oid
  join pg_catalog.pg_class b on b.oid = d.refobjid and b.relkind in ('r', 'p', 'v', 'm', 'f')
  join pg_catalog.pg_namespace bn on bn.oid = b.relnamespace
 where v.relkind = 'v' and 'security_invoker=true' = any (coalesce(v.reloptions, '{}'))
   and vn.nspname <> all ($1::text[]) and vn.nspname !~ '^pg_'
 order by 1, 2, 3, 4`;

const RELATIONS_SQL = `
select n.nspname as schema, c.relname as name, c.relrowsecurity as rls
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ('r', 'p', 'v', 'm', 'f') and n.nspname <> all ('{pg_catalog,information_schema}') and n.nspname !~ '^pg_'`;

interface FunctionRow {
  oid: number;
  schema: string;
  name: string;
  args: string;
  definer: boolean;
  is_trigger: boolean;
  src: string;
  config: string[];
  owner: string;
}

type Privilege = "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "TRUNCATE";
const POLICY_CMD: Record<Privilege, string | null> = { SELECT: "r", INSERT: "a", UPDATE: "w", DELETE: "d", TRUNCATE: null };

// pg_trigger.tgtype bits (catalog/pg_trigger.h).
const EVENTS: [number, Privilege][] = [
  [4, "INSERT"],
  [8, "DELETE"],
  [16, "UPDATE"],
  [32, "TRUNCATE"],
];

const IDENT = '(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)';
const ACCESS = new RegExp(
  String.raw`\b(insert\s+into|update|delete\s+from|truncate(?:\s+table)?|from|join)\s+(?:only\s+)?(${IDENT}(?:\s*\.\s*${IDENT})?)`,
  "gi",
);
const SETTING = /current_setting\s*\(\s*'([^']+)'/gi;

const unquote = (id: string) => (id.startsWith('"') ? id.slice(1, -1).replaceAll('""', '"') : id.toLowerCase());
const qualified = (schema: string, name: string) => `${quoteIdent(schema)}.${quoteIdent(name)}`;

const withoutComments = (src: string) => src.replace(/--[^\n]*/g, " ").replace(/\/\*[\s\S]*?\*\//g, " ");

/** Comments and string literals out (a table named in a string is dynamic SQL, not seen here). */
const code = (src: string) => withoutComments(src).replace(/'(?:[^']|'')*'/g, "''");

/** The tables a function body reads or writes, with the privilege each use needs. */
function accesses(src: string, searchPath: string[], exists: (s: string, n: string) => boolean) {
  const out = new Map<string, { schema: string; name: string; privileges: Set<Privilege> }>();
  for (const m of code(src).matchAll(ACCESS)) {
    const verb = m[1]!.toLowerCase().split(/\s+/)[0]!;
    const parts = m[2]!.split(/\s*\.\s*(?=(?:"|[A-Za-z_]))/).map(unquote);
    const candidates = parts.length === 2 ? [[parts[0]!, parts[1]!]] : searchPath.map((s) => [s, parts[0]!]);
    const hit = candidates.find(([s, n]) => exists(s!, n!));
    if (!hit) continue;
    const privilege: Privilege =
      verb === "insert"
        ? "INSERT"
        : verb === "update"
          ? "UPDATE"
          : verb === "delete"
            ? "DELETE"
            : verb === "truncate"
              ? "TRUNCATE"
              : "SELECT";
    const key = JSON.stringify(hit);
    const entry = out.get(key) ?? { schema: hit[0]!, name: hit[1]!, privileges: new Set<Privilege>() };
    entry.privileges.add(privilege);
    out.set(key, entry);
  }
  return [...out.values()];
}

function searchPathOf(config: string[]): string[] {
  const setting = config.find((c) => c.startsWith("search_path="));
  if (!setting) return ["public"];
  return setting
    .slice("search_path=".length)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s && s !== '"$user"')
    .map(unquote);
}

export async function auditFunctions(client: pg.ClientBase, opts: AuditOptions): Promise<FunctionFinding[]> {
  const findings: FunctionFinding[] = [];
  const functions = (await client.query<FunctionRow>(FUNCTIONS_SQL, [NOT_MIGRATIONS, opts.excludeOwners ?? []])).rows;
  const triggers = (await client.query<{ name: string; fn: number; schema: string; table: string; type: number }>(TRIGGERS_SQL)).rows;
  const relations = new Map(
    (await client.query<{ schema: string; name: string; rls: boolean }>(RELATIONS_SQL)).rows.map((r) => [
      JSON.stringify([r.schema, r.name]),
      r,
    ]),
  );
  const exists = (s: string, n: string) => relations.has(JSON.stringify([s, n]));

  /** Whether `role` may use `privilege` on the table: its grant, and under RLS a policy for it (null), else why not. */
  // One question per role, table and privilege (a big project asks the same ones for many triggers and views).
  const answers = new Map<string, Promise<string | null>>();
  function allowed(role: string, schema: string, name: string, privilege: Privilege): Promise<string | null> {
    const key = JSON.stringify([role, schema, name, privilege]);
    const known = answers.get(key);
    if (known) return known;
    const answer = ask(role, schema, name, privilege);
    answers.set(key, answer);
    return answer;
  }
  async function ask(role: string, schema: string, name: string, privilege: Privilege): Promise<string | null> {
    const table = qualified(schema, name);
    const { rows } = await client.query<{ granted: boolean; policy: boolean }>(
      // Column grants count: has_any_column_privilege is the table's grant or any column's.
      `select case when $3 in ('SELECT', 'INSERT', 'UPDATE') then pg_catalog.has_any_column_privilege($1, $2, $3)
                   else pg_catalog.has_table_privilege($1, $2, $3) end as granted,
              exists (select 1 from pg_catalog.pg_policy p
                       where p.polrelid = $2::regclass and p.polpermissive and p.polcmd in ('*', $4)
                         and (0::oid = any (p.polroles) or (select oid from pg_catalog.pg_roles where rolname = $1) = any (p.polroles))) as policy`,
      [role, table, privilege, POLICY_CMD[privilege] ?? "*"],
    );
    const r = rows[0]!;
    if (!r.granted) return `no ${privilege} privilege on ${schema}.${name}`;
    if (relations.get(JSON.stringify([schema, name]))?.rls && POLICY_CMD[privilege] && !r.policy)
      return `no ${privilege.toLowerCase()} policy on ${schema}.${name} (row-level security)`;
    return null;
  }

  for (const f of functions) {
    const signature = `${f.schema}.${f.name}(${f.args})`;
    const settings = [...new Set([...withoutComments(f.src).matchAll(SETTING)].map((m) => m[1]!.toLowerCase()))];
    for (const s of settings) {
      if (SET_HERE.includes(s))
        findings.push({
          function: signature,
          detail:
            s === "hasura.user"
              ? "reads hasura.user: keeps working, this server sets it in every request's transaction as Hasura does (a JSON object of the session variables, lower-case keys, x-hasura-role included)"
              : `reads ${s}: this server sets it in every request's transaction`,
        });
      else
        findings.push({
          function: signature,
          detail: `reads the setting ${s}, which this server does not set (it sets ${SET_HERE.join(", ")}): current_setting('${s}') fails, or with missing_ok is null`,
          fix: "read the session from hasura.user (current_setting('hasura.user', true)::json ->> 'x-hasura-user-id'), or the sql/ helpers",
        });
    }
    if (!f.is_trigger || f.definer) continue;
    const uses = accesses(f.src, searchPathOf(f.config), exists);
    for (const trg of triggers.filter((x) => x.fn === f.oid)) {
      const events = EVENTS.filter(([bit]) => trg.type & bit).map(([, p]) => p);
      const refused: string[] = [];
      for (const role of opts.roles) {
        const fires: Privilege[] = [];
        for (const e of events) if ((await allowed(role, trg.schema, trg.table, e)) === null) fires.push(e);
        if (fires.length === 0) continue;
        for (const u of uses)
          for (const p of u.privileges) {
            const why = await allowed(role, u.schema, u.name, p);
            if (why) refused.push(`${role} (${fires.join("/").toLowerCase()} on ${trg.table}): ${why}`);
          }
      }
      if (refused.length === 0) continue;
      const targets = uses.map((u) => `${u.schema}.${u.name}`).join(", ");
      findings.push({
        function: signature,
        detail:
          `trigger ${trg.name} on ${trg.schema}.${trg.table} runs as the request's role (SECURITY INVOKER; Hasura ran it as its admin), ` +
          `and would now be refused: ${refused.join("; ")}`,
        fix:
          `alter function ${qualified(f.schema, f.name)}(${f.args}) security definer set search_path = pg_catalog, ${quoteIdent(f.schema)}; ` +
          `it then runs as its owner ${f.owner}, which needs the privileges on ${targets} and, where RLS is forced, a policy for itself there (in policies.sql); ` +
          "or grant the roles the privileges and policies listed",
      });
    }
  }

  // Views: each role that may select one must be able to read what it reads.
  const views = new Map<string, { schema: string; name: string; bases: { schema: string; name: string }[] }>();
  for (const r of (await client.query<{ schema: string; name: string; base_schema: string; base: string }>(VIEWS_SQL, [NOT_MIGRATIONS]))
    .rows) {
    const key = JSON.stringify([r.schema, r.name]);
    const v = views.get(key) ?? { schema: r.schema, name: r.name, bases: [] };
    v.bases.push({ schema: r.base_schema, name: r.base });
    views.set(key, v);
  }
  for (const v of views.values()) {
    const refused: string[] = [];
    for (const role of opts.roles) {
      if ((await allowed(role, v.schema, v.name, "SELECT"))?.startsWith("no SELECT privilege")) continue;
      for (const b of v.bases) {
        const why = await allowed(role, b.schema, b.name, "SELECT");
        if (why) refused.push(`${role}: ${why}`);
      }
    }
    if (refused.length)
      findings.push({
        function: `view ${v.schema}.${v.name}`,
        detail:
          "reads its base tables as the caller (security_invoker; Hasura read it as its admin), and a role that may select it may not read them " +
          `(no privilege: every select of the view is refused; no policy: it shows no rows): ${refused.join("; ")}`,
        fix: "give the role a select permission on the base table (its rule then decides the view's rows); a view that must show more than its base tables' permissions allow needs a SECURITY DEFINER function instead",
      });
  }
  return findings;
}
