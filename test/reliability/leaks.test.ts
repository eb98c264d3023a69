/**
 * No leaks across pooled connections.
 *
 * 1. 20,000 requests over a pool of 2 connections, 24 in flight, interleaving
 *    all six school roles, 45 user ids, 7 campus sets, three ways of
 *    authenticating (JWT, admin secret + X-Hasura-* headers, nothing: the
 *    unauthorized role), both dialects (/graphql, /v1/graphql), and a few
 *    requests that fail inside their transaction. Every request carries a
 *    nonce (a session variable and, with a JWT, a claim), so its answer is
 *    unique: the role Postgres ran it as (current_user), the raw
 *    `hasura.user` and `request.jwt.claims` settings, and the rows of
 *    `transaction` and `user` (per-user and per-campus rules) must be
 *    exactly this request's. Expected rows come from the seed's rules
 *    written again in SQL and run as the superuser, never from the server.
 * 2. A request that fails mid-transaction (constraint violation after a
 *    successful write, WITH CHECK, missing session variable, bad cast,
 *    division by zero after transaction-local set_config calls) leaves
 *    nothing behind on the only pooled connection: no open transaction, no
 *    role, no settings, no rows; the next request, as another role, sees
 *    only itself.
 */
import t from "tap";
import { createTestDatabase } from "../helpers/pg.ts";
import { appRoles, granteeList } from "../helpers/roles.ts";
import { canonical, rowSet } from "../helpers/rows.ts";
import { ADMIN, SECURED_JWT } from "../helpers/secured.ts";
import { startServer, type GqlResponse, type TestServer } from "../helpers/server.ts";
import { NS, sign } from "../helpers/tokens.ts";
import { CLEAN, bounded, installProbes, pooledSettings, prng, runtimeBackends } from "./helpers-isolation.ts";

const TOTAL = Number(process.env.LEAKS_REQUESTS ?? 20_000);
const IN_FLIGHT = 24;
const POOL = 2;
const SEED = Number(process.env.LEAKS_SEED ?? 20240601);

// 20,000 requests take ~60-90 s on an idle 2-core machine; more when it is shared.
t.setTimeout(Number(process.env.LEAKS_TIMEOUT_MS ?? 300_000));

const db = await createTestDatabase(t);
await installProbes(db);
const APP_ROLES = await appRoles(db);

// More users, with ledgers, on three campuses: many distinct answers.
const EXTRA_USERS = 40;
await db.asRoot(`
  insert into public."user" (id, login, campus)
    select 4 + g, 'extra-' || g, (array['madere', 'pyc', 'nice'])[1 + g % 3]
      from generate_series(1, ${EXTRA_USERS}) g;
  insert into public.transaction (type, amount, "userId", "objectId", path, campus)
    select (array['xp', 'up', 'down'])[1 + (g + k) % 3], g * 100 + k, 4 + g, 2, '/x/' || g, (array['madere', 'pyc', 'nice'])[1 + (g + k) % 3]
      from generate_series(1, ${EXTRA_USERS}) g, generate_series(1, 1 + g % 4) k;
  select setval(pg_get_serial_sequence('public."user"', 'id'), 1000);`);

// One statement answering "who am I and what may I see": the role and raw
// settings of the transaction, and the rows of two tables with per-user and
// per-campus rules, read as the caller (security_invoker: the caller's
// grants and policies apply). Columns every role may read.
await db.asOwner(`
  create view public.leak_probe with (security_invoker = true) as
    select current_user::text as role,
           nullif(current_setting('hasura.user', true), '') as hasura_user,
           nullif(current_setting('request.jwt.claims', true), '') as claims,
           (select coalesce(json_agg(json_build_object('objectId', t."objectId", 'userId', t."userId", 'amount', t.amount::text, 'type', t.type)), '[]')
              from public.transaction t)::text as transactions,
           (select coalesce(json_agg(json_build_object('id', u.id, 'login', u.login)), '[]') from public."user" u)::text as users`);
await db.asRoot(`grant select on public.leak_probe to ${granteeList(APP_ROLES)}`);

// ---------------------------------------------------------------------------
// Sessions and the rows the seed's rules give each (superuser, SQL).
// ---------------------------------------------------------------------------
interface Session {
  role: string;
  userId?: string;
  campus?: string[];
  /** A session the rule cannot evaluate: its requests must fail (data-exception). */
  bad?: boolean;
}
const key = (s: Session) => `${s.role}|${s.userId ?? ""}|${(s.campus ?? []).join(",")}`;

