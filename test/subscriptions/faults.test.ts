/**
 * Subscriptions through database faults and shutdown (issue 15,
 * "Reliability and security"):
 * - PostgreSQL killed (SIGKILL to every process, on a cluster of this
 *   test's own) and restarted while live queries of several roles and
 *   sessions run over both protocols: each subscriber gets only errors
 *   (no data) or its own session's rows, never another cohort's or stale
 *   ones; the same server process recovers: the old subscriptions resume
 *   on their sockets and follow a write made after the restart, and a new
 *   subscription works.
 * - The pool's backends terminated as soon as they appear for 3 s (polls of
 *   40 cohorts batched on 2 connections cut mid-batch) while rows change:
 *   every result is errors without data or the user's own rows of some
 *   moment; then every subscriber is current again on its socket.
 * - Graceful shutdown: an operation in flight on a socket is answered, then
 *   the sockets close with 1001 (S2's transport test covers 1001 on an idle
 *   socket).
 */
import pg from "pg";
import { SubscriptionClient } from "subscriptions-transport-ws";
import t from "tap";
import WebSocket from "ws";
import { dedicatedCluster } from "../helpers/dedicated-cluster.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { ADMIN, SECURED_JWT } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";
import { collect, rawSocket, transportClient, wsUrl } from "../helpers/ws.ts";

t.setTimeout(120_000);

const INTERVAL_MS = 150;
const USERS = "subscription { user(order_by: {id: asc}) { id } }";

interface Caller {
  name: string;
  headers: Record<string, string>;
  /** The user ids the rules give this session, before and after the write (user 5 on madere). */
  before: number[];
  after: number[];
}
const as = (role: string, vars: Record<string, string> = {}) => ({ ...ADMIN, "x-hasura-role": role, ...vars });
const CALLERS: Caller[] = [
  ...[1, 2, 3, 4, 5].map((id) => ({
    name: `user ${id}`,
    headers: as("user", { "x-hasura-user-id": String(id) }),
    before: id === 5 ? [] : [id],
    after: [id],
  })),
  { name: "campus-admin madere", headers: as("campus-admin", { "x-hasura-campus": "{madere}" }), before: [1, 2], after: [1, 2, 5] },
  { name: "campus-admin pyc", headers: as("campus-admin", { "x-hasura-campus": "{pyc}" }), before: [3, 4], after: [3, 4] },
  {
    name: "admin-campus-read-only madere,pyc",
    headers: as("admin-campus-read-only", { "x-hasura-campus": "{madere,pyc}" }),
    before: [1, 2, 3, 4],
    after: [1, 2, 3, 4, 5],
  },
  { name: "anonymous", headers: {}, before: [1, 2, 3, 4], after: [1, 2, 3, 4, 5] },
  { name: "admin", headers: ADMIN, before: [1, 2, 3, 4], after: [1, 2, 3, 4, 5] },
];

interface Sub {
  caller: Caller;
  protocol: "graphql-transport-ws" | "graphql-ws";
  results: any[];
  failure?: string;
}

const ids = (r: any): number[] | undefined => r?.data?.user?.map((u: { id: number }) => u.id);
/** Why a result is wrong for its session, or null: errors without data, or exactly the session's rows of some moment. */
function wrong(s: Sub, r: any, allowed: Array<"before" | "after">): string | null {
  if (r?.errors) return r.data && Object.values(r.data).some((v) => v !== null) ? `data with errors: ${JSON.stringify(r)}` : null;
  const got = JSON.stringify(ids(r));
  return allowed.some((k) => JSON.stringify(s.caller[k]) === got) ? null : `${s.caller.name} (${s.protocol}) got ${got}`;
}

