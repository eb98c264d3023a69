/**
 * backend_only (hasura.backend_only, sql/permissions.sql) through real
 * HTTP, in both dialects, as Hasura's tests-py
 * (graphql_mutation/insert/permissions/backend_user_*,
 * user_with_no_backend_privilege) and its mkUserInfo decide it:
 *
 *  - a backend-only insert, update or delete of the role exists only for a
 *    request with the admin secret (or no admin secret configured) and
 *    `x-hasura-use-backend-only-permissions` true (true/t/yes/y, any case);
 *    else the field is absent (`validation-failed`, or `no mutations exist`
 *    when it was the role's only mutation) and /graphql has no such
 *    mutation either;
 *  - a value that is not a boolean is Hasura's `bad-request` with the admin
 *    secret; a JWT or webhook session never gets backend-only mutations,
 *    whatever its headers, claims or webhook variables say;
 *  - the backend schema is still the role's: its grants and RLS decide the
 *    write (the user's backend delete removes its own articles only).
 */
import t, { type Test } from "tap";
import { createTestDatabase, type TestDatabase } from "../helpers/pg.ts";
import { ADMIN, ADMIN_SECRET_ENV, SECURED_JWT } from "../helpers/secured.ts";
import { startServer, type GqlResponse, type TestServer } from "../helpers/server.ts";
import { hasuraClaims, sign, webhookServer } from "../helpers/tokens.ts";

const V1 = "/v1/graphql";
const V1ALPHA1 = "/v1alpha1/graphql";
const BACKEND = "x-hasura-use-backend-only-permissions";
const USER = { ...ADMIN, "x-hasura-role": "user", "x-hasura-user-id": "1" };

const FIXTURE = `
  call hasura.backend_only('public.article', 'user', 'insert');
  call hasura.backend_only('public.article', 'user', 'delete');
  -- anonymous's only mutation, backend-only.
  create table public.visit (id serial primary key, page text not null);
  alter table public.visit enable row level security, force row level security;
  grant select (id, page), insert (page) on public.visit to anonymous;
  grant usage on sequence public.visit_id_seq to anonymous;
  create policy anonymous_select on public.visit for select to anonymous using (true);
  create policy anonymous_insert on public.visit for insert to anonymous with check (true);
  call hasura.backend_only('public.visit', 'anonymous', 'insert');
`;

// The blog presets article.author_id from x-hasura-user-id for user.
const INSERT = 'mutation { insert_article(objects: [{title: "backend", content: "c"}]) { affected_rows } }';
const MUTATION_FIELDS = "{ __schema { mutationType { fields { name } } } }";

async function blog(t: Test): Promise<TestDatabase> {
  const db = await createTestDatabase(t, "blog");
  await db.asOwner(FIXTURE);
  return db;
}

function errorOf(t: Test, res: GqlResponse, code: string, message: string, what: string): void {
  t.same(
    res.body.errors?.map((e: { message: string; extensions: { code: string } }) => ({ message: e.message, code: e.extensions?.code })),
    [{ message, code }],
    what,
  );
}

async function mutationFields(srv: TestServer, path: string, headers: Record<string, string>): Promise<string[]> {
  const res = await srv.gql(MUTATION_FIELDS, { path, headers });
  return (res.body.data?.__schema?.mutationType?.fields ?? []).map((f: { name: string }) => f.name);
}

const articleTitles = (db: TestDatabase) => db.asRoot("select title from public.article where title = 'backend'");

