/**
 * The role's Hasura permission declarations (sql/permissions.sql: select
 * options, backend-only mutations, column presets), read from the catalog
 * once per schema build, as the role, during PostGraphile's gather phase:
 * the schema says what Postgres cannot enforce (a row limit, which root
 * fields and aggregates exist) from the same declarations the database
 * enforces the rest of (the preset trigger). No second config file.
 *
 * Also read here: whether a table has no row rule for the role (RLS off, or
 * a permissive SELECT policy for it that is `true` and no restrictive one),
 * which decides where an object relationship can be non-null, as Hasura
 * types it.
 */
import { withPgClientFromPgService } from "@dataplan/pg";

export type MutationCommand = "insert" | "update" | "delete";

export interface ColumnPreset {
  /** Lower-case session variable name, or null for a literal. */
  sessionVariable: string | null;
  /** The literal, or null for a session variable. */
  value: string | null;
}

export interface TableDeclarations {
  /** Hasura's select `limit`. */
  rowLimit: number | null;
  allowAggregations: boolean;
  /** select, select_by_pk, select_aggregate, select_stream; null: all. */
  queryRootFields: ReadonlySet<string> | null;
  subscriptionRootFields: ReadonlySet<string> | null;
  /** True when a select declaration exists for the role (else Hasura's defaults). */
  selectDeclared: boolean;
  backendOnly: ReadonlySet<MutationCommand>;
  presets: { insert: ReadonlyMap<string, ColumnPreset>; update: ReadonlyMap<string, ColumnPreset> };
  /** RLS cannot hide a row of this table from the role. */
  noRowRule: boolean;
}

export interface RoleDeclarations {
  /** Keyed by `<schema>.<table>` (unquoted names). */
  tables: ReadonlyMap<string, TableDeclarations>;
  /** What a table the role declares nothing for gets (see ADMIN_ROLE). */
  undeclared: TableDeclarations;
}

declare global {
  namespace GraphileBuild {
    interface BuildInput {
      hasuraDeclarations?: RoleDeclarations;
    }
  }
}

const EMPTY: TableDeclarations = {
  rowLimit: null,
  allowAggregations: false,
  queryRootFields: null,
  subscriptionRootFields: null,
  selectDeclared: false,
  backendOnly: new Set(),
  presets: { insert: new Map(), update: new Map() },
  noRowRule: false,
};

/** What the role's declarations say of a table; Hasura's defaults when none. */
export function tableDeclarations(all: RoleDeclarations | undefined, schema: string, table: string): TableDeclarations {
  return all?.tables.get(`${schema}.${table}`) ?? all?.undeclared ?? EMPTY;
}

export type QueryRootField = "select" | "select_by_pk" | "select_aggregate";

/** Whether the role's query root has this field of the table (`select_aggregate` also needs allow_aggregations). */
export function offersRootField(d: TableDeclarations, field: QueryRootField): boolean {
  if (field === "select_aggregate" && !d.allowAggregations) return false;
  return d.queryRootFields === null || d.queryRootFields.has(field);
}

// One round trip; every name comes back from the catalog, nothing is spliced in.
const DECLARATIONS_SQL = `
  with tables as (
    select c.oid, n.nspname, c.relname, c.relrowsecurity
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = any ($1::text[]) and c.relkind in ('r', 'p', 'v', 'm', 'f')
  ),
  -- The role's own declarations, or an inherited role's parents' (sql/permissions.sql).
  permission as materialized (select * from hasura.effective_permission(current_user)),
  column_preset as materialized (select * from hasura.effective_column_preset(current_user))
  select t.nspname as schema, t.relname as table,
    (select to_jsonb(p) - 'table_oid' - 'role' from permission p
      where p.table_oid = t.oid and p.command = 'select') as select_permission,
    (select coalesce(array_agg(p.command), '{}') from permission p
      where p.table_oid = t.oid and p.backend_only) as backend_only,
    (select coalesce(jsonb_agg(jsonb_build_object('command', p.command, 'column', p.column_name,
        'session_variable', p.session_variable, 'value', p.value)), '[]') from column_preset p
      where p.table_oid = t.oid) as presets,
    (not t.relrowsecurity or (
      exists (select 1 from pg_catalog.pg_policy pol
        where pol.polrelid = t.oid and pol.polpermissive and pol.polcmd in ('r', '*')
          and pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) = 'true'
          and (0::oid = any (pol.polroles) or exists (select 1 from pg_catalog.pg_roles r
                where r.oid = any (pol.polroles) and pg_catalog.pg_has_role(current_user, r.oid, 'usage'))))
      and not exists (select 1 from pg_catalog.pg_policy pol
        where pol.polrelid = t.oid and not pol.polpermissive and pol.polcmd in ('r', '*')
          and (0::oid = any (pol.polroles) or exists (select 1 from pg_catalog.pg_roles r
                where r.oid = any (pol.polroles) and pg_catalog.pg_has_role(current_user, r.oid, 'usage'))))
    )) as no_row_rule
  from tables t`;

