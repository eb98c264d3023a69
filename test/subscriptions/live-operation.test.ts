/**
 * toLiveOperation (server/subscriptions/live-operation.ts) against the real
 * server: a subscription of the role's schema (read by introspection over
 * /v1/graphql) becomes a query document; that document, printed and POSTed
 * to /v1/graphql as the role with the stream's cursor variable, returns the
 * rows the role's rule allows past the cursor, in cursor order, a batch at a
 * time, as restated in SQL (blog model: anonymous reads published articles,
 * user 1 also its own drafts). Hasura's refusals in Hasura's words.
 */
import { buildClientSchema, getIntrospectionQuery, parse, print, type GraphQLSchema } from "graphql";
import t, { type Test } from "tap";
import { HasuraError } from "../../server/errors.ts";
import {
  liveVariables,
  nextCursor,
  stripInjected,
  toLiveOperation,
  type LiveOperation,
} from "../../server/subscriptions/live-operation.ts";
import { V1 } from "../hasura/helpers-walkthrough.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { startServer } from "../helpers/server.ts";

const db = await createTestDatabase(t, "blog");
// More rows than one batch, drafts by two authors.
await db.asRoot(`insert into public.article (title, content, author_id, is_published)
  select 'Extra ' || g, 'x', 1 + g % 2, g % 3 <> 0 from generate_series(1, 9) g`);
// An array column as the cursor: the cursor variable is a list.
await db.asOwner(`
  create table public.course (id int primary key, terms int[]);
  insert into public.course values (1, '{1}'), (2, '{1,2}'), (3, '{2}'), (4, '{3,1}'), (5, null);
  alter table public.course enable row level security, force row level security;
  grant select on public.course to anonymous;
  create policy anonymous_select on public.course for select to anonymous using (true);
`);
// anonymous: author on the subscription root only (query root hidden), for the refusal below.
await db.asOwner(`call hasura.select_permission('public.author', 'anonymous', query_root_fields => array[]::text[])`);
// The introspection query is over the default object-field limit.
const srv = await startServer(t, { db, env: { HASURA_GRAPHQL_MAX_QUERY_OBJECT_FIELDS: "1000", HASURA_GRAPHQL_MAX_QUERY_COST: "1000000" } });

const USER = { "x-hasura-role": "user", "x-hasura-user-id": "1" };
const ANONYMOUS = { "x-hasura-role": "anonymous" };
const RULES: Record<string, string> = { user: "(is_published or author_id = 1)", anonymous: "is_published" };

async function schemaOf(headers: Record<string, string>): Promise<GraphQLSchema> {
  const res = await srv.gql(getIntrospectionQuery(), { headers, path: V1 });
  if (!res.body.data) throw new Error(JSON.stringify(res.body));
  return buildClientSchema(res.body.data);
}
const schemas = { user: await schemaOf(USER), anonymous: await schemaOf(ANONYMOUS) };

function live(t: Test, role: "user" | "anonymous", query: string, variables: Record<string, unknown> = {}, operationName?: string) {
  const op = toLiveOperation(schemas[role], parse(query), operationName, variables);
  if (op instanceof HasuraError) {
    t.fail(`toLiveOperation refused: ${op.code} ${op.message}`);
    throw op;
  }
  return op;
}

