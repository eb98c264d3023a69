/**
 * The same request shape is the same SQL text, so it is prepared once per
 * connection: @dataplan/pg names a statement by a hash of its text and keeps
 * up to 100 per connection, so text that changes per request (a subquery
 * alias numbered by a global counter) would prepare anew every time and
 * evict the statements that are reused.
 *
 * Postgres is the judge: the server runs with one connection
 * (HASURA_GRAPHQL_PG_CONNECTIONS=1), and pg_prepared_statements is read on
 * that very connection through the server's own pool between requests.
 * Statements are compared by text, so the check also holds behind a
 * PgBouncer that renames them (1.21+). Each shape below compiles a subquery
 * of its own in server/hasura/ (relationship filter and ordering, aggregate
 * ordering, distinct_on, an aggregate's limit) and runs twice with different
 * values: the second run must prepare nothing new and reuse the first's.
 * The aggregate keeps its limit and changes its filter: @dataplan/pg writes
 * `limit`/`offset` into the text as literals (its choice, in both dialects),
 * so each limit value is a statement of its own there.
 */
import t, { type Test } from "tap";
import { startServer } from "../helpers/server.ts";

const unprepared = process.env.TEST_PGBOUNCER === "1" && process.env.TEST_PGBOUNCER_PREPARED_STATEMENTS === "0";
if (unprepared) {
  t.comment("PgBouncer before 1.21: the server runs without prepared statements, nothing to count");
  t.end();
} else {
  await run();
}

async function run(): Promise<void> {
  const srv = await startServer(t, { project: "blog", env: { HASURA_GRAPHQL_PG_CONNECTIONS: "1" } });

  interface Prepared {
    statement: string;
    runs: number;
  }
  /** The server connection's prepared statements by text (its pool has that one connection). */
  async function prepared(): Promise<Map<string, number>> {
    const { rows } = await srv.app.pgPool.query<Prepared>(
      "select statement, (generic_plans + custom_plans)::int as runs from pg_prepared_statements",
    );
    return new Map(rows.map((r) => [r.statement, r.runs]));
  }

  async function ok(t: Test, query: string, variables?: Record<string, unknown>): Promise<unknown> {
    const res = await srv.gql(query, { path: "/v1/graphql", variables });
    t.equal(res.status, 200, `HTTP 200: ${JSON.stringify(res.body).slice(0, 300)}`);
    t.notOk(res.body?.errors, `no errors: ${JSON.stringify(res.body?.errors)}`);
    return res.body?.data;
  }

  // Builds the role's schema and prepares the settings statement.
  await ok(t, "{ author { id } }");

  const SHAPES: Array<{ name: string; runs: Array<[string, Record<string, unknown>?]> }> = [
    {
      name: "relationship filter in where (variables)",
      runs: [
        ["query ($n: String!) { article(where: {author: {name: {_eq: $n}}}) { id } }", { n: "Alice" }],
        ["query ($n: String!) { article(where: {author: {name: {_eq: $n}}}) { id } }", { n: "Bob" }],
      ],
    },
    {
      name: "relationship filter in where (literals)",
      runs: [
        ['{ article(where: {_not: {author: {name: {_eq: "Alice"}}}}) { id } }'],
        ['{ article(where: {_not: {author: {name: {_eq: "Bob"}}}}) { id } }'],
      ],
    },
    {
      name: "object relationship in order_by",
      runs: [
        ["query ($id: Int!) { article(where: {id: {_gt: $id}}, order_by: {author: {name: desc}}) { id } }", { id: 0 }],
        ["query ($id: Int!) { article(where: {id: {_gt: $id}}, order_by: {author: {name: desc}}) { id } }", { id: 1 }],
      ],
    },
    {
      name: "aggregate of an array relationship in order_by",
      runs: [
        ["query ($id: Int!) { author(where: {id: {_gt: $id}}, order_by: {articles_aggregate: {count: desc}}) { id } }", { id: 0 }],
        ["query ($id: Int!) { author(where: {id: {_gt: $id}}, order_by: {articles_aggregate: {count: desc}}) { id } }", { id: 1 }],
      ],
    },
    {
      name: "distinct_on",
      runs: [
        [
          "query ($id: Int!) { article(distinct_on: [author_id], order_by: [{author_id: asc}, {id: desc}], where: {id: {_gt: $id}}) { id } }",
          { id: 0 },
        ],
        [
          "query ($id: Int!) { article(distinct_on: [author_id], order_by: [{author_id: asc}, {id: desc}], where: {id: {_gt: $id}}) { id } }",
          { id: 1 },
        ],
      ],
    },
    {
      name: "aggregate with limit",
      runs: [
        [
          "query ($id: Int!) { article_aggregate(where: {id: {_gt: $id}}, limit: 2, order_by: {id: asc}) { aggregate { count } } }",
          { id: 0 },
        ],
        [
          "query ($id: Int!) { article_aggregate(where: {id: {_gt: $id}}, limit: 2, order_by: {id: asc}) { aggregate { count } } }",
          { id: 1 },
        ],
      ],
    },
  ];

  for (const shape of SHAPES) {
    await t.test(shape.name, async (t) => {
      const before = await prepared();
      await ok(t, ...shape.runs[0]!);
      const afterFirst = await prepared();
      const first = [...afterFirst.keys()].filter((s) => !before.has(s));
      t.ok(first.length >= 1, "the first request prepares its statement");

      await ok(t, ...shape.runs[1]!);
      const afterSecond = await prepared();
      const again = [...afterSecond.keys()].filter((s) => !afterFirst.has(s));
      t.same(again, [], "the second request, with other values, prepares nothing new");
      t.ok(
        first.every((s) => (afterSecond.get(s) ?? 0) > (afterFirst.get(s) ?? 0)),
        "it runs the statement the first one prepared",
      );
    });
  }
}
