/**
 * A synthetic Hasura project (config v3 layout, one migration) of the size
 * issue 14 asks the importer to handle: `tables` tables (200 by default) in a
 * parent chain, and 2.5 permissions per table (500 for 200 tables) across four
 * roles, with session variables (scalar and array), object and array
 * relationships, `_exists`, `_or`/`_not`, presets, limits, aggregations and
 * two inherited roles. Used by `npm run bench:import` and
 * test/import/scale.test.ts.
 *
 * Per table t_NNN (i = 1..n): user select (all), viewer select (even i),
 * user insert (i % 4 = 1), editor select and update (i % 4 = 2), manager
 * delete (i % 4 = 3).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { stringify } from "yaml";

export interface SyntheticCounts {
  tables: number;
  permissions: number;
  roles: string[];
  inheritedRoles: number;
}

const name = (i: number) => `t_${String(i).padStart(3, "0")}`;
const COLUMNS = ["id", "owner_id", "org_id", "status", "title", "parent_id"];

function tableYaml(i: number, n: number): Record<string, unknown> {
  const t: Record<string, unknown> = { table: { schema: "public", name: name(i) } };
  if (i > 1) t.object_relationships = [{ name: "parent", using: { foreign_key_constraint_on: "parent_id" } }];
  if (i < n)
    t.array_relationships = [
      {
        name: "children",
        using: { foreign_key_constraint_on: { column: "parent_id", table: { schema: "public", name: name(i + 1) } } },
      },
    ];
  const select: unknown[] = [{ role: "user", permission: { columns: COLUMNS, filter: { owner_id: { _eq: "X-Hasura-User-Id" } } } }];
  if (i % 2 === 0)
    select.push({
      role: "viewer",
      permission: {
        columns: ["id", "org_id", "status", "title"],
        filter: { _or: [{ status: { _eq: "published" } }, { org_id: { _in: "X-Hasura-Allowed-Org-Ids" } }] },
        limit: 100,
        allow_aggregations: true,
      },
    });
  if (i % 4 === 2) select.push({ role: "editor", permission: { columns: "*", filter: { org_id: { _eq: "x-hasura-org-id" } } } });
  t.select_permissions = select;
  if (i % 4 === 1)
    t.insert_permissions = [
      {
        role: "user",
        permission: {
          check: { owner_id: { _eq: "X-Hasura-User-Id" } },
          set: { owner_id: "x-hasura-User-Id" },
          columns: ["org_id", "status", "title", "parent_id"],
        },
      },
    ];
  if (i % 4 === 2)
    t.update_permissions = [
      {
        role: "editor",
        permission: { columns: ["status", "title"], filter: { parent: { org_id: { _eq: "X-Hasura-Org-Id" } } }, check: null },
      },
    ];
  if (i % 4 === 3)
    t.delete_permissions = [
      {
        role: "manager",
        permission: {
          filter: {
            _and: [
              { org_id: { _eq: "X-Hasura-Org-Id" } },
              { _not: { children: { status: { _eq: "locked" } } } },
              { _exists: { _table: { schema: "public", name: "t_001" }, _where: { owner_id: { _eq: "X-Hasura-User-Id" } } } },
            ],
          },
        },
      },
    ];
  return t;
}

function migrationSql(n: number): string {
  const out: string[] = [];
  for (let i = 1; i <= n; i++) {
    const parent = i > 1 ? `,\n  parent_id bigint references public.${name(i - 1)} (id)` : ",\n  parent_id bigint";
    out.push(
      `create table public.${name(i)} (\n  id bigserial primary key,\n  owner_id integer not null,\n  org_id integer not null,\n  status text not null default 'draft',\n  title text,\n  secret text${parent}\n);`,
    );
    if (i > 1) out.push(`create index on public.${name(i)} (parent_id);`);
  }
  return `${out.join("\n")}\n`;
}

/** Writes the project into `dir` (created); returns what its metadata holds. */
export function writeSyntheticHasuraProject(dir: string, n = 200): SyntheticCounts {
  const meta = path.join(dir, "metadata");
  const tablesDir = path.join(meta, "databases/default/tables");
  mkdirSync(tablesDir, { recursive: true });
  writeFileSync(path.join(dir, "config.yaml"), "version: 3\nendpoint: http://localhost:8080\nmetadata_directory: metadata\n");
  writeFileSync(path.join(meta, "version.yaml"), "version: 3\n");
  writeFileSync(
    path.join(meta, "databases/databases.yaml"),
    stringify([
      {
        name: "default",
        kind: "postgres",
        configuration: { connection_info: { database_url: { from_env: "HASURA_GRAPHQL_DATABASE_URL" } } },
        tables: "!include default/tables/tables.yaml",
      },
    ]),
  );
  writeFileSync(
    path.join(meta, "inherited_roles.yaml"),
    stringify([
      { role_name: "staff", role_set: ["editor", "manager"] },
      { role_name: "reviewer", role_set: ["viewer", "user"] },
    ]),
  );
  const includes: string[] = [];
  let permissions = 0;
  for (let i = 1; i <= n; i++) {
    const t = tableYaml(i, n);
    for (const k of ["select_permissions", "insert_permissions", "update_permissions", "delete_permissions"])
      permissions += ((t[k] as unknown[] | undefined) ?? []).length;
    writeFileSync(path.join(tablesDir, `public_${name(i)}.yaml`), stringify(t));
    includes.push(`!include public_${name(i)}.yaml`);
  }
  writeFileSync(path.join(tablesDir, "tables.yaml"), stringify(includes));
  const mig = path.join(dir, "migrations/default/1700000000000_init");
  mkdirSync(mig, { recursive: true });
  writeFileSync(path.join(mig, "up.sql"), migrationSql(n));
  return { tables: n, permissions, roles: ["editor", "manager", "reviewer", "staff", "user", "viewer"], inheritedRoles: 2 };
}