async function run(role: "user" | "anonymous", op: LiveOperation, variables: Record<string, unknown>) {
  const res = await fetch(srv.url + V1, {
    method: "POST",
    headers: { "content-type": "application/json", ...(role === "user" ? USER : ANONYMOUS) },
    body: JSON.stringify({ query: print(op.queryDocument), variables, operationName: op.operationName }),
  });
  const body = (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  if (body.errors) throw new Error(`${print(op.queryDocument)}: ${JSON.stringify(body.errors)}`);
  return body.data!;
}

/** Polls the stream to its end, as the engine would: each batch, then the cursor moves on. */
async function drain(role: "user" | "anonymous", op: LiveOperation, variables: Record<string, unknown>) {
  const [stream] = op.streams;
  const cursors = new Map<string, unknown>();
  const batches: unknown[][] = [];
  for (let i = 0; i < 50; i++) {
    const data = await run(role, op, liveVariables(variables, op.streams, cursors));
    const next = nextCursor(stream!, data);
    stripInjected(stream!, data);
    const rows = data[stream!.responseKey] as unknown[];
    if (!rows.length) {
      if (next !== undefined) throw new Error("a cursor from no rows");
      return batches;
    }
    batches.push(rows);
    cursors.set(stream!.variableName, next);
  }
  throw new Error("the stream never ended");
}

t.test("a stream, ascending, cursor column not selected: every allowed row once, in batches, past the initial value", async (t) => {
  for (const role of ["user", "anonymous"] as const) {
    const op = live(
      t,
      role,
      `subscription { article_stream(batch_size: 2, cursor: {initial_value: {id: 2}}, where: {title: {_like: "%"}}) { title } }`,
    );
    t.equal(op.streams.length, 1);
    const s = op.streams[0]!;
    t.same(
      [s.responseKey, s.table, s.cursorColumns, s.ordering, s.batchSize, s.initialValue, s.injected],
      ["article_stream", "article", [{ name: "id", ordering: "ASC" }], "ASC", 2, 2, true],
      `${role}: the stream`,
    );
    t.equal(
      print(op.queryDocument).replace(/\s+/g, " "),
      'query ($__cursor_0: Int) { article_stream: article( where: {_and: [{title: {_like: "%"}}, {id: {_gt: $__cursor_0}}]} order_by: {id: asc} limit: 2 ) { title __cursor_0: id } }',
      "the query: the stream's table field under its response key, the cursor column selected under the variable's name",
    );
    const batches = await drain(role, op, {});
    const want = await db.asRoot<{ id: number; title: string }>(
      `select id, title from public.article where ${RULES[role]} and id > 2 order by id`,
    );
    t.ok(want.length > 4, `${role}: several batches' worth (${want.length})`);
    t.same(
      batches.flat(),
      want.map((r) => ({ title: r.title })),
      `${role}: every row the rule allows past the cursor, in order, cursor column stripped`,
    );
    t.ok(
      batches.every((b) => b.length <= 2),
      `${role}: at most batch_size rows a poll`,
    );
  }
});

t.test("a stream, descending, with variables for the cursor, batch size and where, under an alias", async (t) => {
  const query = `subscription Latest($c: Int, $n: Int!, $w: article_bool_exp) {
    latest: article_stream(batch_size: $n, cursor: [{initial_value: {id: $c}, ordering: DESC}], where: $w) { id title author_id }
  }`;
  for (const [w, rule] of [
    [{ author_id: { _eq: 2 } }, "author_id = 2"],
    [null, "true"],
  ] as const) {
    const variables = { c: 1000, n: 3, w };
    const op = live(t, "user", query, variables, "Latest");
    const s = op.streams[0]!;
    t.same([s.responseKey, s.ordering, s.batchSize, s.initialValue, s.injected, s.cursorKey], ["latest", "DESC", 3, 1000, false, "id"]);
    const batches = await drain("user", op, variables);
    const want = await db.asRoot(`select id, title, author_id from public.article where ${RULES.user} and ${rule} order by id desc`);
    t.same(batches.flat(), want, `where ${JSON.stringify(w)}: the user's rows, newest first`);
    t.ok(
      batches.every((b) => b.length <= 3),
      "at most $n rows a poll",
    );
  }
});

t.test("the whole cursor in a variable (one object, list-coerced): its variable is gone from the query", async (t) => {
  const query = `subscription ($cur: [article_stream_cursor_input]!) { article_stream(batch_size: 4, cursor: $cur) { id } }`;
  const variables = { cur: { initial_value: { id: 3 }, ordering: "ASC" } };
  const op = live(t, "anonymous", query, variables);
  t.same([op.streams[0]!.initialValue, op.streams[0]!.cursorKey], [3, "id"]);
  t.notMatch(print(op.queryDocument), /\$cur/, "no $cur");
  const batches = await drain("anonymous", op, variables);
  const want = await db.asRoot(`select id from public.article where ${RULES.anonymous} and id > 3 order by id`);
  t.same(batches.flat(), want, "the published articles past 3");
});

t.test("an array column as the cursor: a list-typed cursor variable, compared as Postgres compares arrays", async (t) => {
  const op = live(t, "anonymous", `subscription { course_stream(batch_size: 2, cursor: {initial_value: {terms: [1]}}) { id } }`);
  t.match(print(op.queryDocument), /\$__cursor_0: \[Int\]/, "the variable's type is the column's list type");
  const batches = await drain("anonymous", op, {});
  const want = await db.asRoot(`select id from public.course where terms > '{1}' order by terms`);
  t.same(batches.flat(), want, "the rows past '{1}', in array order");
});

t.test("a live query and fragments: the same selections under query", async (t) => {
  const op = live(
    t,
    "anonymous",
    `subscription { ...Root } fragment Root on subscription_root { article(order_by: {id: asc}, where: {author_id: {_eq: 1}}) { ...A author { name } } } fragment A on article { id title }`,
  );
  t.same(op.streams, [], "no streams");
  t.notMatch(print(op.queryDocument), /subscription_root|fragment Root/, "the root fragment is inlined");
  const data = await run("anonymous", op, {});
  const want = await db.asRoot<{ id: number; title: string; name: string }>(
    `select a.id, a.title, au.name from public.article a join public.author au on au.id = a.author_id
      where ${RULES.anonymous} and a.author_id = 1 order by a.id`,
  );
  t.same(
    data.article,
    want.map((r) => ({ id: r.id, title: r.title, author: { name: r.name } })),
    "published articles of author 1",
  );
});

t.test("Hasura's refusals", async (t) => {
  const refused = (role: "user" | "anonymous", query: string, variables: Record<string, unknown> = {}) => {
    const r = toLiveOperation(schemas[role], parse(query), undefined, variables);
    return r instanceof HasuraError ? { code: r.code, message: r.message } : { code: "accepted", message: print(r.queryDocument) };
  };
  t.same(refused("user", `subscription { article_stream(batch_size: 1, cursor: {initial_value: {id: 1, title: "a"}}) { id } }`), {
    code: "validation-failed",
    message: "multiple column cursors are not supported yet",
  });
  t.same(
    refused(
      "user",
      `subscription { article_stream(batch_size: 1, cursor: [{initial_value: {id: 1}}, {initial_value: {title: "a"}}]) { id } }`,
    ),
    { code: "validation-failed", message: "multiple column cursors are not supported yet" },
  );
  t.same(refused("user", `subscription { article_stream(batch_size: 1, cursor: {initial_value: {}}) { id } }`), {
    code: "validation-failed",
    message: "one streaming column field is expected",
  });
  t.same(refused("user", `subscription { a: article { id } b: article { id } }`), {
    code: "validation-failed",
    message: "subscriptions must select one top level field",
  });
  t.same(refused("user", `subscription { __typename }`), {
    code: "not-supported",
    message: "Introspection at root field level is not supported over subscriptions",
  });
  t.same(refused("user", `query { article { id } }`).code, "validation-failed", "a query is not a subscription");
  const hidden = refused("anonymous", `subscription { author { id } }`);
  t.equal(hidden.code, "not-supported", "on the subscription root but not the query root: refused");
  t.match(hidden.message, /subscription_root/);
  t.same(refused("user", `subscription S { article { id } }`, {}), { code: "accepted", message: "query S {\n  article {\n    id\n  }\n}" });
});
