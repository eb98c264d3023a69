/**
 * Seed 002, the Auth0 + Hasura walkthrough, end to end against the blog
 * example (examples/blog), in Hasura's dialect and with the walkthrough's own
 * query texts:
 *
 *   1. anonymous (X-Hasura-Role: anonymous, no access key, no token):
 *      `query { article { id title author { name } } }` returns the two
 *      published articles;
 *   2. anonymous `mutation { insert_tag(…) { returning { name } } }`: "the
 *      mutation does not exist" (validation-failed, no mutations exist), and
 *      the docs (introspection) show no mutation root;
 *   3. X-Hasura-Role: user without a token: still the unauthorized role, so
 *      the mutation "fails for the same reason as before";
 *   4. with an RS256 token from the identity provider (a local JWKS server
 *      standing in for Auth0, `jwk_url`) carrying the
 *      https://hasura.io/jwt/claims namespace, and X-Hasura-Role: user: the
 *      mutation root appears and insert_tag plays the tag back;
 *   5. the same tag again: the name is the primary key, so an error
 *      (constraint-violation); with on_conflict {update_columns: []} it is
 *      ignored instead (affected_rows 0); and, beyond the walkthrough, an
 *      article is inserted without naming its author (a preset from
 *      x-hasura-user-id), and naming another author is not input
 *      (validation-failed);
 *   6. the admin (admin secret, the walkthrough's access key) finds the row.
 *
 * Every error step is also checked on /v1alpha1/graphql, which keeps the real
 * HTTP status (400) where /v1/graphql answers 200.
 */
import t from "tap";
import { ADMIN, SECURED } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";
import { NS, jwksServer, rsaKeys, sign } from "../helpers/tokens.ts";
import { ARTICLES, V1, V1ALPHA1, dataOf, expectHasuraError, insertTag, TAG } from "./helpers-walkthrough.ts";

const keys = await rsaKeys("RS256");
const auth0 = await jwksServer([{ ...keys.jwk, kid: "auth0-key-1", alg: "RS256", use: "sig" }]);
t.teardown(() => auth0.close());

const srv = await startServer(t, {
  project: "blog",
  env: { ...SECURED, HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ type: "RS256", jwk_url: auth0.url }) },
});

const anonymous = { "x-hasura-role": "anonymous" };

/** A token as the walkthrough's Auth0 rule mints it: RS256, kid of the JWKS, Hasura's claims namespace. */
async function auth0Token(): Promise<string> {
  return sign(
    {
      sub: "auth0|5c0f6c2d1b2a3e4f5a6b7c8d",
      iss: "https://auth0-hasura-demo.eu.auth0.com/",
      [NS]: {
        "x-hasura-default-role": "user",
        "x-hasura-allowed-roles": ["user"],
        "x-hasura-user-id": "1",
      },
    },
    { alg: "RS256", key: keys.privateKey, kid: "auth0-key-1" },
  );
}

async function tagRows(name: string): Promise<unknown[]> {
  return srv.db.asRoot("select name from public.tag where name = $1", [name]);
}

t.test("anonymous: the published articles with their authors", async (t) => {
  // The rule of the blog's anonymous role, written again here: published
  // articles; every author's byline.
  const expected = (
    await srv.db.asRoot<{ id: number; title: string; author: string }>(
      `select a.id, a.title, au.name as author
         from public.article a join public.author au on au.id = a.author_id
        where a.is_published order by a.id`,
    )
  ).map((r) => ({ id: r.id, title: r.title, author: { name: r.author } }));
  t.equal(expected.length, 2, "the walkthrough's two published articles");
  const [{ drafts }] = await srv.db.asRoot<{ drafts: number }>("select count(*)::int as drafts from public.article where not is_published");
  t.ok(drafts > 0, "and drafts that must stay hidden");

  for (const path of [V1, V1ALPHA1]) {
    const data = dataOf(t, await srv.gql(ARTICLES, { headers: anonymous, path }), `${path} article`);
    const got = [...(data?.article ?? [])].sort((a: { id: number }, b: { id: number }) => a.id - b.id);
    t.same(got, expected, `${path}: exactly the published articles, author { name } resolved`);
  }
});

