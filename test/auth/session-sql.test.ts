/**
 * The sql/ helpers as policies use them, through real requests: list
 * variables in both formats, and a required variable the request lacks
 * failing as Hasura does.
 */
import pg from "pg";
import t from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { migrateProject } from "../../server/db/migrate.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { ADMIN_SECRET_ENV } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";
import { hasuraClaims, HS_JWT_SECRET, sign } from "../helpers/tokens.ts";

t.test("session helpers", async (t) => {
  const db = await createTestDatabase(t);
  await db.asOwner(`
    create function public.campuses() returns text[] language sql stable as $$ select hasura.session_var_array('x-hasura-campus') $$;
    create function public.critic_id() returns text language sql stable as $$ select hasura.session_var_required('x-hasura-critic-id') $$;
    create function public.my_id() returns bigint language sql stable as $$ select hasura.user_id_int() $$;
    grant execute on function public.campuses(), public.critic_id(), public.my_id() to "user"`);
  // Development mode: headers are the session.
  const srv = await startServer(t, { db });
  const as = (headers: Record<string, string>, q: string) => srv.gql(q, { headers: { "x-hasura-role": "user", ...headers } });

  t.same((await as({ "x-hasura-campus": "{madere,pyc}" }, "{ campuses }")).body.data.campuses, ["madere", "pyc"]);
  t.same((await as({ "x-hasura-campus": '["madere","a b"]' }, "{ campuses }")).body.data.campuses, ["madere", "a b"]);
  t.same((await as({ "x-hasura-campus": "{}" }, "{ campuses }")).body.data.campuses, []);
  t.equal((await as({}, "{ campuses }")).body.data.campuses, null, "absent: NULL");
  t.equal((await as({ "x-hasura-user-id": "42" }, "{ myId }")).body.data.myId, "42");

  const missing = await as({}, "{ criticId }");
  t.equal(missing.body.errors[0].extensions.code, "not-found");
  t.equal(missing.body.errors[0].message, 'missing session variables: "x-hasura-critic-id"');
  const badCast = await as({ "x-hasura-user-id": "abc" }, "{ myId }");
  t.equal(badCast.body.errors[0].extensions.code, "data-exception");
  t.equal(badCast.body.errors[0].message, 'invalid input syntax for type bigint: "abc"');
  // Only canonical decimal names a user: other spellings of 2 fail as "abc" does.
  t.equal((await as({ "x-hasura-user-id": "2" }, "{ myId }")).body.data.myId, "2");
  t.equal((await as({ "x-hasura-user-id": "-7" }, "{ myId }")).body.data.myId, "-7");
  t.equal((await as({ "x-hasura-user-id": "0" }, "{ myId }")).body.data.myId, "0");
  // Headers arrive trimmed; a JWT claim keeps its spaces (and can be empty).
  const jwtSrv = await startServer(t, { db, env: { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_JWT_SECRET: HS_JWT_SECRET } });
  const viaClaim = async (id: string) =>
    jwtSrv.gql("{ myId }", { headers: { authorization: `Bearer ${await sign(hasuraClaims("user", { "x-hasura-user-id": id }))}` } });
  t.equal((await viaClaim("2")).body.data.myId, "2");
  for (const spelling of ["0x2", "+2", "02", " 2 ", "2 ", "\t2", "2\n", "0b10", "0o2", "2_0", "-0", "2.0", "1e0", "٢", ""]) {
    const res = await viaClaim(spelling);
    t.equal(res.body.errors?.[0]?.extensions?.code, "data-exception", `${JSON.stringify(spelling)} is refused`);
    t.equal(
      res.body.errors?.[0]?.message,
      badCast.body.errors[0].message.replace('"abc"', `"${spelling}"`),
      "with the message a non-number gets",
    );
    t.notOk(res.body.data?.myId, "and no id");
  }
  const huge = await as({ "x-hasura-user-id": "9".repeat(5_000) }, "{ myId }");
  t.equal(huge.body.errors[0].extensions.code, "data-exception");
  t.ok(huge.body.errors[0].message.length < 100, `a long value is not repeated in full (${huge.body.errors[0].message.length} characters)`);
  const badArray = await as({ "x-hasura-campus": "abc" }, "{ campuses }");
  t.equal(badArray.body.errors[0].extensions.code, "data-exception", "malformed array literal");
});

t.test("settings are transaction-local: nothing survives on a pooled connection", async (t) => {
  const db = await createTestDatabase(t);
  await db.asOwner(`create function public.leak() returns text language sql stable as $$
    select coalesce(nullif(current_setting('hasura.user', true), ''), '<none>') || '|' || current_user $$;
    grant execute on function public.leak() to "user", admin`);
  const srv = await startServer(t, { db, env: { HASURA_GRAPHQL_PG_CONNECTIONS: "1" } });
  await srv.gql("{ leak }", { headers: { "x-hasura-role": "user", "x-hasura-user-id": "1" } });
  // The same (only) pooled connection, outside any request transaction:
  const client = await srv.app.pgPool.connect();
  try {
    const { rows } = await client.query(
      "select current_user as u, current_setting('hasura.user', true) as s, current_setting('role') as r",
    );
    t.same(rows[0], { u: "authenticator", s: "", r: "none" });
  } finally {
    client.release();
  }
});

t.test("a changed helper reaches an existing database on the next start (create or replace)", async (t) => {
  const db = await createTestDatabase(t);
  // The definition databases migrated before canonical decimal was required.
  await db.asOwner(`create or replace function hasura.user_id_int() returns bigint language sql stable parallel safe set search_path = ''
    as $$ select hasura.session_var_required('x-hasura-user-id')::bigint $$`);
  /** hasura.user_id_int() in a transaction whose session says x-hasura-user-id = id. */
  const userIdInt = async (id: string) => {
    const client = new pg.Client({ connectionString: db.rootUrl });
    await client.connect();
    try {
      await client.query("begin");
      await client.query("select set_config('hasura.user', $1, true)", [JSON.stringify({ "x-hasura-user-id": id })]);
      return String((await client.query("select hasura.user_id_int() as id")).rows[0].id);
    } finally {
      await client.end();
    }
  };
  t.equal(await userIdInt("+2"), "2", "the old definition reads +2 as 2");
  await migrateProject({ projectDir: REPO_ROOT, ownerUrl: db.ownerUrl, authenticator: TEST_ROLES.authenticator.name });
  await t.rejects(userIdInt("+2"), { code: "22P02", message: 'invalid input syntax for type bigint: "+2"' });
  t.equal(await userIdInt("2"), "2");
});
