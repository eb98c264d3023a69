/**
 * The live catalog as Hasura metadata (version 3, one `default` postgres
 * source), for `POST /v1/metadata` `export_metadata` (server/plugins/
 * metadata-api.ts): what Hasura tooling reads, generated from what
 * PostgreSQL enforces, never from policies.sql.
 *
 * Per application role (not admin: Hasura's admin needs no permission),
 * table and command: a permission exists where the role is granted the
 * command itself (columns: its grants with what it inherits and PUBLIC's,
 * `*` for a table-wide grant, as --compare-hasura reads them); its row
 * rule is the policies that apply to it, permissive ones ORed, restrictive
 * ones ANDed; declarations and presets are sql/permissions.sql's
 * (catalog.ts). Relationships are the foreign keys, named as
 * server/hasura/model.ts names them.
 *
 * A policy's rule comes from, in order:
 *  (a) its comment `hasura:{"hash": …, "<command>": {filter/check}}`, written
 *      by `npm run import:hasura`, while `hash` (policyRuleHash) still matches
 *      the policy as it is now: a hand-edited policy is not exported with
 *      the rule it was imported from;
 *  (b) the reverse translator (policy-reverse.ts) for house-style SQL; a
 *      sub-select of another table runs under that table's RLS for the same
 *      role, so it becomes the relationship with that table's own rule for
 *      the role folded in;
 *  (c) otherwise nothing is guessed: the permission is left out (never
 *      exported wider than the policy) and listed in `warnings`.
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import { inCatalogSnapshot, loadCatalog, type PermissionCatalog, type PolicyRow, PUBLIC } from "../db/permissions/catalog.ts";
import { type Node, parsePolicyExpression, Unsupported } from "./policy-reverse.ts";

export type BoolExp = Record<string, unknown>;
type Cmd = "select" | "insert" | "update" | "delete";
const PRIVILEGE: Record<Cmd, string> = { select: "SELECT", insert: "INSERT", update: "UPDATE", delete: "DELETE" };
const HASURA_ADMIN = "admin";
export const RULE_COMMENT_PREFIX = "hasura:";

/** What a policy's comment records: the Hasura rule of each command it covers. */
export interface PolicyRules {
  select?: { filter: BoolExp };
  insert?: { check: BoolExp };
  update?: { filter: BoolExp; check: BoolExp | null };
  delete?: { filter: BoolExp };
}

export interface ExportWarning {
  table: string;
  role: string;
  permission: `${Cmd}_permissions`;
  reason: string;
}

export interface ExportedMetadata {
  metadata: Record<string, unknown>;
  warnings: ExportWarning[];
}

/** What the hash covers: the policy's expressions and the bodies of the functions they call outside the sql/ helper library. */
export interface PolicyFacts {
  table: string;
  policy: string;
  comment: string | null;
  qual: string | null;
  withCheck: string | null;
  functions: string[];
}

/**
 * The hash a rule comment carries. The `hasura` schema's session helpers are
 * left out (the library is re-applied and may change without changing what
 * a policy says); generated rule helpers are in (a hand-edited helper is a
 * hand-edited rule).
 */
export function policyRuleHash(p: Pick<PolicyFacts, "qual" | "withCheck" | "functions">): string {
  return createHash("sha256")
    .update(JSON.stringify([p.qual, p.withCheck, p.functions]))
    .digest("hex")
    .slice(0, 32);
}

/** The comment text recording `rules` for a policy whose hash is `hash`. */
export function ruleComment(hash: string, rules: PolicyRules): string {
  return RULE_COMMENT_PREFIX + JSON.stringify({ hash, ...rules });
}

async function readPolicyFacts(client: pg.ClientBase, schema: string): Promise<PolicyFacts[]> {
  const { rows } = await client.query<PolicyFacts>(
    `select c.relname as table, p.polname as policy, pg_catalog.obj_description(p.oid, 'pg_policy') as comment,
            pg_catalog.pg_get_expr(p.polqual, p.polrelid) as qual,
            pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) as "withCheck",
            array(select f.oid::pg_catalog.regprocedure::text || ' ' || f.prosecdef::text || ' '
                         || coalesce(pg_catalog.array_to_string(f.proconfig, ','), '') || ' ' || f.prosrc
                  from pg_catalog.pg_depend d join pg_catalog.pg_proc f on f.oid = d.refobjid
                  join pg_catalog.pg_namespace fn on fn.oid = f.pronamespace
                  where d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass and d.objid = p.oid
                    and d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                    and fn.nspname not in ('hasura', 'pg_catalog')
                  order by 1) as functions
     from pg_catalog.pg_policy p join pg_catalog.pg_class c on c.oid = p.polrelid
     join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where n.nspname = $1`,
    [schema],
  );
  return rows;
}

/** Each policy's facts (for the importer: the hashes its comments record), read as catalog.ts reads policies. */
export function loadPolicyFacts(client: pg.ClientBase, schema: string): Promise<PolicyFacts[]> {
  return inCatalogSnapshot(client, () => readPolicyFacts(client, schema));
}