t.test("admin secret: backend-only mutations only with the header", async (t) => {
  const db = await blog(t);
  const srv = await startServer(t, { db, env: SECURED_JWT });

  const without = await srv.gql(INSERT, { path: V1, headers: USER });
  errorOf(t, without, "validation-failed", "field 'insert_article' not found in type: 'mutation_root'", "no header: absent");
  const fields = await mutationFields(srv, V1, USER);
  t.ok(fields.includes("update_article"), "the user's other mutations are there");
  t.notOk(
    fields.some((f) => /^(insert|delete)_article(_one|_by_pk)?$/.test(f)),
    "no insert_article, insert_article_one, delete_article, delete_article_by_pk",
  );
  for (const value of ["false", "F", "no", "n"]) {
    const res = await srv.gql(INSERT, { path: V1, headers: { ...USER, [BACKEND]: value } });
    errorOf(t, res, "validation-failed", "field 'insert_article' not found in type: 'mutation_root'", `${BACKEND}: ${value}`);
  }
  t.same(await articleTitles(db), [], "nothing written");

  for (const value of ["true", "T", "Yes", "y"]) {
    const res = await srv.gql(INSERT, { path: V1, headers: { ...USER, [BACKEND]: value } });
    t.same(res.body, { data: { insert_article: { affected_rows: 1 } } }, `${BACKEND}: ${value}`);
  }
  t.same((await articleTitles(db)).length, 4, "written, as the user");
  const backend = { ...USER, [BACKEND]: "true" };
  await db.asRoot("insert into public.article (title, content, author_id) values ('backend', 'by grace', 2)");
  const deleted = await srv.gql('mutation { delete_article(where: {title: {_eq: "backend"}}) { affected_rows } }', {
    path: V1,
    headers: backend,
  });
  t.same(deleted.body, { data: { delete_article: { affected_rows: 4 } } }, "backend-only delete, of its own articles");
  t.same(await db.asRoot("select content from public.article where title = 'backend'"), [{ content: "by grace" }], "RLS still decides");

  const invalid = await srv.gql(INSERT, { path: V1, headers: { ...USER, [BACKEND]: "random" } });
  const message =
    'x-hasura-use-backend-only-permissions:  Not a valid boolean text. True values are ["true","t","yes","y"] and  False values are ["false","f","no","n"]. All values are case insensitive';
  t.equal(invalid.status, 200, "/v1/graphql answers 200");
  errorOf(t, invalid, "bad-request", message, "not a boolean");
  const alpha = await srv.gql(INSERT, { path: V1ALPHA1, headers: { ...USER, [BACKEND]: "random" } });
  t.equal(alpha.status, 400, "/v1alpha1/graphql answers 400");

  const anonymous = { ...ADMIN, "x-hasura-role": "anonymous" };
  const visit = 'mutation { insert_visit(objects: [{page: "/"}]) { affected_rows } }';
  errorOf(t, await srv.gql(visit, { path: V1, headers: anonymous }), "validation-failed", "no mutations exist", "its only mutation");
  t.same((await srv.gql(visit, { path: V1, headers: { ...anonymous, [BACKEND]: "true" } })).body, {
    data: { insert_visit: { affected_rows: 1 } },
  });
  errorOf(
    t,
    await srv.gql(visit, { path: V1, headers: { [BACKEND]: "true" } }),
    "validation-failed",
    "no mutations exist",
    "the unauthorized role (no admin secret)",
  );

  t.test("/graphql: the same rule", async (t) => {
    const create = 'mutation { createArticle(input: {article: {title: "pg backend", content: "c"}}) { article { title } } }';
    const refused = await srv.gql(create, { headers: USER });
    t.match(refused.body.errors?.[0]?.message, /Cannot query field "createArticle" on type "Mutation"/, "no createArticle");
    const fields = await mutationFields(srv, "/graphql", USER);
    t.notOk(fields.includes("deleteArticleById"), "no deleteArticleById");
    t.ok(fields.includes("updateArticleById"), "updateArticleById stays");
    t.ok((await mutationFields(srv, "/graphql", backend)).includes("deleteArticleById"), "deleteArticleById with the header");
    t.same((await srv.gql(create, { headers: backend })).body, { data: { createArticle: { article: { title: "pg backend" } } } });
  });

  t.test("a JWT session never gets them", async (t) => {
    const token = await sign(hasuraClaims("user", { "x-hasura-user-id": "1", [BACKEND]: "true" }));
    const headers = { authorization: `Bearer ${token}`, [BACKEND]: "true" };
    errorOf(
      t,
      await srv.gql(INSERT, { path: V1, headers }),
      "validation-failed",
      "field 'insert_article' not found in type: 'mutation_root'",
      "header and claim ignored",
    );
    const invalid = await srv.gql(INSERT, { path: V1, headers: { ...headers, [BACKEND]: "random" } });
    errorOf(t, invalid, "validation-failed", "field 'insert_article' not found in type: 'mutation_root'", "not even read");
    const pg = await srv.gql('mutation { createArticle(input: {article: {title: "jwt", content: "c"}}) { article { title } } }', {
      headers,
    });
    t.match(pg.body.errors?.[0]?.message, /Cannot query field "createArticle"/, "/graphql: no createArticle");
    t.same(await db.asRoot("select title from public.article where title = 'jwt'"), []);
  });
});

t.test("a webhook session never gets them", async (t) => {
  const db = await blog(t);
  const hook = await webhookServer((_req, _body, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ "x-hasura-role": "user", "x-hasura-user-id": "1", [BACKEND]: "true" }));
  });
  t.teardown(hook.close);
  const srv = await startServer(t, { db, env: { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_AUTH_HOOK: hook.url } });
  const res = await srv.gql(INSERT, { path: V1, headers: { [BACKEND]: "true" } });
  errorOf(t, res, "validation-failed", "field 'insert_article' not found in type: 'mutation_root'", "webhook variable and header ignored");
  t.same(await articleTitles(db), []);
});

t.test("no admin secret configured (development): the header is honoured", async (t) => {
  const db = await blog(t);
  const srv = await startServer(t, { db });
  const headers = { "x-hasura-role": "user", "x-hasura-user-id": "1" };
  errorOf(
    t,
    await srv.gql(INSERT, { path: V1, headers }),
    "validation-failed",
    "field 'insert_article' not found in type: 'mutation_root'",
    "without the header",
  );
  t.same((await srv.gql(INSERT, { path: V1, headers: { ...headers, [BACKEND]: "true" } })).body, {
    data: { insert_article: { affected_rows: 1 } },
  });
});
