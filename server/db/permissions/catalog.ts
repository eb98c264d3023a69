/**
 * What the application roles may do in an exposed schema, read from the live
 * catalog (never from policies.sql): the single source of `npm run
 * permissions`, of the committed policies.expected.md that `--check` compares
 * with, and of the admin console's matrix. Everything downstream
 * (matrix.ts, markdown.ts) is a pure function of what `loadCatalog` returns.
 *
 * Catalog tables and `has_*_privilege` are read by oid, so this works as
 * the owner and as the authenticator, which has no USAGE on the schema.
 *
 * Roles: the application roles (db/app-roles.ts) that have USAGE on the
 * schema (roles are cluster-wide, so another project's roles on a shared
 * cluster stay out), in byte order of their names.
 */
import type pg from "pg";
import { loadAppRoles } from "../app-roles.ts";

/** The matrix's commands, in its order: select, update, insert, delete. */
export const COMMANDS = ["S", "U", "I", "D"] as const;
export type Command = (typeof COMMANDS)[number];
/** The same, as the catalog names them (the detail tables' columns). */
export const PRIVILEGES = ["SELECT", "UPDATE", "INSERT", "DELETE"] as const;
export type Privilege = (typeof PRIVILEGES)[number];
export const PRIVILEGE_OF: Record<Command, Privilege> = { S: "SELECT", U: "UPDATE", I: "INSERT", D: "DELETE" };

export const PUBLIC = "PUBLIC";

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

/**
 * A Hasura declaration of sql/permissions.sql as it applies to a role: its
 * own, or, for an inherited role without its own, its parents' combined
 * (hasura.effective_permission).
 */
export interface Declaration {
  table: string;
  role: string;
  command: "select" | "insert" | "update" | "delete";
  rowLimit: number | null;
  allowAggregations: boolean;
  /** null: every root field. */
  queryRootFields: string[] | null;
  subscriptionRootFields: string[] | null;
  backendOnly: boolean;
}

/** A column preset as it applies to a role (hasura.effective_column_preset). */
export interface Preset {
  table: string;
  role: string;
  command: "insert" | "update";
  column: string;
  /** Lower-case x-hasura-… name, or null for a literal. */
  sessionVariable: string | null;
  value: string | null;
}

/** Everything the rendering needs, as read from the catalog. */
export interface PermissionCatalog {
  schema: string;
  roles: string[];
  /** Inherited roles: the roles each application role inherits directly (granted WITH INHERIT); only roles with some. */
  parents: Record<string, string[]>;
  /** The roles each application role has the privileges of, itself included: a policy for any of them applies to it. */
  memberOf: Record<string, string[]>;
  declarations: Declaration[];
  presets: Preset[];
  tables: TableFacts[];
  /** Effective privileges (inherited and PUBLIC ones included; a column grant counts for S/U/I). */
  allowed: Record<string, Record<string, Record<Command, boolean>>>;
  grants: Grant[];
  sequences: SequenceGrants[];
  policies: PolicyRow[];
}

/** Byte order, as `collate "C"` sorts in the queries. */
export const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The application roles that have USAGE on `schema`, in byte order. */
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
export function loadCatalog(client: pg.ClientBase, opts: { schema: string; authenticator: string }): Promise<PermissionCatalog> {
  return inCatalogSnapshot(client, () => readCatalog(client, opts));
}

/** Catalog reads in one read-only transaction (one snapshot) with search_path = pg_catalog, as above. */
export async function inCatalogSnapshot<T>(client: pg.ClientBase, read: () => Promise<T>): Promise<T> {
  await client.query("begin read only");
  try {
    await client.query("set local search_path = pg_catalog");
    const result = await read();
    await client.query("commit");
    return result;
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
  for (const p of privileges) {
    allowed[p.tbl] ??= {};
    allowed[p.tbl]![p.role] = { S: p.s, U: p.u, I: p.i, D: p.d };
  }

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
    if (r.grantee && r.privilege && (r.grantee === PUBLIC || roles.includes(r.grantee)))
      seq.grants.push({ grantee: r.grantee, privilege: r.privilege });
  }

  const { rows: membership } = await client.query<{ role: string; parents: string[]; member_of: string[] }>(
    `select x.rolname::text as role,
            array(select p.rolname::text from pg_catalog.pg_auth_members m join pg_catalog.pg_roles p on p.oid = m.roleid
                  where m.member = x.oid and m.inherit_option order by p.rolname collate "C") as parents,
            array(select r.rolname::text from pg_catalog.pg_roles r where pg_catalog.pg_has_role(x.oid, r.oid, 'USAGE')
                  order by r.rolname collate "C") as member_of
     from pg_catalog.pg_roles x where x.rolname = any($1::text[])`,
    [roles],
  );
  const parents: PermissionCatalog["parents"] = {};
  const memberOf: PermissionCatalog["memberOf"] = {};
  for (const m of membership) {
    if (m.parents.length) parents[m.role] = m.parents;
    memberOf[m.role] = m.member_of;
  }

  return {
    schema,
    roles,
    parents,
    memberOf,
    ...(await loadDeclarations(client, oids, roles)),
    tables: tables.map(({ name, kind, rls, force }) => ({ name, kind, rls, force })),
    allowed,
    grants,
    sequences: [...sequences.values()].sort((a, b) => byName(a.name, b.name)),
    policies: await loadPolicies(client, schema),
  };
}

/** The declarations that apply to each role, none when the project predates sql/permissions.sql. */
async function loadDeclarations(
  client: pg.ClientBase,
  oids: string[],
  roles: string[],
): Promise<Pick<PermissionCatalog, "declarations" | "presets">> {
  const { rows: found } = await client.query<{ ok: boolean }>(
    "select pg_catalog.to_regprocedure('hasura.effective_column_preset(name)') is not null as ok",
  );
  if (!found[0]?.ok) return { declarations: [], presets: [] };
  const { rows: declarations } = await client.query<Declaration>(
    `select c.relname as table, r.role, e.command, e.row_limit as "rowLimit", e.allow_aggregations as "allowAggregations",
            e.query_root_fields as "queryRootFields", e.subscription_root_fields as "subscriptionRootFields",
            e.backend_only as "backendOnly"
     from unnest($2::text[]) r(role) cross join lateral hasura.effective_permission(r.role::name) e
     join pg_catalog.pg_class c on c.oid = e.table_oid
     where c.oid = any($1::oid[])
     order by c.relname collate "C", r.role collate "C", e.command`,
    [oids, roles],
  );
  const { rows: presets } = await client.query<Preset>(
    `select c.relname as table, r.role, e.command, e.column_name::text as column, e.session_variable as "sessionVariable", e.value
     from unnest($2::text[]) r(role) cross join lateral hasura.effective_column_preset(r.role::name) e
     join pg_catalog.pg_class c on c.oid = e.table_oid
     join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attname = e.column_name
     where c.oid = any($1::oid[])
     order by c.relname collate "C", r.role collate "C", e.command, a.attnum`,
    [oids, roles],
  );
  return { declarations, presets };
}
