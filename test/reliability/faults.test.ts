/**
 * Database faults, on a cluster of this test's own (the run's shared one is
 * never touched):
 * - PostgreSQL killed (SIGKILL to the postmaster and all its processes, as
 *   when its container or host dies) under load of mixed roles: requests
 *   during the outage get a fast 503 with a Hasura error, no request ever
 *   gets another caller's rows, and once PostgreSQL is back the same server
 *   process serves again.
 * - A runaway query ends at `statement_timeout` with Hasura's `timeout`
 *   error, and the connection is reused afterwards.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { bootstrapDatabase } from "../../server/db/bootstrap.ts";
import { startEmbeddedPostgres, type EmbeddedCluster } from "../../server/db/embedded.ts";
import { migrateProject } from "../../server/db/migrate.ts";
import { freePort } from "../helpers/net.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { startServer, type GqlResponse, type TestServer } from "../helpers/server.ts";
import type { TestDatabase } from "../helpers/pg.ts";
import pg from "pg";
import { alive } from "../helpers/process.ts";

/** Who a request is, and the user ids its `allUsers` must return (policies.sql, seed users 1-4). */
interface Caller {
  name: string;
  headers: Record<string, string>;
  ids: number[];
}
const CALLERS: Caller[] = [
  ...[1, 2, 3, 4].map((id) => ({ name: `user ${id}`, headers: { "x-hasura-role": "user", "x-hasura-user-id": String(id) }, ids: [id] })),
  { name: "campus-admin madere", headers: { "x-hasura-role": "campus-admin", "x-hasura-campus": "{madere}" }, ids: [1, 2] },
  { name: "campus-admin pyc", headers: { "x-hasura-role": "campus-admin", "x-hasura-campus": "{pyc}" }, ids: [3, 4] },
  { name: "anonymous", headers: { "x-hasura-role": "anonymous" }, ids: [1, 2, 3, 4] },
];
/** The same read in both dialects, on the endpoints that keep real statuses. */
const ENDPOINTS = [
  {
    path: "/graphql",
    query: "{ allUsers(orderBy: ID_ASC) { nodes { id } } }",
    ids: (b: any) => b?.data?.allUsers?.nodes?.map((u: { id: number }) => u.id),
  },
  {
    path: "/v1alpha1/graphql",
    query: "{ user(order_by: {id: asc}) { id } }",
    ids: (b: any) => b?.data?.user?.map((u: { id: number }) => u.id),
  },
];

interface Dedicated {
  cluster: EmbeddedCluster;
  db: TestDatabase;
  /** SIGKILL the postmaster and every process it forked. */
  kill(): Promise<void>;
  restart(): Promise<void>;
}

