/**
 * Hostile input gets a bounded, clear, Hasura-shaped error (400-class; 200 on
 * /v1/graphql, as Hasura answers every error) and never reaches the
 * database: oversized bodies, malformed JSON and GraphQL, wrong body shapes,
 * queries over the depth, cost or token limits (fragment bombs included),
 * oversized batches, and a flood of tokens with unknown JWKS `kid`s (which
 * may cost the JWKS provider only the rate-limited number of fetches).
 * Huge variables get a correct answer or a bounded error, never a crash.
 *
 * "Never reaches the database" is checked twice: the server's pool hands out
 * no connection (its `acquire` / `connect` events), and PostgreSQL logs no
 * statement from the server's sessions (`log_statement = 'all'` for the
 * authenticator in this test's database only, read from the cluster's log
 * as test/hasura/one-statement.test.ts does). A well-formed request in the
 * same harness is the positive control.
 */
import { SignJWT } from "jose";
import type { Test } from "tap";
import t from "tap";
import { createTestDatabase, type TestDatabase } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { ADMIN, ADMIN_SECRET_ENV } from "../helpers/secured.ts";
import { startServer, type TestServer } from "../helpers/server.ts";
import { hasuraClaims, jwksServer, rsaKeys } from "../helpers/tokens.ts";

const MAX_BODY = 1024 * 1024;
const ENDPOINTS = ["/graphql", "/v1/graphql", "/v1alpha1/graphql"] as const;

interface Answer {
  status: number;
  headers: Headers;
  body: any;
  ms: number;
}

async function send(srv: TestServer, path: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const started = Date.now();
  // A header given as "" is left out (e.g. the admin secret, for token requests).
  const all = Object.fromEntries(Object.entries({ "content-type": "application/json", ...ADMIN, ...headers }).filter(([, v]) => v !== ""));
  const res = await fetch(srv.url + path, { method: "POST", headers: all, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed, ms: Date.now() - started };
}

const post = (srv: TestServer, path: string, payload: unknown, headers?: Record<string, string>) =>
  send(srv, path, JSON.stringify(payload), headers);

/** /v1/graphql answers 200; the others keep the real status. */
const statusOn = (path: string, status: number) => (path === "/v1/graphql" ? 200 : status);

function expectError(t: Test, a: Answer, path: string, status: number, code: string, message: RegExp, label: string) {
  t.equal(a.status, statusOn(path, status), `${label} on ${path}: status (${JSON.stringify(a.body).slice(0, 300)})`);
  t.equal(a.body?.errors?.[0]?.extensions?.code, code, `${label} on ${path}: code`);
  t.match(a.body?.errors?.[0]?.message, message, `${label} on ${path}: message`);
  t.notOk(a.body?.data, `${label} on ${path}: no data`);
  t.ok(a.ms < 5_000, `${label} on ${path}: answered in ${a.ms} ms`);
}

// ---------------------------------------------------------------------------
// What reached the database.

async function logFileOf(db: TestDatabase): Promise<string> {
  const [row] = await db.asRoot<{ current: string | null; data: string }>(
    "select pg_current_logfile() as current, current_setting('data_directory') as data",
  );
  if (row!.current) return row!.current.startsWith("/") ? row!.current : `${row!.data}/${row!.current}`;
  return `${row!.data.replace(/\/[^/]+\/?$/, "")}/postgres.log`;
}

async function logSize(db: TestDatabase, file: string): Promise<number> {
  const [row] = await db.asRoot<{ size: string }>("select (pg_stat_file($1)).size as size", [file]);
  return Number(row!.size);
}

async function serverPids(db: TestDatabase): Promise<Set<number>> {
  const rows = await db.asRoot<{ pid: number }>("select pid from pg_stat_activity where datname = current_database() and usename = $1", [
    TEST_ROLES.authenticator.name,
  ]);
  return new Set(rows.map((r) => r.pid));
}

/** Statements PostgreSQL logged for the server's sessions since `offset`. */
async function statementsSince(db: TestDatabase, file: string, offset: number, pids: Set<number>): Promise<string[]> {
  const size = await logSize(db, file);
  if (size <= offset) return [];
  const [row] = await db.asRoot<{ bytes: Buffer }>("select pg_read_binary_file($1, $2, $3) as bytes", [file, offset, size - offset]);
  const out: string[] = [];
  for (const line of row!.bytes.toString("utf8").split("\n")) {
    const m = /^\S+ \S+ \S+ \[(\d+)\] LOG: {2}(statement|execute [^:]*): (.*)$/.exec(line);
    if (m && pids.has(Number(m[1]))) out.push(m[3]!);
  }
  return out;
}

interface Probe {
  /** Runs `fn`; returns the pool checkouts and logged statements it caused. */
  measure(fn: () => Promise<void>): Promise<{ checkouts: number; statements: string[] }>;
}

async function probe(srv: TestServer, db: TestDatabase): Promise<Probe> {
  const file = await logFileOf(db);
  let checkouts = 0;
  srv.app.pgPool.on("acquire", () => checkouts++);
  srv.app.pgPool.on("connect", () => checkouts++);
  return {
    async measure(fn) {
      const before = checkouts;
      const pidsBefore = await serverPids(db);
      const offset = await logSize(db, file);
      await fn();
      // The log is written synchronously by each backend; give the file a moment anyway.
      await new Promise((r) => setTimeout(r, 200));
      const pids = new Set([...pidsBefore, ...(await serverPids(db))]);
      return { checkouts: checkouts - before, statements: await statementsSince(db, file, offset, pids) };
    },
  };
}

// ---------------------------------------------------------------------------

const db = await createTestDatabase(t);
await db.asRoot(`alter role ${TEST_ROLES.authenticator.name} in database ${db.name} set log_statement = 'all'`);
const key = await rsaKeys();
const jwks = await jwksServer([{ ...key.jwk, kid: "k1", alg: "RS256", use: "sig" }]);
t.teardown(() => jwks.close());
const srv = await startServer(t, {
  db,
  env: {
    ...ADMIN_SECRET_ENV,
    HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ jwk_url: jwks.url }),
    HASURA_GRAPHQL_JWKS_MIN_REFRESH_SECONDS: "1",
  },
});
const dbProbe = await probe(srv, db);

