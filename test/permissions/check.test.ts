/**
 * The policy regression test: `npm run permissions -- --check
 * policies.expected.md`, the real CLI as a child process, against each
 * project's migrated test database. It passes on the committed files and
 * fails, naming the table, when a policy or a column grant goes missing.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import t from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { loadCatalog } from "../../server/db/permissions/catalog.ts";
import { diffDocuments } from "../../server/db/permissions/check.ts";
import { renderDocument } from "../../server/db/permissions/markdown.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { runCli } from "./cli.ts";

const CHECK = ["--check", "policies.expected.md"];

for (const project of ["app", "blog"] as const) {
  t.test(`${project}: the database matches its policies.expected.md`, async (t) => {
    const db = await createTestDatabase(t, project);
    const res = await runCli("permissions", CHECK, db, project);
    t.equal(res.code, 0, `exit 0; output:\n${res.output}`);
    t.match(res.stdout, /^permissions match .*policies\.expected\.md\n$/);
  });
}

t.test("the authenticator (no USAGE on public) reads the same catalog as the owner", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const render = async (url: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return renderDocument(await loadCatalog(client, { schema: "public", authenticator: TEST_ROLES.authenticator.name }));
    } finally {
      await client.end();
    }
  };
  const expected = await readFile(path.join(REPO_ROOT, "examples/blog/policies.expected.md"), "utf8");
  t.equal(await render(db.ownerUrl), expected, "as the owner");
  t.equal(await render(db.runtimeUrl), expected, "as the authenticator");
});

t.test("policy expressions render the same whatever the search_path", async (t) => {
  const db = await createTestDatabase(t, "blog");
  await db.asRoot(`alter database ${db.name} set search_path = hasura, public`);
  const res = await runCli("permissions", CHECK, db, "blog");
  t.equal(res.code, 0, `exit 0; output:\n${res.output}`);
});

t.test("app: a dropped policy fails the check and names its table", async (t) => {
  const db = await createTestDatabase(t, "app");
  await db.asOwner(`drop policy user_select on public."user"`);
  const res = await runCli("permissions", CHECK, db, "app");
  t.equal(res.code, 1, `exit 1; output:\n${res.output}`);
  t.match(res.stdout, /^permissions differ from .*policies\.expected\.md \(- expected, \+ live\)/);
  // The matrix cell (user may still SELECT some columns, but no row) and the policy line.
  t.match(
    res.stdout,
    /@@ table user: matrix row .*: user S✅→S❌ @@\n- \| user \| .*\| S✅ U❌ I❌ D❌ \|\n\+ \| user \| .*\| S❌ U❌ I❌ D❌ \|/,
  );
  t.match(
    res.stdout,
    /@@ table user: details .*@@\n(?: {2}.*\n)?- \| user_select \| SELECT \| user \| \(id = \( SELECT hasura\.user_id_int\(\)/,
  );
  t.match(res.stdout, /tables that differ: user\n/);
  t.notMatch(res.stdout, /table result/, "other tables are not reported");
});

t.test("blog: a revoked column grant fails the check and names its table", async (t) => {
  const db = await createTestDatabase(t, "blog");
  await db.asOwner(`revoke select (content) on public.article from anonymous`);
  const res = await runCli("permissions", CHECK, db, "blog");
  t.equal(res.code, 1, `exit 1; output:\n${res.output}`);
  t.match(res.stdout, /@@ table article: details .*@@/);
  t.match(res.stdout, /- \| anonymous \| id, title, content, author_id, is_published \|/);
  t.match(res.stdout, /\+ \| anonymous \| id, title, author_id, is_published \|/);
  t.match(res.stdout, /tables that differ: article\n/);
  t.notMatch(res.stdout, /matrix row/, "anonymous still reads articles: the matrix is unchanged");
});

t.test("--table user shows its column grants and policies", async (t) => {
  const db = await createTestDatabase(t, "app");
  const res = await runCli("permissions", ["--table", "user"], db, "app");
  t.equal(res.code, 0, `exit 0; output:\n${res.output}`);
  t.match(res.stdout, /^## user\n/);
  t.match(res.stdout, /Row-level security: enabled, forced\./);
  t.match(res.stdout, /\n\| anonymous \| id, login \| {2}\| {2}\| {2}\|\n/, "anonymous may select id and login only");
  t.match(res.stdout, /\| anonymous_select \| SELECT \| anonymous \| true \|/);
  const missing = await runCli("permissions", ["--table", "no_such_table"], db, "app");
  t.equal(missing.code, 1);
  t.match(missing.stderr, /no table no_such_table in schema public/);
});

t.test("no flag prints the matrix, the first section of the expected file", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const res = await runCli("permissions", [], db, "blog");
  t.equal(res.code, 0, `exit 0; output:\n${res.output}`);
  t.match(res.stdout, /^# Permissions of schema public\n\n🟩 allowed without row rules/);
  t.match(res.stdout, /\n\| table \| admin \| anonymous \| user \|\n/, "the blog's roles only, from the catalog");
  t.match(res.stdout, /\n\| tag \| S🟩 U🟩 I🟩 D🟩 \| S🟩 U❌ I❌ D❌ \| S🟩 U❌ I🟩 D❌ \|\n/);
});

t.test("diffDocuments: blocks per table, - expected before + live", async (t) => {
  const expected = ["# h", "", "| table | a |", "|---|---|", "| t1 | S✅ |", "| t2 | S✅ |", "", "## t1", "", "x", "y", ""].join("\n");
  t.same(diffDocuments(expected, expected), { tables: [], text: "" });
  const live = expected.replace("| t1 | S✅ |", "| t1 | S❌ |").replace("| t2 | S✅ |", "| t2 | S🟩 |").replace("y", "z");
  const diff = diffDocuments(expected, live);
  t.same(diff.tables, ["t1", "t2"]);
  t.equal(
    diff.text,
    [
      "@@ table t1: matrix row (expected line 5, live line 5): a S✅→S❌ @@",
      "- | t1 | S✅ |",
      "+ | t1 | S❌ |",
      "",
      "@@ table t2: matrix row (expected line 6, live line 6): a S✅→S🟩 @@",
      "- | t2 | S✅ |",
      "+ | t2 | S🟩 |",
      "",
      "@@ table t1: details (expected line 11, live line 11) @@",
      "  x",
      "- y",
      "+ z",
    ].join("\n"),
  );
});
