/**
 * Hasura's aggregate surface beyond count/sum/avg/max/min, and `_cast`, on
 * /v1/graphql over the school model (seed 001, roles as policies.sql
 * declares their aggregates):
 *
 *  1. `stddev`, `stddev_pop`, `stddev_samp`, `var_pop`, `var_samp`,
 *     `variance` (`t_stddev_fields` …, Float): in `t_aggregate`, in
 *     `<rel>_aggregate` and in `order_by`, over the rows RLS lets the role see.
 *  2. Aggregate predicates in `where`: `<rel>_aggregate: {count | bool_and |
 *     bool_or: {arguments, distinct, filter, predicate}}`
 *     (`t_aggregate_bool_exp`, `t_aggregate_bool_exp_count`, …), the
 *     aggregate over the related rows the role may see.
 *  3. `_cast: {String: {…}}` on jsonb (`jsonb_cast_exp`).
 *
 * Every expected answer is computed here in SQL as the superuser, with the
 * role's rule written again (as school-clients.test.ts does).
 */
import t, { type Test } from "tap";
import { startServer } from "../helpers/server.ts";
import { dataOf, expectHasuraError, V1 } from "./helpers-walkthrough.ts";

const srv = await startServer(t, { project: "app" });

interface Session {
  label: string;
  headers: Record<string, string>;
  /** The transaction rule of policies.sql, on alias `x`. */
  transactions: string;
}
const SESSIONS: Session[] = [
  { label: "admin", headers: { "x-hasura-role": "admin" }, transactions: "true" },
  { label: "user 1", headers: { "x-hasura-role": "user", "x-hasura-user-id": "1" }, transactions: `x."userId" = 1` },
  {
    label: "campus-admin {madere}",
    headers: { "x-hasura-role": "campus-admin", "x-hasura-campus": "{madere}" },
    transactions: `x.campus = 'madere'`,
  },
];
const ADMIN = SESSIONS[0]!.headers;

async function data(t: Test, query: string, headers: Record<string, string>) {
  return dataOf(t, await srv.gql(query, { headers, path: V1 }), query);
}
const num = (v: unknown) => (v === null ? null : Number(v));
const idsOf = (rows: { id: number }[]) => rows.map((r) => r.id);

const STATS = ["stddev", "stddev_pop", "stddev_samp", "var_pop", "var_samp", "variance"] as const;

t.test("stddev and variance aggregates over the rows the role sees", async (t) => {
  const selection = STATS.map((op) => `${op} { amount }`).join(" ");
  for (const s of SESSIONS) {
    const [expected] = await srv.db.asRoot<Record<string, string | null>>(
      `select ${STATS.map((op) => `${op}(x.amount)::float8 as ${op}`).join(", ")} from public.transaction x where ${s.transactions}`,
    );
    const got = await data(t, `{ transaction_aggregate { aggregate { ${selection} } } }`, s.headers);
    t.same(
      got.transaction_aggregate.aggregate,
      Object.fromEntries(STATS.map((op) => [op, { amount: num(expected![op]) }])),
      `${s.label}: ${STATS.join(", ")}`,
    );
  }
  // numeric with nulls (progress.grade), and one row (stddev_samp of one value is null).
  const [grades] = await srv.db.asRoot<Record<string, string | null>>(
    `select stddev_pop(grade)::float8 as pop, var_samp(grade)::float8 as samp from public.progress`,
  );
  const got = await data(t, `{ progress_aggregate { aggregate { stddev_pop { grade } var_samp { grade } } } }`, ADMIN);
  t.same(
    got.progress_aggregate.aggregate,
    { stddev_pop: { grade: num(grades!.pop) }, var_samp: { grade: num(grades!.samp) } },
    "over a numeric column with nulls",
  );
  const one = await data(
    t,
    `{ transaction_aggregate(where: {id: {_eq: 1}}) { aggregate { stddev_samp { amount } stddev_pop { amount } } } }`,
    ADMIN,
  );
  t.same(one.transaction_aggregate.aggregate, { stddev_samp: { amount: null }, stddev_pop: { amount: 0 } }, "one row: samp null, pop 0");
});

