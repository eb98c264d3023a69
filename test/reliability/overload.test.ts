/**
 * Overload: with the pool exhausted, requests wait at most
 * HASURA_GRAPHQL_PG_POOL_WAIT_MS, then get Hasura's
 * `postgres-max-connections-error` with Retry-After (503 on /graphql and
 * /v1alpha1/graphql, 200 on /v1/graphql as Hasura answers every error);
 * nothing hangs, the server answers normally once the connection is free,
 * requests beyond HASURA_GRAPHQL_MAX_CONCURRENT_REQUESTS are refused at once
 * so memory stays flat, and @fastify/under-pressure sheds load (except
 * /healthz) with the same error shape.
 *
 * The only pooled connection is held by a real query: the test's superuser
 * takes an ACCESS EXCLUSIVE lock on "user", and a request reading "user"
 * blocks on it inside Postgres, connection checked out.
 */
import vm from "node:vm";
import v8 from "node:v8";
import pg from "pg";
import type { Test } from "tap";
import t from "tap";
import { createTestDatabase, type TestDatabase } from "../helpers/pg.ts";
import { startServer, type TestServer } from "../helpers/server.ts";

const PG_QUERY = "{ allUsers(orderBy: ID_ASC, first: 1) { nodes { id login } } }";
const HASURA_QUERY = "{ user(order_by: {id: asc}, limit: 1) { id login } }";
const HASURA_MUTATION = `mutation { insert_user_one(object: {login: "overload-probe"}) { id } }`;

interface Answer {
  status: number;
  retryAfter: string | null;
  body: any;
  ms: number;
}

async function post(srv: TestServer, path: string, payload: unknown): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(srv.url + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body, ms: Date.now() - started };
}

/** Holds an ACCESS EXCLUSIVE lock on "user" until released. */
async function lockUsers(db: TestDatabase) {
  const client = new pg.Client({ connectionString: db.rootUrl });
  await client.connect();
  await client.query(`begin; lock table public."user" in access exclusive mode`);
  return {
    async release() {
      await client.query("commit");
      await client.end();
    },
  };
}

