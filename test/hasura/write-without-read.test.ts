/**
 * Writes a role may make without reading, in Hasura's dialect, through real
 * HTTP:
 *
 *  1. A table the role may insert into, update and delete from but not
 *     select (no SELECT on any column), as Hasura shows it (its
 *     Schema/Mutation.hs: `mutationSelectionSet` has `returning` only with a
 *     select permission; `insert_t_one` and the `_by_pk` fields need one):
 *     `insert_t`, `update_t`, `delete_t` answering `affected_rows` only;
 *     `where` with `_and`/`_or`/`_not` only (no column to filter on), so the
 *     statement reads nothing and the role's UPDATE/DELETE policies alone
 *     pick the rows; no `on_conflict` and no `_inc` (Postgres reads the
 *     conflict key and the incremented column: SELECT needed).
 *  2. On a table the role reads in part, what a write reads is offered only
 *     over readable columns: `on_conflict` constraints whose columns it
 *     reads, `update_columns` it reads (`c = EXCLUDED.c`), `_inc` columns it
 *     reads. Each of these used to be offered and then refused by Postgres
 *     ("permission denied for table").
 */
import t, { type Test } from "tap";
import { createTestDatabase } from "../helpers/pg.ts";
import { ADMIN, SECURED } from "../helpers/secured.ts";
import { startServer, type GqlResponse, type TestServer } from "../helpers/server.ts";

const V1 = "/v1/graphql";
const ADA = { ...ADMIN, "x-hasura-role": "user", "x-hasura-user-id": "1" };
const ANONYMOUS = { ...ADMIN, "x-hasura-role": "anonymous" };

const FIXTURE = `
  -- feedback: user writes its own, reads none (author_id from a preset).
  create table public.feedback (id serial primary key, body text not null unique, score int not null default 0, author_id int);
  insert into public.feedback (body, author_id) values ('by ada', 1), ('by grace', 2);
  alter table public.feedback enable row level security, force row level security;
  grant insert (body, score), update (body, score), delete on public.feedback to "user";
  grant usage on sequence public.feedback_id_seq to "user";
  create policy user_all on public.feedback for all to "user" using (author_id = (select hasura.user_id_int()));
  call hasura.column_preset('public.feedback', 'user', 'insert', 'author_id', session_variable => 'x-hasura-user-id');

  -- counter: anonymous reads id and hits only.
  create table public.counter (id int primary key, name text not null unique, hits int not null default 0, secret int not null default 0);
  insert into public.counter values (1, 'home', 0, 0);
  alter table public.counter enable row level security, force row level security;
  grant select (id, hits), insert (id, name, hits, secret), update (hits, secret) on public.counter to anonymous;
  create policy anonymous_all on public.counter for all to anonymous using (true);
`;

const TYPE = `query($name: String!) { __type(name: $name) { fields { name args { name } } inputFields { name } enumValues { name } } }`;

async function typeOf(srv: TestServer, headers: Record<string, string>, name: string) {
  return (await srv.gql(TYPE, { path: V1, headers, variables: { name } })).body.data?.__type ?? null;
}
const names = (list: { name: string }[] | null | undefined) => (list ?? []).map((f) => f.name).sort();

function dataOf(t: Test, res: GqlResponse, what: string): Record<string, unknown> {
  t.equal(res.status, 200, `${what}: HTTP 200`);
  t.notOk(res.body.errors, `${what}: no errors`);
  return res.body.data;
}

