/**
 * `npm run permissions -- --compare-hasura <dir>` (the real CLI as a child
 * process): the blog's database against the blog as Hasura metadata
 * (examples/blog/hasura) is clean; a modified copy of the metadata, and a
 * changed database, give one line per difference and exit 1.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import t from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { loadCatalog } from "../../server/db/permissions/catalog.ts";
import { compareWithHasura, loadTableColumns } from "../../server/db/permissions/hasura-compare.ts";
import { loadHasuraMetadata } from "../../server/import/metadata.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { createFixtureRoles } from "../helpers/roles.ts";
import { runCli } from "./cli.ts";

const BLOG_HASURA = path.join(REPO_ROOT, "examples/blog/hasura");

t.test("blog: the database matches its Hasura metadata", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const res = await runCli("permissions", ["--compare-hasura", BLOG_HASURA], db, "blog");
  t.equal(res.code, 0, `exit 0; output:\n${res.output}`);
  t.match(res.stdout, /^permissions match the Hasura metadata of .*examples\/blog\/hasura \(schema public\)\n$/);
});

t.test("blog: a modified copy of the metadata names each difference", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const dir = mkdtempSync(path.join(tmpdir(), "compare-hasura-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(BLOG_HASURA, dir, { recursive: true });
  const tables = path.join(dir, "metadata/databases/default/tables");
  const edit = (file: string, from: string, to: string) => {
    const p = path.join(tables, file);
    const text = readFileSync(p, "utf8");
    if (!text.includes(from)) throw new Error(`fixture edit: ${from} not in ${file}`);
    writeFileSync(p, text.replace(from, to));
  };
  // anonymous reads every article (Hasura all rows; PostgreSQL: the published ones), without aggregations.
  edit(
    "public_article.yaml",
    "      filter:\n        is_published:\n          _eq: true\n      allow_aggregations: true",
    "      filter: {}",
  );
  // user may not create tags.
  edit("public_tag.yaml", "insert_permissions:\n  - role: user\n    permission:\n      check: {}\n      columns:\n        - name\n", "");
  // user reads an author's id only.
  edit(
    "public_author.yaml",
    "  - role: user\n    permission:\n      columns:\n        - id\n        - name",
    "  - role: user\n    permission:\n      columns:\n        - id",
  );
  // user's article insert presets is_published too.
  edit(
    "public_article.yaml",
    "      set:\n        author_id: x-hasura-User-Id",
    "      set:\n        author_id: x-hasura-User-Id\n        is_published: false",
  );
  // a role the database does not have.
  edit(
    "public_tag.yaml",
    "select_permissions:\n",
    "select_permissions:\n  - role: editor\n    permission:\n      columns: [name]\n      filter: {}\n",
  );

  const res = await runCli("permissions", ["--compare-hasura", dir], db, "blog");
  t.equal(res.code, 1, `exit 1; output:\n${res.output}`);
  const lines = res.stdout.trimEnd().split("\n");
  t.match(lines[0], /^permissions differ from the Hasura metadata of .* \(schema public\):$/);
  t.same(
    lines.slice(1, -1).map((l) => l.trim()),
    [
      "role editor: in the Hasura metadata, not an application role of the database",
      "public.article anonymous select: Hasura all rows, PostgreSQL some rows",
      "public.article user insert: Hasura [author_id=x-hasura-user-id, is_published='false'], PostgreSQL [author_id=x-hasura-user-id]",
      "public.author user select columns: only in PostgreSQL: name",
      "public.tag user insert: Hasura none, PostgreSQL all rows",
    ],
  );
  t.equal(lines.at(-1), "5 differences");
});

t.test("blog: a changed database names each difference", async (t) => {
  const db = await createTestDatabase(t, "blog");
  await db.asOwner(`
    revoke select (content) on public.article from anonymous;
    drop policy user_delete on public.article_tag;
    call hasura.select_permission('public.article', 'anonymous', allow_aggregations => false, "limit" => 10);
    grant insert (author_id) on public.article to "user";
  `);
  const res = await runCli("permissions", ["--compare-hasura", BLOG_HASURA], db, "blog");
  t.equal(res.code, 1, `exit 1; output:\n${res.output}`);
  t.same(
    res.stdout
      .trimEnd()
      .split("\n")
      .slice(1, -1)
      .map((l) => l.trim()),
    [
      "public.article anonymous select columns: only in Hasura: content",
      "public.article anonymous select: Hasura [agg], PostgreSQL [limit 10]",
      "public.article user insert columns: only in PostgreSQL: author_id",
      "public.article_tag user delete: Hasura some rows, PostgreSQL none",
    ],
  );
});

t.test("a malformed metadata file is named before any database work", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const dir = mkdtempSync(path.join(tmpdir(), "compare-hasura-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, "export.json"), JSON.stringify({ version: 3, sources: [{ name: "default", tabels: [] }] }));
  const res = await runCli("permissions", ["--compare-hasura", path.join(dir, "export.json")], db, "blog");
  t.equal(res.code, 1);
  t.equal(res.stderr, "error: export.json: $.sources[0].tabels: unknown key\n");
});

t.test("inherited roles: a role without its own permission is compared with its parents' combined, as imported", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const roles = await createFixtureRoles(t, db, ["reader", "drafts", "editor"], { editor: ["reader", "drafts"] });
  const { reader, drafts, editor } = roles;
  await db.asOwner(`
    grant select (id, title, author_id, is_published) on public.article to "${reader}";
    create policy fx_reader_select on public.article for select to "${reader}" using (is_published);
    grant select (id, title, content) on public.article to "${drafts}";
    create policy fx_drafts_select on public.article for select to "${drafts}" using (not is_published);`);
  const base = loadHasuraMetadata(BLOG_HASURA);
  const article = base.tables.find((x) => x.table.name === "article")!;
  const selectOf = (columns: string[], filter: Record<string, unknown>) => ({
    columns,
    computedFields: [],
    filter,
    allowAggregations: false,
  });
  article.select.set(reader, selectOf(["id", "title", "author_id", "is_published"], { is_published: { _eq: true } }));
  article.select.set(drafts, selectOf(["id", "title", "content"], { is_published: { _eq: false } }));
  base.inheritedRoles.push({ roleName: editor, roleSet: [reader, drafts] });

  const client = new pg.Client({ connectionString: db.ownerUrl });
  await client.connect();
  t.teardown(() => client.end());
  const catalog = await loadCatalog(client, { schema: "public", authenticator: TEST_ROLES.authenticator.name });
  const columns = await loadTableColumns(client, "public");
  // Hasura shows content only on drafts' rows and author_id, is_published only on reader's (null elsewhere); the
  // importer's translation (import/inherited-roles.ts) grants only what every parent's rows may show: id, title.
  // Membership grants the union on every row, so the comparison names the cells Hasura would hide.
  t.same(
    compareWithHasura(catalog, columns, base),
    [`public.article ${editor} select columns: only in PostgreSQL: content, author_id, is_published`],
    "editor = reader + drafts: some rows, only the columns every parent's rows may show",
  );

  // editor's own permission replaces what it inherits (Hasura): PostgreSQL membership still ORs the parents in.
  article.select.set(editor, selectOf(["id", "title"], {}));
  t.same(compareWithHasura(catalog, columns, base), [`public.article ${editor} select: Hasura all rows, PostgreSQL some rows`]);
  article.select.set(editor, selectOf(["id", "title"], { id: { _gt: 0 } }));
  t.same(compareWithHasura(catalog, columns, base), [
    `public.article ${editor} select columns: only in PostgreSQL: content, author_id, is_published`,
  ]);
});

t.test("every schema the metadata tracks is compared; tables of schemas left out of --schema are named as not compared", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const dir = mkdtempSync(path.join(tmpdir(), "compare-hasura-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(BLOG_HASURA, dir, { recursive: true });
  const tables = path.join(dir, "metadata/databases/default/tables");
  writeFileSync(path.join(tables, "audit_log.yaml"), "table:\n  schema: audit\n  name: log\n");
  writeFileSync(path.join(tables, "tables.yaml"), `${readFileSync(path.join(tables, "tables.yaml"), "utf8")}- "!include audit_log.yaml"\n`);
  const all = await runCli("permissions", ["--compare-hasura", dir], db, "blog");
  t.equal(all.code, 1, `exit 1; output:\n${all.output}`);
  t.match(all.stdout, /\(schemas public, audit\):\n {2}audit\.log: in the Hasura metadata, not in the database\n1 difference\n$/);
  const res = await runCli("permissions", ["--compare-hasura", dir, "--schema", "public"], db, "blog");
  t.equal(res.code, 0, `exit 0 (public matches); output:\n${res.output}`);
  t.equal(res.stderr, "not compared: the metadata's tables in audit (not in --schema)\n");
});