t.test("anonymous: insert_tag does not exist", async (t) => {
  const before = await srv.db.asRoot("select name from public.tag order by name");
  const v1 = await srv.gql(insertTag(TAG), { headers: anonymous, path: V1 });
  expectHasuraError(t, v1, "/v1/graphql", { status: 200, code: "validation-failed", message: "no mutations exist", path: "$" });
  const v1alpha1 = await srv.gql(insertTag(TAG), { headers: anonymous, path: V1ALPHA1 });
  expectHasuraError(t, v1alpha1, "/v1alpha1/graphql", { status: 400, code: "validation-failed", message: "no mutations exist", path: "$" });
  t.same(await srv.db.asRoot("select name from public.tag order by name"), before, "tag unchanged");
});

t.test("anonymous: the docs show no mutations", async (t) => {
  const res = await srv.gql("{ __schema { queryType { name } mutationType { name } } }", { headers: anonymous, path: V1 });
  const data = dataOf(t, res, "introspection");
  t.equal(data?.__schema?.queryType?.name, "query_root", "Hasura's query root");
  t.equal(data?.__schema?.mutationType, null, "no mutation root");
  const tag = await srv.gql(`{ __type(name: "mutation_root") { name } }`, { headers: anonymous, path: V1 });
  t.equal(dataOf(t, tag, "__type(mutation_root)")?.__type, null, "no mutation_root type at all");
});

t.test("X-Hasura-Role: user without a token is still the unauthorized role", async (t) => {
  const headers = { "x-hasura-role": "user" };
  const v1 = await srv.gql(insertTag(TAG), { headers, path: V1 });
  expectHasuraError(t, v1, "/v1/graphql", { status: 200, code: "validation-failed", message: "no mutations exist", path: "$" });
  const v1alpha1 = await srv.gql(insertTag(TAG), { headers, path: V1ALPHA1 });
  expectHasuraError(t, v1alpha1, "/v1alpha1/graphql", { status: 400, code: "validation-failed", message: "no mutations exist", path: "$" });
  t.same(await tagRows(TAG), [], "nothing written");
});

t.test("a bad token is an error, never anonymous", async (t) => {
  const forged = await sign({ [NS]: { "x-hasura-default-role": "user", "x-hasura-allowed-roles": ["user"] } }); // HS256, not the provider's key
  const headers = { authorization: `Bearer ${forged}`, "x-hasura-role": "user" };
  expectHasuraError(t, await srv.gql(ARTICLES, { headers, path: V1 }), "/v1/graphql", { status: 200, code: "invalid-jwt", path: "$" });
  expectHasuraError(t, await srv.gql(ARTICLES, { headers, path: V1ALPHA1 }), "/v1alpha1/graphql", {
    status: 400,
    code: "invalid-jwt",
    path: "$",
  });
});