interface ForeignKey {
  name: string;
  table: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  /** The referencing columns are unique: the reverse side is an object relationship. */
  unique: boolean;
  comment: string | null;
}

interface Extras {
  facts: PolicyFacts[];
  foreignKeys: ForeignKey[];
  /** table → column → pg_type.typcategory (B boolean, N numeric, …). */
  types: Record<string, Record<string, string>>;
  /** Views with security_invoker: their rows are what their base tables' policies let the caller see. */
  invokerViews: Set<string>;
  functions: FunctionFacts[];
}

interface FunctionFacts {
  name: string;
  volatile: boolean;
  /** The table whose rows it returns (one, or setof), if any. */
  returns: string | null;
  /** Its argument of a table's row type: a computed field of that table. */
  rowArgument: { name: string; table: string } | null;
  /** Its json/jsonb argument named hasura_session (filled with the session, server/graphile/SessionArgumentPlugin.ts). */
  sessionArgument: string | null;
  /** The application roles that may EXECUTE it. */
  roles: string[];
  comment: string | null;
}

async function readExtras(client: pg.ClientBase, schema: string, roles: string[]): Promise<Extras> {
  const facts = await readPolicyFacts(client, schema);
  const { rows: foreignKeys } = await client.query<ForeignKey>(
    `select con.conname as name, c.relname as table, r.relname as "refTable",
            array(select a.attname::text from pg_catalog.unnest(con.conkey) with ordinality k(n, i)
                  join pg_catalog.pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.n order by k.i) as columns,
            array(select a.attname::text from pg_catalog.unnest(con.confkey) with ordinality k(n, i)
                  join pg_catalog.pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.n order by k.i) as "refColumns",
            exists (select 1 from pg_catalog.pg_index x
                    where x.indrelid = con.conrelid and x.indisunique and x.indpred is null
                      and (select array_agg(v order by v) from pg_catalog.unnest(x.indkey::int2[]) v)
                        = (select array_agg(v order by v) from pg_catalog.unnest(con.conkey) v)) as unique,
            pg_catalog.obj_description(con.oid, 'pg_constraint') as comment
     from pg_catalog.pg_constraint con
     join pg_catalog.pg_class c on c.oid = con.conrelid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     join pg_catalog.pg_class r on r.oid = con.confrelid join pg_catalog.pg_namespace rn on rn.oid = r.relnamespace
     where con.contype = 'f' and n.nspname = $1 and rn.nspname = $1
     order by c.relname collate "C", con.conname collate "C"`,
    [schema],
  );
  const { rows: cols } = await client.query<{ tbl: string; col: string; cat: string }>(
    `select c.relname as tbl, a.attname as col, t.typcategory::text as cat
     from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
     join pg_catalog.pg_type t on t.oid = a.atttypid
     where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm')
     order by c.relname, a.attnum`,
    [schema],
  );
  const types: Extras["types"] = {};
  for (const c of cols) {
    types[c.tbl] ??= {};
    types[c.tbl]![c.col] = c.cat;
  }
  const { rows: views } = await client.query<{ name: string }>(
    `select c.relname as name from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where n.nspname = $1 and c.relkind = 'v'
       and exists (select 1 from pg_catalog.unnest(c.reloptions) o where o ~* '^security_invoker=(true|on|yes|1)$')`,
    [schema],
  );
  return {
    facts,
    foreignKeys,
    types,
    invokerViews: new Set(views.map((v) => v.name)),
    functions: await readFunctions(client, schema, roles),
  };
}

/**
 * The schema's functions Hasura would track: returning rows of one of its
 * tables (a tracked function), or taking one of its tables' rows (a
 * computed field). Several row arguments, or a row argument of another
 * schema's table, are neither.
 */
