/**
 * Read replicas (HASURA_GRAPHQL_READ_REPLICA_URLS), against a real
 * streaming replica (test/helpers/replica.ts) of a cluster of this file's
 * own:
 * - queries (both dialects) and live-query polls read from the replica,
 *   mutations write on the primary: with the replica's replay paused, a row
 *   written on the primary is invisible to a query while a mutation
 *   succeeds; resumed, the query sees both;
 * - RLS and the request's settings are the same on the replica: many
 *   interleaved requests of every role over a small pool each get exactly
 *   their own rows and settings, and the replica's pooled connections keep
 *   nothing;
 * - the replica killed under load: every answer is still correct (a read
 *   whose connection died is run again on the primary), /readyz stays 200
 *   and reports it unhealthy; restarted, it is used again;
 * - lag past HASURA_GRAPHQL_READ_REPLICA_MAX_LAG_MS: skipped until it
 *   catches up;
 * - a bad URL is a start-up ConfigError, a superuser replica URL a
 *   start-up refusal.
 */
import t from "tap";
import { ConfigError, loadConfig } from "../../server/config.ts";
import { CLEAN, type PooledSettings } from "../reliability/helpers-isolation.ts";
import { dedicatedCluster } from "../helpers/dedicated-cluster.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { startReplica } from "../helpers/replica.ts";
import { appRoles, granteeList } from "../helpers/roles.ts";
import { canonical, rowSet } from "../helpers/rows.ts";
import { ADMIN, SECURED } from "../helpers/secured.ts";
import { startServer, type TestServer } from "../helpers/server.ts";
import { freePort } from "../helpers/net.ts";
import { collect, transportClient, wsUrl } from "../helpers/ws.ts";

t.setTimeout(180_000);

const primary = await dedicatedCluster(t);
const db = primary.db;
const APP_ROLES = await appRoles(db);
// Which server answered, read in the request's own statement.
await db.asOwner(`
  create view public.where_am_i with (security_invoker = true) as
    select pg_catalog.pg_is_in_recovery() as replica, pg_catalog.inet_server_port() as port`);
// Role, settings and rows in one statement (as test/reliability/leaks.test.ts's probe).
await db.asOwner(`
  create view public.leak_probe with (security_invoker = true) as
    select current_user::text as role,
           nullif(current_setting('hasura.user', true), '') as hasura_user,
           pg_catalog.pg_is_in_recovery() as replica,
           (select coalesce(json_agg(json_build_object('objectId', t."objectId", 'userId', t."userId", 'amount', t.amount::text, 'type', t.type)), '[]')
              from public.transaction t)::text as transactions,
           (select coalesce(json_agg(json_build_object('id', u.id, 'login', u.login)), '[]') from public."user" u)::text as users`);
await db.asRoot(`grant select on public.where_am_i, public.leak_probe to ${granteeList(APP_ROLES)}`);
// More users and ledgers on three campuses: answers that differ per session.
await db.asRoot(`
  insert into public."user" (id, login, campus)
    select 4 + g, 'extra-' || g, (array['madere', 'pyc', 'nice'])[1 + g % 3] from generate_series(1, 12) g;
  insert into public.transaction (type, amount, "userId", "objectId", path, campus)
    select (array['xp', 'up', 'down'])[1 + (g + k) % 3], g * 100 + k, 4 + g, 2, '/x/' || g, (array['madere', 'pyc', 'nice'])[1 + (g + k) % 3]
      from generate_series(1, 12) g, generate_series(1, 1 + g % 3) k;
  select setval(pg_get_serial_sequence('public."user"', 'id'), 1000);`);

const replica = await startReplica(t, primary);
const REPLICA_URL = replica.url(TEST_ROLES.authenticator.name, TEST_ROLES.authenticator.password, "app");
const LABEL = `127.0.0.1:${replica.port}/app`;

