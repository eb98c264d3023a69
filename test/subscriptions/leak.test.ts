/**
 * No subscriber ever receives a row its role and session may not see
 * (issue 15, "Reliability and security"): the HTTP leak test's idea
 * (test/reliability/leaks.test.ts) for live queries and streams.
 *
 * 540+ subscriptions on 180 sockets, half graphql-transport-ws (graphql-ws's
 * client), half legacy graphql-ws (subscriptions-transport-ws's client),
 * over a pool of 2 connections (and PgBouncer under test:pgbouncer): the six
 * school roles, 45 user ids, 7 campus sets, JWT and admin-secret sessions,
 * a session whose rule fails (user id "abc"), and four query shapes (a list,
 * `_by_pk`, `_aggregate`, `_stream`). The expected result of every
 * subscriber at every moment comes from the seed's rules written again in
 * SQL and run as the superuser, never from the server. Writes during the
 * run (inserts, an update, a delete) move the truth: every live result must
 * equal its session's truth at some moment (in order), and the last one the
 * final truth; a stream's rows must be exactly its session's rows, each once,
 * in cursor order. Then a third of the subscribers stop and start again on
 * their sockets (joining running pollers and cohorts) while four writes
 * follow each other; a stopped subscription receives nothing more. Campus
 * sets arrive in either order.
 */
import pg from "pg";
import { SubscriptionClient } from "subscriptions-transport-ws";
import t from "tap";
import WebSocket from "ws";
import { createTestDatabase } from "../helpers/pg.ts";
import { canonical, rowSet } from "../helpers/rows.ts";
import { ADMIN, SECURED_JWT } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";
import { NS, sign } from "../helpers/tokens.ts";
import { transportClient, wsUrl } from "../helpers/ws.ts";

const SOCKETS = Number(process.env.SUB_LEAK_SOCKETS ?? 180);
const PER_SOCKET = 3;
const POOL = 2;
const INTERVAL_MS = 250;
t.setTimeout(Number(process.env.SUB_LEAK_TIMEOUT_MS ?? 180_000));

const db = await createTestDatabase(t);
const EXTRA_USERS = 40;
await db.asRoot(`
  insert into public."user" (id, login, campus)
    select 4 + g, 'extra-' || g, (array['madere', 'pyc', 'nice'])[1 + g % 3]
      from generate_series(1, ${EXTRA_USERS}) g;
  insert into public.transaction (type, amount, "userId", "objectId", path, campus)
    select (array['xp', 'up', 'down'])[1 + (g + k) % 3], g * 100 + k, 4 + g, 2, '/x/' || g, (array['madere', 'pyc', 'nice'])[1 + (g + k) % 3]
      from generate_series(1, ${EXTRA_USERS}) g, generate_series(1, 1 + g % 4) k;
  select setval(pg_get_serial_sequence('public."user"', 'id'), 1000);`);

// The test's own superuser connection: expectations and writes.
const root = new pg.Client({ connectionString: db.rootUrl });
await root.connect();
t.teardown(() => root.end());
const sql = async (text: string, values: unknown[] = []) => (await root.query(text, values)).rows;

// ---------------------------------------------------------------------------
// Sessions, shapes and the rules in SQL.
// ---------------------------------------------------------------------------
interface Session {
  role: string;
  userId?: string;
  campus?: string[];
  /** The rule cannot evaluate this session: every result is an error. */
  bad?: boolean;
}
const USER_IDS = [...Array.from({ length: 4 + EXTRA_USERS }, (_, i) => String(i + 1)), "999"];
const CAMPUS_SETS = [["madere"], ["pyc"], ["nice"], ["madere", "pyc"], ["pyc", "nice"], ["madere", "nice"], ["nowhere"]];
const SESSIONS: Session[] = [
  { role: "anonymous" },
  ...USER_IDS.map((userId) => ({ role: "user", userId })),
  { role: "user", userId: "abc", bad: true },
  ...["campus-admin", "admin-campus-read-only"].flatMap((role) => CAMPUS_SETS.map((campus) => ({ role, campus }))),
  { role: "admin" },
  { role: "admin-read-only" },
];
const ROLES = [...new Set(SESSIONS.map((s) => s.role))];
const sessionKey = (s: Session) => `${s.role}|${s.userId ?? ""}|${(s.campus ?? []).join(",")}`;

