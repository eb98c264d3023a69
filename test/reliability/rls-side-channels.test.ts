/**
 * No answer may depend on a row the role cannot see (issue 11, hole 3).
 *
 * A `campus-admin` of {madere} probes rows of campus pyc (chloe, user 3;
 * dimitri, user 4) it cannot see, through every path where a client
 * condition meets a row: upsert `on_conflict.where`, update and delete
 * `where`, relationship filters, aggregates, `_inc` overflow and operators
 * that raise errors only on some values. Each probe is sent twice, with a
 * condition that matches the hidden row and one that does not; both answers
 * (HTTP status and body) must be identical, and the hidden row unchanged.
 *
 * The inherent RLS side channel stays: a unique or foreign-key violation
 * tells that a key value the client sent exists (README "Hardening").
 */
import type { Test } from "tap";
import t from "tap";
import { createTestDatabase } from "../helpers/pg.ts";
import { ADMIN_SECRET_ENV, PRODUCTION } from "../helpers/secured.ts";
import { startServer, type GqlResponse, type TestServer } from "../helpers/server.ts";
import { hasuraClaims, HS_JWT_SECRET, sign } from "../helpers/tokens.ts";

const srv = await startServer(t, { env: { ...PRODUCTION, ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_JWT_SECRET: HS_JWT_SECRET } });
const madere = { authorization: `Bearer ${await sign(hasuraClaims("campus-admin", { "x-hasura-campus": "{madere}" }))}` };

function ask(query: string, path = "/v1/graphql"): Promise<GqlResponse> {
  return srv.gql(query, { headers: madere, path });
}

/** The probe with a condition matching the hidden row and one that does not: identical answers, on both endpoints. */
async function sameAnswer(t: Test, probe: (cond: string) => string, matching: string, notMatching: string): Promise<GqlResponse> {
  let first: GqlResponse | undefined;
  for (const path of ["/v1/graphql", "/v1alpha1/graphql"]) {
    const hit = await ask(probe(matching), path);
    const miss = await ask(probe(notMatching), path);
    t.equal(hit.status, miss.status, `${path}: same HTTP status (${hit.status})`);
    t.strictSame(hit.body, miss.body, `${path}: same body (${JSON.stringify(hit.body)} vs ${JSON.stringify(miss.body)})`);
    first ??= hit;
  }
  return first!;
}

const hiddenUser = (db: TestServer["db"]) => db.asRoot(`select login, "firstName", email, campus from public."user" where id = 3`);

t.test("upsert: on_conflict.where never sees a hidden conflicting row", async (t) => {
  const before = await hiddenUser(srv.db);
  // chloe is user 3, campus pyc, email chloe@example.com: hidden from madere.
  const upsert = (where: string) =>
    `mutation { insert_user(objects: [{login: "chloe", campus: "madere"}], on_conflict: {constraint: user_login_key, update_columns: [campus], where: ${where}}) { affected_rows returning { id } } }`;
  const res = await sameAnswer(t, upsert, `{email: {_like: "c%"}}`, `{email: {_like: "z%"}}`);
  t.strictSame(
    res.body,
    { data: { insert_user: { affected_rows: 0, returning: [] } } },
    "the conflicting hidden row is skipped, as Hasura does",
  );
  t.strictSame(await hiddenUser(srv.db), before, "the hidden row is unchanged");
});

t.test("upsert: on_conflict.where still decides for a visible conflicting row", async (t) => {
  const upsert = (where: string) =>
    `mutation { insert_user(objects: [{login: "bob", firstName: "Robert", campus: "madere"}], on_conflict: {constraint: user_login_key, update_columns: [firstName], where: ${where}}) { affected_rows returning { id firstName } } }`;
  t.strictSame(
    (await ask(upsert(`{email: {_like: "z%"}}`))).body,
    { data: { insert_user: { affected_rows: 0, returning: [] } } },
    "not matching: skipped",
  );
  t.strictSame(
    (await ask(upsert(`{email: {_like: "b%"}}`))).body,
    { data: { insert_user: { affected_rows: 1, returning: [{ id: 2, firstName: "Robert" }] } } },
    "matching: updated",
  );
  // LIKE raises this error only when the text before the trailing escape
  // matches: a probe that would read hidden values through errors.
  const err = await ask(upsert(`{email: {_like: "b\\\\"}}`));
  t.equal(err.body.errors?.[0]?.extensions?.code, "data-exception", "a value-dependent error on a visible row is reported");
});