/** Waits until a server connection is blocked on a lock in this database. */
async function waitForLockWait(db: TestDatabase) {
  for (let i = 0; i < 100; i++) {
    const rows = await db.asRoot(
      `select 1 from pg_stat_activity where datname = current_database() and usename = 'authenticator' and wait_event_type = 'Lock'`,
    );
    if (rows.length) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("no server connection ever waited on the lock");
}

function expectExhausted(t: Test, a: Answer, status: number, boundMs: number, label: string) {
  t.equal(a.status, status, `${label}: status ${status}`);
  t.equal(a.retryAfter, "1", `${label}: Retry-After`);
  t.equal(a.body?.errors?.[0]?.extensions?.code, "postgres-max-connections-error", `${label}: code (${JSON.stringify(a.body)})`);
  t.equal(a.body?.errors?.[0]?.extensions?.path, "$", `${label}: path`);
  t.match(a.body?.errors?.[0]?.message, new RegExp(`within ${boundMs} ms`), `${label}: message names the bound`);
  t.notOk(a.body?.data, `${label}: no partial data`);
  t.ok(a.ms >= boundMs * 0.8, `${label}: waited for the bound (${a.ms} ms)`);
  t.ok(a.ms < boundMs + 2_000, `${label}: answered within the bound (${a.ms} ms)`);
}

t.test("an exhausted pool: bounded wait, then 503 + Retry-After; normal service afterwards", async (t) => {
  const BOUND = 600;
  const db = await createTestDatabase(t);
  const srv = await startServer(t, {
    db,
    env: { HASURA_GRAPHQL_PG_CONNECTIONS: "1", HASURA_GRAPHQL_PG_POOL_WAIT_MS: String(BOUND) },
  });
  // Build both dialects' schemas before the pool is taken.
  t.equal((await post(srv, "/graphql", { query: PG_QUERY })).status, 200);
  t.equal((await post(srv, "/v1/graphql", { query: HASURA_QUERY })).status, 200);

  const lock = await lockUsers(db);
  t.teardown(() => lock.release().catch(() => {}));
  const blocker = post(srv, "/graphql", { query: PG_QUERY });
  await waitForLockWait(db);

  const [pgAnswers, v1, v1alpha1, v1Mutation, v1Batch] = await Promise.all([
    Promise.all(Array.from({ length: 4 }, () => post(srv, "/graphql", { query: PG_QUERY }))),
    Promise.all(Array.from({ length: 3 }, () => post(srv, "/v1/graphql", { query: HASURA_QUERY }))),
    Promise.all(Array.from({ length: 3 }, () => post(srv, "/v1alpha1/graphql", { query: HASURA_QUERY }))),
    post(srv, "/v1alpha1/graphql", { query: HASURA_MUTATION }),
    post(srv, "/v1/graphql", [{ query: HASURA_QUERY }, { query: "{ __typename }" }]),
  ]);
  for (const [i, a] of pgAnswers.entries()) expectExhausted(t, a, 503, BOUND, `/graphql #${i}`);
  for (const [i, a] of v1.entries()) expectExhausted(t, a, 200, BOUND, `/v1/graphql #${i}`);
  for (const [i, a] of v1alpha1.entries()) expectExhausted(t, a, 503, BOUND, `/v1alpha1/graphql #${i}`);
  expectExhausted(t, v1Mutation, 503, BOUND, "/v1alpha1/graphql mutation (one transaction)");
  t.equal(v1Batch.status, 200, "batch: 200");
  t.equal(v1Batch.body?.[0]?.errors?.[0]?.extensions?.code, "postgres-max-connections-error", "batch item: pool error");
  t.equal(v1Batch.retryAfter, "1", "batch: Retry-After");

  // Liveness never waits for the database; readiness reports it.
  const health = await fetch(`${srv.url}/healthz`);
  t.equal(health.status, 200, "/healthz answers");
  const ready = await fetch(`${srv.url}/readyz`);
  t.equal(ready.status, 503, "/readyz: not ready while no connection is free");
  t.equal(ready.headers.get("retry-after"), "1");

  await lock.release();
  const held = await blocker;
  t.equal(held.status, 200, "the blocked request completes once the lock is released");
  t.equal(held.body?.data?.allUsers?.nodes?.length, 1);

  // Normal service afterwards, on every endpoint.
  const after = await Promise.all([
    post(srv, "/graphql", { query: PG_QUERY }),
    post(srv, "/v1/graphql", { query: HASURA_QUERY }),
    post(srv, "/v1alpha1/graphql", { query: HASURA_QUERY }),
  ]);
  for (const a of after) {
    t.equal(a.status, 200);
    t.notOk(a.body?.errors, `no errors: ${JSON.stringify(a.body)}`);
  }
  const ins = await post(srv, "/v1alpha1/graphql", { query: HASURA_MUTATION });
  t.equal(ins.status, 200, `mutation works again: ${JSON.stringify(ins.body)}`);
  const [row] = await db.asRoot<{ n: number }>(`select count(*)::int as n from public."user" where login = 'overload-probe'`);
  t.equal(row!.n, 1, "only the mutation that ran after the lock wrote (the refused one did not)");
});

function gcFn(): () => void {
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

t.test("a flood of concurrent requests: bounded in time and memory", async (t) => {
  const BOUND = 1_500;
  const MAX = 20;
  const db = await createTestDatabase(t);
  const srv = await startServer(t, {
    db,
    env: {
      HASURA_GRAPHQL_PG_CONNECTIONS: "1",
      HASURA_GRAPHQL_PG_POOL_WAIT_MS: String(BOUND),
      HASURA_GRAPHQL_MAX_CONCURRENT_REQUESTS: String(MAX),
    },
  });
  t.equal((await post(srv, "/v1/graphql", { query: HASURA_QUERY })).status, 200);
  const lock = await lockUsers(db);
  t.teardown(() => lock.release().catch(() => {}));
  const blocker = post(srv, "/v1/graphql", { query: HASURA_QUERY });
  await waitForLockWait(db);

  const gc = gcFn();
  const heap = () => {
    gc();
    return process.memoryUsage().heapUsed;
  };
  // Each request carries ~64 KB (an unused variable), as a client would.
  const pad = "x".repeat(64 * 1024);
  const samples: number[] = [];
  const ROUNDS = 4;
  const PER_ROUND = 300;
  for (let round = 0; round < ROUNDS; round++) {
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: PER_ROUND }, (_, i) =>
        post(srv, i % 2 ? "/v1alpha1/graphql" : "/graphql", {
          query: i % 2 ? HASURA_QUERY : PG_QUERY,
          variables: { pad },
        }),
      ),
    );
    const elapsed = Date.now() - started;
    const shed = answers.filter((a) => a.status === 503 && /requests in progress/.test(a.body?.errors?.[0]?.message ?? ""));
    const timedOut = answers.filter((a) => a.body?.errors?.[0]?.extensions?.code === "postgres-max-connections-error");
    t.equal(shed.length + timedOut.length, PER_ROUND, `round ${round}: every request refused, none hung or crashed`);
    t.ok(shed.length >= PER_ROUND - MAX, `round ${round}: ${shed.length} shed at once (over the cap of ${MAX})`);
    t.ok(
      shed.every((a) => a.retryAfter === "1" && a.body.errors[0].extensions.code === "unexpected"),
      "shed: Hasura shape + Retry-After",
    );
    t.ok(elapsed < BOUND + 4_000, `round ${round}: all ${PER_ROUND} answered in ${elapsed} ms`);
    t.equal(srv.app.requestsInProgress(), 1, "only the blocked request is still in progress");
    samples.push(heap());
  }
  const growth = samples.at(-1)! - samples[0]!;
  t.ok(
    growth < 16 * 1024 * 1024,
    `heap after ${ROUNDS}×${PER_ROUND} requests grew ${(growth / 1048576).toFixed(1)} MB (samples: ${samples.map((s) => (s / 1048576).toFixed(0)).join(", ")} MB)`,
  );

  await lock.release();
  t.equal((await blocker).status, 200, "the blocked request completes");
  t.equal((await post(srv, "/graphql", { query: PG_QUERY })).status, 200, "normal service afterwards");
  t.equal(srv.app.requestsInProgress(), 0, "nothing left in progress");
});