type Shape = "list" | "byPk" | "aggregate" | "stream";
const SHAPES: Shape[] = ["list", "byPk", "aggregate", "stream"];

/** The session's rule on `transaction` (anonymous, admins: every row). */
function txRule(s: Session): { where: string; params: unknown[] } {
  if (s.role === "user") return { where: `"userId" = $1::int`, params: [s.userId] };
  if (s.role === "campus-admin" || s.role === "admin-campus-read-only") return { where: "campus = any($1::text[])", params: [s.campus] };
  return { where: "true", params: [] };
}

const anon = (s: Session) => s.role === "anonymous";

function queryFor(s: Session, shape: Shape): string {
  switch (shape) {
    case "list":
      return anon(s)
        ? "subscription { transaction { objectId userId amount type } }"
        : "subscription { transaction(order_by: {id: asc}) { id type amount userId campus } }";
    case "byPk":
      // anonymous reads no transaction id: its by-pk subscription is on `user`.
      return anon(s)
        ? "subscription ($id: Int!) { user_by_pk(id: $id) { id login } }"
        : "subscription ($id: Int!) { transaction_by_pk(id: $id) { id amount userId campus } }";
    case "aggregate":
      return "subscription { transaction_aggregate { aggregate { count } } }";
    case "stream":
      return anon(s)
        ? "subscription ($b: Int!) { user_stream(batch_size: $b, cursor: {initial_value: {id: 0}, ordering: ASC}) { id login } }"
        : "subscription ($b: Int!) { transaction_stream(batch_size: $b, cursor: {initial_value: {id: 0}, ordering: ASC}) { id userId campus type } }";
  }
}

/** What a live shape's result must be now for this session (superuser SQL), as comparable text. */
async function truth(s: Session, shape: Exclude<Shape, "stream">, vars: Record<string, unknown>): Promise<string> {
  const { where, params } = txRule(s);
  if (shape === "list") {
    const cols = anon(s) ? `"objectId", "userId", amount::text as amount, type` : `id, type, amount::text as amount, "userId", campus`;
    return `list:${rowSet(await sql(`select ${cols} from public.transaction where ${where}`, params))}`;
  }
  if (shape === "aggregate") {
    const [r] = await sql(`select count(*)::int as count from public.transaction where ${where}`, params);
    return `count:${r.count}`;
  }
  if (anon(s)) {
    const rows = await sql(`select id, login from public."user" where id = $1`, [vars.id]);
    return `pk:${rows.length ? rowSet(rows) : "null"}`;
  }
  const p = params.length + 1;
  const rows = await sql(`select id, amount::text as amount, "userId", campus from public.transaction where (${where}) and id = $${p}`, [
    ...params,
    vars.id,
  ]);
  return `pk:${rows.length ? rowSet(rows) : "null"}`;
}

/** A stream's rows for this session: every allowed row, in cursor order, ids only (the row text checked separately). */
async function streamTruth(s: Session): Promise<Map<number, string>> {
  if (anon(s)) {
    const rows = await sql(`select id, login from public."user" order by id`);
    return new Map(rows.map((r) => [r.id, canonical({ id: String(r.id), login: r.login })]));
  }
  const { where, params } = txRule(s);
  const rows = await sql(`select id, "userId", campus, type from public.transaction where ${where} order by id`, params);
  return new Map(
    rows.map((r) => [
      r.id,
      canonical({ id: String(r.id), userId: String(r.userId), campus: r.campus === null ? null : r.campus, type: r.type }),
    ]),
  );
}

/** A delivered result as the comparable text of `truth`, or why it is not a result. */
function observed(s: Session, shape: Exclude<Shape, "stream">, result: any): string {
  if (result?.errors) return `errors:${JSON.stringify(result.errors)}`;
  const d = result?.data;
  if (shape === "list") return Array.isArray(d?.transaction) ? `list:${rowSet(d.transaction)}` : `bad:${JSON.stringify(result)}`;
  if (shape === "aggregate") return `count:${d?.transaction_aggregate?.aggregate?.count}`;
  const row = anon(s) ? d?.user_by_pk : d?.transaction_by_pk;
  return row === undefined ? `bad:${JSON.stringify(result)}` : `pk:${row === null ? "null" : rowSet([row])}`;
}