t.test("upsert: value-dependent errors and relationship filters in on_conflict.where never run on a hidden row", async (t) => {
  const before = await hiddenUser(srv.db);
  const upsert = (where: string) =>
    `mutation { insert_user(objects: [{login: "chloe", campus: "madere"}], on_conflict: {constraint: user_login_key, update_columns: [campus], where: ${where}}) { affected_rows } }`;
  await sameAnswer(t, upsert, `{email: {_like: "c\\\\"}}`, `{email: {_like: "z\\\\"}}`);
  await sameAnswer(t, upsert, `{progresses: {grade: {_gt: 1}}}`, `{progresses: {grade: {_gt: 5}}}`);
  t.strictSame(await hiddenUser(srv.db), before, "the hidden row is unchanged");
});

t.test("update and delete: a where on hidden rows answers the same whether it matches or not", async (t) => {
  const before = await hiddenUser(srv.db);
  for (const [hit, miss] of [
    [`{login: {_eq: "chloe"}, email: {_like: "c%"}}`, `{login: {_eq: "chloe"}, email: {_like: "z%"}}`],
    [`{email: {_like: "c\\\\"}}`, `{email: {_like: "z\\\\"}}`],
    [`{email: {_ilike: "C\\\\"}}`, `{email: {_ilike: "Z\\\\"}}`],
    [`{login: {_eq: "chloe"}, email: {_regex: "("}}`, `{login: {_eq: "nobody"}, email: {_regex: "("}}`],
    [`{progresses: {grade: {_eq: 1.2}}}`, `{progresses: {grade: {_eq: 9}}}`],
  ]) {
    await t.test(hit, async (t) => {
      await sameAnswer(
        t,
        (w) => `mutation { update_user(where: ${w}, _set: {firstName: "Probe"}) { affected_rows returning { id } } }`,
        hit,
        miss,
      );
      await sameAnswer(t, (w) => `mutation { delete_user(where: ${w}) { affected_rows returning { id } } }`, hit, miss);
    });
  }
  await sameAnswer(t, (id) => `mutation { update_user_by_pk(pk_columns: {id: ${id}}, _set: {firstName: "Probe"}) { id } }`, "3", "999");
  await sameAnswer(t, (id) => `mutation { delete_user_by_pk(id: ${id}) { id } }`, "3", "999");
  t.strictSame(await hiddenUser(srv.db), before, "the hidden row is unchanged");
});

t.test("queries: filters, relationship filters and aggregates answer the same whether a hidden row matches or not", async (t) => {
  await sameAnswer(t, (w) => `{ user(where: ${w}) { id } }`, `{email: {_like: "c\\\\"}}`, `{email: {_like: "z\\\\"}}`);
  await sameAnswer(
    t,
    (w) => `{ user_aggregate(where: ${w}) { aggregate { count max { email } } } }`,
    `{email: {_like: "c%"}}`,
    `{email: {_like: "z%"}}`,
  );
  await sameAnswer(
    t,
    (w) => `{ object(where: ${w}) { id } }`,
    `{author: {email: {_like: "c\\\\"}}}`,
    `{author: {email: {_like: "z\\\\"}}}`,
  );
  // A visible row pointing at a hidden one: the relationship filter reads
  // the hidden row only through the role's policies.
  await srv.db.asRoot(`update public.object set "authorId" = 3 where id = 5`);
  t.teardown(() => srv.db.asRoot(`update public.object set "authorId" = 1 where id = 5`));
  await sameAnswer(
    t,
    (w) => `{ object(where: {id: {_eq: 5}, author: ${w}}) { id author { id } } }`,
    `{email: {_like: "c%"}}`,
    `{email: {_like: "z%"}}`,
  );
  await sameAnswer(
    t,
    (w) => `{ object(where: {id: {_eq: 5}, author: ${w}}) { id } }`,
    `{email: {_like: "c\\\\"}}`,
    `{email: {_like: "z\\\\"}}`,
  );
  const visible = await ask(`{ object(where: {id: {_eq: 5}}) { id author { id } } }`);
  t.strictSame(visible.body, { data: { object: [{ id: 5, author: null }] } }, "the hidden author is null");
});

t.test("_inc: a hidden row at the edge of its type does not overflow", async (t) => {
  // object_child 4 hangs under object 6 (pyc): hidden; 1-3 under madere objects.
  const inc = `mutation { update_object_child(where: {}, _inc: {index: 1}) { affected_rows } }`;
  const answers: GqlResponse[] = [];
  for (const hidden of [2147483647, 0]) {
    await srv.db.asRoot(`update public.object_child set index = $1 where id = 4`, [hidden]);
    answers.push(await ask(inc));
  }
  t.strictSame(answers[0]!.body, { data: { update_object_child: { affected_rows: 3 } } }, "the visible rows are incremented");
  t.strictSame(answers[0]!.body, answers[1]!.body, "same answer whatever the hidden value");
  t.strictSame(await srv.db.asRoot(`select index from public.object_child where id = 4`), [{ index: 0 }], "the hidden row is unchanged");
});