interface DeclarationRow {
  schema: string;
  table: string;
  select_permission: {
    row_limit: number | null;
    allow_aggregations: boolean;
    query_root_fields: string[] | null;
    subscription_root_fields: string[] | null;
  } | null;
  backend_only: MutationCommand[];
  presets: { command: "insert" | "update"; column: string; session_variable: string | null; value: string | null }[];
  no_row_rule: boolean;
}

/**
 * Hasura's admin role has every select option; here the application role
 * named `admin` (the role an admin-secret request gets by default) keeps
 * that default on a table it has no select declaration for. Any other role
 * without one gets Hasura's default for a select permission: no aggregates,
 * every root field, no row limit.
 */
export const ADMIN_ROLE = "admin";

function toDeclarations(rows: DeclarationRow[], role: string | undefined): RoleDeclarations {
  const undeclared: TableDeclarations = { ...EMPTY, allowAggregations: role === ADMIN_ROLE };
  const out = new Map<string, TableDeclarations>();
  for (const row of rows) {
    const sel = row.select_permission;
    const presets = { insert: new Map<string, ColumnPreset>(), update: new Map<string, ColumnPreset>() };
    for (const p of row.presets) presets[p.command].set(p.column, { sessionVariable: p.session_variable, value: p.value });
    out.set(`${row.schema}.${row.table}`, {
      rowLimit: sel?.row_limit ?? null,
      allowAggregations: sel ? sel.allow_aggregations : undeclared.allowAggregations,
      queryRootFields: sel?.query_root_fields ? new Set(sel.query_root_fields) : null,
      subscriptionRootFields: sel?.subscription_root_fields ? new Set(sel.subscription_root_fields) : null,
      selectDeclared: !!sel,
      backendOnly: new Set(row.backend_only),
      presets,
      noRowRule: row.no_row_rule,
    });
  }
  return { tables: out, undeclared };
}

/** Gather plugin: puts the role's declarations in `build.input.hasuraDeclarations`. */
export const HasuraDeclarationsPlugin: GraphileConfig.Plugin = {
  name: "HasuraDeclarationsPlugin",
  version: "1.0.0",
  description: "Reads the role's Hasura permission declarations (sql/permissions.sql) from the catalog",
  gather: {
    async main(output, info) {
      const service = info.resolvedPreset.pgServices?.[0];
      if (!service) return;
      const schemas = service.schemas ?? ["public"];
      const rows = await withPgClientFromPgService(service, service.pgSettingsForIntrospection ?? null, async (client) => {
        // A project whose .gmrc predates sql/permissions.sql declares nothing.
        const { rows: found } = await client.query<{ ok: boolean }>({
          text: "select pg_catalog.to_regclass('hasura.column_preset') is not null as ok",
        });
        if (!found[0]?.ok) return [];
        return (await client.query<DeclarationRow>({ text: DECLARATIONS_SQL, values: [schemas] })).rows;
      });
      const role = service.pgSettingsForIntrospection?.role;
      output.hasuraDeclarations = toDeclarations([...rows], typeof role === "string" ? role : undefined);
    },
  },
};