t.test("in an array relationship's aggregate and in order_by", async (t) => {
  for (const s of SESSIONS) {
    const [expected] = await srv.db.asRoot<{ v: string | null }>(
      `select variance(x.amount)::float8 as v from public.transaction x where x."userId" = 1 and ${s.transactions}`,
    );
    const got = await data(
      t,
      `{ user(where: {id: {_eq: 1}}) { transactions_aggregate { aggregate { variance { amount } } } } }`,
      s.headers,
    );
    t.same(got.user, [{ transactions_aggregate: { aggregate: { variance: { amount: num(expected!.v) } } } }], `${s.label}: variance`);
  }
  const order = await srv.db.asRoot<{ id: number }>(
    `select u.id from public."user" u
      order by (select stddev_pop(x.amount) from public.transaction x where x."userId" = u.id) desc nulls last, u.id`,
  );
  const got = await data(
    t,
    `{ user(order_by: [{transactions_aggregate: {stddev_pop: {amount: desc_nulls_last}}}, {id: asc}]) { id } }`,
    ADMIN,
  );
  t.same(idsOf(got.user), idsOf(order), "order_by transactions_aggregate.stddev_pop");
});

t.test("the types are Hasura's", async (t) => {
  const got = await data(
    t,
    `{ a: __type(name: "transaction_stddev_fields") { fields { name type { name } } }
       b: __type(name: "transaction_aggregate_fields") { fields { name } }
       c: __type(name: "transaction_aggregate_order_by") { inputFields { name } }
       d: __type(name: "transaction_var_samp_order_by") { inputFields { name } } }`,
    ADMIN,
  );
  const numeric = await srv.db.asRoot<{ name: string }>(
    `select column_name as name from information_schema.columns
      where table_schema = 'public' and table_name = 'transaction' and data_type in ('integer', 'bigint', 'smallint', 'numeric', 'real', 'double precision')
      order by ordinal_position`,
  );
  t.ok(
    numeric.some((c) => c.name === "amount"),
    "transaction.amount is numeric",
  );
  t.same(
    got.a.fields,
    numeric.map((c) => ({ name: c.name, type: { name: "Float" } })),
    "t_stddev_fields: the numeric columns, as Float",
  );
  const fields = got.b.fields.map((f: { name: string }) => f.name);
  for (const op of STATS) t.ok(fields.includes(op), `t_aggregate_fields.${op}`);
  const orderBy = got.c.inputFields.map((f: { name: string }) => f.name);
  for (const op of STATS) t.ok(orderBy.includes(op), `t_aggregate_order_by.${op}`);
  t.same(
    got.d.inputFields,
    numeric.map((c) => ({ name: c.name })),
    "t_var_samp_order_by",
  );
});

t.test("aggregate predicates: count, with filter, arguments and distinct", async (t) => {
  const cases: { where: string; sql: string }[] = [
    {
      where: `{transactions_aggregate: {count: {predicate: {_gte: 3}}}}`,
      sql: `(select count(*) from public.transaction x where x."userId" = u.id) >= 3`,
    },
    {
      where: `{transactions_aggregate: {count: {predicate: {_eq: 2}, filter: {type: {_eq: "xp"}}}}}`,
      sql: `(select count(*) from public.transaction x where x."userId" = u.id and x.type = 'xp') = 2`,
    },
    {
      where: `{transactions_aggregate: {count: {arguments: [type], distinct: true, predicate: {_eq: 3}}}}`,
      sql: `(select count(distinct x.type) from public.transaction x where x."userId" = u.id) = 3`,
    },
    {
      where: `{transactions_aggregate: {count: {arguments: [type], predicate: {_eq: 3}}}}`,
      sql: `(select count(x.type) from public.transaction x where x."userId" = u.id) = 3`,
    },
    {
      where: `{_not: {transactions_aggregate: {count: {predicate: {_gt: 0}, filter: {amount: {_gt: 1000}}}}}}`,
      sql: `not (select count(*) from public.transaction x where x."userId" = u.id and x.amount > 1000) > 0`,
    },
  ];
  for (const c of cases) {
    const expected = await srv.db.asRoot<{ id: number }>(`select u.id from public."user" u where ${c.sql} order by u.id`);
    const got = await data(t, `{ user(where: ${c.where}, order_by: {id: asc}) { id } }`, ADMIN);
    t.same(got.user, expected, `${c.where}: ${JSON.stringify(idsOf(expected))}`);
  }
  const [counts] = await srv.db.asRoot<{ plain: number; distinct: number }>(
    `select count(type)::int as plain, count(distinct type)::int as distinct from public.transaction where "userId" = 1`,
  );
  t.not(counts!.plain, counts!.distinct, "the fixture tells distinct from plain counts (user 1)");
});

