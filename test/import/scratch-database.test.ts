/**
 * The importer's scratch database (server/import/index.ts): with a root URL
 * the root step creates the extensions only a superuser may create before
 * the Hasura migrations run (as `npm start` does), and a failing Hasura
 * migration is named by its version folder and file, with PostgreSQL's
 * error. Real Postgres, through importHasuraProject.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { importHasuraProject } from "../../server/import/index.ts";
import { createEmptyDatabase } from "../helpers/empty-database.ts";
import { query, superuserUrl } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";

// An extension this server offers that only a superuser may create (untrusted), as test/startup/extensions.test.ts.
const candidates = await query<{ name: string }>(
  superuserUrl(),
  `select v.name from pg_available_extension_versions v join pg_available_extensions a on a.name = v.name and a.default_version = v.version
    where v.superuser and not v.trusted and v.name = any ($1) order by array_position($1, v.name::text)`,
  [["pageinspect", "pg_buffercache", "pg_stat_statements", "file_fdw", "postgres_fdw", "dblink"]],
);
const extension = candidates[0]?.name;

const work = mkdtempSync(path.join(tmpdir(), "import-scratch-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

/** A Hasura project tracking public.thing (admin only), with these migrations (version folder → up.sql). */
function project(name: string, migrations: Record<string, string>): string {
  const dir = path.join(work, name);
  const file = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  };
  file("config.yaml", "version: 3\n");
  file("metadata/version.yaml", "version: 3\n");
  file(
    "metadata/databases/databases.yaml",
    "- name: default\n  kind: postgres\n  configuration:\n    connection_info:\n      database_url: postgres://x\n  tables: '!include default/tables/tables.yaml'\n",
  );
  file("metadata/databases/default/tables/tables.yaml", "- table: {name: thing, schema: public}\n");
  for (const [version, sql] of Object.entries(migrations)) file(`migrations/default/${version}/up.sql`, sql);
  return dir;
}

async function importInto(dir: string, withRoot: boolean) {
  const scratch = await createEmptyDatabase(t);
  await scratch.asRoot("revoke all on schema public from public");
  const out = path.join(work, `${path.basename(dir)}-out-${withRoot ? "root" : "owner"}`);
  const result = importHasuraProject(dir, out, {
    scratch: {
      ownerUrl: scratch.ownerUrl,
      authenticator: TEST_ROLES.authenticator.name,
      ...(withRoot ? { rootUrl: scratch.rootUrl } : {}),
    },
  });
  return { scratch, result };
}

t.test("a failing Hasura migration is named by its version folder and file, with the SQL error", async (t) => {
  const dir = project("broken", {
    "1700000000000_init": "create table public.thing (id integer primary key);",
    "1700000000001_add_kind": "alter table public.thing add column kind text;\nalter table public.thing add column mood no_such_type;",
  });
  const { result } = await importInto(dir, true);
  await t.rejects(result, {
    message:
      /^Hasura migration 1700000000001_add_kind \(migrations\/default\/1700000000001_add_kind\/up\.sql\) failed, as migrations\/committed\/000003-hasura-1700000000001_add_kind\.sql: type "no_such_type" does not exist$/,
  });
});

t.test(
  "the root step creates an extension only a superuser may create",
  { skip: !extension && "no untrusted extension available" },
  async (t) => {
    const dir = project("extension", {
      "1700000000000_init": `create extension if not exists ${extension};\ncreate table public.thing (id integer primary key);`,
    });
    const withRoot = await importInto(dir, true);
    const done = await withRoot.result;
    t.same(done.differences, []);
    const installed = await withRoot.scratch.asRoot("select 1 from pg_extension where extname = $1", [extension]);
    t.equal(installed.length, 1, `${extension} created in the scratch database`);

    // Without a root URL the owner cannot: the error names the migration and the extension.
    const withoutRoot = await importInto(dir, false);
    await t.rejects(withoutRoot.result, {
      message: new RegExp(
        `^Hasura migration 1700000000000_init \\(migrations/default/1700000000000_init/up\\.sql\\) failed, as .*: ` +
          `a migration creates the extension "${extension}", which only a superuser may create`,
      ),
    });
  },
);
