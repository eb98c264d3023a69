/**
 * server/graphile/pipelined-adaptor.ts on one real connection (a pool of 1,
 * as the authenticator), without HTTP: what the rest of the suite cannot
 * see from outside.
 *
 *  - the settings are applied for the statement sent with them and are gone
 *    for the next one (transaction-local, in the implicit transaction);
 *  - the settings statement is prepared once per connection and reused
 *    (pg_prepared_statements counts its executions), and not prepared at
 *    all with prepared statements off (PgBouncer < 1.21);
 *  - a pipeline that fails (a setting Postgres refuses, a statement that
 *    does not parse) leaves the connection's prepared-statement bookkeeping
 *    right: the next requests on it neither re-prepare an existing name
 *    ("already exists") nor skip preparing a missing one ("does not exist");
 *  - a transaction (mutations) sees the settings until COMMIT, not after.
 */
import type { PgClient } from "@dataplan/pg";
import pg from "pg";
import t from "tap";
import { makePipelinedWithPgClient } from "../../server/graphile/pipelined-adaptor.ts";
import { createTestDatabase } from "../helpers/pg.ts";

const db = await createTestDatabase(t);
const USER = { "x-hasura-user-id": "7", "x-hasura-role": "user" };
const settingsOf = (role: string, user: object) => ({ role, "hasura.user": JSON.stringify(user), "request.jwt.claims": "" });
const WHO = "select current_user::text as who, current_setting('hasura.user', true) as hu";

function adaptor(t: { teardown(fn: () => unknown): void }, preparedStatements = true) {
  const pool = new pg.Pool({ connectionString: db.runtimeUrl, max: 1 });
  t.teardown(() => pool.end());
  const withPgClient = makePipelinedWithPgClient(pool, { preparedStatements });
  const run = <R>(settings: Record<string, string> | null, fn: (c: PgClient) => Promise<R>) => withPgClient(settings, fn);
  const one = async (settings: Record<string, string> | null, text: string, name?: string) =>
    run(settings, async (c) => (await c.query<Record<string, unknown>>({ text, values: [], name })).rows);
  /** The connection's named prepared statements (one connection: pool of 1). */
  const prepared = async () =>
    (await one(null, "select name, generic_plans + custom_plans as runs from pg_prepared_statements order by name")) as Array<{
      name: string;
      runs: string;
    }>;
  return { run, one, prepared };
}

t.test("settings apply to their statement only, and are prepared once per connection", async (t) => {
  const a = adaptor(t);
  for (let i = 0; i < 3; i++) {
    t.same(
      await a.one(settingsOf("user", USER), WHO),
      [{ who: "user", hu: JSON.stringify(USER) }],
      `request ${i + 1} runs as user with its hasura.user`,
    );
    const after = await a.one(null, WHO);
    t.equal(after[0]!.who, "authenticator", "the next statement, without settings, runs as the login role");
    t.notOk(after[0]!.hu, "and sees no hasura.user");
  }
  const names = (await a.prepared()).filter((p) => p.name.startsWith("hasura_auth_pg_settings"));
  t.same(
    names.map((p) => p.name),
    ["hasura_auth_pg_settings_3"],
    "one settings statement for three settings",
  );
  t.equal(Number(names[0]!.runs), 3, "executed three times: parsed once, reused");
});

t.test("with prepared statements off, nothing named stays on the connection", async (t) => {
  const a = adaptor(t, false);
  t.same(await a.one(settingsOf("user", USER), WHO, "a_named_query"), [{ who: "user", hu: JSON.stringify(USER) }], "settings applied");
  t.same(await a.prepared(), [], "no prepared statement (the query's name is dropped too)");
});

