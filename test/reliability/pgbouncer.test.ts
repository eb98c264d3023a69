/**
 * The server behind PgBouncer in transaction pooling mode, squeezed onto two
 * server connections: hundreds of concurrent requests of different roles and
 * users each get their own answer, and nothing a transaction set (role,
 * hasura.user, request.jwt.claims) survives it on PgBouncer's connections.
 */
import t from "tap";
import pg from "pg";
import { pgbouncerBinary, pgbouncerVersion, startPgBouncer, supportsPreparedStatements } from "../helpers/pgbouncer.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { appRoles, granteeList } from "../helpers/roles.ts";

const binary = pgbouncerBinary();
if (!binary) {
  t.plan(0, "pgbouncer is not installed (and we are not root to apt-get it)");
  process.exit(0);
}
// PgBouncer < 1.21 cannot carry named prepared statements: the server is told
// with HASURA_GRAPHQL_USE_PREPARED_STATEMENTS=false, and @dataplan/pg's own
// adaptor with a variable it reads when it loads, hence the late imports.
const preparedStatements = supportsPreparedStatements(pgbouncerVersion(binary));
if (!preparedStatements) process.env.DATAPLAN_PG_PREPARED_STATEMENT_CACHE_SIZE = "0";
const { startServer } = await import("../helpers/server.ts");
const { createTestDatabase } = await import("../helpers/pg.ts");
const { installProbe } = await import("../helpers/probe.ts");

const SERVER_CONNECTIONS = 2;

/** Who a request is, and the user ids its `allUsers` must return (policies.sql, seed users 1-4). */
interface Caller {
  headers: Record<string, string>;
  role: string;
  userId?: string;
  ids: number[];
}
const CALLERS: Caller[] = [
  ...[1, 2, 3, 4].map((id) => ({
    headers: { "x-hasura-role": "user", "x-hasura-user-id": String(id) },
    role: "user",
    userId: String(id),
    ids: [id],
  })),
  { headers: { "x-hasura-role": "campus-admin", "x-hasura-campus": "{madere}" }, role: "campus-admin", ids: [1, 2] },
  { headers: { "x-hasura-role": "campus-admin", "x-hasura-campus": "{pyc}" }, role: "campus-admin", ids: [3, 4] },
  { headers: { "x-hasura-role": "admin-campus-read-only", "x-hasura-campus": "{pyc}" }, role: "admin-campus-read-only", ids: [3, 4] },
  { headers: { "x-hasura-role": "anonymous" }, role: "anonymous", ids: [1, 2, 3, 4] },
  { headers: {}, role: "admin", ids: [1, 2, 3, 4] },
];

