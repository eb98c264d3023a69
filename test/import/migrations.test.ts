/**
 * server/import/migrations.ts: Hasura migrations (config v3, v2 and v1-era
 * files, fixtures under test/import/fixtures/) → graphile-migrate committed
 * migrations. The proof is graphile-migrate itself: the real `migrate`
 * (server/db/migrate.ts) accepts the generated chain on an empty database and
 * builds the tables, and refuses a file changed after the import.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { migrateProject } from "../../server/db/migrate.ts";
import { importHasuraMigrations, type ImportedFile } from "../../server/import/migrations.ts";
import { createEmptyDatabase } from "../helpers/empty-database.ts";
import { superuserUrl } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import pg from "pg";

const FIXTURES = path.join(REPO_ROOT, "test/import/fixtures");
const suffix = randomBytes(3).toString("hex");
// Roles are cluster-wide: names of this run only, one with a quote and a hyphen.
const ROLES = [`imp_user_${suffix}`, `imp-editor's_${suffix}`, `imp_user_${suffix}`];

t.teardown(async () => {
  const client = new pg.Client({ connectionString: superuserUrl() });
  await client.connect();
  for (const r of new Set(ROLES)) await client.query(`drop role if exists "${r.replaceAll('"', '""')}"`);
  await client.end();
});

/** An output project: the generated files plus a .gmrc in examples/blog's style, its sql/ helper paths pointing at this repo. */
async function writeProject(t: Test, files: ImportedFile[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "hasura-import-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const helper = (f: string) => JSON.stringify(path.relative(path.join(dir, "migrations"), path.join(REPO_ROOT, "sql", f)));
  const helpers = `[${["session.sql", "permissions.sql", "privileges.sql"].map(helper).join(", ")}]`;
  await writeFile(
    path.join(dir, ".gmrc"),
    `{\n  "placeholders": { ":DATABASE_OWNER": "!ENV", ":DATABASE_AUTHENTICATOR": "!ENV" },\n` +
      `  "beforeAllMigrations": ${helpers},\n  "beforeCurrent": ${helpers},\n}\n`,
  );
  for (const f of files) {
    await mkdir(path.dirname(path.join(dir, f.path)), { recursive: true });
    await writeFile(path.join(dir, f.path), f.content);
  }
  return dir;
}

const migrateInto = (projectDir: string, ownerUrl: string) =>
  migrateProject({ projectDir, ownerUrl, authenticator: TEST_ROLES.authenticator.name });

const header = (content: string, key: string) => new RegExp(`^--! ${key}: (.*)$`, "m").exec(content)?.[1];

t.test("config v3: numeric version order, empty and down files, roles; graphile-migrate accepts the chain", async (t) => {
  const { files, notes } = await importHasuraMigrations(path.join(FIXTURES, "hasura-v3"), { roles: ROLES });
  t.same(
    files.map((f) => f.path),
    [
      "migrations/committed/000001-application-roles-hasura-permissions.sql",
      "migrations/committed/000002-hasura-999999999999_create_schema.sql",
      "migrations/committed/000003-hasura-1646834482402_init.sql",
      "migrations/committed/000004-hasura-1700000000000_add_comments.sql",
    ],
    "roles first, then the versions in numeric order (999999999999 before 1646834482402), the empty one skipped",
  );
  t.equal(header(files[0]!.content, "Previous"), "-", "the first migration has no previous");
  for (let i = 1; i < files.length; i++) {
    t.equal(header(files[i]!.content, "Previous"), header(files[i - 1]!.content, "Hash"), `${files[i]!.path} chains to the one before`);
  }
  t.equal(header(files[2]!.content, "Message"), "Hasura 1646834482402_init", "the message keeps Hasura's version and name");
  t.match(files[2]!.content, "CREATE TABLE blog.article", "the up.sql is the body");
  t.notMatch(files.map((f) => f.content).join("\n"), /DROP TABLE/, "no down.sql reaches a migration");
  t.match(files[0]!.content, `'imp-editor''s_${suffix}'`, "role names are SQL literals, quotes doubled");
  t.equal(files[0]!.content.match(new RegExp(`'imp_user_${suffix}'`, "g"))?.length, 1, "a role named twice is created once");
  t.ok(
    notes.some((n) => n.includes("Skipped Hasura migration 1646834490000_nothing_yet")),
    "the whitespace-only up.sql is skipped with a note",
  );
  t.ok(
    notes.some(
      (n) => /3 down migration\(s\) ignored: graphile-migrate is forward-only/.test(n) && n.includes("1646834482402_init/down.sql"),
    ),
    "down.sql files are named as ignored, with the reason",
  );
  t.ok(
    notes.some((n) => n.includes('database "reporting"')),
    "another database's migrations are named as not translated",
  );

  const db = await createEmptyDatabase(t);
  await migrateInto(await writeProject(t, files), db.ownerUrl);
  const applied = await db.asRoot<{ filename: string; hash: string }>(
    "select filename, hash from graphile_migrate.migrations order by filename",
  );
  t.same(
    applied,
    files.map((f) => ({ filename: `${path.basename(f.path).slice(0, 6)}.sql`, hash: header(f.content, "Hash") })),
    "graphile-migrate ran every generated migration, recording the hashes of their headers",
  );
  const tables = await db.asRoot<{ t: string }>(
    "select table_name as t from information_schema.tables where table_schema = 'blog' order by 1",
  );
  t.same(
    tables.map((r) => r.t),
    ["article", "author", "comment"],
    "the Hasura schema was built",
  );
  const roles = await db.asRoot<{ rolname: string; rolcanlogin: boolean; granted: boolean }>(
    `select rolname, rolcanlogin, pg_has_role($1, oid, 'member') as granted from pg_roles where rolname = any($2) order by 1`,
    [TEST_ROLES.authenticator.name, [...new Set(ROLES)]],
  );
  t.same(
    roles,
    [...new Set(ROLES)].sort().map((rolname) => ({ rolname, rolcanlogin: false, granted: true })),
    "each role exists, NOLOGIN, granted to the authenticator",
  );

  // Same import again (roles exist now): the roles migration is idempotent.
  const again = await createEmptyDatabase(t);
  await migrateInto(await writeProject(t, files), again.ownerUrl);
  t.equal(
    (await again.asRoot("select 1 from graphile_migrate.migrations")).length,
    4,
    "a second database with the roles already there migrates too",
  );
});

t.test("a generated file changed afterwards is refused by graphile-migrate (the hash is real)", async (t) => {
  const { files } = await importHasuraMigrations(path.join(FIXTURES, "hasura-v3"), { roles: ROLES });
  const dir = await writeProject(t, files);
  const tampered = path.join(dir, files[2]!.path);
  await writeFile(tampered, (await readFile(tampered, "utf8")).replace("title text NOT NULL", "title text"));
  const db = await createEmptyDatabase(t);
  await t.rejects(
    migrateInto(dir, db.ownerUrl),
    /Hash for 000003-hasura-1646834482402_init\.sql does not match .*tampered/,
    "graphile-migrate names the tampered file",
  );
  t.same(await db.asRoot("select 1 from information_schema.tables where table_schema = 'blog'"), [], "and nothing from it or after it ran");
});

t.test("config v2 folders and v1-era .up.sql / .up.yaml files", async (t) => {
  const { files, notes } = await importHasuraMigrations(path.join(FIXTURES, "hasura-v2"), { roles: [] });
  t.same(
    files.map((f) => f.path),
    [
      "migrations/committed/000001-hasura-1646834482402_init.sql",
      "migrations/committed/000002-hasura-1646834490000_add_orders.sql",
      "migrations/committed/000003-hasura-1646834495000_order_quantity.sql",
    ],
    "no roles migration without roles; the empty .up.sql skipped",
  );
  t.ok(
    notes.some((n) => n.includes("no application-roles migration")),
    "the missing roles migration is said",
  );
  t.match(
    files[1]!.content,
    /run_sql step 1\n\nCREATE TABLE public\.shop_order[\s\S]*run_sql step 2\n\nCREATE INDEX shop_order_item_idx/,
    "run_sql steps, bulk included, in order",
  );
  t.ok(
    notes.some((n) => n.includes("1646834490000_add_orders.up.yaml $[1]") && n.includes('"add_existing_table_or_view"')),
    "a metadata step is named as not translated, with file and place",
  );
  t.ok(
    notes.some((n) => n.includes("Skipped Hasura migration 1646834499000_empty")),
    "the empty one is named",
  );
  t.ok(
    notes.some((n) => n.includes("1646834490000_add_orders.down.yaml")),
    "a down.yaml is named as ignored",
  );

  const db = await createEmptyDatabase(t);
  await migrateInto(await writeProject(t, files), db.ownerUrl);
  const cols = await db.asRoot<{ c: string }>(
    "select table_name || '.' || column_name as c from information_schema.columns where table_schema = 'public' and table_name like 'shop_%' order by 1",
  );
  t.same(
    cols.map((r) => r.c),
    ["shop_item.id", "shop_item.name", "shop_order.id", "shop_order.item_id", "shop_order.quantity"],
    "graphile-migrate accepted the chain and built the schema",
  );
  t.equal((await db.asRoot("select 1 from pg_indexes where indexname = 'shop_order_item_idx'")).length, 1, "the bulk run_sql ran");
});

t.test("refusals (reserved role names, a version used twice, several databases without a choice) and extension notes", async (t) => {
  for (const role of ["public", "none", "pg_reader", "x".repeat(64)]) {
    await t.rejects(
      importHasuraMigrations(path.join(FIXTURES, "hasura-v2"), { roles: [role] }),
      new RegExp(`Hasura role "${role}" cannot be a PostgreSQL role`),
      `role ${role.length > 20 ? "of 64 bytes" : role} is refused by name`,
    );
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "hasura-import-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(path.join(dir, "migrations/1_a"), { recursive: true });
  await writeFile(path.join(dir, "migrations/1_a/up.sql"), "select 1;");
  await writeFile(path.join(dir, "migrations/1_b.up.sql"), "select 2;");
  await t.rejects(importHasuraMigrations(dir, { roles: [] }), /version 1 is used twice/, "a version used twice");

  await rm(path.join(dir, "migrations/1_b.up.sql"));
  await writeFile(
    path.join(dir, "migrations/1_a/up.sql"),
    'CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;\ncreate extension "uuid-ossp";',
  );
  const ext = await importHasuraMigrations(dir, { roles: [] });
  t.same(
    ext.notes.filter((n) => n.includes("creates extension")).map((n) => n.split(";")[0]),
    ["Hasura migration 1_a: creates extension pgcrypto", 'Hasura migration 1_a: creates extension "uuid-ossp"'],
    "each extension a migration creates is named (the owner may create only trusted ones)",
  );

  await mkdir(path.join(dir, "migrations/2_two\nlines"));
  await writeFile(path.join(dir, "migrations/2_two\nlines/up.sql"), "select 2;");
  const odd = (await importHasuraMigrations(dir, { roles: [] })).files[1]!.content;
  t.match(
    odd,
    /^--! Message: Hasura 2_two lines\n[\s\S]*^-- Hasura migration 2_two lines: migrations\/2_two lines\/up\.sql\n/m,
    "a line break in a name stays out of the SQL",
  );

  await writeFile(path.join(dir, "migrations/3_broken.up.yaml"), "- type: run_sql\n  args: {sql: [unclosed\n");
  await t.rejects(
    importHasuraMigrations(dir, { roles: [] }),
    /migrations\/3_broken\.up\.yaml: not valid YAML/,
    "a broken up.yaml is named",
  );

  const multi = await mkdtemp(path.join(os.tmpdir(), "hasura-import-"));
  t.teardown(() => rm(multi, { recursive: true, force: true }));
  for (const db of ["one", "two"]) {
    await mkdir(path.join(multi, `migrations/${db}/1_a`), { recursive: true });
    await writeFile(path.join(multi, `migrations/${db}/1_a/up.sql`), "select 1;");
  }
  await t.rejects(
    importHasuraMigrations(multi, { roles: [] }),
    /2 databases \(one, two\); say which one/,
    "several databases, none named default",
  );
  const two = await importHasuraMigrations(multi, { roles: [], database: "two" });
  t.match(two.files[0]!.content, "migrations/two/1_a/up.sql", "the chosen database is imported");
  t.ok(
    two.notes.some((n) => n.includes('database "one"')),
    "the other is named",
  );
});

t.test("pgcrypto, which Hasura creates on its database, is created first when a migration uses it before creating it", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "hasura-import-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const up = (v: string, sql: string) =>
    mkdir(path.join(dir, `migrations/${v}`), { recursive: true }).then(() => writeFile(path.join(dir, `migrations/${v}/up.sql`), sql));
  // As MetaFam/TheGame: public.gen_random_uuid() in the first migration, pgcrypto created by a later one.
  await up("1_init", 'create table public.player (id uuid default "public"."gen_random_uuid"() primary key, pw text);');
  await up("2_later", "CREATE EXTENSION IF NOT EXISTS pgcrypto;\ncreate table public.quest (id uuid default gen_random_uuid());");
  const { files, notes } = await importHasuraMigrations(dir, { roles: [] });
  t.same(
    files.map((f) => f.path),
    [
      "migrations/committed/000001-pgcrypto-in-public-as-hasura-creates-it.sql",
      "migrations/committed/000002-hasura-1_init.sql",
      "migrations/committed/000003-hasura-2_later.sql",
    ],
  );
  t.match(files[0]!.content, /^create extension if not exists pgcrypto with schema public;$/m);
  t.ok(
    notes.some((n) => n.includes("call pgcrypto without creating it")),
    "said in the notes",
  );
  const db = await createEmptyDatabase(t);
  await migrateInto(await writeProject(t, files), db.ownerUrl);
  const [ext] = await db.asRoot<{ nspname: string }>(
    "select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pgcrypto'",
  );
  t.same(ext, { nspname: "public" }, "the owner created it (a trusted extension) and the chain ran");

  // Created before it is used, or not used: nothing added.
  await up("1_init", "CREATE EXTENSION IF NOT EXISTS pgcrypto;\ncreate table public.player (id uuid default public.gen_random_uuid());");
  t.notOk((await importHasuraMigrations(dir, { roles: [] })).files.some((f) => f.path.includes("pgcrypto")));
  await up("1_init", "create table public.player (id uuid default gen_random_uuid());");
  await up("2_later", "create table public.quest (id int);");
  t.notOk((await importHasuraMigrations(dir, { roles: [] })).files.some((f) => f.path.includes("pgcrypto")));
});

t.test("a role the Hasura migrations create themselves is granted to the authenticator after them, not created before", async (t) => {
  const own = `imp_anon_${suffix}`;
  const other = ROLES[0]!;
  t.teardown(async () => {
    const client = new pg.Client({ connectionString: superuserUrl() });
    await client.connect();
    await client.query(`drop role if exists ${own}`);
    await client.end();
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), "hasura-import-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(path.join(dir, "migrations/1_init"), { recursive: true });
  // As nossas/bonde-hasura's first migration: roles of its own, one of which the metadata's permissions name.
  await writeFile(
    path.join(dir, "migrations/1_init/up.sql"),
    `create role ${own.toUpperCase()};\ncreate table public.thing (id int);\ngrant select on public.thing to ${own};\ncreate user mapping for public server x;`,
  );
  const { files, notes } = await importHasuraMigrations(dir, { roles: [other, own] });
  t.same(
    files.map((f) => f.path),
    [
      "migrations/committed/000001-application-roles-hasura-permissions.sql",
      "migrations/committed/000002-hasura-1_init.sql",
      "migrations/committed/000003-hasura-created-roles-to-the-authenticator.sql",
    ],
  );
  t.match(files[0]!.content, `array['${other}']`, "the first creates only the roles the migrations do not");
  t.match(files[2]!.content, `array['${own}']`, "the last grants the migrations' own role");
  t.ok(notes.some((n) => n.includes(`create the roles ${own} themselves`)));
  // Runs on an empty database (without the user mapping, which needs a foreign server).
  await writeFile(
    path.join(dir, "migrations/1_init/up.sql"),
    `create role ${own.toUpperCase()};\ncreate table public.thing (id int);\ngrant select on public.thing to ${own};`,
  );
  const db = await createEmptyDatabase(t);
  await migrateInto(await writeProject(t, (await importHasuraMigrations(dir, { roles: [other, own] })).files), db.ownerUrl);
  const granted = await db.asRoot<{ rolname: string }>(
    `select r.rolname from pg_auth_members m join pg_roles r on r.oid = m.roleid join pg_roles a on a.oid = m.member
      where a.rolname = $1 and r.rolname = any($2) order by 1`,
    [TEST_ROLES.authenticator.name, [other, own]],
  );
  t.same(
    granted.map((r) => r.rolname),
    [other, own].sort(),
    "both granted to the authenticator",
  );
});