t.test("PostgreSQL killed and restarted under live subscriptions: errors or own rows, then recovery in place", async (t) => {
  const pgDb = await dedicatedCluster(t);
  const srv = await startServer(t, {
    db: pgDb.db,
    env: {
      ...SECURED_JWT,
      HASURA_GRAPHQL_PG_CONNECTIONS: "4",
      HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL: String(INTERVAL_MS),
    },
  });
  const url = wsUrl(srv);
  const subs: Sub[] = [];
  const legacy: SubscriptionClient[] = [];
  t.teardown(() => {
    for (const c of legacy) c.close();
  });
  for (const caller of CALLERS) {
    for (const protocol of ["graphql-transport-ws", "graphql-ws"] as const) {
      for (let copy = 0; copy < 3; copy++) {
        const sub: Sub = { caller, protocol, results: [] };
        subs.push(sub);
        const sink = {
          next: (r: any) => sub.results.push(r),
          error: (e: unknown) => (sub.failure = e instanceof Error ? e.message : JSON.stringify(e)),
          complete: () => {},
        };
        if (protocol === "graphql-transport-ws") {
          transportClient(t, url, caller.headers).subscribe({ query: USERS }, sink);
        } else {
          const client = new SubscriptionClient(
            url,
            { connectionParams: { headers: caller.headers }, reconnect: false, minTimeout: 10_000 },
            WebSocket,
          );
          legacy.push(client);
          client.request({ query: USERS }).subscribe(sink);
        }
      }
    }
  }
  const until = async (label: string, done: (s: Sub) => boolean, ms = 20_000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && !subs.every(done)) await new Promise((r) => setTimeout(r, 50));
    const pending = subs.filter((s) => !done(s));
    t.same(
      pending.map((s) => `${s.caller.name} ${s.protocol}: ${JSON.stringify(s.results.at(-1))} ${s.failure ?? ""}`),
      [],
      label,
    );
  };
  await until("every subscriber has its first result", (s) => s.results.length > 0);
  t.ok(
    subs.every((s) => JSON.stringify(ids(s.results[0])) === JSON.stringify(s.caller.before)),
    "each its own session's rows",
  );

  // Kill PostgreSQL; leave it down for a few intervals.
  const before = subs.map((s) => s.results.length);
  await pgDb.kill();
  const killedAt = Date.now();
  await new Promise((r) => setTimeout(r, 2_000));
  const errored = subs.filter((s, i) => s.results.slice(before[i]).some((r) => r.errors));
  t.comment(`${errored.length} of ${subs.length} subscribers got an error during the outage`);
  t.ok(errored.length > 0, "subscribers are told the database is unavailable (an error result)");
  const sample = errored[0]?.results.find((r: any) => r.errors);
  t.match(sample?.errors?.[0], { extensions: { code: String } }, `the error is Hasura-shaped: ${JSON.stringify(sample)}`);
  t.notOk(sample?.data, "no data with it");

  await pgDb.restart();
  const restartedAt = Date.now();
  t.comment(`PostgreSQL down for ${restartedAt - killedAt} ms`);

  // Recovery in place: the same subscriptions (no reconnect) deliver their rows again, then follow a write.
  const sockets = () => legacy.every((c) => c.status === WebSocket.OPEN);
  await until("after the restart, every subscriber's latest result is its rows again", (s) => {
    const last = s.results.at(-1);
    return !last?.errors && JSON.stringify(ids(last)) === JSON.stringify(s.caller.before);
  });
  t.ok(sockets(), "the legacy sockets stayed open");
  t.notOk(
    subs.some((s) => s.failure),
    "no subscription ended",
  );
  await pgDb.db.asRoot(`insert into public."user" (id, login, campus) values (5, 'fifth', 'madere')`);
  await until("a write after the restart reaches every resumed subscriber", (s) => {
    const last = s.results.at(-1);
    return !last?.errors && JSON.stringify(ids(last)) === JSON.stringify(s.caller.after);
  });

  // Throughout: only errors or the session's own rows, before or after the write.
  const bad = subs.flatMap((s) => s.results.map((r) => wrong(s, r, ["before", "after"])).filter(Boolean));
  t.same(bad.slice(0, 10), [], "no result ever carried another session's rows");

  const fresh = collect(transportClient(t, url, as("campus-admin", { "x-hasura-campus": "{madere}" })), USERS);
  await fresh.atLeast(1);
  t.same(ids(fresh.results[0]), [1, 2, 5], "a new subscription works");
  const http = await srv.gql("{ user(order_by: {id: asc}) { id } }", {
    path: "/v1/graphql",
    headers: as("user", { "x-hasura-user-id": "5" }),
  });
  t.same(http.body?.data?.user, [{ id: 5 }], "and HTTP serves");
});