t.test(`200 concurrent requests of 9 callers through ${SERVER_CONNECTIONS} PgBouncer server connections`, async (t) => {
  const db = await createTestDatabase(t);
  await installProbe(db);
  // whoami after a short sleep: transactions overlap and queue in PgBouncer.
  await db.asOwner(`
    create function public.slow_whoami(seconds float) returns json language sql stable as $$
      select public.whoami() from pg_sleep(seconds)
    $$`);
  await db.asRoot(`grant execute on function public.slow_whoami(float) to ${granteeList(await appRoles(db))}`);

  const bouncer = await startPgBouncer({
    pgPort: Number(process.env.TEST_PG_PORT),
    users: [TEST_ROLES.authenticator],
    poolSize: SERVER_CONNECTIONS,
  });
  t.teardown(() => bouncer.stop());
  const runtimeUrl = bouncer.url(TEST_ROLES.authenticator.name, TEST_ROLES.authenticator.password, db.name);
  // The server's own pool is far larger than PgBouncer's: 50 clients, 2 server connections.
  const srv = await startServer(t, {
    db: { ...db, runtimeUrl },
    env: {
      HASURA_GRAPHQL_PG_CONNECTIONS: "50",
      // 200 requests queue behind 2 server connections: the point is whose rows each gets, not how fast
      // (on a loaded CI runner some waited past the default 5 s and got 503s).
      HASURA_GRAPHQL_PG_POOL_WAIT_MS: "60000",
      ...(preparedStatements ? {} : { HASURA_GRAPHQL_USE_PREPARED_STATEMENTS: "false" }),
    },
  });

  let maxServers = 0;
  const sampling = setInterval(() => {
    bouncer
      .admin<{ database: string }>("SHOW SERVERS")
      .then((rows) => (maxServers = Math.max(maxServers, rows.filter((r) => r.database === db.name).length)))
      .catch(() => {});
  }, 20);
  t.teardown(() => clearInterval(sampling));

  const N = 200;
  const started = Date.now();
  const results = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const caller = CALLERS[i % CALLERS.length]!;
      // Every third request on Hasura's dialect, whose schema has no whoami: its rows alone must be right.
      if (i % 3 === 2) {
        const res = await srv.gql("{ user(order_by: {id: asc}) { id } }", { headers: caller.headers, path: "/v1/graphql" });
        return { caller, status: res.status, body: res.body, ids: res.body?.data?.user?.map((u: { id: number }) => u.id), who: null };
      }
      const res = await srv.gql(`{ slowWhoami(seconds: ${(i % 5) * 0.002}) allUsers(orderBy: ID_ASC) { nodes { id } } }`, {
        headers: caller.headers,
      });
      return {
        caller,
        status: res.status,
        body: res.body,
        ids: res.body?.data?.allUsers?.nodes.map((u: { id: number }) => u.id),
        who: res.body?.data?.slowWhoami as { role: string; hasura_user: Record<string, string> } | null,
      };
    }),
  );
  clearInterval(sampling);

  let wrong = 0;
  for (const r of results) {
    const ok =
      r.status === 200 &&
      !r.body.errors &&
      JSON.stringify(r.ids) === JSON.stringify(r.caller.ids) &&
      (r.who === null ||
        (r.who.role === r.caller.role &&
          r.who.hasura_user["x-hasura-role"] === r.caller.role &&
          r.who.hasura_user["x-hasura-user-id"] === r.caller.userId &&
          r.who.hasura_user["x-hasura-campus"] === r.caller.headers["x-hasura-campus"]));
    if (!ok && wrong++ < 5) t.fail(`wrong answer for ${JSON.stringify(r.caller.headers)}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  t.equal(wrong, 0, `all ${N} answers are their caller's own (${Date.now() - started} ms)`);
  t.ok(maxServers <= SERVER_CONNECTIONS, `PgBouncer used at most ${SERVER_CONNECTIONS} server connections (saw ${maxServers})`);
  const [stats] = await bouncer
    .admin<{ database: string; total_xact_count: string }>("SHOW STATS")
    .then((rows) => rows.filter((r) => r.database === db.name));
  t.ok(Number(stats?.total_xact_count) >= N, `PgBouncer carried ≥ ${N} transactions (${stats?.total_xact_count})`);
  const [backends] = await db.asRoot<{ n: number }>(
    "select count(*)::int as n from pg_stat_activity where datname = current_database() and usename = $1",
    [TEST_ROLES.authenticator.name],
  );
  t.ok(backends!.n <= SERVER_CONNECTIONS, `PostgreSQL saw at most ${SERVER_CONNECTIONS} authenticator backends (${backends!.n})`);

  t.test("no transaction-local setting survives on PgBouncer's server connections", async (t) => {
    // Two clients each hold a transaction open, so between them they occupy
    // both server connections: each reports what it inherited.
    const clients = [0, 1].map(() => new pg.Client({ connectionString: runtimeUrl }));
    await Promise.all(clients.map((c) => c.connect()));
    t.teardown(() => Promise.all(clients.map((c) => c.end())));
    await Promise.all(clients.map((c) => c.query("begin")));
    const seen = await Promise.all(
      clients.map(async (c) => {
        const { rows } = await c.query<{ pid: number; current_user: string; role: string; hu: string | null; claims: string | null }>(
          `select pg_backend_pid() as pid, current_user, current_setting('role') as role,
                  nullif(current_setting('hasura.user', true), '') as hu,
                  nullif(current_setting('request.jwt.claims', true), '') as claims`,
        );
        return rows[0]!;
      }),
    );
    await Promise.all(clients.map((c) => c.query("commit")));
    t.not(seen[0]!.pid, seen[1]!.pid, "two different server connections");
    for (const s of seen) {
      t.same(
        { current_user: s.current_user, role: s.role, hu: s.hu, claims: s.claims },
        { current_user: TEST_ROLES.authenticator.name, role: "none", hu: null, claims: null },
        `backend ${s.pid}: authenticator, no role, no session`,
      );
    }
  });

  t.test("after errors and rollbacks, the next request on the same connections starts clean", async (t) => {
    // `user` without x-hasura-user-id: its policy raises HA404 mid-transaction.
    const failing = await Promise.all(
      Array.from({ length: 10 }, () => srv.gql("{ allUsers { nodes { id } } }", { headers: { "x-hasura-role": "user" } })),
    );
    for (const f of failing) t.equal(f.body.errors?.[0]?.extensions?.code, "not-found", "missing session variable");
    const anon = await Promise.all(
      Array.from({ length: 10 }, () => srv.gql("{ slowWhoami(seconds: 0) }", { headers: { "x-hasura-role": "anonymous" } })),
    );
    for (const a of anon) {
      t.same(
        a.body.data?.slowWhoami,
        { role: "anonymous", hasura_user: { "x-hasura-role": "anonymous" }, claims: null },
        "anonymous, nothing inherited",
      );
    }
  });
});
