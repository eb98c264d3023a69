/**
 * Hasura's generated names, as typed clients and codegen configs rely on
 * them: every type a table gets, read from introspection, and relationship
 * names overridden by smart tags on the foreign key's comment.
 */
import t from "tap";
import { createTestDatabase } from "../helpers/pg.ts";
import { startServer } from "../helpers/server.ts";

const ADMIN = { "x-hasura-role": "admin" };

t.test("every Hasura type name of a table with every permission", async (t) => {
  const srv = await startServer(t, { project: "blog" });
  const res = await srv.gql(`{ __schema { queryType { name } mutationType { name } types { name } } }`, {
    path: "/v1/graphql",
    headers: ADMIN,
  });
  t.equal(res.status, 200);
  const schema = res.body.data.__schema;
  t.equal(schema.queryType.name, "query_root");
  t.equal(schema.mutationType.name, "mutation_root");
  const names = new Set(schema.types.map((x: { name: string }) => x.name));
  const expected = [
    "article",
    "article_bool_exp",
    "article_order_by",
    "article_select_column",
    "article_aggregate",
    "article_aggregate_fields",
    "article_aggregate_order_by",
    "article_sum_fields",
    "article_avg_fields",
    "article_max_fields",
    "article_min_fields",
    "article_insert_input",
    "article_on_conflict",
    "article_constraint",
    "article_update_column",
    "article_set_input",
    "article_inc_input",
    "article_pk_columns_input",
    "article_mutation_response",
    "order_by",
    "Int_comparison_exp",
    "String_comparison_exp",
    "Boolean_comparison_exp",
  ];
  for (const name of expected) t.ok(names.has(name), `type ${name}`);
  // None of PostGraphile's own surface leaks into this dialect.
  for (const name of ["Article", "ArticlesConnection", "ArticleCondition", "ArticlesOrderBy", "CreateArticlePayload", "Query", "Node"]) {
    t.notOk(names.has(name), `no PostGraphile type ${name}`);
  }
});

t.test("root fields of the walkthrough's roles", async (t) => {
  const srv = await startServer(t, { project: "blog" });
  const fields = async (role: string) => {
    const res = await srv.gql(`{ __schema { queryType { fields { name } } mutationType { fields { name } } } }`, {
      path: "/v1/graphql",
      headers: { "x-hasura-role": role, "x-hasura-user-id": "1" },
    });
    const s = res.body.data.__schema;
    return {
      query: s.queryType.fields.map((f: { name: string }) => f.name).sort(),
      mutation: s.mutationType ? s.mutationType.fields.map((f: { name: string }) => f.name).sort() : null,
    };
  };
  const admin = await fields("admin");
  for (const f of ["article", "article_by_pk", "article_aggregate", "author", "tag", "tag_by_pk"])
    t.ok(admin.query.includes(f), `admin query ${f}`);
  for (const f of [
    "insert_article",
    "insert_article_one",
    "update_article",
    "update_article_by_pk",
    "delete_article",
    "delete_article_by_pk",
  ]) {
    t.ok(admin.mutation?.includes(f), `admin mutation ${f}`);
  }
  const anonymous = await fields("anonymous");
  t.equal(anonymous.mutation, null, "anonymous has no mutation root");
  t.ok(anonymous.query.includes("article"), "anonymous reads articles");
});

t.test("smart tags on the foreign key rename its relationships", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const [{ conname }] = await db.asOwner<{ conname: string }>(
    `select conname from pg_constraint where conrelid = 'public.article'::regclass and contype = 'f' and conname like '%author%'`,
  );
  await db.asOwner(`comment on constraint ${conname} on public.article is E'@fieldName writer\\n@foreignFieldName writings'`);
  const srv = await startServer(t, { project: "blog", db });
  const res = await srv.gql(
    `{ article(where: {id: {_eq: 1}}) { writer { name } } author(where: {id: {_eq: 1}}) { writings(order_by: {id: asc}) { id } } }`,
    {
      path: "/v1/graphql",
      headers: ADMIN,
    },
  );
  t.same(res.body, { data: { article: [{ writer: { name: "Ada Lovelace" } }], author: [{ writings: [{ id: 1 }, { id: 3 }] }] } });
  const old = await srv.gql(`{ article { author { name } } }`, { path: "/v1/graphql", headers: ADMIN });
  t.equal(old.body.errors?.[0]?.extensions?.code, "validation-failed", "the default name is gone");
});