async function readFunctions(client: pg.ClientBase, schema: string, roles: string[]): Promise<FunctionFacts[]> {
  const { rows } = await client.query<{
    name: string;
    volatile: boolean;
    returns: string | null;
    row_args: { name: string; table: string; same: boolean }[];
    session_argument: string | null;
    roles: string[];
    comment: string | null;
  }>(
    `select p.proname as name, p.provolatile = 'v' as volatile,
            (select rc.relname from pg_catalog.pg_type rt join pg_catalog.pg_class rc on rc.oid = rt.typrelid
             where rt.oid = p.prorettype and rc.relnamespace = p.pronamespace and rc.relkind in ('r', 'p', 'v', 'm')) as returns,
            coalesce((select pg_catalog.json_agg(pg_catalog.json_build_object('name', coalesce(p.proargnames[a.i], ''), 'table', ac.relname, 'same', ac.relnamespace = p.pronamespace))
                      from pg_catalog.unnest(p.proargtypes::oid[]) with ordinality a(t, i)
                      join pg_catalog.pg_type at on at.oid = a.t join pg_catalog.pg_class ac on ac.oid = at.typrelid
                      where ac.relkind in ('r', 'p', 'v', 'm')), '[]') as row_args,
            (select p.proargnames[a.i] from pg_catalog.unnest(p.proargtypes::oid[]) with ordinality a(t, i)
             where p.proargnames[a.i] = 'hasura_session' and a.t in ('pg_catalog.json'::pg_catalog.regtype, 'pg_catalog.jsonb'::pg_catalog.regtype)) as session_argument,
            array(select r from pg_catalog.unnest($2::text[]) r where pg_catalog.has_function_privilege(r, p.oid, 'EXECUTE') order by r collate "C") as roles,
            pg_catalog.obj_description(p.oid, 'pg_proc') as comment
     from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = $1 and p.prokind = 'f'
     order by p.proname collate "C"`,
    [schema, roles],
  );
  const out: FunctionFacts[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    // Hasura tracks one function per name: an overloaded name is left out.
    if (rows.filter((x) => x.name === r.name).length > 1 || seen.has(r.name)) continue;
    seen.add(r.name);
    const base = {
      name: r.name,
      volatile: r.volatile,
      returns: r.returns,
      sessionArgument: r.session_argument,
      roles: r.roles,
      comment: r.comment,
    };
    const [only] = r.row_args;
    if (r.row_args.length === 1 && only!.same) {
      if (!r.volatile) out.push({ ...base, rowArgument: { name: only!.name, table: only!.table } });
    } else if (r.row_args.length === 0 && r.returns !== null) out.push({ ...base, rowArgument: null });
  }
  return out;
}

interface Relationship {
  name: string;
  kind: "object" | "array";
  /** On this table's side: this table's column → the other table's. */
  mapping: [string, string][];
  target: string;
  using: Record<string, unknown>;
}

