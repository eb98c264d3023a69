/**
 * Hasura's select options declared in SQL (sql/permissions.sql,
 * `hasura.select_permission`), on /v1/graphql:
 *
 *  1. `limit`: the most rows one selection of the table returns for the
 *     role, on the root field, through array relationships at any depth and
 *     in an aggregate's `nodes`; a client `limit` below it still applies, one
 *     above it is capped. As in Hasura, the aggregate itself (`count`, …)
 *     is not capped: it covers every row the role may see (or the client's
 *     own `limit`).
 *  2. `allow_aggregations`: `t_aggregate`, `<rel>_aggregate` and the
 *     `<rel>_aggregate` predicate of `where` exist only where declared;
 *     without a declaration a role has none (Hasura's default) except
 *     `admin` (Hasura's admin has everything), which a declaration overrides.
 *  3. `query_root_fields`: which of `t`, `t_by_pk`, `t_aggregate` the query
 *     root has; the table stays reachable through relationships.
 *
 * Fixture (blog model): three more published articles by author 1, so user 1
 * reads six articles (five published, its draft) and anonymous five.
 * Expected rows are read as the superuser with the role's rule written again
 * in SQL, never from the server.
 */
import t, { type Test } from "tap";
import { createTestDatabase } from "../helpers/pg.ts";
import { startServer, type TestServer } from "../helpers/server.ts";
import { dataOf, expectHasuraError, V1 } from "./helpers-walkthrough.ts";

const db = await createTestDatabase(t, "blog");
await db.asRoot(`insert into public.article (title, content, author_id, is_published) values
  ('More 1', 'x', 1, true), ('More 2', 'x', 1, true), ('More 3', 'x', 1, true)`);
await db.asOwner(`
  call hasura.select_permission('public.article', 'user', "limit" => 2, allow_aggregations => true);
  call hasura.select_permission('public.article', 'anonymous', "limit" => 3, allow_aggregations => true,
    query_root_fields => array['select_by_pk']);
  call hasura.select_permission('public.author', 'user', query_root_fields => array['select']);
  call hasura.select_permission('public.tag', 'admin', allow_aggregations => false);
`);
const srv = await startServer(t, { db });

const USER = { "x-hasura-role": "user", "x-hasura-user-id": "1" };
const ANONYMOUS = { "x-hasura-role": "anonymous" };
const ADMIN = { "x-hasura-role": "admin" };

async function query(t: Test, s: TestServer, q: string, headers: Record<string, string>) {
  return dataOf(t, await s.gql(q, { headers, path: V1 }), q);
}

/** The article ids a role reads, in id order (the policies of examples/blog/policies.sql). */
async function visibleArticles(rule: string, authorId?: number): Promise<number[]> {
  const rows = await db.asRoot<{ id: number }>(
    `select id from public.article where (${rule}) ${authorId ? `and author_id = ${authorId}` : ""} order by id`,
  );
  return rows.map((r) => r.id);
}
const USER_RULE = "is_published or author_id = 1";
const ANONYMOUS_RULE = "is_published";
const ids = (list: number[]) => list.map((id) => ({ id }));