// Warm both dialects' admin schemas (building one introspects the database).
const PG_QUERY = "{ allUsers(orderBy: ID_ASC) { nodes { id login } } }";
const HASURA_QUERY = "{ user(order_by: {id: asc}) { id login } }";
for (const path of ENDPOINTS) {
  const a = await post(srv, path, { query: path === "/graphql" ? PG_QUERY : HASURA_QUERY });
  if (a.status !== 200 || a.body.errors) throw new Error(`warm-up failed on ${path}: ${JSON.stringify(a.body)}`);
}

t.test("positive control: a well-formed request does reach the database, and the probe sees it", async (t) => {
  for (const path of ENDPOINTS) {
    const seen = await dbProbe.measure(async () => {
      const a = await post(srv, path, { query: path === "/graphql" ? PG_QUERY : HASURA_QUERY });
      t.equal(a.status, 200);
    });
    t.ok(seen.checkouts > 0, `${path}: pool checkouts seen (${seen.checkouts})`);
    t.ok(seen.statements.length > 0, `${path}: statements logged by PostgreSQL (${seen.statements.length})`);
  }
});

/** Runs `fn` and asserts it neither checked out a connection nor ran a statement. */
async function noDatabase(t: Test, fn: () => Promise<void>) {
  const seen = await dbProbe.measure(fn);
  t.equal(seen.checkouts, 0, "no pool checkout");
  t.same(seen.statements, [], "no statement reached PostgreSQL");
}

t.test("request body over the 1 MB limit: 413 bad-request", async (t) => {
  await noDatabase(t, async () => {
    const big = JSON.stringify({ query: HASURA_QUERY, variables: { pad: "x".repeat(MAX_BODY) } });
    for (const path of ENDPOINTS) {
      expectError(t, await send(srv, path, big), path, 413, "bad-request", /larger than 1048576 bytes/, "oversized body");
    }
  });
});