// ---------------------------------------------------------------------------
// Subscribers.
// ---------------------------------------------------------------------------
interface Sub {
  n: number;
  session: Session;
  shape: Shape;
  protocol: "graphql-transport-ws" | "graphql-ws";
  auth: "jwt" | "admin-secret" | "none";
  vars: Record<string, unknown>;
  results: any[];
  failure?: string;
  /** Ends this subscription (its socket stays). */
  stop?: () => void;
  /** Starts the same subscription again on its socket: a new subscriber. */
  again?: () => Sub;
}

/** Deterministic choices (a failure replays). */
function prng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}
const rand = prng(Number(process.env.SUB_LEAK_SEED ?? 15_2026));
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;

// by-pk targets: rows of several users and campuses, among them the ones the writes change.
const PK_IDS = (await sql(`select id from public.transaction where id % 7 = 1 order by id limit 8`)).map((r) => r.id as number);
const UPDATED = PK_IDS.slice(0, 2);
const DELETED = PK_IDS[2]!;
const USER_PK_IDS = [1, 2, 5, 10, 1001, 1002];

async function headersFor(s: Session, auth: Sub["auth"]): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  if (s.userId !== undefined) vars["x-hasura-user-id"] = s.userId;
  // The same campus set in either order: one truth (and, by the policies' reads, possibly two cohorts).
  if (s.campus) vars["x-hasura-campus"] = `{${(rand() < 0.5 ? s.campus : [...s.campus].reverse()).join(",")}}`;
  if (auth === "none") return {};
  if (auth === "admin-secret") return { ...ADMIN, "x-hasura-role": s.role, ...vars };
  const claims = { [NS]: { "x-hasura-default-role": s.role, "x-hasura-allowed-roles": [s.role, "anonymous"], ...vars } };
  return { authorization: `Bearer ${await sign(claims)}` };
}