t.test("limit: every selection of the table returns at most the declared rows", async (t) => {
  const all = await visibleArticles(USER_RULE);
  t.equal(all.length, 6, "user 1 reads six articles (the fixture)");

  const root = await query(t, srv, "{ article(order_by: {id: asc}) { id } }", USER);
  t.same(root.article, ids(all.slice(0, 2)), "root field: the first two");
  const below = await query(t, srv, "{ article(order_by: {id: asc}, limit: 1) { id } }", USER);
  t.same(below.article, ids(all.slice(0, 1)), "a client limit below the declared one applies");
  const above = await query(t, srv, "{ article(order_by: {id: asc}, limit: 100) { id } }", USER);
  t.same(above.article, ids(all.slice(0, 2)), "a client limit above the declared one is capped");
  const offset = await query(t, srv, "{ article(order_by: {id: asc}, offset: 2) { id } }", USER);
  t.same(offset.article, ids(all.slice(2, 4)), "offset, then the limit");

  const nested = await query(
    t,
    srv,
    "{ author(order_by: {id: asc}) { id articles(order_by: {id: asc}) { id author { articles(order_by: {id: desc}) { id } } } } }",
    USER,
  );
  for (const author of nested.author) {
    const mine = await visibleArticles(USER_RULE, author.id);
    t.same(
      author.articles.map((a: { id: number }) => a.id),
      mine.slice(0, 2),
      `author ${author.id}: its array relationship is capped (${mine.length} visible)`,
    );
    for (const a of author.articles) {
      t.same(a.author.articles, ids([...mine].reverse().slice(0, 2)), `author ${author.id}: capped again two levels down`);
    }
  }
  t.ok(
    nested.author.some((a: { id: number }) => a.id === 1),
    "author 1, with five visible articles, is among them",
  );

  const admin = await query(t, srv, "{ article(order_by: {id: asc}) { id } }", ADMIN);
  t.same(admin.article, ids(await visibleArticles("true")), "admin, without a declaration: no limit");
});

t.test("limit and aggregates: nodes are capped, the aggregate is not (Hasura)", async (t) => {
  const all = await visibleArticles(USER_RULE);
  const agg = await query(t, srv, "{ article_aggregate(order_by: {id: asc}) { aggregate { count max { id } } nodes { id } } }", USER);
  t.same(
    agg.article_aggregate,
    { aggregate: { count: all.length, max: { id: Math.max(...all) } }, nodes: ids(all.slice(0, 2)) },
    "count and max over every visible row, two nodes",
  );
  const limited = await query(t, srv, "{ article_aggregate(order_by: {id: asc}, limit: 3) { aggregate { count } nodes { id } } }", USER);
  t.same(limited.article_aggregate, { aggregate: { count: 3 }, nodes: ids(all.slice(0, 2)) }, "the client's limit bounds the aggregate");

  const mine = await visibleArticles(USER_RULE, 1);
  const rel = await query(
    t,
    srv,
    "{ author(where: {id: {_eq: 1}}) { articles_aggregate(order_by: {id: asc}) { aggregate { count } nodes { id } } } }",
    USER,
  );
  t.same(
    rel.author,
    [{ articles_aggregate: { aggregate: { count: mine.length }, nodes: ids(mine.slice(0, 2)) } }],
    "array relationship aggregate: every row counted, two nodes",
  );

  const anon = await visibleArticles(ANONYMOUS_RULE, 1);
  const viaRel = await query(
    t,
    srv,
    "{ author(where: {id: {_eq: 1}}) { articles(order_by: {id: asc}) { id } articles_aggregate { aggregate { count } } } }",
    ANONYMOUS,
  );
  t.same(
    viaRel.author,
    [{ articles: ids(anon.slice(0, 3)), articles_aggregate: { aggregate: { count: anon.length } } }],
    "anonymous: its own limit (3) through the relationship",
  );
});

interface Field {
  name: string;
}
async function fieldsOf(s: TestServer, headers: Record<string, string>, type: string): Promise<string[]> {
  const res = await s.gql(`{ __type(name: "${type}") { fields { name } inputFields { name } } }`, { headers, path: V1 });
  const ty = res.body?.data?.__type;
  return ((ty?.fields ?? ty?.inputFields ?? []) as Field[]).map((f) => f.name);
}

