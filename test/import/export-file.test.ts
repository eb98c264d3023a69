/**
 * `npm run import:hasura -- <export file> --out <dir>` (the real CLI as a
 * child process against the test cluster): the blog's metadata as a
 * `hasura metadata export` / export_metadata file (JSON, and YAML) brings no
 * schema, so
 * - without --migrations or --database-url it is refused, naming both;
 * - with --migrations (the blog's Hasura migrations) it imports as the
 *   project directory does: the hand-written matrix, no difference;
 * - with --database-url (a database that already holds the blog's tables
 *   and rows, no policies) it is only read: afterwards its catalog is the
 *   same (no policy, grant, role, membership, schema, function or RLS flag
 *   changed; nothing cluster-wide created: the roles of the attempt were
 *   rolled back), the project's migrations only create the roles, and that
 *   project migrates the database (graphile-migrate over existing tables)
 *   and serves the blog's rules over HTTP.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { parse as loadYaml, stringify } from "yaml";
import { REPO_ROOT } from "../../server/config.ts";
import { migrateProject } from "../../server/db/migrate.ts";
import { loadHasuraMetadata } from "../../server/import/metadata.ts";
import { createEmptyDatabase, type EmptyDatabase } from "../helpers/empty-database.ts";
import { clusterUrl, query, superuserUrl, type TestDatabase } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { startServer } from "../helpers/server.ts";
import { as, sameRows } from "../policies/helpers.ts";

const BLOG = path.join(REPO_ROOT, "examples/blog");
const work = mkdtempSync(path.join(tmpdir(), "import-export-file-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

// The blog's metadata as one export file (version 3, includes resolved), as export_metadata answers.
const readYaml = (f: string) => loadYaml(readFileSync(f, "utf8"));
const META = path.join(BLOG, "hasura/metadata");
const tablesDir = path.join(META, "databases/default/tables");
const tables = (readYaml(path.join(tablesDir, "tables.yaml")) as string[]).map((inc) =>
  readYaml(path.join(tablesDir, inc.replace("!include ", ""))),
);
const databases = readYaml(path.join(META, "databases/databases.yaml")) as Record<string, unknown>[];
const exported = { version: 3, sources: [{ ...databases[0], tables, functions: [] }], inherited_roles: [] };
const exportJson = path.join(work, "blog-metadata.json");
const exportYaml = path.join(work, "blog-metadata.yaml");
writeFileSync(exportJson, JSON.stringify(exported, null, 2));
writeFileSync(exportYaml, stringify(exported));

// The blog's schema as Hasura migrations (config v3 layout, without config.yaml: the folder itself).
const committed = readFileSync(path.join(BLOG, "migrations/committed/000001-blog-model-seed-002.sql"), "utf8");
const ddl = committed.slice(committed.indexOf("drop table if exists public.article_tag;"));
const migrations = path.join(work, "hasura-migrations");
mkdirSync(path.join(migrations, "default/1700000000000_init"), { recursive: true });
writeFileSync(path.join(migrations, "default/1700000000000_init/up.sql"), ddl);

const env = (db: EmptyDatabase) => ({
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? "/tmp",
  GRAPHILE_ENV: "production",
  DATABASE_URL: clusterUrl(TEST_ROLES.authenticator.name, TEST_ROLES.authenticator.password, db.name),
  DATABASE_OWNER_URL: db.ownerUrl,
  ROOT_DATABASE_URL: superuserUrl(db.name),
});

function run(args: string[], childEnv: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, "server/cli/import-hasura.ts"), ...args],
      { cwd: work, timeout: 120_000, env: childEnv },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") return reject(error);
        resolve({ code: error ? (error.code as number) : 0, output: stdout + stderr });
      },
    );
  });
}

const matrixRows = (s: string) => s.split("\n").filter((l) => /^\| (article|article_tag|author|tag) \| S/.test(l));
const handWritten = matrixRows(readFileSync(path.join(BLOG, "policies.expected.md"), "utf8"));

t.test("the export file loads as the project directory's metadata", async (t) => {
  const strip = (m: unknown) => JSON.stringify(m, (k, v) => (k === "where" ? undefined : v instanceof Map ? Object.fromEntries(v) : v));
  t.equal(strip(loadHasuraMetadata(exportJson)), strip(loadHasuraMetadata(path.join(BLOG, "hasura"))));
  t.equal(strip(loadHasuraMetadata(exportYaml)), strip(loadHasuraMetadata(exportJson)));
});

t.test("an export file alone is refused, naming both ways to give its schema; nothing is started or written", async (t) => {
  const db = await createEmptyDatabase(t);
  const res = await run([exportJson, "--out", "alone"], env(db));
  t.equal(res.code, 1, res.output);
  t.match(
    res.output,
    /error: .*blog-metadata\.json: a metadata export file has no schema; give --migrations <hasura-migrations-dir> .* or --database-url <url>/,
  );
  t.notOk(existsSync(path.join(work, "alone")), "no output folder");
  const both = await run([exportJson, "--out", "both", "--migrations", migrations, "--database-url", db.ownerUrl], env(db));
  t.equal(both.code, 1);
  t.match(both.output, "give --migrations or --database-url, not both");
  const usage = await run([exportJson], env(db));
  t.equal(usage.code, 2);
  t.match(usage.output, "--migrations <hasura-migrations-dir> | --database-url <url>");
});

t.test("--migrations: the schema from the Hasura migrations, as for a project directory", async (t) => {
  const db = await createEmptyDatabase(t);
  const res = await run([exportYaml, "--out", "with-migrations", "--migrations", migrations], env(db));
  t.equal(res.code, 0, res.output);
  t.match(res.output, "permissions match the Hasura metadata; start it with PROJECT_DIR=with-migrations npm start");
  const out = path.join(work, "with-migrations");
  t.same(readdirSync(path.join(out, "migrations/committed")), [
    "000001-application-roles-hasura-permissions.sql",
    "000002-hasura-1700000000000_init.sql",
  ]);
  t.same(matrixRows(readFileSync(path.join(out, "policies.expected.md"), "utf8")), handWritten, "the hand-written blog's matrix");
  t.match(readFileSync(path.join(out, "IMPORT.md"), "utf8"), "## `--compare-hasura` after applying\n\nNo difference.");
});

/** What an import could change in a database, and the cluster-wide roles it could create or grant. */
async function catalogState(db: EmptyDatabase, roles: string[]): Promise<unknown> {
  const [state] = await db.asRoot<{ state: unknown }>(
    `select jsonb_build_object(
       'schemas', (select jsonb_agg(jsonb_build_array(nspname, nspacl::text) order by nspname) from pg_namespace),
       'relations', (select jsonb_agg(jsonb_build_array(n.nspname, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
                                                         c.relacl::text) order by n.nspname, c.relname)
                       from pg_class c join pg_namespace n on n.oid = c.relnamespace
                      where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')),
       'columns', (select jsonb_agg(jsonb_build_array(attrelid::regclass::text, attname, attacl::text) order by 1, 2)
                     from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
                    where n.nspname = 'public' and attacl is not null),
       'policies', (select jsonb_agg(to_jsonb(p) order by p.schemaname, p.tablename, p.policyname) from pg_policies p),
       'functions', (select jsonb_agg(jsonb_build_array(p.oid::regprocedure::text, p.proacl::text) order by 1)
                       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                      where n.nspname not in ('pg_catalog', 'information_schema')),
       'triggers', (select jsonb_agg(tgname order by tgname) from pg_trigger where not tgisinternal),
       'default_acls', (select jsonb_agg(defaclacl::text order by 1) from pg_default_acl),
       'database_acl', (select datacl::text from pg_database where datname = current_database()),
       'roles', (select jsonb_agg(to_jsonb(r) - 'oid' order by rolname) from pg_roles r
                  where rolname = any($1) or rolname like 'hasura\\_import\\_%' or rolname = 'hasura_rules_reader'),
       'memberships', (select jsonb_agg(jsonb_build_array(m.roleid::regrole::text, m.member::regrole::text) order by 1, 2)
                         from pg_auth_members m where m.roleid::regrole::text = any($1) or m.member::regrole::text = any($1)
                            or m.roleid::regrole::text like 'hasura\\_import\\_%' or m.member::regrole::text like 'hasura\\_import\\_%'),
       'rows', (select count(*) from public.article)
     ) as state`,
    [roles],
  );
  return state!.state;
}

