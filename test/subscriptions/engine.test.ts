/**
 * The live-query engine (server/subscriptions/engine.ts) on the school
 * project's real role schemas (Hasura dialect) and database: many
 * subscribers of one shape are one poller; cohorts are the distinct values
 * of the session variables the role's policies read (./session-keys.ts);
 * results equal the rules restated in SQL; a write arrives within about two
 * intervals and an unchanged result is not pushed again; a cohort whose
 * query fails gets its error while the others keep receiving; streams
 * advance their cursor; the batched withPgClient sends each tick's cohorts
 * in one write.
 */
import { parse, validate } from "graphql";
import t from "tap";
import type { HasuraSession } from "../../server/auth/pg-settings.ts";
import { servFor } from "../../server/graphql/schemas.ts";
import { makeBatchedWithPgClient } from "../../server/subscriptions/batched-pg.ts";
import { createLiveEngine, type LiveRequest, type LiveResult, type StreamField } from "../../server/subscriptions/engine.ts";
import { createSessionKeys, readVariables } from "../../server/subscriptions/session-keys.ts";
import { query, superuserUrl } from "../helpers/pg.ts";
import { startServer } from "../helpers/server.ts";

const INTERVAL = 200;
// npm run test:pgbouncer with PgBouncer < 1.21: the server runs without named prepared statements, so does the poller.
const PREPARED = !(process.env.TEST_PGBOUNCER_PORT && process.env.TEST_PGBOUNCER_PREPARED_STATEMENTS === "0");
const srv = await startServer(t, { project: "app" });
const { app, db } = srv;

// More users on three campuses: many distinct sessions.
const USERS = 40;
await db.asRoot(`
  insert into public."user" (id, login, campus)
    select 4 + g, 'extra-' || g, (array['madere', 'pyc', 'nice'])[1 + g % 3]
      from generate_series(1, ${USERS}) g;
  select setval(pg_get_serial_sequence('public."user"', 'id'), 1000);`);

const sessionKeys = createSessionKeys(app.pgPool, ["public"]);
const batched = makeBatchedWithPgClient(app.pgPool, { preparedStatements: PREPARED });

async function request(
  role: string,
  variables: Record<string, string>,
  query: string,
  vars: Record<string, unknown> = {},
  streams: StreamField[] = [],
): Promise<LiveRequest> {
  const serv = await servFor(app.hasuraSchemas, role, app.log);
  const schema = await serv.getSchema();
  const document = parse(query);
  const invalid = validate(schema, document);
  if (invalid.length) throw invalid[0];
  const session: HasuraSession = { role, variables: { "x-hasura-role": role, ...variables }, claims: null };
  return {
    dialect: "hasura",
    session,
    schema,
    resolvedPreset: serv.resolvedPreset,
    document,
    variables: vars,
    streams,
    requestContext: { hasuraSession: session },
  };
}