/** A simple plural (PostGraphile's inflector agrees on regular nouns). */
function pluralize(s: string): string {
  if (/[^aeiou]y$/.test(s)) return `${s.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(s)) return `${s}es`;
  return `${s}s`;
}

function smartTag(comment: string | null, tag: string): string | undefined {
  const m = comment && new RegExp(`(?:^|\\n)@${tag}\\s+(\\S+)`).exec(comment);
  return m ? m[1] : undefined;
}

/** Foreign keys as Hasura relationships, named as server/hasura/model.ts names them. */
function relationshipsOf(schema: string, fks: ForeignKey[], columns: Record<string, string[]>): Map<string, Relationship[]> {
  const out = new Map<string, Relationship[]>();
  const taken = new Map<string, Set<string>>();
  const add = (table: string, rel: Relationship, base: string, cols: string[]) => {
    const used = taken.get(table) ?? new Set(columns[table] ?? []);
    taken.set(table, used);
    let name = base;
    if (used.has(name))
      name = `${base}By${cols.map((c) => c.charAt(0).toUpperCase() + c.slice(1).replace(/_([a-z])/g, (_, l: string) => l.toUpperCase())).join("And")}`;
    used.add(name);
    out.set(table, [...(out.get(table) ?? []), { ...rel, name }]);
  };
  for (const fk of fks) {
    const single = fk.columns.length === 1 ? fk.columns[0]! : null;
    const forward =
      smartTag(fk.comment, "fieldName") ??
      (single && /(_id|Id)$/.test(single) && single.length > 3 ? single.replace(/(_id|Id)$/, "") : fk.refTable);
    add(
      fk.table,
      {
        name: "",
        kind: "object",
        mapping: fk.columns.map((c, i) => [c, fk.refColumns[i]!]),
        target: fk.refTable,
        using: { foreign_key_constraint_on: single ?? fk.columns },
      },
      forward,
      fk.columns,
    );
    const kind = fk.unique ? "object" : "array";
    const back = smartTag(fk.comment, "foreignFieldName") ?? (kind === "array" ? pluralize(fk.table) : fk.table);
    add(
      fk.refTable,
      {
        name: "",
        kind,
        mapping: fk.refColumns.map((c, i) => [c, fk.columns[i]!]),
        target: fk.table,
        using: {
          foreign_key_constraint_on: {
            table: { schema, name: fk.table },
            ...(single ? { column: single } : { columns: fk.columns }),
          },
        },
      },
      back,
      fk.refColumns,
    );
  }
  return out;
}

// ---------------------------------------------------------------------------
// Boolean expressions: a canonical form, and AND / OR with the simplifications
// that make the OR of several policies read like the rule they state.

const FALSE: BoolExp = { _or: [] };
const isTrue = (e: BoolExp) => Object.keys(e).length === 0;
const isFalse = (e: BoolExp) => Array.isArray(e._or) && e._or.length === 0 && Object.keys(e).length === 1;

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    const field = (k: string) =>
      (k === "_and" || k === "_or") && Array.isArray(o[k]) ? `[${(o[k] as unknown[]).map(canonical).sort().join(",")}]` : canonical(o[k]);
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${field(k)}`)
      .join(",")}}`;
  }
  // Session variables are case-insensitive.
  return JSON.stringify(typeof v === "string" && /^x-hasura-/i.test(v) ? v.toLowerCase() : v);
}

const LOGICAL = new Set(["_and", "_or", "_not", "_exists"]);

/** An expression with every AND / OR (also under _not and relationships) simplified as and() / or() do. */
export function normalize(e: BoolExp): BoolExp {
  return and(
    conjuncts(e).map((c) => {
      const [k, v] = Object.entries(c)[0]!;
      if (k === "_or") return or((v as BoolExp[]).map(normalize));
      if (k === "_not") return { _not: normalize(v as BoolExp) };
      const isRelationship =
        v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).every((x) => LOGICAL.has(x) || !x.startsWith("_"));
      return isRelationship && !k.startsWith("_") ? { [k]: normalize(v as BoolExp) } : c;
    }),
  );
}

/** The conjuncts of an expression (its implicit AND of keys, and `_and`). */
function conjuncts(e: BoolExp): BoolExp[] {
  const out: BoolExp[] = [];
  for (const [k, v] of Object.entries(e)) {
    if (k === "_and" && Array.isArray(v)) for (const x of v as BoolExp[]) out.push(...conjuncts(x));
    else out.push({ [k]: v });
  }
  return out;
}
function disjuncts(e: BoolExp): BoolExp[] {
  if (Object.keys(e).length === 1 && Array.isArray(e._or)) return (e._or as BoolExp[]).flatMap(disjuncts);
  return [e];
}

export function and(items: BoolExp[]): BoolExp {
  const flat = items.flatMap(conjuncts);
  if (flat.some(isFalse)) return FALSE;
  const byKey = new Map<string, BoolExp>();
  for (const x of flat) if (!isTrue(x)) byKey.set(canonical(x), x);
  // Absorption: A and (A or B) = A.
  for (const [k, x] of byKey)
    if (disjuncts(x).length > 1 && disjuncts(x).some((d) => d !== x && byKey.has(canonical(d)) && canonical(d) !== k)) byKey.delete(k);
  const list = [...byKey.values()];
  return list.length === 0 ? {} : list.length === 1 ? list[0]! : { _and: list };
}

export function or(items: BoolExp[]): BoolExp {
  const flat = items.flatMap(disjuncts);
  if (flat.some(isTrue)) return {};
  const byKey = new Map<string, BoolExp>();
  for (const x of flat) if (!isFalse(x)) byKey.set(canonical(x), x);
  // Absorption: A or (A and B) = A.
  for (const [k, x] of byKey) {
    const cs = conjuncts(x);
    if (cs.length > 1 && cs.some((c) => canonical(c) !== k && byKey.has(canonical(c)))) byKey.delete(k);
  }
  const list = [...byKey.values()];
  return list.length === 0 ? FALSE : list.length === 1 ? list[0]! : { _or: list };
}

/** Both expressions in canonical form (for comparing exports with metadata up to ordering). */
export function sameBoolExp(a: BoolExp, b: BoolExp): boolean {
  return canonical(normalize(a)) === canonical(normalize(b));
}

/** `x-hasura-user-id` → `X-Hasura-User-Id`, as Hasura's docs and console spell them. */
function sessionName(v: string): string {
  return v
    .split("-")
    .map((p) => (p ? p[0]!.toUpperCase() + p.slice(1) : p))
    .join("-");
}

// ---------------------------------------------------------------------------

const OPS: Record<string, string> = { "=": "_eq", "<>": "_neq", "<": "_lt", ">": "_gt", "<=": "_lte", ">=": "_gte" };
const FLIP: Record<string, string> = { "=": "=", "<>": "<>", "<": ">", ">": "<", "<=": ">=", ">=": "<=" };
const COLUMN_OPS: Record<string, string> = { "=": "_ceq", "<>": "_cne", "<": "_clt", ">": "_cgt", "<=": "_clte", ">=": "_cgte" };

interface Ctx {
  cat: PermissionCatalog;
  extras: Extras;
  relationships: Map<string, Relationship[]>;
  factsByKey: Map<string, PolicyFacts>;
  /** Tables whose select rule is being computed (a cycle through sub-selects is refused). */
  stack: string[];
}

/** The exposed schemas' tables, permissions and relationships as one `default` source. */
export async function exportMetadata(client: pg.ClientBase, opts: { schemas: string[]; authenticator: string }): Promise<ExportedMetadata> {
  const tables: Record<string, unknown>[] = [];
  const functions: Record<string, unknown>[] = [];
  const warnings: ExportWarning[] = [];
  const inherited = new Map<string, string[]>();
  for (const schema of opts.schemas) {
    const cat = await loadCatalog(client, { schema, authenticator: opts.authenticator });
    const extras = await inCatalogSnapshot(client, () => readExtras(client, schema, cat.roles));
    const one = tablesOf(cat, extras);
    tables.push(...one.tables);
    functions.push(...functionsOf(schema, extras));
    warnings.push(...one.warnings);
    for (const [role, parents] of Object.entries(cat.parents)) if (role !== HASURA_ADMIN) inherited.set(role, parents);
  }
  const metadata: Record<string, unknown> = {
    version: 3,
    sources: [
      {
        name: "default",
        kind: "postgres",
        tables,
        functions,
        configuration: {
          connection_info: {
            database_url: { from_env: "HASURA_GRAPHQL_DATABASE_URL" },
            isolation_level: "read-committed",
            use_prepared_statements: true,
          },
        },
      },
    ],
  };
  if (inherited.size) metadata.inherited_roles = [...inherited].map(([role, parents]) => ({ role_name: role, role_set: parents }));
  return { metadata, warnings };
}

/** A table's computed fields, named as the Hasura dialect names them (`@fieldName`, else the name without `<table>_`). */
function computedFieldsOf(extras: Extras, table: string): { name: string; fn: FunctionFacts }[] {
  return extras.functions
    .filter((f) => f.rowArgument?.table === table)
    .map((fn) => ({
      name: smartTag(fn.comment, "fieldName") ?? (fn.name.startsWith(`${table}_`) ? fn.name.slice(table.length + 1) : fn.name),
      fn,
    }));
}

/** Tracked functions: returning a table's rows, with the roles that may EXECUTE them. */
function functionsOf(schema: string, extras: Extras): Record<string, unknown>[] {
  return extras.functions
    .filter((f) => f.rowArgument === null)
    .map((f) => {
      const configuration: Record<string, unknown> = {};
      if (f.sessionArgument) configuration.session_argument = f.sessionArgument;
      // Hasura exposes a VOLATILE function as a mutation only when told; here it is one (README).
      if (f.volatile) configuration.exposed_as = "mutation";
      const permissions = f.roles.filter((r) => r !== HASURA_ADMIN).map((role) => ({ role }));
      return {
        function: { schema, name: f.name },
        ...(Object.keys(configuration).length ? { configuration } : {}),
        ...(permissions.length ? { permissions } : {}),
      };
    });
}

function tablesOf(cat: PermissionCatalog, extras: Extras): { tables: Record<string, unknown>[]; warnings: ExportWarning[] } {
  const schema = cat.schema;
  const columnsOf: Record<string, string[]> = {};
  for (const [t, cols] of Object.entries(extras.types)) columnsOf[t] = Object.keys(cols);
  const ctx: Ctx = {
    cat,
    extras,
    relationships: relationshipsOf(schema, extras.foreignKeys, columnsOf),
    factsByKey: new Map(extras.facts.map((f) => [`${f.table}\u0000${f.policy}`, f])),
    stack: [],
  };
  const warnings: ExportWarning[] = [];
  const roles = cat.roles.filter((r) => r !== HASURA_ADMIN);
  const tables: Record<string, unknown>[] = [];

  for (const table of cat.tables) {
    const entry: Record<string, unknown> = { table: { name: table.name, schema } };
    const rels = ctx.relationships.get(table.name) ?? [];
    const objects = rels.filter((r) => r.kind === "object").map((r) => ({ name: r.name, using: r.using }));
    const arrays = rels.filter((r) => r.kind === "array").map((r) => ({ name: r.name, using: r.using }));
    if (objects.length) entry.object_relationships = objects;
    if (arrays.length) entry.array_relationships = arrays;
    const computed = computedFieldsOf(extras, table.name);
    if (computed.length)
      entry.computed_fields = computed.map((c) => ({
        name: c.name,
        definition: {
          function: { schema, name: c.fn.name },
          ...(c.fn.rowArgument!.name ? { table_argument: c.fn.rowArgument!.name } : {}),
          ...(c.fn.sessionArgument ? { session_argument: c.fn.sessionArgument } : {}),
        },
      }));
    for (const cmd of ["insert", "select", "update", "delete"] as const) {
      const list: Record<string, unknown>[] = [];
      for (const role of roles) {
        if (!ownGrant(cat, table.name, role, cmd)) continue;
        try {
          const permission = permissionOf(ctx, table.name, role, cmd);
          if (permission) list.push({ role, permission });
          else
            warnings.push({
              table: table.name,
              role,
              permission: `${cmd}_permissions`,
              reason: "granted, but no policy lets a row through: exported as no permission (what it allows)",
            });
        } catch (e) {
          if (!(e instanceof Unsupported)) throw e;
          warnings.push({ table: table.name, role, permission: `${cmd}_permissions`, reason: `not exported: ${e.message}` });
        }
      }
      if (list.length) entry[`${cmd}_permissions`] = list;
    }
    tables.push(entry);
  }

  return { tables, warnings };
}

/** A direct grant of the command to the role (or to PUBLIC): the role's own permission. */
function ownGrant(cat: PermissionCatalog, table: string, role: string, cmd: Cmd): boolean {
  return cat.grants.some((g) => g.table === table && g.privilege === PRIVILEGE[cmd] && (g.grantee === role || g.grantee === PUBLIC));
}

/** The role's columns for a command: `*` if some grant that applies is table-wide, else the union in table order. */
function columnsFor(ctx: Ctx, table: string, role: string, cmd: Cmd): string[] | "*" {
  const roles = new Set([...(ctx.cat.memberOf[role] ?? [role]), PUBLIC]);
  const grants = ctx.cat.grants.filter((g) => g.table === table && g.privilege === PRIVILEGE[cmd] && roles.has(g.grantee));
  if (grants.some((g) => g.columns === null)) return "*";
  const set = new Set(grants.flatMap((g) => g.columns ?? []));
  return Object.keys(ctx.extras.types[table] ?? {}).filter((c) => set.has(c));
}

function permissionOf(ctx: Ctx, table: string, role: string, cmd: Cmd): Record<string, unknown> | null {
  const { cat } = ctx;
  const decl = cat.declarations.find((d) => d.table === table && d.role === role && d.command === cmd);
  const presets = cat.presets.filter((p) => p.table === table && p.role === role && p.command === cmd);
  const set = Object.fromEntries(presets.map((p) => [p.column, p.sessionVariable ?? p.value]));
  const columns = cmd === "delete" ? undefined : columnsFor(ctx, table, role, cmd);
  switch (cmd) {
    case "select": {
      const filter = rowRule(ctx, table, role, "select", "using");
      if (isFalse(filter)) return null;
      const p: Record<string, unknown> = { columns, filter };
      // Offered to a role that may EXECUTE it and read every column (a whole-row reference): README.
      const all = columns === "*" || Object.keys(ctx.extras.types[table] ?? {}).every((c) => (columns as string[]).includes(c));
      const computed = all ? computedFieldsOf(ctx.extras, table).filter((c) => c.fn.roles.includes(role)) : [];
      if (computed.length) p.computed_fields = computed.map((c) => c.name);
      if (decl?.rowLimit != null) p.limit = decl.rowLimit;
      if (decl?.allowAggregations) p.allow_aggregations = true;
      if (decl?.queryRootFields) p.query_root_fields = decl.queryRootFields;
      if (decl?.subscriptionRootFields) p.subscription_root_fields = decl.subscriptionRootFields;
      return p;
    }
    case "insert": {
      const check = rowRule(ctx, table, role, "insert", "check");
      if (isFalse(check)) return null;
      const p: Record<string, unknown> = { check, columns };
      if (presets.length) p.set = set;
      if (decl?.backendOnly) p.backend_only = true;
      return p;
    }
    case "update": {
      const filter = rowRule(ctx, table, role, "update", "using");
      const check = rowRule(ctx, table, role, "update", "check");
      if (isFalse(filter) || isFalse(check)) return null;
      const p: Record<string, unknown> = { columns, filter, check };
      if (presets.length) p.set = set;
      if (decl?.backendOnly) p.backend_only = true;
      return p;
    }
    case "delete": {
      const filter = rowRule(ctx, table, role, "delete", "using");
      if (isFalse(filter)) return null;
      const p: Record<string, unknown> = { filter };
      if (decl?.backendOnly) p.backend_only = true;
      return p;
    }
  }
}

/** The rule PostgreSQL applies for the role: permissive policies ORed, restrictive ones ANDed; {} without RLS. */
function rowRule(ctx: Ctx, table: string, role: string, cmd: Cmd, part: "using" | "check"): BoolExp {
  const facts = ctx.cat.tables.find((t) => t.name === table);
  // Its base tables' policies decide its rows, as the caller: no filter of the view states them.
  if (ctx.extras.invokerViews.has(table))
    throw new Unsupported(`${table} is a security_invoker view: its rows are its base tables' policies`);
  if (!facts?.rls) return {};
  const memberOf = ctx.cat.memberOf[role] ?? [role];
  const applies = (p: PolicyRow) =>
    (p.cmd === "ALL" || p.cmd === PRIVILEGE[cmd]) && (p.roles.includes("public") || p.roles.some((r) => memberOf.includes(r)));
  const policies = ctx.cat.policies.filter((p) => p.tablename === table && applies(p));
  const permissive = policies.filter((p) => p.permissive === "PERMISSIVE");
  if (permissive.length === 0) return FALSE;
  const rule = (p: PolicyRow) => policyRule(ctx, p, role, cmd, part);
  return and([or(permissive.map(rule)), ...policies.filter((p) => p.permissive !== "PERMISSIVE").map(rule)]);
}