const USER_IDS = [...Array.from({ length: 4 + EXTRA_USERS }, (_, i) => String(i + 1)), "999"];
const CAMPUS_SETS = [["madere"], ["pyc"], ["nice"], ["madere", "pyc"], ["pyc", "nice"], ["madere", "nice"], ["nowhere"]];
const SESSIONS: Session[] = [
  { role: "anonymous" },
  ...USER_IDS.map((userId) => ({ role: "user" as const, userId })),
  { role: "user", userId: "abc", bad: true },
  ...(["campus-admin", "admin-campus-read-only"] as const).flatMap((role) => CAMPUS_SETS.map((campus) => ({ role, campus }))),
  { role: "admin" },
  { role: "admin-read-only" },
];

// Columns of `transaction` the role may read (anonymous: no id, no campus).
const TX_COLUMNS = (role: string) =>
  role === "anonymous" ? ["objectId", "userId", "amount", "type"] : ["id", "type", "amount", "userId", "campus"];
const PROBE_TX_COLUMNS = ["objectId", "userId", "amount", "type"];

function rule(s: Session, table: "transaction" | "user"): { where: string; params: unknown[] } {
  if (s.role === "user") return { where: table === "user" ? "id = $1::int" : `"userId" = $1::int`, params: [s.userId] };
  if (s.role === "campus-admin" || s.role === "admin-campus-read-only") return { where: "campus = any($1::text[])", params: [s.campus] };
  return { where: "true", params: [] };
}

const txRows = async (s: Session, columns: string[]) => {
  const { where, params } = rule(s, "transaction");
  const cols = columns.map((c) => (c === "amount" ? "amount::text as amount" : `"${c}"`)).join(", ");
  return rowSet(await db.asRoot(`select ${cols} from public.transaction where ${where}`, params));
};

const expected = new Map<string, { tx: string; probeTx: string; users: string }>();
for (const s of SESSIONS) {
  if (s.bad) continue;
  const us = rule(s, "user");
  expected.set(key(s), {
    tx: await txRows(s, TX_COLUMNS(s.role)),
    probeTx: await txRows(s, PROBE_TX_COLUMNS),
    users: rowSet(await db.asRoot(`select id, login from public."user" where ${us.where}`, us.params)),
  });
}
// The fixture makes answers differ: one per user id (999: none), one per
// campus set ("nowhere": none, as user 999), one for the roles that see all.
const distinct = new Set([...expected.values()].map((e) => `${e.probeTx}\n--\n${e.users}`));
t.equal(distinct.size, USER_IDS.length + CAMPUS_SETS.length - 1 + 1, "the sessions' rows differ: a leak would show");

// ---------------------------------------------------------------------------
// Requests.
// ---------------------------------------------------------------------------
type Auth = "jwt" | "admin-secret" | "none";
type Endpoint = "/graphql" | "/v1/graphql";
/** probe: leak_probe (role, settings, rows in one statement); rows: the `transaction` table's own field. */
type Kind = "probe" | "rows";
interface Req {
  n: number;
  kind: Kind;
  session: Session;
  auth: Auth;
  endpoint: Endpoint;
  /** Raw settings the request must see. */
  hasuraUser: Record<string, string>;
  claims: Record<string, unknown> | null;
  headers: Record<string, string>;
}

// The sessions' roles in the order SESSIONS lists them: LEAKS_SEED replays
// the same requests, and the warm-up below pairs roles whose rows differ.
// "Every role well represented" holds them to the catalog's roles.
const SESSION_ROLES = [...new Set(SESSIONS.map((s) => s.role))];
const SESSIONS_BY_ROLE = Object.fromEntries(SESSION_ROLES.map((r) => [r, SESSIONS.filter((s) => s.role === r && !s.bad)]));
const IAT = Math.floor(Date.now() / 1000) - 5;

function makeRequest(n: number, rand: () => number): Promise<Req> {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  // A role, then one of its sessions; 3% of the time the failing one.
  const session = rand() < 0.03 ? SESSIONS.find((s) => s.bad)! : pick(SESSIONS_BY_ROLE[pick(SESSION_ROLES)]!);
  const auth: Auth = session.role === "anonymous" ? (rand() < 0.5 ? "none" : "admin-secret") : rand() < 0.6 ? "jwt" : "admin-secret";
  const endpoint: Endpoint = rand() < 0.5 ? "/graphql" : "/v1/graphql";
  const kind: Kind = rand() < 0.7 ? "probe" : "rows";
  const nonce = `${n}-${Math.floor(rand() * 1e9).toString(36)}`;
  return buildRequest(n, kind, session, auth, endpoint, nonce, { sendRole: rand() < 0.5, decoy: rand() < 0.3 });
}