const withReplica = (env: Record<string, string> = {}) =>
  startServer(t, {
    db,
    env: { ...SECURED, HASURA_GRAPHQL_READ_REPLICA_URLS: REPLICA_URL, HASURA_GRAPHQL_READ_REPLICA_MAX_LAG_MS: "600000", ...env },
  });

async function readyz(srv: TestServer): Promise<{ status: number; body: any }> {
  const res = await fetch(`${srv.url}/readyz`);
  return { status: res.status, body: await res.json() };
}

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function replicaHealthy(srv: TestServer, healthy: boolean): Promise<void> {
  let last: unknown;
  await until(`replica ${healthy ? "healthy" : "unhealthy"} in /readyz`, async () => {
    last = (await readyz(srv)).body;
    return (last as { replicas?: Array<{ healthy: boolean }> }).replicas?.[0]?.healthy === healthy;
  }).catch((e) => {
    throw new Error(`${(e as Error).message}; last: ${JSON.stringify(last)}`);
  });
}

const USERS = {
  "/graphql": "{ allWhereAmIs { nodes { replica } } allUsers(orderBy: ID_ASC) { nodes { login } } }",
  "/v1/graphql": "{ where_am_i { replica } user(order_by: {id: asc}) { login } }",
} as const;
type Endpoint = keyof typeof USERS;
const ENDPOINTS = Object.keys(USERS) as Endpoint[];

/** Which server answered and the logins it saw, as admin. */
async function readUsers(srv: TestServer, path: Endpoint): Promise<{ replica: boolean; logins: string[] }> {
  const res = await srv.gql(USERS[path], { path, headers: ADMIN });
  if (res.status !== 200 || res.body.errors) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
  const d = res.body.data;
  const where = path === "/graphql" ? d.allWhereAmIs.nodes : d.where_am_i;
  const users = path === "/graphql" ? d.allUsers.nodes : d.user;
  return { replica: where[0].replica, logins: users.map((u: { login: string }) => u.login) };
}

t.test("queries read from the replica, mutations write on the primary (both dialects)", async (t) => {
  const srv = await withReplica();
  await replicaHealthy(srv, true);
  const ready = await readyz(srv);
  t.equal(ready.status, 200);
  t.match(ready.body.replicas, [{ url: LABEL, healthy: true, lagMs: Number }], "/readyz reports the replica (no password)");
  t.notOk(JSON.stringify(ready.body).includes(TEST_ROLES.authenticator.password), "and never its password");
  for (const path of ENDPOINTS) t.equal((await readUsers(srv, path)).replica, true, `${path}: a query runs on the replica`);

  await replica.pauseReplay();
  try {
    await db.asRoot(`insert into public."user" (login) values ('behind')`);
    for (const path of ENDPOINTS) {
      t.notOk((await readUsers(srv, path)).logins.includes("behind"), `${path}: replay paused, a query does not see the primary's new row`);
    }
    const pg = await srv.gql(`mutation { createUser(input: {user: {login: "via-graphql"}}) { user { login } } }`, { headers: ADMIN });
    t.same(pg.body, { data: { createUser: { user: { login: "via-graphql" } } } }, "/graphql: the mutation succeeds (on the primary)");
    const hasura = await srv.gql(`mutation { insert_user_one(object: {login: "via-hasura"}) { login } }`, {
      path: "/v1/graphql",
      headers: ADMIN,
    });
    t.same(hasura.body, { data: { insert_user_one: { login: "via-hasura" } } }, "/v1/graphql: the mutation succeeds (on the primary)");
    const onPrimary = await db.asRoot<{ login: string }>(
      `select login from public."user" where login in ('behind', 'via-graphql', 'via-hasura') order by login`,
    );
    t.same(
      onPrimary.map((r) => r.login),
      ["behind", "via-graphql", "via-hasura"],
      "the mutations' rows are on the primary",
    );
    for (const path of ENDPOINTS) {
      const { replica: onReplica, logins } = await readUsers(srv, path);
      t.ok(onReplica && !logins.includes("via-graphql") && !logins.includes("via-hasura"), `${path}: still reading the paused replica`);
    }
  } finally {
    await replica.resumeReplay();
  }
  await replica.waitCaughtUp();
  for (const path of ENDPOINTS) {
    const { replica: onReplica, logins } = await readUsers(srv, path);
    t.ok(onReplica, `${path}: on the replica`);
    t.ok(
      ["behind", "via-graphql", "via-hasura"].every((l) => logins.includes(l)),
      `${path}: resumed, the query sees all three rows`,
    );
  }

  // A live query's poller reads from the replica too.
  const client = transportClient(t, wsUrl(srv), ADMIN);
  const live = collect(client, `subscription { where_am_i { replica } }`);
  await live.atLeast(1);
  t.same(live.results[0], { data: { where_am_i: [{ replica: true }] } }, "a live query polls the replica");
  live.stop();
});