t.test("under pressure (heap above its bound): 503 + Retry-After in Hasura's shape; /healthz exempt", async (t) => {
  const srv = await startServer(t, { env: { HASURA_GRAPHQL_MAX_HEAP_USED_BYTES: "1" } });
  // under-pressure samples once a second.
  await new Promise((r) => setTimeout(r, 1_300));
  const a = await post(srv, "/graphql", { query: "{ __typename }" });
  t.equal(a.status, 503);
  t.equal(a.retryAfter, "1");
  t.equal(a.body?.errors?.[0]?.extensions?.code, "unexpected");
  t.match(a.body?.errors?.[0]?.message, /overloaded \(memory\)/);
  const v1 = await post(srv, "/v1/graphql", { query: "{ __typename }" });
  t.equal(v1.status, 200, "/v1/graphql: 200, as Hasura");
  t.equal(v1.retryAfter, "1");
  t.equal(v1.body?.errors?.[0]?.extensions?.code, "unexpected");
  const ready = await fetch(`${srv.url}/readyz`);
  t.equal(ready.status, 503, "/readyz is shed too (flat shape)");
  t.match(await ready.json(), { code: "unexpected" });
  const health = await fetch(`${srv.url}/healthz`);
  t.equal(health.status, 200, "/healthz is exempt");
  t.same(await health.json(), { status: "ok" });
});