t.test("the pool's backends terminated again and again mid-poll: errors or own rows, then recovery", async (t) => {
  const db = await createTestDatabase(t);
  await db.asRoot(`
    insert into public."user" (id, login, campus)
      select 4 + g, 'extra-' || g, (array['madere', 'pyc', 'nice'])[1 + g % 3] from generate_series(1, 36) g;
    insert into public.transaction (type, amount, "userId", "objectId", path, campus)
      select 'xp', g, g, 2, '/t/' || g, 'madere' from generate_series(1, 40) g;`);
  const srv = await startServer(t, {
    db,
    env: { ...SECURED_JWT, HASURA_GRAPHQL_PG_CONNECTIONS: "2", HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL: "100" },
  });
  const MINE = "subscription { transaction { userId amount } }";
  const truth = async (id: number) =>
    JSON.stringify(
      (
        await db.asRoot(`select "userId", amount::text as amount from public.transaction where "userId" = $1 order by amount::int`, [id])
      ).map((r) => ({ userId: r.userId, amount: String(r.amount) })),
    );
  const seen = (r: any) =>
    JSON.stringify(
      [...(r?.data?.transaction ?? [])]
        .map((x: any) => ({ userId: x.userId, amount: String(x.amount) }))
        .sort((a, b) => Number(a.amount) - Number(b.amount)),
    );
  // 40 users, one socket each, alternating protocols: 40 cohorts of one poller, batched on 2 connections.
  const subs: Array<{ id: number; results: any[]; allowed: Set<string> }> = [];
  const legacy: SubscriptionClient[] = [];
  t.teardown(() => {
    for (const c of legacy) c.close();
  });
  for (let id = 1; id <= 40; id++) {
    const sub = { id, results: [] as any[], allowed: new Set([await truth(id)]) };
    subs.push(sub);
    const headers = as("user", { "x-hasura-user-id": String(id) });
    const sink = { next: (r: any) => sub.results.push(r), error: () => {}, complete: () => {} };
    if (id % 2) transportClient(t, wsUrl(srv), headers).subscribe({ query: MINE }, sink);
    else {
      const c = new SubscriptionClient(wsUrl(srv), { connectionParams: { headers }, reconnect: false, minTimeout: 10_000 }, WebSocket);
      legacy.push(c);
      c.request({ query: MINE }).subscribe(sink);
    }
  }
  const waitAll = async (ok: (s: (typeof subs)[number]) => boolean, ms = 15_000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && !subs.every(ok)) await new Promise((r) => setTimeout(r, 50));
    return subs.filter((s) => !ok(s)).map((s) => `user ${s.id}: ${JSON.stringify(s.results.at(-1))}`);
  };
  t.same(await waitAll((s) => s.results.length > 0), [], "every subscriber's first result");

  // For 3 s: the server's connections killed as soon as they appear (polls cut mid-batch), and each user's amounts changed.
  const killer = new pg.Client({ connectionString: db.rootUrl });
  await killer.connect();
  t.teardown(() => killer.end());
  let killed = 0;
  let lastWrite = 0;
  const until = Date.now() + 3_000;
  while (Date.now() < until) {
    const { rows } = await killer.query(
      `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
        where datname = $1 and usename = 'authenticator' and backend_type = 'client backend' and pid <> pg_backend_pid()`,
      [db.name],
    );
    killed += rows[0].n;
    if (Date.now() - lastWrite > 500) {
      lastWrite = Date.now();
      await killer.query(`update public.transaction set amount = amount + 1000 where path like '/t/%'`);
      const { rows: all } = await killer.query(`select "userId", amount::text as amount from public.transaction order by amount::int`);
      for (const s of subs) {
        s.allowed.add(JSON.stringify(all.filter((r) => r.userId === s.id).map((r) => ({ userId: r.userId, amount: String(r.amount) }))));
      }
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const errorResults = subs.reduce((n, s) => n + s.results.filter((r) => r.errors).length, 0);
  t.comment(`${killed} backends terminated; ${errorResults} error results, ${subs.reduce((n, s) => n + s.results.length, 0)} in all`);
  t.ok(killed > 0, "connections were cut");
  const wrongRows = subs.flatMap((s) =>
    s.results
      .filter((r) => (r.errors ? r.data && Object.values(r.data).some((v) => v !== null) : !s.allowed.has(seen(r))))
      .map((r) => `user ${s.id}: ${JSON.stringify(r).slice(0, 200)}`),
  );
  t.same(wrongRows.slice(0, 10), [], "every result: errors without data, or the user's own rows of some moment");
  const final = new Map(await Promise.all(subs.map(async (s) => [s.id, await truth(s.id)] as const)));
  t.same(
    await waitAll((s) => !s.results.at(-1)?.errors && seen(s.results.at(-1)) === final.get(s.id)),
    [],
    "then every subscriber is current again, on the same socket",
  );
});

t.test("graceful shutdown: an in-flight operation is answered, then sockets close with 1001", async (t) => {
  const db = await createTestDatabase(t);
  await db.asOwner(`create function public.slow_answer() returns int language sql stable as $$ select 42 from pg_sleep(1) $$`);
  await db.asOwner(`create view public.slow_rows as select 1 as n from pg_sleep(1)`);
  await db.asRoot(`grant execute on function public.slow_answer() to admin; grant select on public.slow_rows to admin`);
  const srv = await startServer(t, { db, env: { ...SECURED_JWT, HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL: "100" } });

  // A live subscription on the legacy protocol, and a slow query in flight on graphql-transport-ws (PostGraphile's dialect).
  const live = await rawSocket(wsUrl(srv), "graphql-ws");
  live.send({ type: "connection_init", payload: { headers: ADMIN } });
  await live.next("connection_ack");
  live.send({ type: "start", id: "1", payload: { query: USERS } });
  await live.next("data");

  const s = await rawSocket(wsUrl(srv, "/graphql"), "graphql-transport-ws");
  s.send({ type: "connection_init", payload: { headers: ADMIN } });
  await s.next("connection_ack");
  s.send({ type: "subscribe", id: "warm", payload: { query: "{ slowAnswer }" } });
  t.same((await s.next("next", 5_000)).payload, { data: { slowAnswer: 42 } }, "the slow query answers (1 s)");
  await s.next("complete");
  s.send({ type: "subscribe", id: "q", payload: { query: "{ slowAnswer }" } });
  // The same on the legacy protocol (Hasura's dialect: the function is no tracked root field there; a slow list is).
  const l = await rawSocket(wsUrl(srv), "graphql-ws");
  l.send({ type: "connection_init", payload: { headers: ADMIN } });
  await l.next("connection_ack");
  l.send({ type: "start", id: "q", payload: { query: "{ slow_rows { n } }" } });
  await new Promise((r) => setTimeout(r, 200)); // the queries are running
  const closing = srv.app.close();
  const closed = await s.closed;
  await closing;
  const order = s.messages.map((m) => m.type);
  const answer = s.messages.find((m) => m.type === "next");
  t.same(answer?.payload, { data: { slowAnswer: 42 } }, "the in-flight query's answer was delivered");
  t.same(order, ["next", "complete"], "then complete, before the close");
  t.equal(closed.code, 1001, "then 1001");
  t.equal(closed.reason, "server shutting down");
  const legacyClosed = await l.closed;
  t.same(
    l.messages.filter((m) => m.type !== "ka").map((m) => (m.type === "data" ? { data: m.payload } : m.type)),
    [{ data: { data: { slow_rows: [{ n: 1 }] } } }, "complete"],
    "legacy: the in-flight query's data and complete were delivered",
  );
  t.equal(legacyClosed.code, 1001, "legacy: then 1001");
  const liveClosed = await live.closed;
  t.equal(liveClosed.code, 1001, "the live subscription's socket: 1001");
});