/** A migrated `app` database on a cluster of this test's own. */
async function dedicatedCluster(t: Test): Promise<Dedicated> {
  const dir = await mkdtemp(path.join(tmpdir(), "hasura-auth-pg-faults-"));
  const port = await freePort();
  let cluster = await startEmbeddedPostgres({ dir, port, ephemeral: true });
  t.teardown(async () => {
    process.off("exit", stopOnExit);
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  });
  // If the process dies (an uncaught exception skips teardowns), stop the
  // postmaster anyway (SIGQUIT: immediate shutdown) and remove its folder.
  const stopOnExit = () => {
    try {
      process.kill(Number(readFileSync(path.join(cluster.dataDir, "postmaster.pid"), "utf8").split("\n")[0]), "SIGQUIT");
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", stopOnExit);
  const rootUrl = cluster.url(cluster.superuser, cluster.superuserPassword, "postgres");
  await bootstrapDatabase({ rootUrl, database: "app", owner: TEST_ROLES.owner, authenticator: TEST_ROLES.authenticator });
  const ownerUrl = cluster.url(TEST_ROLES.owner.name, TEST_ROLES.owner.password, "app");
  await migrateProject({ projectDir: REPO_ROOT, ownerUrl, authenticator: TEST_ROLES.authenticator.name, seed: true });
  const appRootUrl = cluster.url(cluster.superuser, cluster.superuserPassword, "app");
  const query = async (url: string, sql: string, values?: unknown[]) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(sql, values)).rows;
    } finally {
      await client.end();
    }
  };
  const db: TestDatabase = {
    name: "app",
    runtimeUrl: cluster.url(TEST_ROLES.authenticator.name, TEST_ROLES.authenticator.password, "app"),
    ownerUrl,
    rootUrl: appRootUrl,
    asOwner: (sql, values) => query(ownerUrl, sql, values) as never,
    asRoot: (sql, values) => query(appRootUrl, sql, values) as never,
  };
  return {
    get cluster() {
      return cluster;
    },
    db,
    async kill() {
      const postmaster = Number((await readFile(path.join(cluster.dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
      // Its children (backends, checkpointer, …) each lead a process group of their own: list them by parent.
      const children = execFileSync("ps", ["-o", "pid=", "--ppid", String(postmaster)], { encoding: "utf8" })
        .split("\n")
        .map(Number)
        .filter((pid) => pid > 0);
      for (const pid of [postmaster, ...children]) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      while ([postmaster, ...children].some(alive)) await new Promise((r) => setTimeout(r, 10));
    },
    async restart() {
      cluster = await startEmbeddedPostgres({ dir, port, ephemeral: true });
    },
  };
}

interface Outcome {
  caller: Caller;
  path: string;
  at: number;
  ms: number;
  res: GqlResponse | null;
  thrown?: string;
}

async function request(srv: TestServer, caller: Caller, endpoint: (typeof ENDPOINTS)[number]): Promise<Outcome> {
  const at = Date.now();
  try {
    const res = await srv.gql(endpoint.query, { headers: caller.headers, path: endpoint.path });
    return { caller, path: endpoint.path, at, ms: Date.now() - at, res };
  } catch (e) {
    return { caller, path: endpoint.path, at, ms: Date.now() - at, res: null, thrown: (e as Error).message };
  }
}

const ok = (o: Outcome) => {
  const endpoint = ENDPOINTS.find((e) => e.path === o.path)!;
  return o.res?.status === 200 && !o.res.body?.errors && JSON.stringify(endpoint.ids(o.res.body)) === JSON.stringify(o.caller.ids);
};
const describe = (o: Outcome) =>
  `${o.caller.name} ${o.path} after ${o.ms} ms: ${o.thrown ?? `${o.res!.status} ${JSON.stringify(o.res!.body)}`}`;

/** A database of its own on the run's cluster, with a runaway read in both dialects: a view that takes as long as told. */
async function runawayDb(t: Test) {
  const { createTestDatabase } = await import("../helpers/pg.ts");
  const db = await createTestDatabase(t);
  await db.asOwner(`
    create table public.delay (id int primary key, seconds float not null);
    insert into public.delay values (1, 5);
    create view public.runaway with (security_invoker) as
      select d.id, 'finished'::text as state from public.delay d, lateral pg_sleep(d.seconds);
    comment on view public.runaway is E'@primaryKey id';
    grant select on public.delay, public.runaway to "user", admin;
    create function public.setting(name text) returns text language sql stable as $$ select current_setting(name) $$;
    grant execute on function public.setting(text) to "user", admin`);
  return { db, setDelay: (seconds: number) => db.asRoot("update public.delay set seconds = $1", [seconds]) };
}

const USER = { "x-hasura-role": "user", "x-hasura-user-id": "1" };
const READS = [
  { path: "/graphql", query: "{ allRunaways { nodes { state } } }", rows: (b: any) => b?.data?.allRunaways?.nodes },
  { path: "/v1alpha1/graphql", query: "{ runaway { state } }", rows: (b: any) => b?.data?.runaway },
];

/** Every read as `headers` ends in < 2 s with Hasura's timeout error, then the pool's only connection works. */
async function expectTimeouts(t: Test, srv: TestServer, setDelay: (s: number) => Promise<unknown>, headers: Record<string, string>) {
  // Build the role's schemas first: only the query is to be timed.
  await setDelay(0);
  for (const read of READS) await srv.gql(read.query, { path: read.path, headers });
  await setDelay(5);
  for (const read of READS) {
    const started = Date.now();
    const res = await srv.gql(read.query, { path: read.path, headers });
    const ms = Date.now() - started;
    t.ok(ms < 2_000, `${read.path}: ended after ${ms} ms, not 5 s`);
    t.equal(res.body?.errors?.[0]?.extensions?.code, "timeout", `${read.path}: Hasura's timeout code: ${JSON.stringify(res.body)}`);
    t.match(res.body?.errors?.[0]?.message ?? "", /statement timeout/, `${read.path}: a clear message`);
    t.notOk(read.rows(res.body), `${read.path}: no rows`);
  }
  await setDelay(0);
  for (const read of READS) {
    const res = await srv.gql(read.query, { path: read.path, headers });
    t.same(read.rows(res.body), [{ state: "finished" }], `${read.path}: the pool's only connection serves the next request`);
  }
  const rows = await srv.gql("{ allUsers { nodes { id } } }", { headers: { "x-hasura-role": "user", "x-hasura-user-id": "2" } });
  t.same(rows.body?.data?.allUsers?.nodes, [{ id: 2 }], "and the next caller, with its own rows");
}

t.test("statement_timeout ends a runaway query with Hasura's timeout error; the connection is reused", async (t) => {
  t.test("set on the authenticator: bounds every role's queries (works today)", async (t) => {
    const { db, setDelay } = await runawayDb(t);
    // Role settings apply at login, and the pool logs in as the authenticator
    // (so do PgBouncer's server connections: they keep it until they close).
    await db.asRoot(`alter role authenticator in database ${db.name} set statement_timeout = '300ms'`);
    // One connection, so the requests after a timeout provably reuse it.
    const srv = await startServer(t, { db, env: { HASURA_GRAPHQL_PG_CONNECTIONS: "1" } });
    await expectTimeouts(t, srv, setDelay, USER);
  });

  // Role settings apply at login, never on SET ROLE: the server has to apply
  // the application role's own settings in each of its transactions.
  t.test("set on the application role: bounds that role only", async (t) => {
    const { db, setDelay } = await runawayDb(t);
    await db.asRoot(`alter role "user" in database ${db.name} set statement_timeout = '300ms'`);
    const srv = await startServer(t, { db, env: { HASURA_GRAPHQL_PG_CONNECTIONS: "1" } });
    const seen = (await srv.gql(`{ setting(name: "statement_timeout") }`, { headers: USER })).body?.data?.setting;
    const applied = seen === "300ms";
    t.equal(
      seen,
      "300ms",
      `the role's statement_timeout is in effect in its transactions (saw ${seen})`,
      applied ? {} : { todo: "server change: apply the role's settings per transaction (see report)" },
    );
    if (!applied) return;
    await expectTimeouts(t, srv, setDelay, USER);
    // admin has no timeout: its slow read finishes.
    await setDelay(0.5);
    const res = await srv.gql("{ allRunaways { nodes { state } } }", { headers: { "x-hasura-role": "admin" } });
    t.same(res.body?.data?.allRunaways?.nodes, [{ state: "finished" }], "admin's 0.5 s read is not cut short");
  });
});

t.test("PostgreSQL killed under load: fast 503s, never another caller's rows, recovery without a restart", async (t) => {
  const pgDb = await dedicatedCluster(t);
  const srv = await startServer(t, { db: pgDb.db, env: { HASURA_GRAPHQL_PG_CONNECTIONS: "8" } });
  // Every schema built before the outage: a cold build needs the database.
  for (const caller of CALLERS)
    for (const endpoint of ENDPOINTS) t.ok(ok(await request(srv, caller, endpoint)), `warm: ${caller.name} ${endpoint.path}`);

  const outcomes: Outcome[] = [];
  const state = { phase: "before" as "before" | "down" | "after", running: true };
  /** Requests that started and ended while PostgreSQL was down. */
  const during: Outcome[] = [];
  const WORKERS = 12;
  const workers = Array.from({ length: WORKERS }, async (_, w) => {
    for (let i = 0; state.running; i++) {
      const startedIn = state.phase;
      const o = await request(srv, CALLERS[(w + i) % CALLERS.length]!, ENDPOINTS[(w + i) % ENDPOINTS.length]!);
      outcomes.push(o);
      if (startedIn === "down" && state.phase === "down") during.push(o);
      if (state.phase === "down") await new Promise((r) => setTimeout(r, 20));
    }
  });

  await new Promise((r) => setTimeout(r, 500));
  await pgDb.kill();
  const killedAt = Date.now();
  state.phase = "down";
  await new Promise((r) => setTimeout(r, 1_500));
  state.phase = "after";
  const restartAt = Date.now();
  await pgDb.restart();
  const restartedAt = Date.now();
  // Recovered: a run of consecutive successes across all callers.
  let recoveredAt = 0;
  const deadline = Date.now() + 20_000;
  while (!recoveredAt && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const recent = outcomes.filter((o) => o.at > restartedAt).slice(-3 * WORKERS);
    if (recent.length >= 3 * WORKERS && recent.every(ok)) recoveredAt = Date.now();
  }
  await new Promise((r) => setTimeout(r, 500));
  state.running = false;
  await Promise.all(workers);

  t.comment(
    `killed at +0, restart began +${restartAt - killedAt} ms, PostgreSQL up +${restartedAt - killedAt} ms, ${outcomes.length} requests`,
  );

  // 1. Nobody ever got rows other than their own: every 200 without errors is exactly right.
  const wrongRows = outcomes.filter((o) => o.res?.status === 200 && !o.res.body?.errors && !ok(o));
  t.same(wrongRows.map(describe), [], "no answer carries another caller's rows");
  t.same(outcomes.filter((o) => o.thrown).map(describe), [], "every request got an HTTP answer");

  // 2. During the outage: fast 503s with a Hasura error.
  const down = during;
  t.ok(down.length >= 20, `${down.length} requests during the outage`);
  const slow = down.filter((o) => o.ms > 2_000);
  t.same(slow.map(describe), [], "every request during the outage answered within 2 s");
  const not503 = down.filter(
    (o) =>
      !(
        o.res?.status === 503 &&
        o.res.body?.errors?.[0]?.extensions?.code === "postgres-error" &&
        o.res.body?.errors?.[0]?.extensions?.path === "$" &&
        !o.res.body?.data
      ),
  );
  t.same([...new Set(not503.map(describe))].slice(0, 10), [], "every request during the outage: 503, postgres-error, no data");
  t.ok(
    down.every((o) => o.res?.headers.get("retry-after") === "1" || o.res?.status !== 503),
    "503s carry Retry-After",
  );

  // 3. Back without a restart of the server.
  t.ok(recoveredAt, `serving again ${recoveredAt - restartedAt} ms after PostgreSQL came back`);
  const ready = await fetch(`${srv.url}/readyz`);
  t.equal(ready.status, 200, "/readyz is 200 again");
});