/** One policy's rule for the command: its recorded rule while its hash matches, else the reverse translation. */
function policyRule(ctx: Ctx, p: PolicyRow, role: string, cmd: Cmd, part: "using" | "check"): BoolExp {
  const facts = ctx.factsByKey.get(`${p.tablename}\u0000${p.policyname}`);
  const recorded = facts && recordedRule(facts, cmd, part);
  if (recorded && usesExportedRelationships(ctx, p.tablename, recorded)) return recorded;
  const text = part === "check" ? (p.with_check ?? p.qual) : p.qual;
  if (text === null) throw new Unsupported(`policy ${p.policyname} has no expression for ${cmd}`);
  try {
    return toBoolExp(ctx, parsePolicyExpression(text), p.tablename, role);
  } catch (e) {
    if (e instanceof Unsupported) throw new Unsupported(`policy ${p.policyname} on ${p.tablename}: ${e.message}`);
    throw e;
  }
}

/**
 * Whether every relationship a recorded rule walks is one this export
 * declares (foreign keys, named as here): the imported metadata may have
 * named one otherwise, or declared it by hand, and a rule naming a
 * relationship the metadata lacks is not one Hasura tooling can read.
 */
function usesExportedRelationships(ctx: Ctx, table: string, e: unknown): boolean {
  if (Array.isArray(e)) return e.every((x) => usesExportedRelationships(ctx, table, x));
  if (!e || typeof e !== "object") return true;
  for (const [k, v] of Object.entries(e as Record<string, unknown>)) {
    if (k === "_and" || k === "_or" || k === "_not") {
      if (!usesExportedRelationships(ctx, table, v)) return false;
    } else if (k === "_exists") {
      const x = v as { _table?: { schema?: string; name?: string }; _where?: unknown };
      if (x?._table?.schema !== ctx.cat.schema || !x._table.name || !ctx.extras.types[x._table.name]) return false;
      if (!usesExportedRelationships(ctx, x._table.name, x._where)) return false;
    } else if (!k.startsWith("_") && !(k in (ctx.extras.types[table] ?? {}))) {
      const rel = (ctx.relationships.get(table) ?? []).find((r) => r.name === k);
      if (!rel || !usesExportedRelationships(ctx, rel.target, v)) return false;
    }
  }
  return true;
}