t.test("RLS and settings on the replica: every role gets exactly its own rows", async (t) => {
  const POOL = 2;
  const srv = await withReplica({ HASURA_GRAPHQL_PG_CONNECTIONS: String(POOL) });
  await replicaHealthy(srv, true);
  await replica.waitCaughtUp();
  interface Session {
    role: string;
    userId?: string;
    campus?: string[];
  }
  const CAMPUS_SETS = [["madere"], ["pyc"], ["nice"], ["madere", "pyc"], ["nowhere"]];
  const sessions: Session[] = [
    { role: "anonymous" },
    ...Array.from({ length: 17 }, (_, i) => ({ role: "user", userId: String(i + 1) })),
    ...["campus-admin", "admin-campus-read-only"].flatMap((role) => CAMPUS_SETS.map((campus) => ({ role, campus }))),
    { role: "admin" },
    { role: "admin-read-only" },
  ];
  t.same([...new Set(sessions.map((s) => s.role))].sort(), [...APP_ROLES].sort(), "every role of the catalog");
  // Expected rows from the seed's rules, in SQL, as the superuser on the primary.
  const rule = (s: Session) =>
    s.role === "user"
      ? { tx: `"userId" = $1::int`, user: "id = $1::int", params: [s.userId] }
      : s.campus
        ? { tx: "campus = any($1::text[])", user: "campus = any($1::text[])", params: [s.campus] }
        : { tx: "true", user: "true", params: [] };
  const expected = new Map<Session, { tx: string; users: string }>();
  for (const s of sessions) {
    const r = rule(s);
    expected.set(s, {
      tx: rowSet(
        await db.asRoot(`select "objectId", "userId", amount::text as amount, type from public.transaction where ${r.tx}`, r.params),
      ),
      users: rowSet(await db.asRoot(`select id, login from public."user" where ${r.user}`, r.params)),
    });
  }
  t.ok(new Set([...expected.values()].map((e) => e.tx + e.users)).size > 20, "the sessions' rows differ: a leak would show");

  const query = {
    "/graphql": "{ allLeakProbes { nodes { role hasuraUser replica transactions users } } }",
    "/v1/graphql": "{ leak_probe { role hasura_user replica transactions users } }",
  };
  const failures: string[] = [];
  let n = 0;
  let onReplica = 0;
  const TOTAL = 1_200;
  const worker = async () => {
    while (n < TOTAL) {
      const i = n++;
      const s = sessions[i % sessions.length]!;
      const path = ENDPOINTS[Math.floor(i / sessions.length) % 2]!;
      const vars: Record<string, string> = { "x-hasura-role": s.role, "x-hasura-nonce": `n${i}` };
      if (s.userId) vars["x-hasura-user-id"] = s.userId;
      if (s.campus) vars["x-hasura-campus"] = `{${s.campus.join(",")}}`;
      const res = await srv.gql(query[path], { path, headers: { ...ADMIN, ...vars } });
      const rows = path === "/graphql" ? res.body.data?.allLeakProbes?.nodes : res.body.data?.leak_probe;
      const p = rows?.[0];
      const exp = expected.get(s)!;
      const why =
        res.status !== 200 || res.body.errors || rows?.length !== 1
          ? `answer ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`
          : p.role !== s.role
            ? `current_user ${p.role}`
            : canonical(JSON.parse(p.hasuraUser ?? p.hasura_user)) !== canonical(vars)
              ? `hasura.user ${p.hasuraUser ?? p.hasura_user}`
              : rowSet(JSON.parse(p.transactions)) !== exp.tx
                ? "transaction rows"
                : rowSet(JSON.parse(p.users)) !== exp.users
                  ? "user rows"
                  : null;
      if (p?.replica) onReplica++;
      if (why) failures.push(`${i} ${s.role} ${path}: ${why}`);
    }
  };
  await Promise.all(Array.from({ length: 12 }, worker));
  t.equal(onReplica, TOTAL, "every request ran on the replica");
  t.equal(failures.length, 0, `zero mismatches (first: ${failures.slice(0, 3).join("; ")})`);

  // The replica's pooled connections carry nothing between requests.
  const pool = srv.app.readReplicas.pools[0]!;
  const clients = await Promise.all(Array.from({ length: POOL }, () => pool.connect()));
  try {
    const states = await Promise.all(
      clients.map(
        async (c) =>
          (
            await c.query<PooledSettings>(`
              select current_user::text as current_user, session_user::text as session_user, current_setting('role') as role,
                     nullif(current_setting('hasura.user', true), '') as hasura_user,
                     nullif(current_setting('request.jwt.claims', true), '') as claims,
                     txid_current_if_assigned()::text as xid,
                     array(select name from pg_catalog.pg_settings where source = 'session'
                             and name not in ('application_name', 'client_encoding', 'DateStyle', 'extra_float_digits', 'TimeZone',
                                              'IntervalStyle', 'jit_optimize_above_cost') order by name) as changed`)
          ).rows[0],
      ),
    );
    t.same(states, Array(POOL).fill(CLEAN), "the replica's pooled connections carry no role, setting or transaction");
  } finally {
    for (const c of clients) c.release();
  }
});