async function buildRequest(
  n: number,
  kind: Kind,
  session: Session,
  auth: Auth,
  endpoint: Endpoint,
  nonce: string,
  opts: { sendRole: boolean; decoy: boolean },
): Promise<Req> {
  const vars: Record<string, string> = {};
  if (auth !== "none") vars["x-hasura-nonce"] = nonce;
  if (session.userId !== undefined) vars["x-hasura-user-id"] = session.userId;
  if (session.campus) vars["x-hasura-campus"] = `{${session.campus.join(",")}}`;
  const headers: Record<string, string> = {};
  let claims: Record<string, unknown> | null = null;
  if (auth === "jwt") {
    claims = {
      [NS]: { "x-hasura-default-role": session.role, "x-hasura-allowed-roles": [session.role, "anonymous"], ...vars },
      sub: nonce,
      iat: IAT,
      exp: IAT + 3600,
    };
    headers.authorization = `Bearer ${await sign(claims)}`;
    if (opts.sendRole) headers["x-hasura-role"] = session.role; // else the default role
    // JWT mode ignores other X-Hasura-* headers: a decoy must change nothing.
    if (opts.decoy) headers["x-hasura-user-id"] = "1";
  } else if (auth === "admin-secret") {
    Object.assign(headers, ADMIN);
    headers["x-hasura-role"] = session.role;
    for (const [k, v] of Object.entries(vars)) headers[k] = v;
  }
  return { n, kind, session, auth, endpoint, hasuraUser: { ...vars, "x-hasura-role": session.role }, claims, headers };
}

function queryFor(r: Req): string {
  if (r.kind === "probe") {
    return r.endpoint === "/graphql"
      ? "{ allLeakProbes { nodes { role hasuraUser claims transactions users } } }"
      : "{ leak_probe { role hasura_user claims transactions users } }";
  }
  const cols = TX_COLUMNS(r.session.role).join(" ");
  return r.endpoint === "/graphql" ? `{ allTransactions { nodes { ${cols} } } }` : `{ transaction { ${cols} } }`;
}

const parseOrNull = (v: unknown) => (typeof v === "string" ? JSON.parse(v) : null);

/** Null when the response is exactly this request's; else what differs. */
function mismatch(r: Req, res: GqlResponse): string | null {
  if (res.status !== 200) return `HTTP ${res.status}`;
  const body = res.body;
  if (r.session.bad) {
    // The user rule cannot cast "abc": the statement fails, nothing is answered.
    const codes = (body.errors ?? []).map((e: { extensions?: { code?: string } }) => e.extensions?.code);
    if (!codes.length || codes.some((c: string) => c !== "data-exception")) return `expected data-exception, got ${JSON.stringify(body)}`;
    const data = body.data ?? {};
    return Object.values(data).every((v) => v === null) ? null : `data with the error: ${JSON.stringify(data)}`;
  }
  if (body.errors) return `errors: ${JSON.stringify(body.errors)}`;
  const exp = expected.get(key(r.session))!;
  if (r.kind === "rows") {
    const tx = r.endpoint === "/graphql" ? body.data?.allTransactions?.nodes : body.data?.transaction;
    return Array.isArray(tx) && rowSet(tx) === exp.tx ? null : `transaction rows ${JSON.stringify(tx)}`;
  }
  const rows = r.endpoint === "/graphql" ? body.data?.allLeakProbes?.nodes : body.data?.leak_probe;
  if (!Array.isArray(rows) || rows.length !== 1) return `probe rows ${JSON.stringify(rows)}`;
  const p = rows[0];
  if (p.role !== r.session.role) return `current_user ${JSON.stringify(p.role)}`;
  if (canonical(parseOrNull(p.hasuraUser ?? p.hasura_user)) !== canonical(r.hasuraUser))
    return `hasura.user ${JSON.stringify(p.hasuraUser ?? p.hasura_user)}`;
  if (canonical(parseOrNull(p.claims)) !== canonical(r.claims)) return `request.jwt.claims ${JSON.stringify(p.claims)}`;
  if (rowSet(JSON.parse(p.transactions)) !== exp.probeTx) return `probe transaction rows ${p.transactions}`;
  if (rowSet(JSON.parse(p.users)) !== exp.users) return `probe user rows ${p.users}`;
  return null;
}

const send = (srv: TestServer, r: Req) => srv.gql(queryFor(r), { path: r.endpoint, headers: r.headers });