t.test("allow_aggregations: aggregate fields exist only where declared (admin: everywhere unless declared)", async (t) => {
  const userRoot = await fieldsOf(srv, USER, "query_root");
  t.ok(userRoot.includes("article_aggregate"), "user: article_aggregate (declared)");
  t.notOk(userRoot.includes("author_aggregate"), "user: no author_aggregate (declared without)");
  t.notOk(userRoot.includes("tag_aggregate"), "user: no tag_aggregate (no declaration: Hasura's default)");
  t.ok((await fieldsOf(srv, USER, "author")).includes("articles_aggregate"), "user: author.articles_aggregate");
  t.notOk((await fieldsOf(srv, USER, "article")).includes("article_tags_aggregate"), "user: no article.article_tags_aggregate");
  t.ok((await fieldsOf(srv, USER, "author_bool_exp")).includes("articles_aggregate"), "user: the articles_aggregate predicate");
  t.notOk((await fieldsOf(srv, USER, "article_bool_exp")).includes("article_tags_aggregate"), "user: no article_tags_aggregate predicate");
  t.ok(
    (await fieldsOf(srv, USER, "author_order_by")).includes("articles_aggregate"),
    "ordering by an aggregate needs no declaration (Hasura)",
  );

  expectHasuraError(t, await srv.gql("{ tag_aggregate { aggregate { count } } }", { headers: USER, path: V1 }), "user tag_aggregate", {
    status: 200,
    code: "validation-failed",
    message: "field 'tag_aggregate' not found in type: 'query_root'",
    path: "$.selectionSet.tag_aggregate",
  });
  expectHasuraError(
    t,
    await srv.gql("{ article { article_tags_aggregate { aggregate { count } } } }", { headers: USER, path: V1 }),
    "user article_tags_aggregate",
    { status: 200, code: "validation-failed", message: "field 'article_tags_aggregate' not found in type: 'article'" },
  );
  expectHasuraError(
    t,
    await srv.gql("{ article(where: {article_tags_aggregate: {count: {predicate: {_gt: 0}}}}) { id } }", { headers: USER, path: V1 }),
    "user article_tags_aggregate predicate",
    { status: 200, code: "validation-failed", message: /article_tags_aggregate/ },
  );

  const adminRoot = await fieldsOf(srv, ADMIN, "query_root");
  for (const f of ["article_aggregate", "author_aggregate", "article_tag_aggregate"])
    t.ok(adminRoot.includes(f), `admin: ${f} (no declaration)`);
  t.notOk(adminRoot.includes("tag_aggregate"), "admin: no tag_aggregate (declared without)");
  const count = await query(t, srv, "{ author_aggregate { aggregate { count } } }", ADMIN);
  t.same(count.author_aggregate, { aggregate: { count: 3 } }, "admin counts the authors");
});

t.test("query_root_fields: which root fields exist; the table stays reachable through relationships", async (t) => {
  const userRoot = await fieldsOf(srv, USER, "query_root");
  t.ok(userRoot.includes("author"), "user: author (declared)");
  t.notOk(userRoot.includes("author_by_pk"), "user: no author_by_pk (not declared)");
  t.ok(userRoot.includes("article_by_pk") && userRoot.includes("article"), "user: article's root fields (null: all)");

  const anonRoot = await fieldsOf(srv, ANONYMOUS, "query_root");
  t.ok(anonRoot.includes("article_by_pk"), "anonymous: article_by_pk");
  t.notOk(anonRoot.includes("article"), "anonymous: no article");
  t.notOk(anonRoot.includes("article_aggregate"), "anonymous: no article_aggregate, although aggregations are allowed");
  t.ok((await fieldsOf(srv, ANONYMOUS, "author")).includes("articles_aggregate"), "anonymous: author.articles_aggregate");
  expectHasuraError(t, await srv.gql("{ article { id } }", { headers: ANONYMOUS, path: V1 }), "anonymous article", {
    status: 200,
    code: "validation-failed",
    message: "field 'article' not found in type: 'query_root'",
  });
  const [published] = await visibleArticles(ANONYMOUS_RULE);
  const byPk = await query(t, srv, `{ article_by_pk(id: ${published}) { id } }`, ANONYMOUS);
  t.same(byPk.article_by_pk, { id: published }, "anonymous: article_by_pk answers");
});