t.test("write without read", async (t) => {
  const db = await createTestDatabase(t, "blog");
  await db.asOwner(FIXTURE);
  const srv = await startServer(t, { db, env: SECURED });
  const feedback = () => db.asRoot("select body, score, author_id from public.feedback order by id");

  t.test("the schema: affected_rows only, nothing that reads", async (t) => {
    const mutation = await typeOf(srv, ADA, "mutation_root");
    const fields = new Map<string, string[]>(
      (mutation?.fields ?? []).map((f: { name: string; args: { name: string }[] }) => [f.name, names(f.args)]),
    );
    t.same(fields.get("insert_feedback"), ["objects"], "insert_feedback(objects), no on_conflict");
    t.same(fields.get("update_feedback"), ["_set", "where"], "update_feedback(where, _set), no _inc");
    t.same(fields.get("delete_feedback"), ["where"], "delete_feedback(where)");
    for (const absent of ["insert_feedback_one", "update_feedback_by_pk", "delete_feedback_by_pk"])
      t.notOk(fields.has(absent), `no ${absent}`);
    t.notOk(
      names((await typeOf(srv, ADA, "query_root"))?.fields).some((f) => f.startsWith("feedback")),
      "no query field",
    );
    t.same(names((await typeOf(srv, ADA, "feedback_mutation_response"))?.fields), ["affected_rows"]);
    t.same(names((await typeOf(srv, ADA, "feedback_bool_exp"))?.inputFields), ["_and", "_not", "_or"]);
    t.same(names((await typeOf(srv, ADA, "feedback_insert_input"))?.inputFields), ["body", "score"], "author_id is a preset");
  });

  t.test("insert, update, delete: affected_rows, as the role's policies allow", async (t) => {
    const inserted = await srv.gql(
      'mutation { insert_feedback(objects: [{body: "ada 2"}, {body: "ada 3", score: 2}]) { affected_rows } }',
      {
        path: V1,
        headers: ADA,
      },
    );
    t.same(dataOf(t, inserted, "insert"), { insert_feedback: { affected_rows: 2 } });
    const returning = await srv.gql('mutation { insert_feedback(objects: [{body: "x"}]) { returning { body } } }', {
      path: V1,
      headers: ADA,
    });
    t.equal(returning.body.errors?.[0]?.extensions?.code, "validation-failed", "no returning");
    t.equal(returning.body.errors?.[0]?.message, "field 'returning' not found in type: 'feedback_mutation_response'");

    const updated = await srv.gql("mutation { update_feedback(where: {}, _set: {score: 5}) { affected_rows } }", {
      path: V1,
      headers: ADA,
    });
    t.same(dataOf(t, updated, "update every row it may"), { update_feedback: { affected_rows: 3 } });
    const none = await srv.gql("mutation { update_feedback(where: {_not: {}}, _set: {score: 9}) { affected_rows } }", {
      path: V1,
      headers: ADA,
    });
    t.same(dataOf(t, none, "_not {}: no row"), { update_feedback: { affected_rows: 0 } });
    t.same(await feedback(), [
      { body: "by ada", score: 5, author_id: 1 },
      { body: "by grace", score: 0, author_id: 2 },
      { body: "ada 2", score: 5, author_id: 1 },
      { body: "ada 3", score: 5, author_id: 1 },
    ]);

    const deleted = await srv.gql("mutation { delete_feedback(where: {_and: [{}]}) { affected_rows } }", { path: V1, headers: ADA });
    t.same(dataOf(t, deleted, "delete"), { delete_feedback: { affected_rows: 3 } });
    t.same(await feedback(), [{ body: "by grace", score: 0, author_id: 2 }], "another author's row stays");
  });

  t.test("a partly readable table: on_conflict, update_columns and _inc over readable columns only", async (t) => {
    t.same(names((await typeOf(srv, ANONYMOUS, "counter_constraint"))?.enumValues), ["counter_pkey"], "not counter_name_key");
    t.same(names((await typeOf(srv, ANONYMOUS, "counter_update_column"))?.enumValues), ["hits"], "not secret");
    t.same(names((await typeOf(srv, ANONYMOUS, "counter_inc_input"))?.inputFields), ["hits"], "not secret");
    t.same(names((await typeOf(srv, ANONYMOUS, "counter_set_input"))?.inputFields), ["hits", "secret"], "_set reads nothing");

    const upsert = await srv.gql(
      'mutation { insert_counter(objects: [{id: 1, name: "home", hits: 5}], on_conflict: {constraint: counter_pkey, update_columns: [hits]}) { affected_rows returning { id hits } } }',
      { path: V1, headers: ANONYMOUS },
    );
    t.same(dataOf(t, upsert, "upsert"), { insert_counter: { affected_rows: 1, returning: [{ id: 1, hits: 5 }] } });
    const inc = await srv.gql(
      "mutation { update_counter(where: {id: {_eq: 1}}, _inc: {hits: 2}, _set: {secret: 3}) { returning { hits } } }",
      {
        path: V1,
        headers: ANONYMOUS,
      },
    );
    t.same(dataOf(t, inc, "_inc"), { update_counter: { returning: [{ hits: 7 }] } });
    t.same(await db.asRoot("select hits, secret from public.counter"), [{ hits: 7, secret: 3 }]);
    const secret = await srv.gql(
      'mutation { insert_counter(objects: [{id: 1, name: "home"}], on_conflict: {constraint: counter_name_key, update_columns: []}) { affected_rows } }',
      { path: V1, headers: ANONYMOUS },
    );
    t.equal(secret.body.errors?.[0]?.extensions?.code, "validation-failed", "a constraint over unreadable columns is not offered");
  });
});