t.test(`${TOTAL} interleaved requests over a pool of ${POOL}: every answer is its own request's`, async (t) => {
  const srv = await startServer(t, { db, env: { ...SECURED_JWT, HASURA_GRAPHQL_PG_CONNECTIONS: String(POOL) } });
  const rand = prng(SEED);
  t.comment(`seed ${SEED} (LEAKS_SEED replays a run), ${IN_FLIGHT} in flight`);

  // Warm both dialects' schemas for every role, and prove the checker can
  // fail: each session's answer, checked against another session's request.
  const warm: Array<{ req: Req; res: GqlResponse }> = [];
  for (const role of SESSION_ROLES) {
    const session = SESSIONS.find((s) => s.role === role && !s.bad)!;
    for (const [kind, endpoint] of [
      ["probe", "/graphql"],
      ["probe", "/v1/graphql"],
      ["rows", "/graphql"],
      ["rows", "/v1/graphql"],
    ] as const) {
      const req = await buildRequest(
        -1,
        kind,
        session,
        role === "anonymous" ? "admin-secret" : "jwt",
        endpoint,
        `warm-${role}-${endpoint}`,
        {
          sendRole: true,
          decoy: false,
        },
      );
      const res = await send(srv, req);
      t.equal(mismatch(req, res), null, `${role}, ${kind} on ${endpoint}: a correct answer`);
      warm.push({ req, res });
    }
  }
  let caught = 0;
  for (let i = 0; i < warm.length; i++) {
    const other = warm[(i + 8) % warm.length]!; // the same kind of answer, two roles on
    if (mismatch(warm[i]!.req, other.res) !== null) caught++;
  }
  t.equal(caught, warm.length, "the checker rejects every answer given to another request");

  const started = Date.now();
  const failures: Array<{ n: number; why: string; session: string; auth: Auth; endpoint: Endpoint }> = [];
  const counts = {
    requests: 0,
    failingByDesign: 0,
    byEndpoint: { "/graphql": 0, "/v1/graphql": 0 },
    byAuth: { jwt: 0, "admin-secret": 0, none: 0 },
  };
  const roleCounts: Record<string, number> = {};
  await bounded(TOTAL, IN_FLIGHT, async (n) => {
    const r = await makeRequest(n, rand);
    let why: string | null;
    try {
      why = mismatch(r, await send(srv, r));
    } catch (e) {
      why = `request failed: ${(e as Error).message}`;
    }
    counts.requests++;
    counts.byEndpoint[r.endpoint]++;
    counts.byAuth[r.auth]++;
    if (r.session.bad) counts.failingByDesign++;
    roleCounts[r.session.role] = (roleCounts[r.session.role] ?? 0) + 1;
    if (why) failures.push({ n, why: why.slice(0, 400), session: key(r.session), auth: r.auth, endpoint: r.endpoint });
  });
  const seconds = (Date.now() - started) / 1000;
  t.comment(
    `${counts.requests} requests in ${seconds.toFixed(1)} s (${Math.round(counts.requests / seconds)}/s): ${JSON.stringify({ ...counts, roleCounts })}`,
  );
  t.equal(counts.requests, TOTAL, "every request answered");
  t.ok(
    APP_ROLES.every((r) => (roleCounts[r] ?? 0) > TOTAL / 100),
    "every role well represented",
  );
  t.equal(failures.length, 0, `zero mismatches (got ${failures.length}; first: ${JSON.stringify(failures.slice(0, 3), null, 1)})`);

  // And afterwards, the pooled connections are as new.
  t.same(await pooledSettings(srv, POOL), Array(POOL).fill(CLEAN), "pooled connections carry no role, setting or transaction");
});