t.test("the inherent channel: a key the client sent exists, and nothing more", async (t) => {
  // Unique keys are checked on every row, hidden or not: the answer says
  // the login "chloe" exists, never anything about that row.
  const dup = await ask(`mutation { insert_user_one(object: {login: "chloe", campus: "madere"}) { id } }`);
  t.strictSame(dup.body.errors?.[0]?.extensions?.code, "constraint-violation");
  t.equal(
    dup.body.errors?.[0]?.message,
    'Uniqueness violation. duplicate key value violates unique constraint "user_login_key"',
    "the message names the constraint, not the row",
  );
  // Foreign keys are checked as the table owner: a hidden user 3 exists,
  // user 999 does not.
  const fk = (author: number) =>
    ask(`mutation { insert_object_one(object: {name: "fk", type: "project", campus: "madere", authorId: ${author}}) { id } }`);
  t.notOk((await fk(3)).body.errors, "a hidden referenced row satisfies the foreign key");
  t.equal(
    (await fk(999)).body.errors?.[0]?.message,
    'Foreign key violation. insert or update on table "object" violates foreign key constraint "object_authorId_fkey"',
  );
});

// Issue 11, hole 5 (one item): a client mistake, not a server error.
t.test("_set and _inc on one column: validation-failed, as Hasura", async (t) => {
  for (const [field, args] of [
    ["update_transaction", "where: {id: {_eq: 1}}"],
    ["update_transaction_by_pk", "pk_columns: {id: 1}"],
  ]) {
    const query = `mutation { ${field}(${args}, _set: {amount: 1, path: "/x"}, _inc: {amount: 2}) { __typename } }`;
    const expected = {
      errors: [
        {
          message: "Column found in multiple operators: ['amount'].",
          extensions: { path: `$.selectionSet.${field}.args`, code: "validation-failed" },
        },
      ],
    };
    const v1 = await ask(query);
    t.equal(v1.status, 200, `${field}: HTTP 200 on /v1/graphql`);
    t.strictSame(v1.body, expected, `${field}: Hasura's code and message`);
    const alpha = await ask(query, "/v1alpha1/graphql");
    t.equal(alpha.status, 400, `${field}: HTTP 400 on /v1alpha1/graphql`);
    t.strictSame(alpha.body, expected, `${field}: same body on /v1alpha1/graphql`);
  }
  t.strictSame(
    await srv.db.asRoot(`select amount::text, path from public.transaction where id = 1`),
    [{ amount: "5000", path: "/madere/div-01/go-reloaded" }],
    "nothing written",
  );
});

t.test("upsert: the key that finds the conflicting row is one the role can read", async (t) => {
  const db = await createTestDatabase(t);
  // The role may write `code` but not read it.
  await db.asRoot(`
    create table public.voucher (code text primary key, note text);
    alter table public.voucher enable row level security;
    alter table public.voucher force row level security;
    grant select (note), insert (code, note), update (note) on public.voucher to "campus-admin";
    create policy "campus-admin_all" on public.voucher for all to "campus-admin" using (true) with check (true);
    insert into public.voucher values ('A-1', 'old');`);
  const own = await startServer(t, { db });
  const upsert = (where: string) =>
    own.gql(
      `mutation { insert_voucher(objects: [{code: "A-1", note: "new"}], on_conflict: {constraint: voucher_pkey, update_columns: [note]${where}}) { affected_rows } }`,
      {
        headers: { "x-hasura-role": "campus-admin", "x-hasura-campus": "{madere}" },
        path: "/v1alpha1/graphql",
      },
    );
  // Postgres itself requires SELECT on the conflict constraint's columns for
  // ON CONFLICT, so a constraint over a column the role cannot read is not
  // offered at all: with or without a where, the same refusal, before SQL.
  const plain = await upsert("");
  t.equal(plain.body.errors?.[0]?.extensions?.code, "validation-failed", JSON.stringify(plain.body));
  t.match(plain.body.errors?.[0]?.message, /on_conflict/, "no on_conflict over an unreadable key");
  const withWhere = await upsert(`, where: {note: {_eq: "old"}}`);
  t.strictSame([withWhere.status, withWhere.body], [plain.status, plain.body], "a where changes nothing");
  t.strictSame(await db.asRoot(`select note from public.voucher`), [{ note: "old" }], "nothing written");
});