t.test("aggregate predicates: bool_and and bool_or", async (t) => {
  for (const fn of ["bool_and", "bool_or"]) {
    for (const value of [true, false]) {
      const expected = await srv.db.asRoot<{ id: number }>(
        `select u.id from public."user" u where (select ${fn}(p."isDone") from public.progress p where p."userId" = u.id) = ${value} order by u.id`,
      );
      const got = await data(
        t,
        `{ user(where: {progresses_aggregate: {${fn}: {arguments: isDone, predicate: {_eq: ${value}}}}}, order_by: {id: asc}) { id } }`,
        ADMIN,
      );
      t.same(got.user, expected, `${fn}(isDone) = ${value}: ${JSON.stringify(idsOf(expected))}`);
    }
  }
});

t.test("aggregate predicates count only the related rows the role may see", async (t) => {
  for (const s of SESSIONS.filter((s) => s.label !== "user 1")) {
    const expected = await srv.db.asRoot<{ id: number }>(
      `select o.id from public.object o
        where ${s.label === "admin" ? "true" : `o.campus = 'madere'`}
          and (select count(*) from public.transaction x where x."objectId" = o.id and ${s.transactions}) = 3
        order by o.id`,
    );
    const got = await data(
      t,
      `{ object(where: {transactions_aggregate: {count: {predicate: {_eq: 3}}}}, order_by: {id: asc}) { id } }`,
      s.headers,
    );
    t.same(got.object, expected, `${s.label}: objects with three transactions it sees: ${JSON.stringify(idsOf(expected))}`);
  }
  const [admin, madere] = await Promise.all(
    ["true", `x.campus = 'madere'`].map(
      async (rule) =>
        (await srv.db.asRoot<{ n: number }>(`select count(*)::int as n from public.transaction x where x."objectId" = 2 and ${rule}`))[0]!
          .n,
    ),
  );
  t.not(admin, madere, "object 2 has a transaction only admin sees: the rule decides the answer");
});

