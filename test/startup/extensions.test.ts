/**
 * Extensions only a superuser may create (issue 14): start-up's root step
 * creates them before the migrations when ROOT_DATABASE_URL is given (or
 * the embedded cluster is used); without it, the migration's failure names
 * the extension and says to set ROOT_DATABASE_URL or create it. Through
 * prepareDatabase, the path `npm start` takes, on a real database.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { loadConfig } from "../../server/config.ts";
import { prepareDatabase } from "../../server/db/setup.ts";
import { calculateHash, serializeMigration } from "../../server/lib-internals.ts";
import { createEmptyDatabase } from "../helpers/empty-database.ts";
import { clusterUrl, query, superuserUrl } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";

// An extension this server offers that only a superuser may create (untrusted).
const candidates = await query<{ name: string }>(
  superuserUrl(),
  `select v.name from pg_available_extension_versions v join pg_available_extensions a on a.name = v.name and a.default_version = v.version
    where v.superuser and not v.trusted and v.name = any ($1) order by array_position($1, v.name::text)`,
  [["file_fdw", "postgres_fdw", "dblink", "pageinspect", "pg_buffercache", "pg_stat_statements"]],
);
const extension = candidates[0]?.name;

const work = mkdtempSync(path.join(tmpdir(), "extensions-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

/** A project whose one migration creates the extension, as an imported Hasura migration would. */
function project(name: string, statement: string): string {
  const dir = path.join(work, name);
  mkdirSync(path.join(dir, "migrations/committed"), { recursive: true });
  writeFileSync(path.join(dir, ".gmrc"), "{}\n");
  const body = `${statement}\ncreate table public.thing (id int primary key);\n`;
  const content = serializeMigration(body, { Previous: "-", Hash: calculateHash(body, null), Message: "extension" });
  writeFileSync(path.join(dir, "migrations/committed/000001-extension.sql"), content);
  writeFileSync(path.join(dir, "migrations/current.sql"), "");
  return dir;
}

async function start(dir: string, withRoot: boolean) {
  const db = await createEmptyDatabase(t);
  const config = loadConfig({
    PROJECT_DIR: dir,
    DATABASE_URL: clusterUrl(TEST_ROLES.authenticator.name, TEST_ROLES.authenticator.password, db.name),
    DATABASE_OWNER_URL: db.ownerUrl,
    ...(withRoot ? { ROOT_DATABASE_URL: superuserUrl() } : {}),
  });
  return { db, prepared: prepareDatabase(config) };
}

t.test(
  "without ROOT_DATABASE_URL: the error names the extension and the setting",
  { skip: !extension && "no untrusted extension available" },
  async (t) => {
    const { db, prepared } = await start(project("no-root", `create extension if not exists ${extension};`), false);
    await t.rejects(prepared, {
      message: `a migration creates the extension "${extension}", which only a superuser may create: set ROOT_DATABASE_URL (a superuser's URL) so start-up creates it in its root step, or create it as a superuser first: create extension if not exists "${extension}";`,
    });
    t.same(await db.asRoot("select 1 from pg_extension where extname = $1", [extension]), [], "not created");
  },
);

t.test(
  "with ROOT_DATABASE_URL: the root step creates it, the migration runs",
  { skip: !extension && "no untrusted extension available" },
  async (t) => {
    const { db, prepared } = await start(
      project("root", `-- as in a Hasura migration\nCREATE EXTENSION IF NOT EXISTS ${extension} WITH SCHEMA public;`),
      true,
    );
    const ready = await prepared;
    await ready.stop();
    const rows = await db.asRoot<{ schema: string }>(
      "select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = $1",
      [extension],
    );
    t.same(rows, [{ schema: "public" }], "created in the schema the migration names");
    t.same(await db.asRoot("select to_regclass('public.thing')::text as t"), [{ t: "thing" }], "the migration ran");
  },
);

t.test(
  "with ROOT_DATABASE_URL, a plain create extension: the error says what the root step needs",
  { skip: !extension && "no untrusted extension available" },
  async (t) => {
    const { prepared } = await start(project("plain", `create extension ${extension};`), true);
    await t.rejects(prepared, {
      message: new RegExp(
        `the root step \\(ROOT_DATABASE_URL\\) creates it first only for \`create extension if not exists ${extension}\``,
      ),
    });
  },
);

t.test("a trusted extension is left to the owner", async (t) => {
  const { db, prepared } = await start(project("trusted", "create extension if not exists pgcrypto;"), true);
  const ready = await prepared;
  await ready.stop();
  const owner = await db.asRoot<{ owner: string }>(
    "select pg_get_userbyid(extowner) as owner from pg_extension where extname = 'pgcrypto'",
  );
  t.same(owner, [{ owner: TEST_ROLES.owner.name }], "created by the migration, as the owner");
});
