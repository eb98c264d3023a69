/**
 * sql/permissions.sql, in the database alone (no server): the declaration
 * procedures refuse what would be a silent no-op or a typo, re-applying
 * policies.sql's clean slate forgets every declaration of the schema, and a
 * column preset is forced by its trigger for whoever writes, from the
 * request's session, with Hasura's error when the variable is missing.
 */
import pg from "pg";
import t from "tap";
import { createTestDatabase, type TestDatabase } from "../helpers/pg.ts";
import { startServer } from "../helpers/server.ts";

/** Runs statements in one transaction as `role` with the given session (as the server sets it). */
async function asRole(db: TestDatabase, role: string, session: Record<string, string>, statements: string[]): Promise<pg.QueryResult[]> {
  const client = new pg.Client({ connectionString: db.rootUrl });
  await client.connect();
  try {
    await client.query("begin");
    await client.query("select set_config('role', $1, true), set_config('hasura.user', $2, true)", [role, JSON.stringify(session)]);
    const results: pg.QueryResult[] = [];
    for (const s of statements) results.push(await client.query(s));
    await client.query("commit");
    return results;
  } catch (e) {
    await client.query("rollback").catch(() => {});
    throw e;
  } finally {
    await client.end();
  }
}

/** The blog with its grants and policies but none of its own declarations, so counts are this test's. */
async function blogWithoutDeclarations(t: Parameters<typeof createTestDatabase>[0]): Promise<TestDatabase> {
  const db = await createTestDatabase(t, "blog");
  await db.asRoot("delete from hasura.permission; delete from hasura.column_preset");
  return db;
}

t.test("the procedures refuse what they cannot mean", async (t) => {
  const db = await blogWithoutDeclarations(t);
  const cases: [string, RegExp][] = [
    [`call hasura.select_permission('public.article', 'nobody')`, /role "nobody" does not exist/],
    [`call hasura.select_permission('public.nope', 'user')`, /relation "public.nope" does not exist/],
    [`call hasura.select_permission('public.article', 'user', "limit" => 0)`, /limit must be positive/],
    [`call hasura.select_permission('public.article', 'user', query_root_fields => array['select_all'])`, /root fields must be among/],
    [`call hasura.backend_only('public.article', 'user', 'select')`, /command must be one of \{insert,update,delete\}/],
    [
      `call hasura.column_preset('public.article', 'user', 'delete', 'author_id', value => '1')`,
      /command must be one of \{insert,update\}/,
    ],
    [`call hasura.column_preset('public.article', 'user', 'insert', 'writer_id', value => '1')`, /no column "writer_id"/],
    [`call hasura.column_preset('public.article', 'user', 'insert', 'author_id')`, /exactly one of session_variable and value/],
    [
      `call hasura.column_preset('public.article', 'user', 'insert', 'author_id', session_variable => 'x-hasura-user-id', value => '1')`,
      /exactly one of session_variable and value/,
    ],
    [`call hasura.column_preset('public.article', 'user', 'insert', 'author_id', session_variable => 'user-id')`, /start with x-hasura-/],
  ];
  for (const [statement, error] of cases) await t.rejects(db.asOwner(statement), error, statement);
  t.same(await db.asRoot("select count(*)::int as n from hasura.permission"), [{ n: 0 }], "nothing was declared");
  await t.rejects(
    asRole(db, "user", {}, [`call hasura.select_permission('public.article', 'user', "limit" => 1)`]),
    /permission denied for procedure select_permission/,
    "an application role cannot declare its own permissions",
  );
});

