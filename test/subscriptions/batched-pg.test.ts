/**
 * The poller's batched withPgClient (server/subscriptions/batched-pg.ts):
 * 100 cohorts' statements, each with its own role and hasura.user, in one
 * network write on one pooled connection; each cohort sees only its own
 * settings, an error in one leaves the others' results intact, and nothing
 * stays set on the connection.
 */
import type { PgClient } from "@dataplan/pg";
import pg from "pg";
import t from "tap";
import { connectionOf } from "../../server/lib-internals.ts";
import { makeBatchedWithPgClient } from "../../server/subscriptions/batched-pg.ts";
import { createTestDatabase } from "../helpers/pg.ts";

const db = await createTestDatabase(t, "app");
const pool = new pg.Pool({ connectionString: db.runtimeUrl, max: 1 });
t.teardown(() => pool.end());

// A counting socket: every flush of the socket's buffer to the OS is one write.
let writes = 0;
pool.on("connect", (client) => {
  const stream = connectionOf(client).stream as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const method of ["_write", "_writev"]) {
    const original = stream[method]!;
    stream[method] = function (this: unknown, ...args: unknown[]) {
      writes++;
      return original.apply(this, args);
    };
  }
});

const STATEMENT = {
  name: "batched_probe",
  text: "select current_user::text as role, current_setting('hasura.user', true) as session, $1::int as k",
};

/** What one cohort's statement answers, or its error message. */
async function cohort(withPgClient: ReturnType<typeof makeBatchedWithPgClient>, k: number, value: string) {
  const settings = { role: k % 2 ? "user" : "anonymous", "hasura.user": JSON.stringify({ "x-hasura-user-id": String(k) }) };
  try {
    return await withPgClient(settings, async (client: PgClient) => {
      const { rows } = await client.query<{ role: string; session: string; k: number }>({ ...STATEMENT, values: [value] });
      return rows[0];
    });
  } catch (e) {
    return (e as Error).message;
  }
}

for (const preparedStatements of [true, false]) {
  t.test(`100 cohorts in one write, settings isolated (prepared statements ${preparedStatements})`, async (t) => {
    const withPgClient = makeBatchedWithPgClient(pool, { preparedStatements });
    const N = 100;
    // Warm the connection (first use: its one-time setup statement).
    await Promise.all(Array.from({ length: 3 }, (_, k) => cohort(withPgClient, k, String(k))));
    const before = writes;
    const beforeStats = withPgClient.stats();
    const BAD = 37;
    const results = await Promise.all(Array.from({ length: N }, (_, k) => cohort(withPgClient, k, k === BAD ? "not a number" : String(k))));
    t.equal(writes - before, 1, "the 100 cohorts' statements went in one network write");
    const stats = withPgClient.stats();
    t.equal(stats.writes - beforeStats.writes, 1, "one batch");
    t.equal(stats.statements - beforeStats.statements, N, "of 100 statements");
    for (let k = 0; k < N; k++) {
      if (k === BAD) {
        t.match(results[k], /invalid input syntax for type integer/, "the failing cohort gets its own error");
        continue;
      }
      t.same(
        results[k],
        { role: k % 2 ? "user" : "anonymous", session: JSON.stringify({ "x-hasura-user-id": String(k) }), k },
        `cohort ${k} ran as its own role with its own hasura.user`,
      );
    }
    const client = await pool.connect();
    try {
      const { rows } = await client.query(
        "select current_user::text as role, coalesce(current_setting('hasura.user', true), '') as session, pg_current_xact_id_if_assigned() as xact",
      );
      t.same(rows[0], { role: "authenticator", session: "", xact: null }, "nothing stays set on the connection");
      t.equal((client as unknown as { pipeline: boolean }).pipeline, false, "the client is back in ordinary mode");
    } finally {
      client.release();
    }
  });
}

t.test("a statement error and a lost connection: the batch's cohorts get the error, the pool recovers", async (t) => {
  const withPgClient = makeBatchedWithPgClient(pool, { preparedStatements: true });
  const run = (text: string) =>
    withPgClient({ role: "user" }, (client: PgClient) => client.query({ text, values: [] })).then(
      (r) => r.rows,
      (e: Error) => e.message,
    );
  t.same(await run("select 1 as n"), [{ n: 1 }]);
  // Terminate the backend mid-batch: every cohort of that batch fails, none hangs.
  const slow = Promise.all([run("select pg_sleep(1), 1 as n"), run("select 2 as n")]);
  await new Promise((r) => setTimeout(r, 300));
  await db.asRoot(
    "select pg_terminate_backend(pid) from pg_stat_activity where usename = 'authenticator' and datname = current_database()",
  );
  const [a, b] = await slow;
  t.type(a, "string", `the cohort's statement failed: ${a}`);
  t.type(b, "string", `and the other cohort of its batch too: ${b}`);
  t.same(await run("select 3 as n"), [{ n: 3 }], "the next batch runs on a fresh connection");
});

t.test("response limits: a cohort over its row bound fails alone", async (t) => {
  const withPgClient = makeBatchedWithPgClient(pool, { preparedStatements: true, responseLimits: { maxRows: 10, maxBytes: 1_000_000 } });
  const run = (n: number) =>
    withPgClient({ role: "user" }, (client: PgClient) =>
      client.query({ text: "select g from generate_series(1, $1::int) g", values: [n] }),
    ).then(
      (r) => r.rows.length,
      (e: Error) => e.message,
    );
  const [small, big, small2] = await Promise.all([run(5), run(50), run(10)]);
  t.equal(small, 5);
  t.match(big, /10 rows/, "the cohort over the bound gets the refusal");
  t.equal(small2, 10, "the others are intact");
});