t.test("malformed JSON, wrong content type and body shapes: parse errors", async (t) => {
  await noDatabase(t, async () => {
    for (const path of ENDPOINTS) {
      expectError(
        t,
        await send(srv, path, '{"query": "{ user { id } }"'),
        path,
        400,
        "invalid-json",
        /not a valid json value/,
        "truncated JSON",
      );
      expectError(t, await send(srv, path, "{query: 1}"), path, 400, "invalid-json", /not a valid json value/, "not JSON");
      expectError(t, await send(srv, path, ""), path, 400, "invalid-json", /not a valid json value/, "empty body");
      // text/plain is read as a string (Fastify's default parser), then refused as not an object.
      expectError(
        t,
        await send(srv, path, "query { user { id } }", { "content-type": "text/plain" }),
        path,
        400,
        "parse-failed",
        /expected an object/,
        "text/plain",
      );
      expectError(
        t,
        await send(srv, path, "<query/>", { "content-type": "application/xml" }),
        path,
        415,
        "bad-request",
        /content type/,
        "application/xml",
      );
      for (const body of ["42", '"{ user { id } }"', "null", "true"]) {
        expectError(t, await send(srv, path, body), path, 400, "parse-failed", /expected an object/, `body ${body}`);
      }
      expectError(t, await post(srv, path, {}), path, 400, "parse-failed", /'query' was not present/, "no query");
      expectError(t, await post(srv, path, { query: 42 }), path, 400, "parse-failed", /'query' was not present/, "query not a string");
      expectError(
        t,
        await post(srv, path, { query: "{ __typename }", variables: [1] }),
        path,
        400,
        "parse-failed",
        /variables must be an object/,
        "variables an array",
      );
      expectError(
        t,
        await post(srv, path, { query: "{ __typename }", operationName: 1 }),
        path,
        400,
        "parse-failed",
        /operationName must be a string/,
        "operationName not a string",
      );
    }
    expectError(
      t,
      await post(srv, "/graphql", [{ query: PG_QUERY }]),
      "/graphql",
      400,
      "parse-failed",
      /batched requests are not supported/,
      "batch",
    );
  });
});

t.test("GraphQL syntax errors: validation-failed at $.query", async (t) => {
  await noDatabase(t, async () => {
    for (const path of ENDPOINTS) {
      for (const query of ["{ user { id }", "query {", "}{", "", "mutation { insert_user(objects: [{login: }]) { affected_rows } }"]) {
        const a = await post(srv, path, { query });
        expectError(t, a, path, 400, "validation-failed", /^not a valid graphql query: Syntax Error/, `syntax ${JSON.stringify(query)}`);
        t.equal(a.body?.errors?.[0]?.extensions?.path, "$.query");
      }
    }
  });
});