t.test("a declaration is replaced by the next one, and the clean slate forgets them all", async (t) => {
  const db = await blogWithoutDeclarations(t);
  await db.asOwner(`
    call hasura.select_permission('public.article', 'user', "limit" => 5);
    call hasura.select_permission('public.article', 'user', "limit" => 2, allow_aggregations => true, query_root_fields => array['select']);
    call hasura.backend_only('public.article', 'user', 'delete');
    call hasura.column_preset('public.article', 'user', 'insert', 'author_id', session_variable => 'X-Hasura-User-Id');`);
  t.same(
    await db.asRoot(
      "select command, row_limit, allow_aggregations, query_root_fields, backend_only from hasura.permission order by command",
    ),
    [
      { command: "delete", row_limit: null, allow_aggregations: false, query_root_fields: null, backend_only: true },
      { command: "select", row_limit: 2, allow_aggregations: true, query_root_fields: ["select"], backend_only: false },
    ],
  );
  t.same(
    await db.asRoot("select session_variable from hasura.column_preset"),
    [{ session_variable: "x-hasura-user-id" }],
    "stored lower-case",
  );
  t.same(
    await db.asRoot("select count(*)::int as n from pg_trigger where tgname = 'hasura_column_presets'"),
    [{ n: 1 }],
    "the preset installed its trigger",
  );

  await db.asOwner(`call hasura.reset_app_privileges('public', array['anonymous', 'user', 'admin'])`);
  t.same(await db.asRoot("select count(*)::int as n from hasura.permission"), [{ n: 0 }]);
  t.same(await db.asRoot("select count(*)::int as n from hasura.column_preset"), [{ n: 0 }]);
  t.same(
    await db.asRoot("select count(*)::int as n from pg_trigger where tgname = 'hasura_column_presets'"),
    [{ n: 0 }],
    "trigger dropped",
  );
});

t.test("a column preset is forced for the role whoever writes, and only for that role and command", async (t) => {
  const db = await createTestDatabase(t, "blog");
  // The blog declares this insert preset and grants no author_id; granted
  // here, a statement can name it, and the trigger still wins.
  await db.asOwner(`
    grant insert (author_id) on public.article to "user";
    call hasura.column_preset('public.article', 'user', 'insert', 'author_id', session_variable => 'x-hasura-user-id');
    call hasura.column_preset('public.article', 'user', 'update', 'is_published', value => 'false');`);
  const [inserted] = await asRole(db, "user", { "x-hasura-user-id": "1" }, [
    "insert into public.article (title, content, author_id, is_published) values ('preset', 'c', 2, true) returning author_id, is_published",
  ]);
  t.same(
    inserted!.rows,
    [{ author_id: 1, is_published: true }],
    "author_id from the session, not the statement; no insert preset on is_published",
  );

  const [updated] = await asRole(db, "user", { "x-hasura-user-id": "1" }, [
    "update public.article set is_published = true, title = 'renamed' where title = 'preset' returning title, is_published",
  ]);
  t.same(updated!.rows, [{ title: "renamed", is_published: false }], "the update preset wins");

  const [admin] = await asRole(db, "admin", {}, [
    "insert into public.article (title, content, author_id) values ('by admin', 'c', 2) returning author_id",
  ]);
  t.same(admin!.rows, [{ author_id: 2 }], "another role's insert is untouched");

  await t.rejects(
    asRole(db, "user", {}, ["insert into public.article (title, content, author_id) values ('no session', 'c', 1)"]),
    { code: "HA404", message: 'missing session variables: "x-hasura-user-id"' },
    "a preset from a variable the request lacks fails as Hasura (not-found)",
  );
});

t.test("a project whose .gmrc predates sql/permissions.sql still applies its policies and serves", async (t) => {
  const db = await createTestDatabase(t, "blog");
  await db.asRoot("drop table hasura.permission, hasura.column_preset cascade");
  await db.asOwner(`call hasura.reset_app_privileges('public', array['anonymous', 'user', 'admin'])`);
  await db.asOwner(`grant select (id, name) on public.author to anonymous;
    create policy anonymous_select on public.author for select to anonymous using (true)`);
  const srv = await startServer(t, { db });
  const res = await srv.gql("{ author(order_by: {id: asc}, limit: 1) { name } }", {
    path: "/v1/graphql",
    headers: { "x-hasura-role": "anonymous" },
  });
  t.same(res.body, { data: { author: [{ name: "Ada Lovelace" }] } }, "the schema is built without declarations");
});