function recordedRule(f: PolicyFacts, cmd: Cmd, part: "using" | "check"): BoolExp | undefined {
  if (!f.comment?.startsWith(RULE_COMMENT_PREFIX)) return undefined;
  let rec: PolicyRules & { hash?: string };
  try {
    rec = JSON.parse(f.comment.slice(RULE_COMMENT_PREFIX.length));
  } catch {
    return undefined;
  }
  // Edited since it was imported: the recorded rule may no longer be what the policy says.
  if (rec.hash !== policyRuleHash(f)) return undefined;
  const r = rec[cmd] as Record<string, BoolExp | null | undefined> | undefined;
  if (!r) return undefined;
  const key = cmd === "insert" ? "check" : cmd === "update" && part === "check" ? "check" : "filter";
  const value = r[key];
  if (value === undefined) return undefined;
  return value ?? {}; // an update without check: Hasura checks nothing after it
}

function literalOf(ctx: Ctx, table: string, column: string, n: Node): unknown {
  if (n.k === "session") {
    if (n.array) throw new Unsupported("an array session variable outside = any (…)");
    return sessionName(n.name);
  }
  if (n.k === "lit") {
    const cat = ctx.extras.types[table]?.[column];
    if (cat === "N" && /^-?[0-9]+(\.[0-9]+)?$/.test(n.v)) {
      const num = Number(n.v);
      if (Number.isSafeInteger(num) || (!Number.isInteger(num) && String(num) === n.v)) return num;
    }
    if (cat === "B" && (n.v === "true" || n.v === "false")) return n.v === "true";
    if (cat === "A" || (cat === "U" && /json/.test(n.type ?? "")))
      throw new Unsupported(`a literal of an array or json column (${column})`);
    return n.v;
  }
  if (n.k === "bool") return n.v;
  throw new Unsupported(`a comparison of ${column} with an expression`);
}

