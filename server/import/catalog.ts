/**
 * The live schema as the Hasura importer needs it (issue 14): tables and
 * views with their columns' SQL types, primary keys and foreign keys, read
 * with one catalog query. Types are `format_type(atttypid, NULL)` read with
 * an empty search_path, so every non-catalog type is schema-qualified (the
 * generated helpers run with `search_path = ''`) and no typmod is kept: a
 * cast to `character varying(5)` would silently truncate a session
 * variable before comparing it; Hasura casts to the bare type too.
 * Functions (for computed fields in rules) are read the same way: their
 * input arguments' names and types and their return type.
 */
import type pg from "pg";

import type { QualifiedTable } from "./metadata.ts";

export type { QualifiedTable };

export interface CatalogColumn {
  name: string;
  /** SQL type name for casts, e.g. `integer`, `text[]`, `public.mood`. */
  type: string;
  notNull: boolean;
}

export interface CatalogForeignKey {
  name: string;
  columns: string[];
  references: QualifiedTable;
  referencedColumns: string[];
}

export interface CatalogTable extends QualifiedTable {
  kind: "table" | "view" | "materialized view" | "foreign table";
  columns: Map<string, CatalogColumn>;
  primaryKey: string[];
  foreignKeys: CatalogForeignKey[];
  /** A member of an extension (e.g. PostGIS's spatial_ref_sys): its extension manages it. */
  extension?: boolean;
  /** Owned by a role the reading user is (or may act as): it may alter it. Absent: assumed. */
  owned?: boolean;
}

/** A function a computed field may name: input arguments only, in order. */
export interface CatalogRoutine extends QualifiedTable {
  argNames: (string | null)[];
  /** As column types: `public.article` for a row of that table. */
  argTypes: string[];
  returnType: string;
  returnsSet: boolean;
}

export interface CatalogModel {
  tables: Map<string, CatalogTable>;
  /** By tableKey of the function's schema and name; overloads share a key. */
  functions: Map<string, CatalogRoutine[]>;
}

export const tableKey = (t: QualifiedTable): string => JSON.stringify([t.schema, t.name]);

export function findTable(catalog: CatalogModel, t: QualifiedTable): CatalogTable | undefined {
  return catalog.tables.get(tableKey(t));
}

const CATALOG_SQL = `
select n.nspname as schema, c.relname as name, c.relkind as kind,
  exists (select 1 from pg_catalog.pg_depend d where d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
            and d.objid = c.oid and d.deptype = 'e') as extension,
  pg_catalog.pg_has_role(c.relowner, 'USAGE') as owned,
  (select coalesce(json_agg(json_build_object('name', a.attname, 'type', pg_catalog.format_type(a.atttypid, null),
                                              'notNull', a.attnotnull) order by a.attnum), '[]')
     from pg_catalog.pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns,
  (select coalesce(json_agg(a.attname order by k.ord), '[]')
     from pg_catalog.pg_constraint p cross join unnest(p.conkey) with ordinality k(attnum, ord)
     join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
    where p.conrelid = c.oid and p.contype = 'p') as primary_key,
  (select coalesce(json_agg(json_build_object(
            'name', f.conname, 'schema', fn.nspname, 'table', fc.relname,
            'columns', (select json_agg(a.attname order by k.ord) from unnest(f.conkey) with ordinality k(attnum, ord)
                          join pg_catalog.pg_attribute a on a.attrelid = f.conrelid and a.attnum = k.attnum),
            'referencedColumns', (select json_agg(a.attname order by k.ord) from unnest(f.confkey) with ordinality k(attnum, ord)
                          join pg_catalog.pg_attribute a on a.attrelid = f.confrelid and a.attnum = k.attnum))
            order by f.conname), '[]')
     from pg_catalog.pg_constraint f join pg_catalog.pg_class fc on fc.oid = f.confrelid
     join pg_catalog.pg_namespace fn on fn.oid = fc.relnamespace
    where f.conrelid = c.oid and f.contype = 'f') as foreign_keys
from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p', 'v', 'm', 'f') and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_)'
`;

// Input arguments (proargmodes i, b, v or none) with their names, when named.
const FUNCTIONS_SQL = `
select n.nspname as schema, p.proname as name, p.proretset as returns_set,
  pg_catalog.format_type(p.prorettype, null) as return_type,
  (select coalesce(json_agg(json_build_object('name', nullif(coalesce(p.proargnames[a.ord], ''), ''),
                                              'type', pg_catalog.format_type(a.oid, null)) order by a.ord), '[]')
     from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) with ordinality a(oid, ord)
    where coalesce(p.proargmodes[a.ord], 'i') in ('i', 'b', 'v')) as args
from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where p.prokind = 'f' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp_)'
`;

const KINDS: Record<string, CatalogTable["kind"]> = {
  r: "table",
  p: "table",
  v: "view",
  m: "materialized view",
  f: "foreign table",
};

interface Row {
  schema: string;
  name: string;
  kind: string;
  extension: boolean;
  owned: boolean;
  columns: CatalogColumn[];
  primary_key: string[];
  foreign_keys: { name: string; schema: string; table: string; columns: string[]; referencedColumns: string[] }[];
}

interface FunctionRow {
  schema: string;
  name: string;
  returns_set: boolean;
  return_type: string;
  args: { name: string | null; type: string }[];
}

/** Reads the model in its own transaction (search_path emptied locally for format_type). */
export async function loadCatalog(client: pg.ClientBase): Promise<CatalogModel> {
  await client.query("begin read only");
  try {
    await client.query("set local search_path = ''");
    const { rows } = await client.query<Row>(CATALOG_SQL);
    const routines = await client.query<FunctionRow>(FUNCTIONS_SQL);
    await client.query("commit");
    const tables = new Map<string, CatalogTable>();
    for (const r of rows) {
      const t: CatalogTable = {
        schema: r.schema,
        name: r.name,
        kind: KINDS[r.kind]!,
        extension: r.extension,
        owned: r.owned,
        columns: new Map(r.columns.map((c) => [c.name, c])),
        primaryKey: r.primary_key,
        foreignKeys: r.foreign_keys.map((f) => ({
          name: f.name,
          columns: f.columns,
          references: { schema: f.schema, name: f.table },
          referencedColumns: f.referencedColumns,
        })),
      };
      tables.set(tableKey(t), t);
    }
    const functions = new Map<string, CatalogRoutine[]>();
    for (const f of routines.rows) {
      const list = functions.get(tableKey(f)) ?? [];
      list.push({
        schema: f.schema,
        name: f.name,
        argNames: f.args.map((a) => a.name),
        argTypes: f.args.map((a) => a.type),
        returnType: f.return_type,
        returnsSet: f.returns_set,
      });
      functions.set(tableKey(f), list);
    }
    return { tables, functions };
  } catch (e) {
    await client.query("rollback").catch(() => {});
    throw e;
  }
}