t.test("a request that fails mid-transaction leaves nothing on its connection", async (t) => {
  // Poison the transaction from inside (its own role, settings), then fail
  // or succeed: both must leave the connection as new.
  await db.asOwner(`
    create function public.boom() returns int language plpgsql stable as $$ begin
      perform set_config('role', 'admin', true);
      perform set_config('hasura.user', '{"x-hasura-role":"admin","x-hasura-user-id":"1"}', true);
      perform set_config('request.jwt.claims', '{"poisoned":true}', true);
      return 1 / 0;
    end $$;
    create function public.taint() returns int language plpgsql stable as $$ begin
      perform set_config('role', 'admin', true);
      perform set_config('hasura.user', '{"x-hasura-role":"admin","x-hasura-user-id":"1"}', true);
      perform set_config('request.jwt.claims', '{"poisoned":true}', true);
      return 1;
    end $$;`);
  await db.asRoot(`grant execute on function public.boom(), public.taint() to "user"`);
  const srv = await startServer(t, { db, env: { ...SECURED_JWT, HASURA_GRAPHQL_PG_CONNECTIONS: "1" } });
  const jwt = async (claims: Record<string, string>, role: string) =>
    `Bearer ${await sign({ [NS]: { "x-hasura-default-role": role, "x-hasura-allowed-roles": [role], ...claims } })}`;
  const counts = () =>
    db.asRoot<{ users: number; tx: number }>(
      `select (select count(*)::int from public."user") as users, (select count(*)::int from public.transaction) as tx`,
    );
  const before = await counts();

  const cases: Array<{ name: string; path: Endpoint; query: string; headers: Record<string, string>; code: string | null }> = [
    {
      name: "a uniqueness violation after a successful insert in the same transaction (/v1/graphql)",
      path: "/v1/graphql",
      query: `mutation { a: insert_user_one(object: {login: "rolled-back"}) { id } b: insert_user_one(object: {login: "alice"}) { id } }`,
      headers: { authorization: await jwt({ "x-hasura-user-id": "1" }, "admin") },
      code: "constraint-violation",
    },
    {
      name: "a WITH CHECK violation (campus-admin writing for another campus)",
      path: "/graphql",
      query: `mutation { createTransaction(input: {transaction: {type: "xp", amount: "1", userId: 1, objectId: 2, path: "/x", campus: "pyc"}}) { transaction { id } } }`,
      headers: { authorization: await jwt({ "x-hasura-campus": "{madere}" }, "campus-admin") },
      code: "permission-error",
    },
    {
      name: "a missing session variable (HA404 raised by the policy)",
      path: "/graphql",
      query: "{ allTransactions { nodes { id } } }",
      headers: { authorization: await jwt({}, "user") },
      code: "not-found",
    },
    {
      name: "a bad cast in the policy (x-hasura-user-id: abc)",
      path: "/v1/graphql",
      query: "{ transaction { id } }",
      headers: { ...ADMIN, "x-hasura-role": "user", "x-hasura-user-id": "abc" },
      code: "data-exception",
    },
    {
      name: "division by zero after SET LOCAL role admin, hasura.user and request.jwt.claims",
      path: "/graphql",
      query: "{ boom }",
      headers: { authorization: await jwt({ "x-hasura-user-id": "2" }, "user") },
      code: "data-exception",
    },
    {
      name: "the same settings changed by a request that then commits",
      path: "/graphql",
      query: "{ taint }",
      headers: { authorization: await jwt({ "x-hasura-user-id": "2" }, "user") },
      code: null,
    },
  ];

  let pid: number | undefined;
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const res = await srv.gql(c.query, { path: c.path, headers: c.headers });
      t.equal(res.status, 200);
      if (c.code) {
        t.equal(res.body.errors?.[0]?.extensions?.code, c.code, `fails with ${c.code}: ${JSON.stringify(res.body.errors)}`);
        t.ok(
          Object.values(res.body.data ?? {}).every((v) => v === null),
          "no data",
        );
      } else {
        t.notOk(res.body.errors, "succeeds");
      }

      // The one connection: idle, no transaction, as new.
      const backends = await runtimeBackends(db);
      t.equal(backends.length, 1, "one server connection");
      pid ??= backends[0]?.pid;
      t.same(
        backends.map(({ pid, state, xact_start, backend_xid }) => ({ pid, state, xact_start, backend_xid })),
        [{ pid, state: "idle", xact_start: null, backend_xid: null }],
        "the same connection, idle, not in a transaction",
      );
      t.same(await pooledSettings(srv, 1), [CLEAN], "no role, hasura.user, request.jwt.claims or xid left on it");
      t.same(await counts(), before, "no row written");

      // The next requests on that connection, as other roles, see only themselves.
      for (const [auth, session] of [
        ["none", { role: "anonymous" }],
        ["admin-secret", { role: "admin-read-only" }],
        ["jwt", { role: "user", userId: "3" }],
      ] as const) {
        for (const endpoint of ["/graphql", "/v1/graphql"] as const) {
          const req = await buildRequest(0, "probe", session, auth, endpoint, `after-${c.name}`, { sendRole: true, decoy: false });
          t.equal(mismatch(req, await send(srv, req)), null, `then ${session.role} (${auth}) on ${endpoint} sees only itself`);
        }
      }
    });
  }
});