t.test(`${SOCKETS * PER_SOCKET} subscriptions over both protocols and a pool of ${POOL}: every result is its own session's`, async (t) => {
  const srv = await startServer(t, {
    db,
    env: {
      ...SECURED_JWT,
      HASURA_GRAPHQL_PG_CONNECTIONS: String(POOL),
      HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL: String(INTERVAL_MS),
      HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL: String(INTERVAL_MS),
    },
  });
  const url = wsUrl(srv);
  const subs: Sub[] = [];
  const legacyClients: SubscriptionClient[] = [];
  t.teardown(() => {
    for (const c of legacyClients) c.close();
  });

  // Every role on both protocols first, then random sessions.
  const plan: Array<{ session: Session; protocol: Sub["protocol"] }> = [];
  for (let i = 0; i < SOCKETS; i++) {
    const protocol = i % 2 === 0 ? "graphql-transport-ws" : "graphql-ws";
    const role = ROLES[Math.floor(i / 2) % ROLES.length]!;
    const r = rand();
    const session =
      i < ROLES.length * 2
        ? SESSIONS.find((s) => s.role === role && !s.bad)!
        : r < 0.03
          ? SESSIONS.find((s) => s.bad)!
          : pick(SESSIONS.filter((s) => s.role === ROLES[Math.floor(r * 1000) % ROLES.length] && !s.bad));
    plan.push({ session, protocol });
  }

  const started = Date.now();
  let n = 0;
  const open = async ({ session, protocol }: (typeof plan)[number]) => {
    const auth: Sub["auth"] = anon(session) ? (rand() < 0.5 ? "none" : "admin-secret") : rand() < 0.6 ? "jwt" : "admin-secret";
    const headers = await headersFor(session, auth);
    const mine: Sub[] = [];
    for (let k = 0; k < PER_SOCKET; k++) {
      const shape = k === 0 ? SHAPES[(n / PER_SOCKET) % SHAPES.length]! : pick(SHAPES);
      const vars: Record<string, unknown> =
        shape === "byPk" ? { id: anon(session) ? pick(USER_PK_IDS) : pick(PK_IDS) } : shape === "stream" ? { b: pick([25, 1000]) } : {};
      const sub: Sub = { n: n++, session, shape, protocol, auth, vars, results: [] };
      mine.push(sub);
      subs.push(sub);
    }
    let begin: (sub: Sub) => void;
    if (protocol === "graphql-transport-ws") {
      const client = transportClient(t, url, headers);
      begin = (sub) => {
        sub.stop = client.subscribe(
          { query: queryFor(sub.session, sub.shape), variables: sub.vars },
          {
            next: (r) => sub.results.push(r),
            error: (e) => (sub.failure = JSON.stringify(e instanceof Error ? e.message : e)),
            complete: () => {},
          },
        );
      };
    } else {
      const client = new SubscriptionClient(
        url,
        { connectionParams: { headers }, reconnect: false, minTimeout: 20_000, timeout: 30_000 },
        WebSocket,
      );
      legacyClients.push(client);
      begin = (sub) => {
        const handle = client.request({ query: queryFor(sub.session, sub.shape), variables: sub.vars }).subscribe({
          next: (r) => sub.results.push(r),
          error: (e) => (sub.failure = JSON.stringify(e instanceof Error ? e.message : e)),
        });
        sub.stop = () => handle.unsubscribe();
      };
    }
    for (const sub of mine) {
      begin(sub);
      sub.again = () => {
        const copy: Sub = { ...sub, n: n++, results: [], failure: undefined };
        begin(copy);
        copy.again = sub.again;
        return copy;
      };
    }
  };
  for (let i = 0; i < plan.length; i += 20) await Promise.all(plan.slice(i, i + 20).map(open));
  t.comment(`${subs.length} subscriptions on ${plan.length} sockets opened in ${Date.now() - started} ms`);

  // Truth per epoch: epoch 0 now, then after each write.
  type LiveSub = Sub & { shape: Exclude<Shape, "stream"> };
  const live = subs.filter((s): s is LiveSub => s.shape !== "stream" && !s.session.bad);
  const streams = subs.filter((s) => s.shape === "stream" && !s.session.bad);
  const bad = subs.filter((s) => s.session.bad);
  const epochs: Array<Map<string, string>> = [];
  // A stream's rows per session and epoch: a delivered row must be one of them (its text of some epoch); a row
  // allowed in every epoch must be delivered (one allowed only for a while may be missed, as the cursor passed it).
  const streamRows = new Map<string, Array<Map<number, string>>>();
  const liveKey = (s: Sub) => `${sessionKey(s.session)}|${s.shape}|${canonical(s.vars)}`;
  async function snapshot() {
    const m = new Map<string, string>();
    for (const s of live) if (!m.has(liveKey(s))) m.set(liveKey(s), await truth(s.session, s.shape, s.vars));
    epochs.push(m);
    for (const s of streams) {
      const k = sessionKey(s.session);
      const all = streamRows.get(k) ?? [];
      if (all.length < epochs.length) all.push(await streamTruth(s.session));
      streamRows.set(k, all);
    }
  }
  await snapshot();

  // The checker can fail: the sessions' lists differ.
  const lists = new Set(SESSIONS.filter((s) => !s.bad).map((s) => s));
  const listTruths = new Set<string>();
  for (const s of lists) listTruths.add(await truth(s, "list", {}));
  t.equal(listTruths.size, USER_IDS.length + CAMPUS_SETS.length - 1 + 2, "the sessions' rows differ: a leak would show");

  /** Null when the subscriber's results so far are a path through the epochs' truths ending at the last one. */
  function liveVerdict(s: LiveSub, final: boolean): string | null {
    let e = 0;
    for (const r of s.results) {
      const got = observed(s.session, s.shape, r);
      while (e < epochs.length && epochs[e]!.get(liveKey(s)) !== got) e++;
      if (e === epochs.length) return `result ${got.slice(0, 300)} is no truth of ${liveKey(s)} (from epoch on)`;
    }
    if (!s.results.length) return "no result yet";
    // Epochs where this subscriber's truth did not change are equal: the last result must be the last truth.
    if (final && epochs[e]!.get(liveKey(s)) !== epochs.at(-1)!.get(liveKey(s))) return `last result is of epoch ${e}, not the last`;
    return null;
  }
  function streamVerdict(s: Sub, final: boolean): string | null {
    const rows: any[] = [];
    for (const r of s.results) {
      if (r.errors) return `errors ${JSON.stringify(r.errors)}`;
      const batch = anon(s.session) ? r.data?.user_stream : r.data?.transaction_stream;
      if (!Array.isArray(batch)) return `bad result ${JSON.stringify(r)}`;
      if (batch.length > (s.vars.b as number)) return `batch of ${batch.length} > ${s.vars.b}`;
      rows.push(...batch);
    }
    const allowed = streamRows.get(sessionKey(s.session))!;
    let last = -1;
    const seen = new Set<number>();
    for (const row of rows) {
      const id = Number(row.id);
      if (id <= last) return `id ${id} after ${last}`;
      last = id;
      seen.add(id);
      const text = canonical(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? null : String(v)])));
      if (!allowed.some((epoch) => epoch.get(id) === text)) return `row ${text} not the session's in any epoch`;
    }
    if (final) {
      const missing = [...allowed[0]!.keys(), ...allowed.flatMap((e) => [...e.keys()])].filter(
        (id) => allowed.every((e) => e.has(id) || id > Math.max(...e.keys(), 0)) && allowed.at(-1)!.has(id) && !seen.has(id),
      );
      if (missing.length) return `rows ${missing.slice(0, 5)} not delivered (${seen.size} delivered)`;
    }
    return null;
  }
  function badVerdict(s: Sub): string | null {
    if (!s.results.length) return "no result yet";
    for (const r of s.results) {
      if (!r.errors?.length) return `data for a failing session: ${JSON.stringify(r)}`;
      if (r.data && Object.values(r.data).some((v) => v !== null)) return `data with the error: ${JSON.stringify(r.data)}`;
    }
    return null;
  }

  async function settle(label: string) {
    const deadline = Date.now() + 20_000;
    let pending: string[] = [];
    for (;;) {
      pending = [];
      for (const s of live) {
        const v = liveVerdict(s, true);
        if (v) pending.push(`#${s.n} ${s.protocol} ${liveKey(s)}: ${v}`);
      }
      for (const s of streams) {
        const v = streamVerdict(s, true);
        if (v) pending.push(`#${s.n} ${s.protocol} stream ${sessionKey(s.session)} b=${s.vars.b}: ${v}`);
      }
      for (const s of bad) {
        const v = badVerdict(s);
        if (v) pending.push(`#${s.n} bad session ${s.shape}: ${v}`);
      }
      for (const s of subs) if (s.failure) pending.push(`#${s.n} ${s.protocol} failed: ${s.failure}`);
      if (!pending.length || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.equal(
      pending.length,
      0,
      `${label}: every subscriber's results are its own session's, up to date (${pending.slice(0, 5).join("; ")})`,
    );
  }

  await settle("initial results");
  t.comment(`initial results in ${Date.now() - started} ms`);

  // Writes during the run: new rows on several users and campuses, an update, a delete, new users.
  await sql(`
    insert into public.transaction (type, amount, "userId", "objectId", path, campus) values
      ('xp', 7001, 1, 2, '/w/1', 'madere'), ('up', 7002, 5, 2, '/w/2', 'pyc'), ('down', 7003, 6, 2, '/w/3', 'nice'),
      ('xp', 7004, 7, 2, '/w/4', null), ('xp', 7005, 3, 2, '/w/5', 'pyc');
    update public.transaction set amount = amount + 1 where id = any('{${UPDATED.join(",")}}'::int[]);
    delete from public.transaction where id = ${DELETED};
    insert into public."user" (id, login, campus) values (1001, 'new-1001', 'nice');`);
  await snapshot();
  await settle("after the first writes");

  await sql(`
    insert into public.transaction (type, amount, "userId", "objectId", path, campus)
      select 'xp', 8000 + g, 4 + g, 2, '/w2/' || g, (array['madere', 'pyc', 'nice'])[1 + g % 3] from generate_series(1, 12) g;
    update public.transaction set campus = 'nice' where id = ${UPDATED[0]};
    insert into public."user" (id, login, campus) values (1002, 'new-1002', 'pyc');`);
  await snapshot();
  await settle("after the second writes");

  // Churn: a third of the subscribers stop and start again on their sockets (new subscribers joining
  // running pollers and cohorts), while writes follow each other without waiting for deliveries.
  const churned = subs.filter(() => rand() < 0.33);
  for (const s of churned) s.stop!();
  const replaced = churned.map((s) => s.again!());
  const gone = new Set(churned);
  const keep = <T extends Sub>(xs: T[]) => xs.filter((s) => !gone.has(s));
  live.splice(0, live.length, ...keep(live), ...(replaced.filter((s) => s.shape !== "stream" && !s.session.bad) as LiveSub[]));
  streams.splice(0, streams.length, ...keep(streams), ...replaced.filter((s) => s.shape === "stream" && !s.session.bad));
  bad.splice(0, bad.length, ...keep(bad), ...replaced.filter((s) => s.session.bad));
  subs.push(...replaced);
  for (let round = 0; round < 4; round++) {
    await sql("begin");
    await sql(
      `insert into public.transaction (type, amount, "userId", "objectId", path, campus)
         select 'up', 9000 + g, 1 + (g * 7 + $1::int) % 44, 2, '/w3/' || g, (array['madere', 'pyc', 'nice', null])[1 + (g + $1::int) % 4]
           from generate_series(1, 5) g`,
      [round],
    );
    await sql("update public.transaction set amount = amount + 1 where id % 5 = $1::int", [round]);
    await sql("delete from public.transaction where id = (select min(id) from public.transaction where path like '/w3/%')");
    await sql("commit");
    await snapshot();
    await new Promise((r) => setTimeout(r, INTERVAL_MS / 2));
  }
  await new Promise((r) => setTimeout(r, 500)); // deliveries already on the wire when they stopped
  const stoppedCounts = churned.map((s) => s.results.length);
  await settle(`after ${churned.length} subscribers left and came back, and four more writes`);
  t.same(
    churned.filter((s, i) => s.results.length > stoppedCounts[i]!).map((s) => s.n),
    [],
    "a stopped subscription receives nothing more",
  );

  // The checker can fail: each list subscriber's results, checked as another session's, are rejected.
  const listSubs = live.filter((s) => s.shape === "list");
  let pairs = 0;
  let caught = 0;
  for (const [i, s] of listSubs.entries()) {
    const other = listSubs.slice(i + 1).find((o) => epochs.at(-1)!.get(liveKey(o)) !== epochs.at(-1)!.get(liveKey(s)));
    if (!other) continue;
    pairs++;
    if (liveVerdict({ ...other, results: s.results }, true) !== null) caught++;
  }
  t.ok(pairs > 50 && caught === pairs, `the checker rejects another session's results (${caught} of ${pairs})`);

  const byProtocol = Object.groupBy(subs, (s) => s.protocol);
  const roleCount = Object.fromEntries(ROLES.map((r) => [r, subs.filter((s) => s.session.role === r).length]));
  t.comment(
    `${subs.length} subscriptions (${byProtocol["graphql-transport-ws"]?.length} graphql-transport-ws, ${byProtocol["graphql-ws"]?.length} legacy); roles ${JSON.stringify(roleCount)}; shapes ${JSON.stringify(Object.fromEntries(SHAPES.map((sh) => [sh, subs.filter((s) => s.shape === sh).length])))}; ${Date.now() - started} ms`,
  );
  t.ok(subs.length >= 500, "at least 500 subscribers");
  t.ok(bad.length > 0, `subscribers whose rule fails got errors only (${bad.length})`);
  t.ok(
    ROLES.every((r) => SHAPES.every((sh) => subs.some((s) => s.session.role === r && s.shape === sh))),
    "every role subscribed with every shape",
  );
  t.ok(
    ROLES.every((r) => ["graphql-transport-ws", "graphql-ws"].every((p) => subs.some((s) => s.session.role === r && s.protocol === p))),
    "every role on both protocols",
  );
  t.ok(
    live.filter((s) => s.results.length > 1).length > 100,
    `the writes reached many subscribers (${live.filter((s) => s.results.length > 1).length})`,
  );
});
