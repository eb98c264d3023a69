/**
 * server/import/index.ts importHasuraProject: the blog as a Hasura project
 * (examples/blog/hasura, plus its schema as a Hasura migration) imported
 * into a new project folder, run into an empty database: the folder has
 * every file, policies.expected.md's matrix is the hand-written blog's,
 * --compare-hasura finds no difference, IMPORT.md lists every untranslated
 * item with its place, and the folder migrates a second fresh database as
 * `npm start` would.
 */
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { migrateProject } from "../../server/db/migrate.ts";
import { importHasuraProject } from "../../server/import/index.ts";
import { loadHasuraMetadata } from "../../server/import/metadata.ts";
import { quoteIdent } from "../../server/import/sql-quote.ts";
import { createEmptyDatabase } from "../helpers/empty-database.ts";
import { TEST_ROLES } from "../helpers/projects.ts";

const BLOG = path.join(REPO_ROOT, "examples/blog");
const work = mkdtempSync(path.join(tmpdir(), "import-hasura-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

// The blog's Hasura project: its metadata, and its tables as Hasura's first migration.
const hasura = path.join(work, "hasura");
cpSync(path.join(BLOG, "hasura"), hasura, { recursive: true });
const committed = readFileSync(path.join(BLOG, "migrations/committed/000001-blog-model-seed-002.sql"), "utf8");
const ddl = committed.slice(committed.indexOf("drop table if exists public.article_tag;"));
mkdirSync(path.join(hasura, "migrations/default/1700000000000_init"), { recursive: true });
writeFileSync(path.join(hasura, "migrations/default/1700000000000_init/up.sql"), ddl);
// Something an import cannot translate, to be listed with its place.
writeFileSync(
  path.join(hasura, "metadata/cron_triggers.yaml"),
  "- name: nightly_digest\n  webhook: http://localhost:3000/digest\n  schedule: '0 3 * * *'\n  include_in_metadata: true\n",
);

const reader = `fx_${randomBytes(4).toString("hex")}_rules_reader`;
const scratch = await createEmptyDatabase(t);
const second = await createEmptyDatabase(t);
// As the root step (server/db/bootstrap.ts) leaves a database: only the application roles get USAGE on public.
for (const db of [scratch, second]) await db.asRoot("revoke all on schema public from public");
t.teardown(async () => {
  for (const db of [scratch, second]) await db.asRoot(`drop owned by ${quoteIdent(reader)} cascade`).catch(() => {});
  await scratch.asRoot(`drop role if exists ${quoteIdent(reader)}`).catch(() => {});
});

const out = path.join(work, "out");
const result = await importHasuraProject(hasura, out, {
  scratch: { ownerUrl: scratch.ownerUrl, authenticator: TEST_ROLES.authenticator.name },
  reader,
});

t.test("the project folder", async (t) => {
  t.same([...result.files].sort(), [
    ".gmrc",
    "IMPORT.md",
    "migrations/committed/000001-application-roles-hasura-permissions.sql",
    "migrations/committed/000002-hasura-1700000000000_init.sql",
    "migrations/current.sql",
    "policies.expected.md",
    "policies.sql",
  ]);
  const gmrc = readFileSync(path.join(out, ".gmrc"), "utf8");
  t.match(gmrc, JSON.stringify(path.relative(path.join(out, "migrations"), path.join(REPO_ROOT, "sql/session.sql"))));
  t.match(gmrc, '"afterAllMigrations": [{ "_": "sql", "file": "../policies.sql", "shadow": false }]');
  t.equal(readFileSync(path.join(out, "migrations/current.sql"), "utf8"), "");
});

t.test("the matrix is the hand-written blog's; --compare-hasura is clean", async (t) => {
  t.same(result.differences, []);
  const rows = (s: string) => s.split("\n").filter((l) => l.startsWith("| ") && /^\| (article|article_tag|author|tag) \| S/.test(l));
  const live = rows(readFileSync(path.join(out, "policies.expected.md"), "utf8"));
  t.equal(live.length, 4);
  t.same(live, rows(readFileSync(path.join(BLOG, "policies.expected.md"), "utf8")));
});

t.test("IMPORT.md: counts and every untranslated item with its place", async (t) => {
  const report = readFileSync(path.join(out, "IMPORT.md"), "utf8");
  t.match(report, "- tables: 4 of 4 tracked");
  t.match(report, "- roles: anonymous, user, admin");
  const md = loadHasuraMetadata(hasura);
  t.ok(
    md.untranslated.some((u) => u.name === "nightly_digest"),
    "the fixture has an untranslated item",
  );
  for (const u of md.untranslated) t.match(report, `${u.kind} \`${u.name}\`: ${u.where}`, `${u.kind} ${u.name} listed`);
  t.match(report, "No difference.");
});

t.test("the folder migrates a fresh database as npm start would", async (t) => {
  await migrateProject({ projectDir: out, ownerUrl: second.ownerUrl, authenticator: TEST_ROLES.authenticator.name });
  const policies = await second.asRoot<{ n: number }>("select count(*)::int as n from pg_policies where schemaname = 'public'");
  t.ok(policies[0]!.n >= 18, `policies applied (${policies[0]!.n})`);
});