t.test("a refused setting on a fresh connection leaves the bookkeeping right", async (t) => {
  const a = adaptor(t);
  // Parse succeeds, set_config fails at Execute: the statement is prepared although the request failed.
  await t.rejects(a.one({ role: "no_such_role_xyz" }, WHO), /role "no_such_role_xyz" does not exist/, "the refused role fails the request");
  await t.rejects(
    a.one({ role: "no_such_role_xyz" }, WHO),
    /role "no_such_role_xyz" does not exist/,
    "again (not: prepared statement already exists)",
  );
  const rows = await a.one({ role: "user" }, WHO, "who_named");
  t.equal(rows[0]!.who, "user", "the same connection then serves a named query with settings");
  const names = (await a.prepared()).map((p) => p.name).sort();
  t.same(names, ["hasura_auth_pg_settings_1", "who_named"], "each statement prepared once");
});

t.test("a named statement that does not parse is prepared again when fixed, the settings one stays", async (t) => {
  const a = adaptor(t);
  await t.rejects(a.one(settingsOf("user", USER), "select from where", "q_broken"), /syntax error/, "the broken statement fails");
  t.notOk(
    (await a.prepared()).some((p) => p.name === "q_broken"),
    "the broken name is not prepared on the connection",
  );
  t.same(await a.one(settingsOf("user", USER), "select 1 as one", "q_fixed"), [{ one: 1 }], "the next named statement works");
  t.same(
    await a.one(settingsOf("user", USER), "select 2 as two", "q_broken"),
    [{ two: 2 }],
    "and the broken name, reused for a valid statement, is prepared anew",
  );
});

t.test("a transaction sees its settings until COMMIT, not after", async (t) => {
  const a = adaptor(t);
  const inside = await a.run(settingsOf("user", USER), (c) =>
    c.withTransaction(async (tx) => {
      const first = (await tx.query<{ who: string; hu: string }>({ text: WHO, values: [] })).rows[0]!;
      const second = (await tx.query<{ who: string; hu: string }>({ text: WHO, values: [] })).rows[0]!;
      return [first, second];
    }),
  );
  t.same(
    inside,
    [
      { who: "user", hu: JSON.stringify(USER) },
      { who: "user", hu: JSON.stringify(USER) },
    ],
    "every statement of the transaction runs with the settings",
  );
  const after = await a.one(null, WHO);
  t.equal(after[0]!.who, "authenticator", "after COMMIT: the login role");
  t.notOk(after[0]!.hu, "and no hasura.user");
});

t.test("a transaction's first statement carries BEGIN and the settings; a failure there rolls back cleanly", async (t) => {
  const a = adaptor(t);
  await t.rejects(
    a.run(settingsOf("user", USER), (c) => c.withTransaction((tx) => tx.query({ text: "select 1/0 as boom", values: [] }))),
    /division by zero/,
    "the first statement's error reaches the caller",
  );
  // Without the ROLLBACK, the connection would still be in the failed transaction and refuse this.
  const after = await a.one(null, WHO);
  t.equal(after[0]!.who, "authenticator", "the connection answers again, as the login role (ROLLBACK was sent)");
  t.notOk(after[0]!.hu, "no hasura.user");
  t.same(
    await a.run(settingsOf("user", USER), (c) => c.withTransaction(async () => "nothing sent")),
    "nothing sent",
    "a transaction with no statement sends nothing, and succeeds",
  );
});

t.test("nested transactions are savepoints: an inner failure keeps the outer writes (no settings: the login role)", async (t) => {
  const a = adaptor(t);
  const count = await a.run(null, (c) =>
    c.withTransaction(async (tx) => {
      await tx.query({ text: "create temp table nested_probe (n int) on commit drop", values: [] });
      await tx.withTransaction((inner) => inner.query({ text: "insert into nested_probe values (1)", values: [] }));
      await t.rejects(
        tx.withTransaction(async (inner) => {
          await inner.query({ text: "insert into nested_probe values (2)", values: [] });
          throw new Error("inner failure");
        }),
        /inner failure/,
        "the inner transaction's error reaches its caller",
      );
      return (await tx.query<{ n: number }>({ text: "select count(*)::int as n from nested_probe", values: [] })).rows[0]!.n;
    }),
  );
  t.equal(count, 1, "the first savepoint's row stays, the failed one's is rolled back");
});