/** `{ a { a { … } } }`, n fields deep (no such field: the limit is checked before the schema). */
const nested = (n: number, field = "user") => `{ ${`${field} { `.repeat(n - 1)}id${" }".repeat(n)}`;

t.test("depth limit (default 15), checked before the schema and the database", async (t) => {
  await noDatabase(t, async () => {
    for (const path of ENDPOINTS) {
      expectError(
        t,
        await post(srv, path, { query: nested(16) }),
        path,
        400,
        "validation-failed",
        /nested deeper than the limit of 15 levels/,
        "depth 16",
      );
      // Depth through fragments counts too.
      const viaFragments = `{ ...A } fragment A on ${path === "/graphql" ? "Query" : "query_root"} { user { ...B } } fragment B on user { ${nested(15, "x").slice(2, -2)} }`;
      expectError(
        t,
        await post(srv, path, { query: viaFragments }),
        path,
        400,
        "validation-failed",
        /nested deeper than the limit/,
        "depth via fragments",
      );
    }
  });
  // Depth 15 itself is allowed (here it fails on the schema, as it should).
  const a = await post(srv, "/v1/graphql", { query: nested(15) });
  t.notMatch(a.body?.errors?.[0]?.message, /nested deeper/, "depth 15 is within the limit");
  t.match(a.body?.errors?.[0]?.message, /not found in type/);
});

t.test("cost limit (default 2500 fields, fragments expanded); token limit", async (t) => {
  await noDatabase(t, async () => {
    for (const path of ENDPOINTS) {
      const wide = `{ ${"__typename ".repeat(2_501)}}`;
      expectError(
        t,
        await post(srv, path, { query: wide }),
        path,
        400,
        "validation-failed",
        /selects 2501 fields .* limit of 2500/,
        "2501 fields",
      );
      // A fragment bomb: 40 fragments, each spreading the previous twice (2^40 fields), in 2 KB.
      const root = path === "/graphql" ? "Query" : "query_root";
      let bomb = `query { ...F40 } fragment F0 on ${root} { __typename }`;
      for (let i = 1; i <= 40; i++) bomb += ` fragment F${i} on ${root} { ...F${i - 1} ...F${i - 1} }`;
      expectError(
        t,
        await post(srv, path, { query: bomb }),
        path,
        400,
        "validation-failed",
        /selects 1099511627776 fields/,
        "fragment bomb",
      );
      // ~90,000 repeated fields: graphql-js' overlapping-fields rule would be quadratic; refused first, fast.
      const repeated = `{ ${"a ".repeat(90_000)}}`;
      expectError(
        t,
        await post(srv, path, { query: repeated }),
        path,
        400,
        "validation-failed",
        /more than the limit of 2500/,
        "90k repeated fields",
      );
      // 200,000 tokens of list literal: the parser gives up at 100,000.
      const longList = `{ user(where: {id: {_in: [${"1,".repeat(200_000)}]}}) { id } }`;
      expectError(
        t,
        await post(srv, path, { query: longList }),
        path,
        400,
        "validation-failed",
        /longer than the limit of 100000 tokens/,
        "200k tokens",
      );
      // Input objects nested 30,000 deep in the query text: a bounded parse error.
      const deepInput = `{ user(where: ${"{_and: ".repeat(30_000)}{}${"}".repeat(30_000)}) { id } }`;
      expectError(
        t,
        await post(srv, path, { query: deepInput }),
        path,
        400,
        "validation-failed",
        /not a valid graphql query|longer than the limit/,
        "30k nested input objects",
      );
    }
  });
});

t.test("batch size limit on /v1/graphql (default 20)", async (t) => {
  await noDatabase(t, async () => {
    for (const path of ["/v1/graphql", "/v1alpha1/graphql"]) {
      const batch = Array.from({ length: 21 }, () => ({ query: HASURA_QUERY }));
      expectError(t, await post(srv, path, batch), path, 400, "bad-request", /at most 20 queries, got 21/, "21 operations");
      expectError(t, await post(srv, path, []), path, 400, "parse-failed", /at least one query/, "empty batch");
    }
  });
  const ok = await post(
    srv,
    "/v1/graphql",
    Array.from({ length: 20 }, () => ({ query: HASURA_QUERY })),
  );
  t.equal(ok.body.length, 20, "20 operations are answered");
  t.ok(
    ok.body.every((r: { data?: unknown }) => r.data),
    "each with data",
  );
});

t.test("a flood of tokens with unknown kids: invalid-jwt, JWKS fetched at most once per interval", async (t) => {
  const sign = (kid: string) =>
    new SignJWT(hasuraClaims("user", { "x-hasura-user-id": "1" }))
      .setProtectedHeader({ alg: "RS256", kid })
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(key.privateKey);
  const hitsBefore = jwks.state.hits;
  const started = Date.now();
  const WAVES = 5;
  const PER_WAVE = 40;
  await noDatabase(t, async () => {
    for (let w = 0; w < WAVES; w++) {
      const tokens = await Promise.all(Array.from({ length: PER_WAVE }, () => sign(`random-${Math.random().toString(36).slice(2)}`)));
      const answers = await Promise.all(
        tokens.map((tok, i) => {
          const path = ENDPOINTS[i % 3]!;
          return post(
            srv,
            path,
            { query: path === "/graphql" ? PG_QUERY : HASURA_QUERY },
            { "x-hasura-admin-secret": "", authorization: `Bearer ${tok}` },
          );
        }),
      );
      answers.forEach((a, i) => {
        const path = ENDPOINTS[i % 3]!;
        t.equal(a.status, statusOn(path, 400));
        t.equal(a.body?.errors?.[0]?.extensions?.code, "invalid-jwt");
      });
      await new Promise((r) => setTimeout(r, 500));
    }
  });
  const seconds = (Date.now() - started) / 1000;
  const fetches = jwks.state.hits - hitsBefore;
  // Min refresh interval 1 s: at most one fetch per started second.
  t.ok(fetches <= Math.ceil(seconds) + 1, `${WAVES * PER_WAVE} unknown kids over ${seconds.toFixed(1)} s caused ${fetches} JWKS fetches`);
  t.ok(fetches >= 1, "unknown kids do trigger a (rate-limited) refresh");
  // The real key still works.
  const good = await post(
    srv,
    "/v1/graphql",
    { query: "{ user { id } }" },
    { "x-hasura-admin-secret": "", authorization: `Bearer ${await sign("k1")}` },
  );
  t.same(good.body, { data: { user: [{ id: 1 }] } }, "a valid token is served");
});

t.test("huge variables: a correct answer or a bounded error", async (t) => {
  const q = "query ($ids: [Int!]) { user(where: {id: {_in: $ids}}, order_by: {id: asc}) { id } }";
  // 500,000 ids just under the body limit.
  const ids = Array.from({ length: 500_000 }, (_, i) => (i % 2 ? 1 : 2));
  const body = JSON.stringify({ query: q, variables: { ids } });
  t.ok(body.length < MAX_BODY, `body is ${body.length} bytes`);
  for (const path of ["/v1/graphql", "/v1alpha1/graphql"]) {
    const a = await send(srv, path, body);
    t.equal(a.status, 200, `${path}: ${JSON.stringify(a.body).slice(0, 300)}`);
    t.same(a.body, { data: { user: [{ id: 1 }, { id: 2 }] } }, `${path}: the right rows`);
    t.ok(a.ms < 10_000, `${path}: in ${a.ms} ms`);
  }
  // Deeply nested variables: `where` as 20,000 nested `_and`s (written by
  // hand: JSON.stringify itself would overflow the stack).
  const N = 20_000;
  const where = `${'{"_and":['.repeat(N)}{"id":{"_eq":1}}${"]}".repeat(N)}`;
  const deep = `{"query":"query ($w: user_bool_exp) { user(where: $w) { id } }","variables":{"w":${where}}}`;
  t.ok(deep.length < MAX_BODY);
  await noDatabase(t, async () => {
    for (const path of ["/v1/graphql", "/v1alpha1/graphql"]) {
      const a = await send(srv, path, deep);
      expectError(t, a, path, 400, "validation-failed", /variables are nested deeper than/, "20k nested variable");
    }
    const pgDeep = `${'{"x":'.repeat(N)}1${"}".repeat(N)}`;
    const a = await send(
      srv,
      "/graphql",
      `{"query":"query ($c: UserCondition) { allUsers(condition: $c) { nodes { id } } }","variables":{"c":${pgDeep}}}`,
    );
    expectError(t, a, "/graphql", 400, "validation-failed", /variables are nested deeper than/, "20k nested variable");
  });
  // Within the limit, nesting works as usual.
  const fine = `${'{"_and":['.repeat(30)}{"id":{"_eq":1}}${"]}".repeat(30)}`;
  const ok = await send(srv, "/v1/graphql", `{"query":"query ($w: user_bool_exp) { user(where: $w) { id } }","variables":{"w":${fine}}}`);
  t.same(ok.body, { data: { user: [{ id: 1 }] } }, "30 nested _and (61 levels of JSON): answered");
  // The server is fine afterwards.
  t.equal((await post(srv, "/v1/graphql", { query: HASURA_QUERY })).status, 200);
});
