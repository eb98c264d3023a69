/**
 * server/import/emit-policies.ts on the blog: its Hasura metadata
 * (examples/blog/hasura) emitted as policies.sql against a blog database,
 * applied in place of the hand-written one, gives the hand-written matrix
 * (examples/blog/policies.expected.md) cell by cell, `--compare-hasura`
 * finds no difference, and the blog's HTTP rules hold for representative
 * requests (including a relationship rule read through a helper).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import t from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { loadCatalog as loadPermissionCatalog } from "../../server/db/permissions/catalog.ts";
import { compareWithHasura, loadTableColumns } from "../../server/db/permissions/hasura-compare.ts";
import { renderMatrix } from "../../server/db/permissions/markdown.ts";
import { matrixOf } from "../../server/db/permissions/matrix.ts";
import { withClient } from "../../server/db/with-client.ts";
import { readerRoleSql } from "../../server/import/bool-exp.ts";
import { loadCatalog } from "../../server/import/catalog.ts";
import { emitPolicies } from "../../server/import/emit-policies.ts";
import { loadHasuraMetadata } from "../../server/import/metadata.ts";
import { quoteIdent } from "../../server/import/sql-quote.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { startServer } from "../helpers/server.ts";
import { runCli } from "../permissions/cli.ts";
import { as, sameRows } from "../policies/helpers.ts";

const BLOG = path.join(REPO_ROOT, "examples/blog");

const db = await createTestDatabase(t, "blog");
const reader = `fx_${randomBytes(4).toString("hex")}_rules_reader`;
t.teardown(async () => {
  await db.asRoot(`drop owned by ${quoteIdent(reader)} cascade`).catch(() => {});
  await db.asRoot(`drop role if exists ${quoteIdent(reader)}`);
});
await db.asOwner(readerRoleSql(reader));

const md = loadHasuraMetadata(path.join(BLOG, "hasura"));
const emitted = emitPolicies(md, { catalog: await withClient(db.ownerUrl, loadCatalog), reader, source: "examples/blog/hasura" });
await db.asOwner(emitted.sql);

t.test("the emitted file reads like the hand-written one", async (t) => {
  const sql = emitted.sql;
  t.same(emitted.roles, ["anonymous", "user", "admin"]);
  t.match(sql, "call hasura.reset_app_privileges('public', array['anonymous', 'user', 'admin']);");
  t.ok(sql.indexOf("reset_app_privileges") < sql.indexOf("create function"), "helpers after the reset");
  t.ok(sql.lastIndexOf("create function") < sql.indexOf("alter table public."), "helpers before the tables' policies");
  t.match(sql, "alter table public.article enable row level security, force row level security;");
  t.match(sql, "grant select (id, name) on public.author to anonymous;");
  t.match(sql, "create policy anonymous_select on public.article for select to anonymous using (is_published = 'true'::boolean);");
  t.match(sql, "call hasura.column_preset('public.article', 'user', 'insert', 'author_id', session_variable => 'x-hasura-user-id');");
  t.match(sql, "call hasura.select_permission('public.article', 'user', allow_aggregations => true);");
  t.match(sql, "grant select, insert, update, delete on public.tag to admin;");
  t.match(sql, "create policy admin_all on public.tag for all to admin using (true);");
  const words = sql
    .match(/-{76}\n((?:-- .*\n)+)-{76}\nalter table public\.article /)?.[1]
    ?.replace(/\n-- /g, " ")
    .trim();
  t.equal(
    words,
    "-- article. anonymous: select some rows. user: select some rows, insert some rows, update some rows, delete some rows. admin: all.",
    "each section opens with its row in words",
  );
  t.same(emitted.notes, [], "the blog's metadata is translated whole");
  t.same(emitted.counts, { tables: 4, policies: 18, declarations: 3, helpers: 3 });
});

t.test("the matrix is the hand-written one; --compare-hasura is clean", async (t) => {
  await withClient(db.ownerUrl, async (client) => {
    const cat = await loadPermissionCatalog(client, { schema: "public", authenticator: TEST_ROLES.authenticator.name });
    const expected = readFileSync(path.join(BLOG, "policies.expected.md"), "utf8");
    const live = renderMatrix(matrixOf(cat), "public");
    const table = (s: string) => s.split("\n").filter((l) => l.startsWith("| "));
    t.ok(table(live).length >= 5, "a matrix with a row per table");
    t.same(table(live), table(expected).slice(0, table(live).length), "the matrix's rows, cell by cell");
    t.same(compareWithHasura(cat, await loadTableColumns(client, "public"), md), []);
    const { rows } = await client.query(
      "select policyname from pg_policies where schemaname = 'public' and tablename = 'article' order by 1",
    );
    t.same(
      rows.map((r) => r.policyname),
      ["admin_all", "anonymous_select", "hasura_rules_read", "user_delete", "user_insert", "user_select", "user_update"],
      "the generated policies (and the rule reader's), not the hand-written ones, are in place",
    );
  });
});

t.test("npm run lint:policies is clean on the generated policies", async (t) => {
  const res = await runCli("lint-policies", [], db, "blog");
  t.equal(res.code, 0, `clean: ${res.output}`);
});

t.test("HTTP: the blog's rules hold under the generated policies", async (t) => {
  const srv = await startServer(t, { db });
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
  for (const userId of [1, 2]) {
    await sameRows(t, srv, {
      headers: as("user", { userId }),
      field: "allArticleTags",
      columns: ["articleId", "tagName"],
      sqlColumns: ["article_id", "tag_name"],
      orderBy: "[ARTICLE_ID_ASC, TAG_NAME_ASC]",
      table: "article_tag",
      where: "article_id in (select id from public.article where is_published or author_id = $1)",
      params: [userId],
      order: "article_id, tag_name",
    });
  }
  // Insert: author_id is preset from the session; tagging another author's article is refused (a helper reads it).
  const ada = as("user", { userId: 1 });
  const created = await srv.gql(
    'mutation { createArticle(input: { article: { title: "imported", content: "x", isPublished: false } }) { article { id authorId } } }',
    {
      headers: ada,
    },
  );
  t.equal(created.status, 200);
  t.notOk(created.body.errors, JSON.stringify(created.body.errors));
  t.equal(created.body.data?.createArticle?.article?.authorId, 1, "author_id preset from x-hasura-user-id");
  const [other] = await db.asRoot<{ id: number }>("select id from public.article where author_id <> 1 order by id limit 1");
  const [tag] = await db.asRoot<{ name: string }>(
    "select name from public.tag where name not in (select tag_name from public.article_tag where article_id = $1) order by name limit 1",
    [other!.id],
  );
  const refused = await srv.gql(
    `mutation { createArticleTag(input: { articleTag: { articleId: ${other!.id}, tagName: ${JSON.stringify(tag!.name)} } }) { articleTag { articleId } } }`,
    { headers: ada },
  );
  t.match(
    refused.body.errors?.[0]?.message,
    /check constraint|row-level security/i,
    "tagging another author's article is refused by the policy",
  );
  t.same(await db.asRoot("select 1 from public.article_tag where article_id = $1 and tag_name = $2", [other!.id, tag!.name]), []);
  const mine = created.body.data.createArticle.article.id;
  const ok = await srv.gql(
    `mutation { createArticleTag(input: { articleTag: { articleId: ${mine}, tagName: ${JSON.stringify(tag!.name)} } }) { articleTag { articleId } } }`,
    { headers: ada },
  );
  t.same(ok.body, { data: { createArticleTag: { articleTag: { articleId: mine } } } }, "tagging its own article works");
});

t.test("for all where the four rules coincide; declarations; what PostgreSQL cannot state is a note, not a guess", async (t) => {
  const tag = md.tables.find((x) => x.table.name === "tag")!;
  const edited = {
    ...md,
    tables: [
      {
        ...tag,
        select: new Map([
          [
            "user",
            { columns: "*" as const, computedFields: [], filter: {}, limit: 5, allowAggregations: false, queryRootFields: ["select"] },
          ],
        ]),
        insert: new Map([
          ["user", { check: {}, columns: ["name"], set: { name: "fixed" }, backendOnly: false }],
          ["anonymous", { check: {}, columns: [], set: {}, backendOnly: false }],
        ]),
        update: new Map([["user", { columns: ["name"], filter: {}, check: null, set: { name: "X-Hasura-User Id" }, backendOnly: false }]]),
        delete: new Map([["user", { filter: {}, backendOnly: true }]]),
      },
    ],
  };
  const out = emitPolicies(edited, { catalog: await withClient(db.ownerUrl, loadCatalog), reader });
  t.match(out.sql, 'create policy user_all on public.tag for all to "user" using (true);');
  t.notMatch(out.sql, "user_select");
  t.match(out.sql, 'grant select, insert (name), update (name), delete on public.tag to "user";');
  t.match(out.sql, `call hasura.select_permission('public.tag', 'user', "limit" => 5, query_root_fields => array['select']::text[]);`);
  t.match(out.sql, "call hasura.column_preset('public.tag', 'user', 'insert', 'name', value => 'fixed');");
  t.match(out.sql, "call hasura.backend_only('public.tag', 'user', 'delete');");
  t.notMatch(out.sql, "to anonymous", "anonymous's insert with columns: [] is not granted");
  t.equal(out.notes.length, 2);
  t.match(out.notes[0], {
    where: /public_tag\.yaml \$\.insert_permissions\[role=anonymous\]\.permission\.columns$/,
    detail: /columns: \[\]/,
  });
  t.match(out.notes[1], {
    where: /public_tag\.yaml \$\.update_permissions\[role=user\]\.permission\.set\.name$/,
    detail: /"X-Hasura-User Id" is not a session variable name/,
  });
  t.notMatch(out.sql, "'update', 'name'", "a malformed session variable is not declared as a preset");
  t.match(out.sql, /-- Not translated[^\n]*\n-- {3}[\s\S]*insert_permissions\[role=anonymous\]/);
  await db.asOwner(out.sql);
  const rows = await db.asRoot<{ policyname: string }>("select policyname from pg_policies where tablename = 'tag' order by 1");
  t.same(
    rows.map((r) => r.policyname),
    ["admin_all", "user_all"],
  );
  const [decl] = await db.asRoot(
    "select row_limit, query_root_fields from hasura.permission where table_oid = 'public.tag'::regclass and role = 'user' and command = 'select'",
  );
  t.same(decl, { row_limit: 5, query_root_fields: ["select"] }, "the declarations are applied");
});
