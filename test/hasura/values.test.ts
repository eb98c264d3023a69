/**
 * Values as Hasura renders them (server/hasura/values-plugin.ts): Hasura
 * builds its JSON in Postgres, so numeric and bigint are JSON numbers with
 * Postgres' digits (`1.10`, never `"1.10"` next to `0.09`), and timestamps
 * and times carry a fraction of a second only when there is one
 * (`2024-03-01T00:00:00+00:00`). Checked on the response text itself
 * (parsing it would hide `1.10` vs `1.1` and a string vs a number), in every
 * path a value takes: rows, `_by_pk`, relationships, aggregates, mutation
 * `returning` and `insert_t_one`. And the scalars are named as Hasura names
 * the Postgres types (`float8`, `smallint`, `timestamp`, `json`, …).
 */
import t from "tap";
import { createTestDatabase } from "../helpers/pg.ts";
import { ADMIN, SECURED } from "../helpers/secured.ts";
import { startServer, type TestServer } from "../helpers/server.ts";

const USER = { ...ADMIN, "x-hasura-role": "user" };
const BIG_NUMERIC = "123456789012345678901234567890.123456789";

/** The raw response text of a /v1/graphql request. */
async function raw(srv: TestServer, query: string, headers: Record<string, string> = USER): Promise<string> {
  const res = await fetch(`${srv.url}/v1/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query }),
  });
  return res.text();
}

t.test("numeric, bigint and date/time values in every path", async (t) => {
  const db = await createTestDatabase(t);
  await db.asOwner(`
    create table public.measure (
      id int primary key,
      n numeric,
      b bigint,
      f8 float8,
      s smallint,
      ts timestamp,
      tz timestamptz,
      d date,
      tm time,
      ttz timetz,
      j json,
      c char(4)
    );
    create table public.reading (id int primary key, measure_id int not null references public.measure (id), value numeric not null);
    grant select, insert, update on public.measure, public.reading to "user";
    alter table public.measure enable row level security, force row level security;
    create policy user_all on public.measure for all to "user" using (true);
    alter table public.reading enable row level security, force row level security;
    create policy user_all on public.reading for all to "user" using (true);
    call hasura.select_permission('public.measure', 'user', allow_aggregations => true);`);
  await db.asRoot(`
    insert into public.measure values
      (1, 0.09, 9223372036854775807, 16.0001220703125, 7, '2024-03-01 00:00:00', '2024-03-01 00:00:00+00', '2024-03-01', '11:09:23', '15:22:23+00', '{"a": [1]}', 'ab'),
      (2, 1.10, -9223372036854775808, 0.5, 8, '2024-03-01 10:23:54.5', '2024-03-01 12:42:43.25+00', '2014-09-14', '11:09:23.125', '15:22:23.5+00', 'null', 'abcd'),
      (3, ${BIG_NUMERIC}, 1, null, null, null, null, null, null, null, null, null),
      (4, 'NaN', null, null, null, null, null, null, null, null, null, null);
    insert into public.reading values (1, 2, 1.10), (2, 1, 100);`);
  const srv = await startServer(t, { db, env: SECURED });

  const rows = await raw(srv, `{ measure(order_by: {id: asc}) { id n b f8 s ts tz d tm ttz j c } }`);
  t.equal(
    rows,
    JSON.stringify({ data: { measure: [] } }).replace(
      "[]",
      `[{"id":1,"n":0.09,"b":9223372036854775807,"f8":16.0001220703125,"s":7,"ts":"2024-03-01T00:00:00","tz":"2024-03-01T00:00:00+00:00","d":"2024-03-01","tm":"11:09:23","ttz":"15:22:23+00","j":{"a":[1]},"c":"ab  "},` +
        `{"id":2,"n":1.10,"b":-9223372036854775808,"f8":0.5,"s":8,"ts":"2024-03-01T10:23:54.5","tz":"2024-03-01T12:42:43.25+00:00","d":"2014-09-14","tm":"11:09:23.125","ttz":"15:22:23.5+00","j":null,"c":"abcd"},` +
        `{"id":3,"n":${BIG_NUMERIC},"b":1,"f8":null,"s":null,"ts":null,"tz":null,"d":null,"tm":null,"ttz":null,"j":null,"c":null},` +
        `{"id":4,"n":"NaN","b":null,"f8":null,"s":null,"ts":null,"tz":null,"d":null,"tm":null,"ttz":null,"j":null,"c":null}]`,
    ),
    "rows: numbers with Postgres' digits, NaN a string (as to_json), times without a zero fraction",
  );

  t.equal(
    await raw(srv, `{ measure_by_pk(id: 2) { n b tz } }`),
    `{"data":{"measure_by_pk":{"n":1.10,"b":-9223372036854775808,"tz":"2024-03-01T12:42:43.25+00:00"}}}`,
    "_by_pk",
  );
  t.equal(
    await raw(srv, `{ reading(order_by: {id: asc}) { value measure { n } } }`),
    `{"data":{"reading":[{"value":1.10,"measure":{"n":1.10}},{"value":100,"measure":{"n":0.09}}]}}`,
    "through a relationship",
  );
  t.equal(
    await raw(srv, `{ measure_aggregate(where: {id: {_lt: 3}}) { aggregate { sum { n b s } max { n tz ts } min { n tm } avg { n } } } }`),
    `{"data":{"measure_aggregate":{"aggregate":{"sum":{"n":1.19,"b":-1,"s":15},"max":{"n":1.10,"tz":"2024-03-01T12:42:43.25+00:00","ts":"2024-03-01T10:23:54.5"},"min":{"n":0.09,"tm":"11:09:23"},"avg":{"n":0.595}}}}}`,
    "aggregates",
  );
  t.equal(
    await raw(
      srv,
      `mutation {
        insert_measure(objects: [{id: 5, n: 2.50, b: "9007199254740993", tz: "2024-03-01T00:00:00Z", ts: "2024-03-01T00:00:00.000"}]) { returning { n b tz ts } }
        update_measure(where: {id: {_eq: 1}}, _inc: {n: 1}) { returning { n b } }
        insert_measure_one(object: {id: 6, n: 3}) { n }
      }`,
    ),
    `{"data":{"insert_measure":{"returning":[{"n":2.50,"b":9007199254740993,"tz":"2024-03-01T00:00:00+00:00","ts":"2024-03-01T00:00:00"}]},` +
      `"update_measure":{"returning":[{"n":1.09,"b":9223372036854775807}]},"insert_measure_one":{"n":3}}}`,
    "mutation returning: the same rendering, bigint beyond a double's precision exact",
  );
});

t.test("the school's grades: one rendering for one column", async (t) => {
  const db = await createTestDatabase(t);
  // 0.09 and 1.10 in one column: the old rendering sent the first as a number, the second as "1.10".
  await db.asRoot(`update public.result set grade = case when id % 2 = 0 then 0.09 else 1.10 end where id <= 4`);
  const srv = await startServer(t, { db, env: SECURED });
  const text = await raw(srv, `{ result { grade } }`, { ...ADMIN, "x-hasura-role": "admin" });
  const grades = [...text.matchAll(/"grade":([^,}]+)/g)].map((m) => m[1]!);
  t.ok(grades.includes("0.09") && grades.includes("1.10"), `grades: ${grades.join(" ")}`);
  t.same(
    grades.filter((g) => !/^-?\d+(\.\d+)?$/.test(g) && g !== "null"),
    [],
    "every grade is a JSON number (or null), never a string",
  );
  const [{ texts }] = await srv.db.asRoot<{ texts: string[] }>(
    `select array_agg(grade::text order by grade) filter (where grade is not null) as texts from public.result`,
  );
  t.same(grades.filter((g) => g !== "null").sort(), [...texts].sort(), "with Postgres' own digits");
});

t.test("scalars named as Hasura names the Postgres types", async (t) => {
  const db = await createTestDatabase(t);
  await db.asOwner(`
    create table public.typed (
      id int primary key, i2 smallint, i8 bigint, f4 real, f8 float8, n numeric, t text, v varchar(9), c char(2),
      b boolean, ts timestamp, tz timestamptz, d date, tm time, ttz timetz, j json, jb jsonb, u uuid
    );
    grant select on public.typed to "user";`);
  const srv = await startServer(t, { db, env: SECURED });
  const res = await srv.gql(`{ __type(name: "typed") { fields { name type { name ofType { name } } } } }`, {
    path: "/v1/graphql",
    headers: USER,
  });
  const types = Object.fromEntries(
    (res.body.data.__type.fields as { name: string; type: { name: string | null; ofType: { name: string } | null } }[]).map((f) => [
      f.name,
      f.type.name ?? f.type.ofType!.name,
    ]),
  );
  t.same(
    types,
    {
      id: "Int",
      i2: "smallint",
      i8: "bigint",
      f4: "Float",
      f8: "float8",
      n: "numeric",
      t: "String",
      v: "String",
      c: "bpchar",
      b: "Boolean",
      ts: "timestamp",
      tz: "timestamptz",
      d: "date",
      tm: "time",
      ttz: "timetz",
      j: "json",
      jb: "jsonb",
      u: "uuid",
    },
    "Hasura's scalar for each column type",
  );
  const filter = await srv.gql(
    `query ($since: timestamp!, $x: float8!, $s: smallint!) { typed(where: {ts: {_gte: $since}, f8: {_lt: $x}, i2: {_eq: $s}}) { id } }`,
    { path: "/v1/graphql", headers: USER, variables: { since: "2024-01-01T00:00:00", x: 1.5, s: 3 } },
  );
  t.same(filter.body, { data: { typed: [] } }, "variables typed with those scalars");
});