/** Every result a subscriber got, and a way to wait for the next. */
function collector() {
  const got: LiveResult[] = [];
  let waiters: Array<() => void> = [];
  return {
    got,
    push(r: LiveResult) {
      got.push(r);
      for (const w of waiters) w();
      waiters = [];
    },
    async until(n: number, ms = 5000) {
      const deadline = Date.now() + ms;
      while (got.length < n && Date.now() < deadline) await new Promise<void>((r) => waiters.push(r) && setTimeout(r, 50));
      return got.length >= n;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test("session keys: what each school role's policies read", async (t) => {
  t.same(await readVariables(app.pgPool, "user", ["public"]), { all: false, names: ["x-hasura-user-id"] }, "user: its user id");
  t.same(
    await readVariables(app.pgPool, "campus-admin", ["public"]),
    { all: false, names: ["x-hasura-campus"] },
    "campus-admin: its campuses",
  );
  t.same(await readVariables(app.pgPool, "admin", ["public"]), { all: false, names: [] }, "admin: nothing");
  // A policy reading the whole session: every variable.
  await db.asOwner(`
    create policy user_whole_session on public.object_type for select to "user"
      using ((select hasura.session()) ? 'x-hasura-anything')`);
  t.same(await readVariables(app.pgPool, "user", ["public"]), { all: true }, "a policy reading hasura.session(): all");
  await db.asOwner(`drop policy user_whole_session on public.object_type`);
  // A SECURITY DEFINER function the role may call reads as its owner: the owner's policies count.
  await db.asOwner(`
    create policy owner_probe on public.object_type for select to app_owner
      using ((select hasura.session_var('x-hasura-org-id')) is not null or true);
    create function public.probe_count() returns bigint language sql stable security definer set search_path = ''
      as $$ select count(*) from public.object_type $$;`);
  t.same(
    await readVariables(app.pgPool, "user", ["public"]),
    // app_owner is a member of the application roles: their campus policies apply to it too.
    { all: false, names: ["x-hasura-campus", "x-hasura-org-id", "x-hasura-user-id"] },
    "a definer function's owner's policies",
  );
  await db.asOwner(`drop function public.probe_count(); drop policy owner_probe on public.object_type`);
  t.same(await readVariables(app.pgPool, "user", ["public"]), { all: false, names: ["x-hasura-user-id"] }, "and without it, as before");
  // A volatile function is a mutation (never called by a live query); a stable one is a query field.
  await db.asOwner(`
    create function public.probe_touch() returns jsonb language sql volatile as $$ select hasura.session() $$;`);
  t.same(await readVariables(app.pgPool, "user", ["public"]), { all: false, names: ["x-hasura-user-id"] }, "a volatile function: not read");
  await db.asOwner(`alter function public.probe_touch() stable`);
  t.same(await readVariables(app.pgPool, "user", ["public"]), { all: true }, "the same function stable: the whole session");
  t.same(
    await readVariables(app.pgPool, "user", ["other"]),
    { all: false, names: ["x-hasura-user-id"] },
    "outside the served schemas: not read",
  );
  await db.asOwner(`drop function public.probe_touch()`);
});

t.test("one poller, cohorts by the variables policies read, results as the rules say", async (t) => {
  const engine = createLiveEngine({ intervalMs: INTERVAL, withPgClient: batched, sessionKeys, log: (e) => t.comment(String(e)) });
  t.teardown(() => engine.close());
  const QUERY = "subscription_probe: query { user(order_by: {id: asc}) { id login } }".replace("subscription_probe: ", "");
  const ids = Array.from({ length: 20 }, (_, i) => i + 1);
  const subs: Array<{ id: number; c: ReturnType<typeof collector>; stop: () => void }> = [];
  for (const id of ids) {
    // Three subscribers per user, differing in a variable no policy reads.
    for (let copy = 0; copy < 3; copy++) {
      const c = collector();
      const req = await request("user", { "x-hasura-user-id": String(id), "x-hasura-unread": `copy-${copy}` }, QUERY);
      subs.push({ id, c, stop: engine.subscribe(req, c.push) });
    }
  }
  for (const s of subs) t.ok(await s.c.until(1), `user ${s.id} got a first result`);
  const stats = engine.stats();
  t.equal(stats.pollers, 1, "one poller for the shape");
  t.equal(stats.cohorts, ids.length, "one cohort per user id (the unread variable does not split them)");
  t.equal(stats.subscribers, ids.length * 3);
  const expected = async (id: number) =>
    (await db.asRoot<{ id: number; login: string }>(`select id, login from public."user" where id = $1 order by id`, [id])).map((r) => ({
      id: Number(r.id),
      login: r.login,
    }));
  for (const s of subs) t.same(s.c.got[0], { data: { user: await expected(s.id) } }, `user ${s.id} sees exactly its own row`);

  // A write to user 5: its subscribers get it within about two intervals, nobody else gets anything.
  const before = subs.map((s) => s.c.got.length);
  const written = Date.now();
  await db.asRoot(`update public."user" set login = 'renamed-5' where id = 5`);
  for (const s of subs.filter((s) => s.id === 5)) t.ok(await s.c.until(2, 3 * INTERVAL), "the write is delivered");
  t.ok(Date.now() - written <= 2 * INTERVAL + 150, `within ~2 intervals (${Date.now() - written} ms)`);
  await sleep(3 * INTERVAL);
  subs.forEach((s, i) => {
    if (s.id === 5) {
      t.equal(s.c.got.length, 2, "user 5: one new result, not repeated");
      t.same(s.c.got[1], { data: { user: [{ id: 5, login: "renamed-5" }] } });
    } else t.equal(s.c.got.length, before[i], `user ${s.id}: nothing new (unchanged results are not pushed)`);
  });

  // A late subscriber of an existing cohort gets the last result at once.
  const late = collector();
  const stopLate = engine.subscribe(await request("user", { "x-hasura-user-id": "5" }, QUERY), late.push);
  t.ok(await late.until(1, 100), "a new subscriber of a cohort gets its last result at once");
  t.same(late.got[0], { data: { user: [{ id: 5, login: "renamed-5" }] } });
  stopLate();

  for (const s of subs) s.stop();
  t.same(engine.stats(), { ...engine.stats(), pollers: 0, cohorts: 0, subscribers: 0 }, "the poller stops with its last subscriber");
});

t.test("a failing cohort gets its error; the others keep receiving", async (t) => {
  const engine = createLiveEngine({ intervalMs: INTERVAL, withPgClient: batched, sessionKeys });
  t.teardown(() => engine.close());
  const QUERY = "query { user { id login } }";
  const good = collector();
  const bad = collector();
  const missing = collector();
  const stops = [
    engine.subscribe(await request("user", { "x-hasura-user-id": "7" }, QUERY), good.push),
    // hasura.user_id_int() raises 22P02 for a non-canonical id, HA404 without one.
    engine.subscribe(await request("user", { "x-hasura-user-id": "07" }, QUERY), bad.push),
    engine.subscribe(await request("user", {}, QUERY), missing.push),
  ];
  t.ok((await good.until(1)) && (await bad.until(1)) && (await missing.until(1)));
  t.same(good.got[0], { data: { user: [{ id: 7, login: "extra-3" }] } });
  t.match(
    bad.got[0],
    { errors: [{ message: /invalid input syntax/, extensions: { code: String } }] },
    "the bad id's cohort gets its error",
  );
  t.notOk("data" in bad.got[0]!, "and no data");
  t.match(missing.got[0], { errors: [{ message: 'missing session variables: "x-hasura-user-id"', extensions: { code: "not-found" } }] });
  await db.asRoot(`update public."user" set login = 'renamed-7' where id = 7`);
  t.ok(await good.until(2), "the good cohort still receives");
  t.same(good.got[1], { data: { user: [{ id: 7, login: "renamed-7" }] } });
  await sleep(2 * INTERVAL);
  t.equal(bad.got.length, 1, "the same error is not pushed again every tick");
  for (const stop of stops) stop();

  // One poller, two cohorts by GraphQL variables: one whose variable fails, one that works.
  const BY_ID = "query ($id: Int!) { user(where: {id: {_eq: $id}}) { id login } }";
  const ok = collector();
  const failing = collector();
  const more = [
    engine.subscribe(await request("admin", {}, BY_ID, { id: 8 }), ok.push),
    engine.subscribe(await request("admin", {}, BY_ID, { id: 2 ** 40 }), failing.push),
  ];
  t.ok((await ok.until(1)) && (await failing.until(1)));
  t.equal(engine.stats().pollers, 1, "one poller for the shape");
  t.same(ok.got[0], { data: { user: [{ id: 8, login: "extra-4" }] } });
  t.match(failing.got[0], { errors: [{ extensions: { code: "validation-failed" } }] }, "the bad variable's cohort gets its error");
  await db.asRoot(`update public."user" set login = 'renamed-8' where id = 8`);
  t.ok(await ok.until(2), "the other cohort still receives");
  for (const stop of more) stop();
});

t.test("campus-admin: cohorts by campus set", async (t) => {
  const engine = createLiveEngine({ intervalMs: INTERVAL, withPgClient: batched, sessionKeys });
  t.teardown(() => engine.close());
  const QUERY = "query { user(order_by: {id: asc}) { id campus } }";
  const sets = ["{madere}", "{pyc}", "{madere,pyc}", "{nice}"];
  const cs = [];
  for (let i = 0; i < 12; i++) {
    const c = collector();
    engine.subscribe(await request("campus-admin", { "x-hasura-campus": sets[i % 4]!, "x-hasura-user-id": String(i) }, QUERY), c.push);
    cs.push({ set: sets[i % 4]!, c });
  }
  for (const { c } of cs) t.ok(await c.until(1));
  t.equal(engine.stats().cohorts, 4, "one cohort per campus set (the user id is not read by campus-admin's policies)");
  for (const { set, c } of cs) {
    const rows = await db.asRoot<{ id: number; campus: string }>(
      `select id, campus from public."user" where campus = any ($1::text[]) order by id`,
      [set],
    );
    t.same(c.got[0], { data: { user: rows.map((r) => ({ id: Number(r.id), campus: r.campus })) } }, `campuses ${set}`);
  }
});

t.test("a stream: the cursor advances per cohort, empty polls send nothing", async (t) => {
  const engine = createLiveEngine({ streamIntervalMs: INTERVAL, withPgClient: batched, sessionKeys });
  t.teardown(() => engine.close());
  const QUERY = "query ($c: Int!) { user(where: {id: {_gt: $c}}, order_by: {id: asc}, limit: 10) { id login } }";
  const stream: StreamField = { alias: "user", cursorColumns: [{ name: "id", ordering: "ASC" }], batchSize: 10, variableName: "c" };
  const c = collector();
  engine.subscribe(await request("admin", {}, QUERY, { c: 0 }, [stream]), c.push);
  t.ok(await c.until(5), "five batches of the 44 users");
  const ids = c.got.flatMap((r) => (r.data as { user: Array<{ id: number }> }).user.map((u) => u.id));
  t.same(
    ids,
    Array.from({ length: 44 }, (_, i) => i + 1),
    "every row once, in order",
  );
  await sleep(2 * INTERVAL);
  t.equal(c.got.length, 5, "no empty batches");
  await db.asRoot(`insert into public."user" (id, login, campus) values (2000, 'new', 'pyc')`);
  t.ok(await c.until(6));
  t.same(c.got[5], { data: { user: [{ id: 2000, login: "new" }] } }, "a new row arrives as the next batch");
  // Two subscribers starting together share a cohort and get the same batches.
  const e1 = collector();
  const e2 = collector();
  const cohortsBefore = engine.stats().cohorts;
  engine.subscribe(await request("admin", {}, QUERY, { c: 1000 }, [stream]), e1.push);
  engine.subscribe(await request("admin", {}, QUERY, { c: 1000 }, [stream]), e2.push);
  t.ok((await e1.until(1)) && (await e2.until(1)));
  t.equal(engine.stats().cohorts, cohortsBefore + 1, "one cohort for the same start");
  t.same(e1.got, e2.got);
  t.same(e1.got[0], { data: { user: [{ id: 2000, login: "new" }] } });
  // A second subscriber of the same start does not join the advanced cohort.
  const d = collector();
  engine.subscribe(await request("admin", {}, QUERY, { c: 40 }, [stream]), d.push);
  t.ok(await d.until(1));
  t.same(
    (d.got[0]!.data as { user: Array<{ id: number }> }).user.map((u) => u.id),
    [41, 42, 43, 44, 2000],
  );
});

t.test("statements per tick: N cohorts cost ceil(N / batchSize) round trips, one statement each", async (t) => {
  const own = makeBatchedWithPgClient(app.pgPool, { preparedStatements: PREPARED });
  const engine = createLiveEngine({ intervalMs: INTERVAL, batchSize: 100, withPgClient: own, sessionKeys });
  t.teardown(() => engine.close());
  const QUERY = "query { user { id login } }";
  const N = 200;
  const cs = [];
  for (let i = 0; i < N; i++) {
    const c = collector();
    // Users beyond the table's ids see nothing, but each is its own cohort.
    engine.subscribe(await request("user", { "x-hasura-user-id": String(i + 1) }, QUERY), c.push);
    cs.push(c);
  }
  for (const c of cs) await c.until(1);
  await sleep(2 * INTERVAL);
  const start = { ...own.stats(), ...engine.stats() };
  await sleep(10 * INTERVAL);
  const end = { ...own.stats(), ...engine.stats() };
  const ticks = end.ticks - start.ticks;
  const writesPerTick = (end.writes - start.writes) / ticks;
  const statementsPerTick = (end.statements - start.statements) / ticks;
  t.comment(
    `N=${N} cohorts, batchSize 100, nothing changing: ${ticks} ticks, ${writesPerTick.toFixed(2)} round trips and ${statementsPerTick.toFixed(0)} statements per tick, ` +
      `${end.executions - start.executions} grafast executions, ${end.replayHits - start.replayHits} of ${end.replays - start.replays} replays unchanged`,
  );
  t.ok(ticks >= 5, "the poller ticked");
  // Counted over a window that need not fall on tick boundaries: a tick's worth of slack.
  t.ok(writesPerTick <= 2.5, `about ceil(N / batchSize) = 2 round trips per tick (${writesPerTick.toFixed(2)})`);
  t.ok(Math.abs(statementsPerTick - N) <= N / ticks + 1, `one statement per cohort per tick (${statementsPerTick.toFixed(1)})`);
  t.equal(
    end.executions - start.executions,
    0,
    "nothing changed: no cohort went through grafast again (its statements' rows were compared)",
  );

  // One row changes: only its cohort is executed again.
  const e0 = engine.stats().executions;
  await db.asRoot(`update public."user" set login = 'renamed-11' where id = 11`);
  t.ok(await cs[10]!.until(2), "the changed cohort's result is delivered");
  t.same(cs[10]!.got[1], { data: { user: [{ id: 11, login: "renamed-11" }] } });
  await sleep(2 * INTERVAL);
  t.equal(engine.stats().executions - e0, 1, "one grafast execution: the changed cohort's");
});

t.test(
  "the database unavailable: the error is pushed, the poller keeps polling and recovers",
  // PgBouncer holds queries while the database refuses it (query_wait_timeout) rather than failing them.
  { skip: process.env.TEST_PGBOUNCER_PORT ? "through PgBouncer queries wait for the database instead of failing" : false },
  async (t) => {
    const engine = createLiveEngine({ intervalMs: INTERVAL, withPgClient: batched, sessionKeys });
    t.teardown(() => engine.close());
    const c = collector();
    engine.subscribe(await request("user", { "x-hasura-user-id": "9" }, "query { user { id login } }"), c.push);
    t.ok(await c.until(1));
    t.same(c.got[0], { data: { user: [{ id: 9, login: "extra-5" }] } });
    // No new connections to this database, and the pooled ones cut.
    await query(superuserUrl(), `alter database ${db.name} with allow_connections false`);
    let restored = false;
    const restore = async () => {
      if (!restored) await query(superuserUrl(), `alter database ${db.name} with allow_connections true`);
      restored = true;
    };
    t.teardown(restore);
    await query(superuserUrl(), `select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [
      db.name,
    ]);
    t.ok(await c.until(2), "an error arrives");
    t.match(c.got[1], { errors: [{ message: String, extensions: { code: String } }] }, `in Hasura's shape: ${JSON.stringify(c.got[1])}`);
    t.equal(engine.stats().pollers, 1, "the poller goes on");
    await restore();
    t.ok(await c.until(3), "and recovers once the database is back");
    t.same(c.got[c.got.length - 1], { data: { user: [{ id: 9, login: "extra-5" }] } }, "with the same rows as before");
  },
);

t.test("measured: a tick of 500 unchanging cohorts, with and without replay, batches in turn or at once", async (t) => {
  const N = 500;
  for (const [replay, concurrentBatches] of [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const) {
    const own = makeBatchedWithPgClient(app.pgPool, { preparedStatements: PREPARED });
    const engine = createLiveEngine({ intervalMs: INTERVAL, batchSize: 100, replay, concurrentBatches, withPgClient: own, sessionKeys });
    const cs = [];
    for (let i = 0; i < N; i++) {
      const c = collector();
      engine.subscribe(await request("user", { "x-hasura-user-id": String(i + 1) }, "query { user { id login } }"), c.push);
      cs.push(c);
    }
    for (const c of cs) await c.until(1, 20_000);
    const s0 = { ...engine.stats(), ...own.stats() };
    await sleep(3000);
    const s1 = { ...engine.stats(), ...own.stats() };
    await engine.close();
    const ticks = s1.ticks - s0.ticks;
    t.ok(ticks > 0, "it ticked");
    t.comment(
      `${N} cohorts, batchSize 100, replay ${replay ? "on" : "off"}, ${concurrentBatches ? "concurrent" : "sequential"} batches: ` +
        `${((s1.tickMs - s0.tickMs) / ticks).toFixed(0)} ms per tick, ${((s1.writes - s0.writes) / ticks).toFixed(1)} round trips per tick`,
    );
  }
});

t.test("measured: 500 cohorts whose rows all change every tick", async (t) => {
  const N = 500;
  await db.asRoot(`insert into public."user" (id, login, campus) select 3000 + g, 'w-' || g, 'pyc' from generate_series(1, ${N}) g`);
  const own = makeBatchedWithPgClient(app.pgPool, { preparedStatements: PREPARED });
  const engine = createLiveEngine({ intervalMs: INTERVAL, batchSize: 100, withPgClient: own, sessionKeys });
  t.teardown(() => engine.close());
  const cs = [];
  for (let i = 1; i <= N; i++) {
    const c = collector();
    engine.subscribe(await request("user", { "x-hasura-user-id": String(3000 + i) }, "query { user { id login } }"), c.push);
    cs.push(c);
  }
  for (const c of cs) await c.until(1, 20_000);
  let writing = true;
  const writer = (async () => {
    for (let k = 0; writing; k++) {
      await db.asRoot(`update public."user" set login = 'w-' || id || '-' || $1::int where id > 3000`, [k]);
      await sleep(INTERVAL);
    }
  })();
  const s0 = { ...engine.stats(), ...own.stats() };
  await sleep(3000);
  const s1 = { ...engine.stats(), ...own.stats() };
  writing = false;
  await writer;
  const ticks = s1.ticks - s0.ticks;
  const per = (k: keyof typeof s0) => ((s1[k] - s0[k]) / ticks).toFixed(1);
  t.comment(
    `${N} cohorts, every row changing: ${per("tickMs")} ms per tick, ${per("writes")} round trips, ${per("statements")} statements, ` +
      `${per("executions")} grafast executions per tick`,
  );
  t.ok(ticks > 0);
  t.ok(
    (s1.statements - s0.statements) / ticks <= N * 1.25,
    "about one statement per cohort per tick: the replay's rows feed the execution",
  );
  t.ok(
    cs.every((c) => c.got.length >= 2),
    "every subscriber received changes",
  );
  const last = cs[0]!.got[cs[0]!.got.length - 1] as { data: { user: Array<{ id: number; login: string }> } };
  t.match(last.data.user, [{ id: 3001, login: /^w-3001-\d+$/ }], "its own row, as written");
});

t.test("bounds: subscribers and cohorts", async (t) => {
  const engine = createLiveEngine({ intervalMs: INTERVAL, withPgClient: batched, sessionKeys, maxSubscribers: 3, maxCohorts: 2 });
  t.teardown(() => engine.close());
  const QUERY = "query { user { id } }";
  const got: LiveResult[] = [];
  const a = engine.subscribe(await request("user", { "x-hasura-user-id": "1" }, QUERY), (r) => got.push(r));
  engine.subscribe(await request("user", { "x-hasura-user-id": "2" }, QUERY), (r) => got.push(r));
  const third = collector();
  // A third cohort: refused once the session keys are known, as an error pushed to it.
  engine.subscribe(await request("user", { "x-hasura-user-id": "3" }, QUERY), third.push);
  t.ok(await third.until(1));
  t.match(third.got[0], { errors: [{ message: /overloaded \(2 live query cohorts\)/ }] }, "over the cohort bound");
  engine.subscribe(await request("user", { "x-hasura-user-id": "1" }, QUERY), (r) => got.push(r));
  t.equal(engine.stats().subscribers, 3);
  await t.rejects(
    (async () => engine.subscribe(await request("user", { "x-hasura-user-id": "1" }, QUERY), () => {}))(),
    { message: /overloaded \(3 live queries\)/ },
    "over the subscriber bound, subscribe throws",
  );
  a();
  t.equal(engine.stats().subscribers, 2, "a subscriber leaving makes room");
  await engine.close();
  t.throws(() => engine.subscribe({} as LiveRequest, () => {}), { message: /shutting down/ }, "closed");
});

t.test("replay with several statements: a change behind any of them is delivered, once", async (t) => {
  const engine = createLiveEngine({ intervalMs: INTERVAL, withPgClient: batched, sessionKeys });
  t.teardown(() => engine.close());
  const QUERY = "query { user(where: {id: {_eq: 6}}) { id login } role(order_by: {id: asc}, limit: 1) { id name } }";
  const c = collector();
  engine.subscribe(await request("admin", {}, QUERY), c.push);
  t.ok(await c.until(1));
  const first = (await db.asRoot<{ id: number; name: string }>(`select id, name from public.role order by id limit 1`))[0]!;
  t.same(c.got[0], { data: { user: [{ id: 6, login: "extra-2" }], role: [{ id: first.id, name: first.name }] } });
  await sleep(2 * INTERVAL);
  const executions = engine.stats().executions;
  t.equal(c.got.length, 1, "unchanged: nothing pushed");
  await db.asRoot(`update public.role set name = 'renamed role' where id = $1`, [first.id]);
  t.ok(await c.until(2), "a change behind the second statement is delivered");
  t.same(c.got[1], { data: { user: [{ id: 6, login: "extra-2" }], role: [{ id: first.id, name: "renamed role" }] } });
  await db.asRoot(`update public."user" set login = 'renamed-6' where id = 6`);
  t.ok(await c.until(3), "and one behind the first");
  t.same(c.got[2], { data: { user: [{ id: 6, login: "renamed-6" }], role: [{ id: first.id, name: "renamed role" }] } });
  await sleep(3 * INTERVAL);
  t.equal(c.got.length, 3, "each change once");
  t.equal(engine.stats().executions - executions, 2, "grafast ran once per change");
});