t.test("the replica killed under load: every answer correct, reads fall back to the primary; restarted, used again", async (t) => {
  const srv = await withReplica();
  await replicaHealthy(srv, true);
  await replica.waitCaughtUp();
  const truth = (await db.asRoot<{ login: string }>(`select login from public."user" order by id`)).map((r) => r.login);
  for (const path of ENDPOINTS) await readUsers(srv, path); // the schemas built before the load
  const counts = { replica: 0, primary: 0 };
  const failures: string[] = [];
  let stop = false;
  let i = 0;
  const load = async () => {
    while (!stop) {
      const path = ENDPOINTS[i++ % 2]!;
      try {
        const r = await readUsers(srv, path);
        counts[r.replica ? "replica" : "primary"]++;
        if (canonical(r.logins) !== canonical(truth)) failures.push(`${path}: rows ${JSON.stringify(r.logins)}`);
      } catch (e) {
        failures.push((e as Error).message.slice(0, 300));
      }
    }
  };
  const running = Promise.all(Array.from({ length: 16 }, load));
  await new Promise((r) => setTimeout(r, 700));
  const beforeKill = counts.replica;
  await replica.kill();
  const killedAt = { ...counts };
  await new Promise((r) => setTimeout(r, 2_000));
  const ready = await readyz(srv);
  const afterKill = { ...counts };
  await replica.start();
  await replica.waitCaughtUp();
  await replicaHealthy(srv, true);
  const restartedAt = counts.replica;
  await new Promise((r) => setTimeout(r, 700));
  stop = true;
  await running;

  t.ok(beforeKill > 0, `the replica served reads before the kill (${beforeKill})`);
  t.ok(afterKill.primary - killedAt.primary > 0, `the primary served reads while it was down (${afterKill.primary - killedAt.primary})`);
  t.equal(failures.length, 0, `every answer correct, none an error (${failures.length}; first: ${failures.slice(0, 3).join(" | ")})`);
  t.equal(ready.status, 200, "/readyz stays ready with the replica down");
  t.equal(ready.body.replicas[0].healthy, false, "and reports the replica unhealthy");
  t.equal(ready.body.replicas[0].url, LABEL);
  t.ok(counts.replica > restartedAt, "restarted, the replica serves reads again");
  t.comment(JSON.stringify({ counts, killedAt, afterKill }));
});

