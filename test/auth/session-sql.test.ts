/**
 * The sql/ helpers as policies use them, through real requests: list
 * variables in both formats, and a required variable the request lacks
 * failing as Hasura does.
 */
import t from "tap";
import { createTestDatabase } from "../helpers/pg.ts";
import { startServer } from "../helpers/server.ts";

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
    const { rows } = await client.query("select current_user as u, current_setting('hasura.user', true) as s, current_setting('role') as r");
    t.same(rows[0], { u: "authenticator", s: "", r: "none" });
  } finally {
    client.release();
  }
});