t.test("--database-url: the existing database is only read; the project migrates and serves it", async (t) => {
  const db = await createEmptyDatabase(t);
  // As the root step leaves it (only the application roles get USAGE on public), then the blog's schema and rows, no policies.
  await db.asRoot("revoke all on schema public from public");
  await query(db.ownerUrl, ddl);
  await query(db.ownerUrl, readFileSync(path.join(BLOG, "seeds/demo.sql"), "utf8"));
  const roles = ["admin", "anonymous", "user", TEST_ROLES.authenticator.name];
  const before = await catalogState(db, roles);

  const res = await run([exportJson, "--out", "on-existing", "--database-url", db.ownerUrl], env(db));
  t.equal(res.code, 0, res.output);
  t.match(
    res.output,
    "permissions match the Hasura metadata; start it with PROJECT_DIR=on-existing DATABASE_URL=<authenticator URL> DATABASE_OWNER_URL=<owner URL> npm start (on that database)",
  );
  t.same(await catalogState(db, roles), before, "the database (and the roles the import names) exactly as before");

  const out = path.join(work, "on-existing");
  t.same(readdirSync(path.join(out, "migrations/committed")), ["000001-application-roles-hasura-permissions.sql"], "only the roles");
  t.same(matrixRows(readFileSync(path.join(out, "policies.expected.md"), "utf8")), handWritten, "the hand-written blog's matrix");
  const report = readFileSync(path.join(out, "IMPORT.md"), "utf8");
  t.match(report, "## `--compare-hasura` after applying\n\nNo difference.");
  t.match(
    report,
    "On the database that already has the schema: `PROJECT_DIR=<this folder> DATABASE_URL=<the authenticator's URL> DATABASE_OWNER_URL=<the owner's URL> npm start`",
  );

  // As `npm start` with DATABASE_OWNER_URL: graphile-migrate over tables that already exist (it only needs its own schema).
  await migrateProject({ projectDir: out, ownerUrl: db.ownerUrl, authenticator: TEST_ROLES.authenticator.name });
  const [migrated] = await db.asRoot<{ n: number; rls: boolean }>(
    `select (select count(*)::int from graphile_migrate.migrations) as n,
            (select relforcerowsecurity from pg_class where oid = 'public.article'::regclass) as rls`,
  );
  t.same(migrated, { n: 1, rls: true }, "the roles migration ran; policies.sql applied");
  t.equal((await db.asRoot<{ n: number }>("select count(*)::int as n from public.article"))[0]!.n, 4, "the rows are kept");

  const testDb: TestDatabase = {
    name: db.name,
    runtimeUrl: clusterUrl(TEST_ROLES.authenticator.name, TEST_ROLES.authenticator.password, db.name),
    ownerUrl: db.ownerUrl,
    rootUrl: db.rootUrl,
    asOwner: (sql, values) => query(db.ownerUrl, sql, values),
    asRoot: db.asRoot,
  };
  const srv = await startServer(t, { db: testDb });
  await sameRows(t, srv, {
    headers: as("anonymous"),
    field: "allArticles",
    columns: ["id", "isPublished"],
    sqlColumns: ["id", "is_published"],
    orderBy: "ID_ASC",
    table: "article",
    where: "is_published",
    order: "id",
  });
  await sameRows(t, srv, {
    headers: as("user", { userId: 1 }),
    field: "allArticleTags",
    columns: ["articleId", "tagName"],
    sqlColumns: ["article_id", "tag_name"],
    orderBy: "[ARTICLE_ID_ASC, TAG_NAME_ASC]",
    table: "article_tag",
    where: "article_id in (select id from public.article where is_published or author_id = $1)",
    params: [1],
    order: "article_id, tag_name",
  });
});