t.test("aggregate predicates: their types, and one predicate at a time", async (t) => {
  const got = await data(
    t,
    `{ a: __type(name: "progress_aggregate_bool_exp") { inputFields { name type { name } } }
       b: __type(name: "progress_aggregate_bool_exp_bool_and") { inputFields { name type { kind name ofType { kind name ofType { name } } } } }
       c: __type(name: "transaction_aggregate_bool_exp_count") { inputFields { name type { kind name ofType { kind name ofType { name } } } } }
       d: __type(name: "transaction_aggregate_bool_exp") { inputFields { name } }
       e: __type(name: "user_bool_exp") { inputFields { name type { name } } } }`,
    ADMIN,
  );
  t.same(
    got.a.inputFields,
    [
      { name: "bool_and", type: { name: "progress_aggregate_bool_exp_bool_and" } },
      { name: "bool_or", type: { name: "progress_aggregate_bool_exp_bool_or" } },
      { name: "count", type: { name: "progress_aggregate_bool_exp_count" } },
    ],
    "t_aggregate_bool_exp",
  );
  t.same(
    got.b.inputFields,
    [
      {
        name: "arguments",
        type: {
          kind: "NON_NULL",
          name: null,
          ofType: { kind: "ENUM", name: "progress_select_column_progress_aggregate_bool_exp_bool_and_arguments_columns", ofType: null },
        },
      },
      { name: "distinct", type: { kind: "SCALAR", name: "Boolean", ofType: null } },
      { name: "filter", type: { kind: "INPUT_OBJECT", name: "progress_bool_exp", ofType: null } },
      {
        name: "predicate",
        type: { kind: "NON_NULL", name: null, ofType: { kind: "INPUT_OBJECT", name: "Boolean_comparison_exp", ofType: null } },
      },
    ],
    "t_aggregate_bool_exp_bool_and",
  );
  t.same(
    got.c.inputFields,
    [
      {
        name: "arguments",
        type: { kind: "LIST", name: null, ofType: { kind: "NON_NULL", name: null, ofType: { name: "transaction_select_column" } } },
      },
      { name: "distinct", type: { kind: "SCALAR", name: "Boolean", ofType: null } },
      { name: "filter", type: { kind: "INPUT_OBJECT", name: "transaction_bool_exp", ofType: null } },
      {
        name: "predicate",
        type: { kind: "NON_NULL", name: null, ofType: { kind: "INPUT_OBJECT", name: "Int_comparison_exp", ofType: null } },
      },
    ],
    "t_aggregate_bool_exp_count",
  );
  t.same(got.d.inputFields, [{ name: "count" }], "no boolean column: count only");
  t.ok(
    got.e.inputFields.some(
      (f: { name: string; type: { name: string } }) =>
        f.name === "transactions_aggregate" && f.type.name === "transaction_aggregate_bool_exp",
    ),
    "user_bool_exp.transactions_aggregate",
  );

  expectHasuraError(
    t,
    await srv.gql(
      `{ user(where: {progresses_aggregate: {count: {predicate: {_gt: 0}}, bool_or: {arguments: isDone, predicate: {_eq: true}}}}) { id } }`,
      { headers: ADMIN, path: V1 },
    ),
    "two predicates",
    { status: 200, code: "validation-failed", message: "exactly one predicate should be specified" },
  );
  expectHasuraError(
    t,
    await srv.gql(`{ user(where: {transactions_aggregate: {count: {filter: {}}}}) { id } }`, { headers: ADMIN, path: V1 }),
    "no predicate",
    { status: 200, code: "validation-failed", message: /predicate/ },
  );
});

t.test("_cast: a jsonb column compared as String", async (t) => {
  const cases: { where: string; sql: string; headers: Record<string, string> }[] = [
    { where: `{attrs: {_cast: {String: {_ilike: "%GROUPMAX%"}}}}`, sql: `o.attrs::text ilike '%GROUPMAX%'`, headers: ADMIN },
    {
      where: `{attrs: {_cast: {String: {_like: "%go%"}}, _has_key: "language"}}`,
      sql: `o.attrs::text like '%go%' and o.attrs ? 'language'`,
      headers: ADMIN,
    },
    { where: `{childAttr: {_cast: {String: {_eq: "{}"}}}}`, sql: `o."childAttr"::text = '{}'`, headers: { "x-hasura-role": "anonymous" } },
  ];
  for (const c of cases) {
    const expected = await srv.db.asRoot<{ id: number }>(`select o.id from public.object o where ${c.sql} order by o.id`);
    t.ok(expected.length > 0, `${c.where}: the fixture has matching rows`);
    const got = await data(t, `{ object(where: ${c.where}, order_by: {id: asc}) { id } }`, c.headers);
    t.same(got.object, expected, `${c.where}: ${JSON.stringify(idsOf(expected))}`);
  }
  const types = await data(
    t,
    `{ a: __type(name: "jsonb_comparison_exp") { inputFields { name type { name } } }
       b: __type(name: "jsonb_cast_exp") { inputFields { name type { name } } }
       c: __type(name: "Int_comparison_exp") { inputFields { name } } }`,
    ADMIN,
  );
  t.ok(
    types.a.inputFields.some((f: { name: string; type: { name: string } }) => f.name === "_cast" && f.type.name === "jsonb_cast_exp"),
    "jsonb_comparison_exp._cast: jsonb_cast_exp",
  );
  t.same(types.b.inputFields, [{ name: "String", type: { name: "String_comparison_exp" } }], "jsonb_cast_exp.String");
  t.notOk(
    types.c.inputFields.some((f: { name: string }) => f.name === "_cast"),
    "no _cast on Int (Hasura casts jsonb, geography and geometry only)",
  );
});