t.test("a replica lagging past HASURA_GRAPHQL_READ_REPLICA_MAX_LAG_MS is skipped until it catches up", async (t) => {
  const srv = await withReplica({ HASURA_GRAPHQL_READ_REPLICA_MAX_LAG_MS: "300" });
  await replicaHealthy(srv, true);
  t.equal((await readUsers(srv, "/v1/graphql")).replica, true, "caught up: used");
  await replica.pauseReplay();
  try {
    await db.asRoot(`insert into public."user" (login) values ('while-lagging')`);
    await replicaHealthy(srv, false);
    const ready = await readyz(srv);
    t.equal(ready.status, 200, "/readyz stays ready");
    t.ok(ready.body.replicas[0].lagMs > 300, `lag reported (${ready.body.replicas[0].lagMs} ms)`);
    t.match(ready.body.replicas[0].reason, /lagging/);
    for (const path of ENDPOINTS) {
      const r = await readUsers(srv, path);
      t.ok(!r.replica && r.logins.includes("while-lagging"), `${path}: read on the primary, which has the new row`);
    }
  } finally {
    await replica.resumeReplay();
  }
  await replica.waitCaughtUp();
  await replicaHealthy(srv, true);
  const r = await readUsers(srv, "/graphql");
  t.ok(r.replica && r.logins.includes("while-lagging"), "caught up: used again");
});

t.test("start-up: a bad replica URL is a ConfigError; a superuser replica URL is refused", async (t) => {
  for (const bad of ["not a url", "http://x/app", `${REPLICA_URL},postgres://127.0.0.1:1`]) {
    let thrown: unknown;
    try {
      loadConfig({ HASURA_GRAPHQL_READ_REPLICA_URLS: bad });
    } catch (e) {
      thrown = e;
    }
    t.ok(thrown instanceof ConfigError && thrown.key === "HASURA_GRAPHQL_READ_REPLICA_URLS", `refused: ${(thrown as Error)?.message}`);
  }
  const su = replica.url("postgres", primary.cluster.superuserPassword, "app");
  await t.rejects(
    startServer(t, { db, env: { ...SECURED, HASURA_GRAPHQL_READ_REPLICA_URLS: su } }),
    { name: "Error", message: /HASURA_GRAPHQL_READ_REPLICA_URLS \(127\.0\.0\.1:\d+\/app\)/ },
    "a replica URL as the superuser is refused at start-up",
  );
});

t.test("a replica that cannot be used at start-up: the server starts, reads go to the primary, /readyz says why", async (t) => {
  const closed = await freePort();
  const cases = [
    { name: "unreachable", url: `postgres://authenticator:x@127.0.0.1:${closed}/app`, reason: /unreachable/ },
    { name: "the primary itself (not a standby)", url: db.runtimeUrl, reason: /not a standby/ },
  ];
  for (const c of cases) {
    const srv = await startServer(t, { db, env: { ...SECURED, HASURA_GRAPHQL_READ_REPLICA_URLS: c.url } });
    const ready = await readyz(srv);
    t.equal(ready.status, 200, `${c.name}: ready`);
    t.match(ready.body.replicas, [{ healthy: false, lagMs: null, reason: c.reason }], `${c.name}: reported skipped`);
    t.equal((await readUsers(srv, "/v1/graphql")).replica, false, `${c.name}: a query reads the primary`);
  }
});