/** A column of the policy's table (bare, or qualified with the table's name). */
function ownColumn(ctx: Ctx, table: string, n: Node, alias = table): string | null {
  if (n.k !== "col") return null;
  if (n.rel !== null && n.rel !== alias) return null;
  if (!(n.name in (ctx.extras.types[table] ?? {}))) throw new Unsupported(`no column ${n.name} in ${table}`);
  return n.name;
}

function toBoolExp(ctx: Ctx, n: Node, table: string, role: string, alias = table): BoolExp {
  const col = (x: Node) => ownColumn(ctx, table, x, alias);
  switch (n.k) {
    case "bool":
      return n.v ? {} : FALSE;
    case "and":
      return and(n.items.map((x) => toBoolExp(ctx, x, table, role, alias)));
    case "or":
      return or(n.items.map((x) => toBoolExp(ctx, x, table, role, alias)));
    case "not": {
      const c = col(n.e);
      if (c && ctx.extras.types[table]?.[c] === "B") return { [c]: { _eq: false } };
      return { _not: toBoolExp(ctx, n.e, table, role, alias) };
    }
    case "col": {
      const c = col(n);
      if (c && ctx.extras.types[table]?.[c] === "B") return { [c]: { _eq: true } };
      throw new Unsupported(`a column used as a condition: ${n.name}`);
    }
    case "cmp": {
      const l = col(n.l);
      const r = col(n.r);
      if (l && r) return { [l]: { [COLUMN_OPS[n.op]!]: r } };
      if (l) return { [l]: { [OPS[n.op]!]: literalOf(ctx, table, l, n.r) } };
      if (r) return { [r]: { [OPS[FLIP[n.op]!]!]: literalOf(ctx, table, r, n.l) } };
      throw new Unsupported("a comparison without a column of the table");
    }
    case "isnull": {
      const c = col(n.e);
      if (!c) throw new Unsupported("IS NULL of an expression");
      return { [c]: { _is_null: !n.negated } };
    }
    case "quantified": {
      const c = col(n.l);
      const op = n.op === "=" && !n.all ? "_in" : n.op === "<>" && n.all ? "_nin" : null;
      if (!c || !op) throw new Unsupported(`${n.op} ${n.all ? "ALL" : "ANY"} (…)`);
      if (n.r.k === "session" && n.r.array) return { [c]: { [op]: sessionName(n.r.name) } };
      if (n.r.k === "array") return { [c]: { [op]: n.r.items.map((x) => literalOf(ctx, table, c, x)) } };
      if (n.r.k === "lit" && /^\{[^"\\{}]*\}$/.test(n.r.v))
        return {
          [c]: {
            [op]: n.r.v
              .slice(1, -1)
              .split(",")
              .filter((s) => s !== "")
              .map((s) => literalOf(ctx, table, c, { k: "lit", v: s, type: null, number: false })),
          },
        };
      throw new Unsupported(`${op} over something other than an array session variable or literal`);
    }
    case "exists":
      return existsRule(ctx, n, table, role, alias);
    default:
      throw new Unsupported(`a ${n.k}`);
  }
}

/**
 * `exists (select 1 from X x where x.k = t.c and <cond>)` as the role runs it:
 * the rows of X its own RLS lets the role see, so `{<relationship>: cond and
 * X's select rule for the role}`. The relationship is the foreign key whose
 * columns the join pairs are, exactly; the role must be able to read the
 * columns the sub-select names (else PostgreSQL refuses the statement).
 */
function existsRule(ctx: Ctx, n: Extract<Node, { k: "exists" }>, table: string, role: string, alias: string): BoolExp {
  if (n.schema !== ctx.cat.schema) throw new Unsupported(`a sub-select of ${n.schema}.${n.table} (another schema)`);
  const target = n.table;
  if (!ctx.extras.types[target]) throw new Unsupported(`a sub-select of ${target} (not a table of the schema)`);
  const pairs: [string, string][] = [];
  const rest: Node[] = [];
  const parts = n.where ? (n.where.k === "and" ? n.where.items : [n.where]) : [];
  for (const p of parts) {
    if (p.k === "cmp" && p.op === "=" && p.l.k === "col" && p.r.k === "col") {
      const [inner, outer] =
        p.l.rel === n.alias && p.r.rel === alias ? [p.l, p.r] : p.r.rel === n.alias && p.l.rel === alias ? [p.r, p.l] : [null, null];
      if (inner && outer && n.alias !== alias) {
        pairs.push([outer.name, inner.name]);
        continue;
      }
    }
    rest.push(p);
  }
  const key = (m: [string, string][]) =>
    m
      .map((x) => x.join("="))
      .sort()
      .join(",");
  const rel = (ctx.relationships.get(table) ?? []).find((r) => r.target === target && key(r.mapping) === key(pairs));
  if (!rel) throw new Unsupported(`a sub-select of ${target} not joined over exactly one foreign key of ${table}`);
  const innerCols = new Set(pairs.map((p) => p[1]));
  const cond = and(
    rest.map((p) => {
      collectColumns(p, n.alias, innerCols);
      return toBoolExp(ctx, p, target, role, n.alias);
    }),
  );
  const readable = columnsFor(ctx, target, role, "select");
  if (!ownGrantAny(ctx, target, role) || (readable !== "*" && [...innerCols].some((c) => !readable.includes(c))))
    throw new Unsupported(`the sub-select of ${target} reads columns ${role} may not select (PostgreSQL refuses it)`);
  if (ctx.stack.includes(target)) throw new Unsupported(`sub-selects that cycle back to ${target}`);
  ctx.stack.push(target);
  try {
    return { [rel.name]: and([cond, rowRule(ctx, target, role, "select", "using")]) };
  } finally {
    ctx.stack.pop();
  }
}

function ownGrantAny(ctx: Ctx, table: string, role: string): boolean {
  return ctx.cat.allowed[table]?.[role]?.S ?? false;
}

function collectColumns(n: Node, alias: string, into: Set<string>): void {
  switch (n.k) {
    case "col":
      if (n.rel === alias) into.add(n.name);
      else throw new Unsupported(`a reference to ${n.rel ?? ""}.${n.name} inside a sub-select`);
      return;
    case "and":
    case "or":
      for (const x of n.items) collectColumns(x, alias, into);
      return;
    case "not":
      collectColumns(n.e, alias, into);
      return;
    case "cmp":
    case "quantified":
      collectColumns(n.l, alias, into);
      collectColumns(n.r, alias, into);
      return;
    case "isnull":
      collectColumns(n.e, alias, into);
      return;
    case "exists":
      throw new Unsupported("a sub-select inside a sub-select");
    default:
      return;
  }
}