t.test("user with the provider's token: insert_tag, then the duplicate", async (t) => {
  const headers = { authorization: `Bearer ${await auth0Token()}`, "x-hasura-role": "user" };

  const schema = dataOf(
    t,
    await srv.gql("{ __schema { mutationType { name fields { name } } } }", { headers, path: V1 }),
    "user introspection",
  );
  t.equal(schema?.__schema?.mutationType?.name, "mutation_root", "the mutation root now appears");
  const fields: string[] = (schema?.__schema?.mutationType?.fields ?? []).map((f: { name: string }) => f.name);
  t.ok(fields.includes("insert_tag"), "with insert_tag");
  t.notOk(fields.includes("delete_tag"), "but not delete_tag (user cannot delete tags)");
  t.notOk(fields.includes("insert_author"), "nor insert_author (user cannot write authors)");

  const inserted = await srv.gql(insertTag(TAG), { headers, path: V1 });
  t.same(dataOf(t, inserted, "insert_tag"), { insert_tag: { returning: [{ name: TAG }] } }, "the tag is played back");
  t.same(await tagRows(TAG), [{ name: TAG }], "and is in the table");

  // The walkthrough's note: the tag name is the primary key, a duplicate is an error.
  const again = await srv.gql(insertTag(TAG), { headers, path: V1 });
  expectHasuraError(t, again, "/v1/graphql duplicate", {
    status: 200,
    code: "constraint-violation",
    message: /^Uniqueness violation\. duplicate key value violates unique constraint "tag_pkey"/,
    path: "$.selectionSet.insert_tag.args.objects",
  });
  const againAlpha = await srv.gql(insertTag(TAG), { headers, path: V1ALPHA1 });
  expectHasuraError(t, againAlpha, "/v1alpha1/graphql duplicate", {
    status: 400,
    code: "constraint-violation",
    message: /^Uniqueness violation\./,
  });
  t.same(await tagRows(TAG), [{ name: TAG }], "still exactly one row");

  // Hasura's way around the duplicate: on_conflict with no update columns is
  // ON CONFLICT DO NOTHING (the user role has no update on tag).
  const ignore = await srv.gql(
    `mutation { insert_tag(objects: [{name: "${TAG}"}], on_conflict: {constraint: tag_pkey, update_columns: []}) { affected_rows returning { name } } }`,
    { headers, path: V1 },
  );
  t.same(dataOf(t, ignore, "on_conflict do nothing"), { insert_tag: { affected_rows: 0, returning: [] } }, "nothing inserted, no error");

  // Beyond the walkthrough, the blog's rule for the user's articles: their
  // author is preset from the session (x-hasura-user-id), so the user
  // inserts an article without naming one, and cannot name another.
  const mine = await srv.gql(`mutation { insert_article_one(object: {title: "Mine", content: "c"}) { title author_id } }`, {
    headers,
    path: V1,
  });
  t.same(
    dataOf(t, mine, "article without an author"),
    { insert_article_one: { title: "Mine", author_id: 1 } },
    "its author: the token's user",
  );
  const before = await srv.db.asRoot("select id from public.article order by id");
  const foreign = `mutation { insert_article(objects: [{title: "t", content: "c", author_id: 2}]) { affected_rows } }`;
  const notInput = { code: "validation-failed", message: `field "author_id" not found in type: 'article_insert_input'` };
  expectHasuraError(t, await srv.gql(foreign, { headers, path: V1 }), "/v1/graphql article of author 2", { status: 200, ...notInput });
  expectHasuraError(t, await srv.gql(foreign, { headers, path: V1ALPHA1 }), "/v1alpha1/graphql article of author 2", {
    status: 400,
    ...notInput,
  });
  t.same(await srv.db.asRoot("select id from public.article order by id"), before, "no article written");

  // The same session reads the articles its rule allows: published ones and
  // its own drafts (x-hasura-user-id 1).
  const expected = (
    await srv.db.asRoot<{ id: number; title: string; author: string }>(
      `select a.id, a.title, au.name as author
         from public.article a join public.author au on au.id = a.author_id
        where a.is_published or a.author_id = 1 order by a.id`,
    )
  ).map((r) => ({ id: r.id, title: r.title, author: { name: r.author } }));
  const data = dataOf(t, await srv.gql(ARTICLES, { headers, path: V1 }), "user article");
  const got = [...(data?.article ?? [])].sort((a: { id: number }, b: { id: number }) => a.id - b.id);
  t.same(got, expected, "published articles and the user's own drafts");
});

t.test("admin (the access key) sees the new tag", async (t) => {
  const query = "query ($name: String!) { tag(where: {name: {_eq: $name}}) { name } }";
  for (const path of [V1, V1ALPHA1]) {
    const res = await srv.gql(query, { headers: ADMIN, variables: { name: TAG }, path });
    t.same(dataOf(t, res, `${path} admin tag`), { tag: [{ name: TAG }] });
  }
  const all = dataOf(t, await srv.gql("{ tag(order_by: {name: asc}) { name } }", { headers: ADMIN, path: V1 }), "admin all tags");
  t.same(all, { tag: await srv.db.asRoot("select name from public.tag order by name") }, "every tag, ordered");

  // A wrong access key is refused (401 on /v1alpha1/graphql).
  const wrong = { "x-hasura-admin-secret": "not-the-secret" };
  expectHasuraError(t, await srv.gql(ARTICLES, { headers: wrong, path: V1 }), "/v1/graphql wrong secret", {
    status: 200,
    code: "access-denied",
    message: "invalid x-hasura-admin-secret/x-hasura-access-key",
    path: "$",
  });
  expectHasuraError(t, await srv.gql(ARTICLES, { headers: wrong, path: V1ALPHA1 }), "/v1alpha1/graphql wrong secret", {
    status: 401,
    code: "access-denied",
    path: "$",
  });
});
