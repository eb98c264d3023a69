/**
 * "Why not?" (server/db/permissions/explain.ts) on the school model: over
 * HTTP (POST /console/api/explain, admin secret), through the CLI
 * (`permissions --explain`), and the library with a superuser reader. The
 * demo rows: users 1 alice and 2 bob on campus madere, 3 chloe and 4
 * dimitri on pyc.
 */
import pg from "pg";
import t from "tap";
import { explain, parseExplainRequest } from "../../server/db/permissions/explain.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { ADMIN, ADMIN_SECRET_ENV } from "../helpers/secured.ts";
import { startServer, type TestServer } from "../helpers/server.ts";
import { runCli } from "./cli.ts";

type Row = {
  key: Record<string, unknown>;
  visible: boolean;
  policies: Array<{ name: string; using: boolean | null; check: boolean | null; error?: string }>;
};

async function post(server: TestServer, body: unknown, headers: Record<string, string> = ADMIN) {
  const res = await fetch(`${server.url}/console/api/explain`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const MADERE = { "x-hasura-campus": "{madere}" };
const policyOf = (row: Row, name: string) => row.policies.find((p) => p.name === name);

t.test("over HTTP", async (t) => {
  // One connection: what one explain leaves on it, the next request would see.
  const server = await startServer(t, { project: "app", env: { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_PG_CONNECTIONS: "1" } });

  t.test("a row hidden from campus-admin names the failing policy", async (t) => {
    const res = await post(server, { role: "campus-admin", session: MADERE, table: "user", pk: { id: 3 } });
    t.equal(res.status, 200, JSON.stringify(res.body));
    const x = res.body;
    t.equal(x.role, "campus-admin");
    t.equal(x.table, "public.user");
    t.equal(x.command, "select");
    t.same(x.rls, { enabled: true, forced: true });
    t.same(
      x.policies.map((p: any) => p.name),
      ["campus-admin_all"],
      "only the role's own policies",
    );
    t.match(x.policies[0], { permissive: true, using: /campus = ANY/, check: null });
    t.equal(x.rows.length, 1);
    t.same(x.rows[0].key, { id: 3 });
    t.equal(x.rows[0].visible, false);
    t.same(x.rows[0].policies, [{ name: "campus-admin_all", using: false, check: null }]);
    t.equal(x.note, undefined);
  });

  t.test("a visible row: the policy passes", async (t) => {
    const res = await post(server, { role: "user", session: { "x-hasura-user-id": "1" }, table: "public.user", pk: { id: 1 } });
    t.equal(res.status, 200);
    t.equal(res.body.rows[0].visible, true);
    t.same(res.body.rows[0].policies, [{ name: "user_select", using: true, check: null }]);
  });

  t.test("without pk: the rows in key order, each with its verdict", async (t) => {
    const res = await post(server, { role: "campus-admin", session: MADERE, table: "user" });
    t.same(
      res.body.rows.map((r: Row) => [r.key.id, r.visible]),
      [
        [1, true],
        [2, true],
        [3, false],
        [4, false],
      ],
    );
    const filtered = await post(server, { role: "campus-admin", session: MADERE, table: "user", where: { campus: "pyc", id: { _gt: 3 } } });
    t.same(
      filtered.body.rows.map((r: Row) => r.key.id),
      [4],
    );
    const listed = await post(server, { role: "campus-admin", session: MADERE, table: "user", where: { id: { _in: [1, 3] } } });
    t.same(
      listed.body.rows.map((r: Row) => [r.key.id, r.visible]),
      [
        [1, true],
        [3, false],
      ],
    );
    const results = await post(server, {
      role: "user",
      session: { "x-hasura-user-id": "1" },
      table: "result",
      where: { grade: { _lt: 1 } },
    });
    t.equal(results.status, 200, JSON.stringify(results.body));
    t.same(
      results.body.rows.map((r: Row) => r.key.id),
      [3, 6],
    );
    const all = await post(server, { role: "user", session: { "x-hasura-user-id": "1" }, table: "result" });
    // The verdicts are what the role's own query returns (user_select's sub-select on group_user runs under its RLS).
    const seen = await server.gql("{ result(order_by: {id: asc}) { id } }", {
      headers: { ...ADMIN, "x-hasura-role": "user", "x-hasura-user-id": "1" },
      path: "/v1/graphql",
    });
    const visibleIds = all.body.rows.filter((r: Row) => r.visible).map((r: Row) => r.key.id);
    t.same(
      visibleIds,
      seen.body.data.result.map((r: { id: number }) => r.id),
    );
    t.ok(visibleIds.length > 0 && visibleIds.length < all.body.rows.length, `some visible, some not: ${visibleIds}`);
  });

  t.test("several policies: the passing one and the failing ones are told apart", async (t) => {
    await server.db.asOwner(`create policy chloe_select on public."user" for select to "user" using (login = 'chloe')`);
    t.teardown(() => server.db.asOwner(`drop policy chloe_select on public."user"`));
    const session = { "x-hasura-user-id": "1" };
    const res = await post(server, { role: "user", session, table: "user", pk: { id: 3 } });
    const row: Row = res.body.rows[0];
    t.equal(row.visible, true, "one permissive policy passing is enough");
    t.same(policyOf(row, "chloe_select"), { name: "chloe_select", using: true, check: null });
    t.same(policyOf(row, "user_select"), { name: "user_select", using: false, check: null });

    await server.db.asOwner(`create policy not_pyc on public."user" as restrictive for select to "user" using (campus <> 'pyc')`);
    t.teardown(() => server.db.asOwner(`drop policy not_pyc on public."user"`));
    const restricted = await post(server, { role: "user", session, table: "user", pk: { id: 3 } });
    t.match(
      restricted.body.policies.find((p: any) => p.name === "not_pyc"),
      { permissive: false },
    );
    const r2: Row = restricted.body.rows[0];
    t.equal(r2.visible, false, "a failing restrictive policy hides it");
    t.same(policyOf(r2, "not_pyc"), { name: "not_pyc", using: false, check: null });
    t.same(policyOf(r2, "chloe_select"), { name: "chloe_select", using: true, check: null });
  });

  t.test("claims: a policy reading hasura.jwt() sees the claims given, {} without them", async (t) => {
    await server.db.asOwner(
      `create policy by_claim on public."user" for select to "user" using (login = (select hasura.jwt() ->> 'preferred_username'))`,
    );
    t.teardown(() => server.db.asOwner(`drop policy by_claim on public."user"`));
    const session = { "x-hasura-user-id": "1" };
    const withClaims = await post(server, { role: "user", session, claims: { preferred_username: "chloe" }, table: "user", pk: { id: 3 } });
    t.same(policyOf(withClaims.body.rows[0], "by_claim"), { name: "by_claim", using: true, check: null }, "the claim matches chloe");
    t.equal(withClaims.body.rows[0].visible, true);
    const without = await post(server, { role: "user", session, table: "user", pk: { id: 3 } });
    t.same(policyOf(without.body.rows[0], "by_claim"), { name: "by_claim", using: false, check: null }, "no claims: {}");
    const bad = await post(server, { role: "user", session, claims: "chloe", table: "user" });
    t.equal(bad.status, 400);
    t.match(bad.body, { path: "$.claims" }, "a bad claims value names the field");
  });

  t.test("a primary key that does not exist", async (t) => {
    const res = await post(server, { role: "user", session: { "x-hasura-user-id": "1" }, table: "user", pk: { id: 999 } });
    t.equal(res.status, 200);
    t.same(res.body.rows, []);
    t.match(res.body.note, /row not found/);
  });

  t.test("column grants", async (t) => {
    const res = await post(server, { role: "anonymous", session: {}, table: "user", pk: { id: 3 } });
    const granted = Object.fromEntries(res.body.columns.map((c: any) => [c.name, c.granted]));
    t.same(granted, { id: true, login: true, firstName: false, lastName: false, email: false, campus: false, createdAt: false });
    t.equal(res.body.rows[0].visible, true, "anonymous_select is true");
    const upd = await post(server, { role: "campus-admin", session: MADERE, table: "user", pk: { id: 1 }, command: "update" });
    const ug = Object.fromEntries(upd.body.columns.map((c: any) => [c.name, c.granted]));
    t.same(ug, { id: false, login: true, firstName: true, lastName: true, email: true, campus: true, createdAt: false });
  });

  t.test("insert: WITH CHECK on the new row", async (t) => {
    const body = { role: "campus-admin", session: MADERE, table: "user", command: "insert" };
    const denied = await post(server, { ...body, values: { login: "zoe", campus: "pyc" } });
    t.equal(denied.status, 200, JSON.stringify(denied.body));
    t.match(denied.body.policies, [{ name: "campus-admin_all", using: null, check: /campus = ANY/ }]);
    t.same(denied.body.rows, [{ key: { id: null }, visible: false, policies: [{ name: "campus-admin_all", using: null, check: false }] }]);
    const allowed = await post(server, { ...body, values: { login: "zoe", campus: "madere" } });
    t.same(allowed.body.rows[0].policies, [{ name: "campus-admin_all", using: null, check: true }]);
    t.equal(allowed.body.rows[0].visible, true);
    const none = await post(server, body);
    t.equal(none.status, 400);
    t.equal(none.body.path, "$.values");
    const rows = await server.db.asRoot<{ n: number }>(`select count(*)::int as n from public."user" where login = 'zoe'`);
    t.equal(rows[0]!.n, 0, "nothing was inserted");
  });

  t.test("update: USING on the row, WITH CHECK on the new values; SELECT policies too", async (t) => {
    const body = { role: "campus-admin", session: MADERE, table: "user", command: "update" };
    const move = await post(server, { ...body, pk: { id: 1 }, values: { campus: "pyc" } });
    t.same(move.body.rows[0], { key: { id: 1 }, visible: false, policies: [{ name: "campus-admin_all", using: true, check: false }] });
    t.match(move.body.note, /also reads the row: the role's SELECT policies/);
    const stay = await post(server, { ...body, pk: { id: 1 }, values: { email: "a@example.org" } });
    t.equal(stay.body.rows[0].visible, true);
    const other = await post(server, { ...body, pk: { id: 3 } });
    t.same(other.body.rows[0].policies, [{ name: "campus-admin_all", using: false, check: false }]);
    t.equal(other.body.rows[0].visible, false);
    const rows = await server.db.asRoot<{ campus: string }>(`select campus from public."user" where id = 1`);
    t.equal(rows[0]!.campus, "madere", "nothing was updated");
  });

  t.test("no policy for the command: the default deny is named", async (t) => {
    await server.db.asOwner(`grant delete on public."user" to "user"`);
    t.teardown(() => server.db.asOwner(`revoke delete on public."user" from "user"`));
    const res = await post(server, { role: "user", session: { "x-hasura-user-id": "1" }, table: "user", pk: { id: 1 }, command: "delete" });
    t.equal(res.body.rows[0].visible, false);
    t.same(
      res.body.policies.map((p: any) => [p.name, p.command]),
      [["user_select", "select"]],
      "only the SELECT policy the delete reads through",
    );
    t.match(res.body.note, /no policy of role user for DELETE on public\.user: every row is denied/);
    const anon = await post(server, { role: "anonymous", session: {}, table: "user", pk: { id: 1 }, command: "update" });
    t.match(anon.body.note, /role anonymous has no UPDATE privilege on public\.user/);
    t.equal(anon.body.rows[0].visible, false);
  });

  t.test("a missing session variable: the policy's error, as the request would fail", async (t) => {
    const res = await post(server, { role: "campus-admin", session: {}, table: "user", pk: { id: 1 } });
    t.equal(res.status, 200);
    t.match(res.body.rows[0].policies[0], { name: "campus-admin_all", using: null, error: /missing session variables: "x-hasura-campus"/ });
    t.equal(res.body.rows[0].visible, false);
  });

  t.test("the transaction leaves nothing behind", async (t) => {
    const { rows } = await server.app.pgPool.query<{ who: string; hasura: string | null; path: string; timeout: string; ro: string }>(
      `select current_user as who, current_setting('hasura.user', true) as hasura, current_setting('search_path') as path,
              current_setting('statement_timeout') as timeout, current_setting('transaction_read_only') as ro`,
    );
    t.equal(rows[0]!.who, TEST_ROLES.authenticator.name);
    t.notOk(rows[0]!.hasura, "no session variables left");
    t.not(rows[0]!.path, "pg_catalog");
    t.equal(rows[0]!.timeout, "0");
    t.equal(rows[0]!.ro, "off");
    const gql = await server.gql("{ user(order_by: {id: asc}) { id } }", { headers: ADMIN, path: "/v1/graphql" });
    t.same(
      gql.body.data.user.map((u: any) => u.id),
      [1, 2, 3, 4],
      "the next request runs normally on the same connection",
    );
  });

  t.test("the admin secret is required", async (t) => {
    const body = { role: "user", session: {}, table: "user" };
    const none = await post(server, body, {});
    t.equal(none.status, 401);
    t.match(none.body, { code: "access-denied" });
    const wrong = await post(server, body, { "x-hasura-admin-secret": "not-the-secret" });
    t.equal(wrong.status, 401);
  });

  t.test("bad input: 400 naming the field", async (t) => {
    const cases: Array<[unknown, string, RegExp]> = [
      [[], "$", /expected a JSON object/],
      [{ session: {}, table: "user" }, "$.role", /role/],
      [{ role: "nobody", table: "user" }, "$.role", /nobody is not an application role/],
      [{ role: "postgres", table: "user" }, "$.role", /not an application role/],
      [{ role: "user", table: "nope" }, "$.table", /no table nope in schema public/],
      [{ role: "user", table: "user", command: "upsert" }, "$.command", /select, insert, update, delete/],
      [{ role: "user", table: "user", session: { userid: "1" } }, "$.session", /not a session variable/],
      [{ role: "user", table: "user", pk: { login: "alice" } }, "$.pk", /primary key of public\.user is \(id\)/],
      [{ role: "user", table: "user", pk: { id: "x" } }, "$.pk", /invalid input syntax for type integer/],
      [{ role: "user", table: "user", where: { nope: 1 } }, "$.where", /no column nope/],
      [{ role: "user", table: "user", where: { id: { _like: "%" } } }, "$.where", /unknown operator _like/],
      [{ role: "user", table: "user", values: { login: "x" } }, "$.values", /only for insert and update/],
    ];
    for (const [body, path, message] of cases) {
      const res = await post(server, body);
      t.equal(res.status, 400, JSON.stringify(body));
      t.match(res.body, { code: "validation-failed", path, error: message }, JSON.stringify(body));
    }
  });
});

t.test("the library with a superuser reader gives the same answer", async (t) => {
  const db = await createTestDatabase(t, "app");
  const runtime = new pg.Client({ connectionString: db.runtimeUrl });
  const root = new pg.Client({ connectionString: db.rootUrl });
  await runtime.connect();
  await root.connect();
  t.teardown(async () => {
    await runtime.end();
    await root.end();
  });
  const req = parseExplainRequest({ role: "campus-admin", session: MADERE, table: "user" });
  const opts = { schemas: ["public"], authenticator: TEST_ROLES.authenticator.name };
  const asAdmin = await explain(runtime, opts, req);
  const asRoot = await explain(runtime, { ...opts, reader: async (sql, params) => (await root.query(sql, params)).rows }, req);
  t.same(asRoot, asAdmin);
  // Without RLS every row is visible to a role with the privilege; the policies are still evaluated, and the note says so.
  await db.asOwner(`alter table public."user" disable row level security`);
  const off = await explain(runtime, opts, req);
  t.same(off.rls, { enabled: false, forced: true });
  t.same(
    off.rows.map((r) => [r.key.id, r.visible, r.policies[0]!.using]),
    [
      [1, true, true],
      [2, true, true],
      [3, true, false],
      [4, true, false],
    ],
  );
  t.match(off.note, /row-level security is not enabled on public\.user: policies are not applied/);
  await db.asOwner(`alter table public."user" enable row level security`);
  // A row the admin role cannot see: only the superuser reader finds it.
  await db.asOwner(`create policy admin_hides on public."user" as restrictive for all to admin using (id <> 4)`);
  const hidden = parseExplainRequest({ role: "campus-admin", session: { "x-hasura-campus": "{pyc}" }, table: "user", pk: { id: 4 } });
  const byAdmin = await explain(runtime, opts, hidden);
  t.same(byAdmin.rows, []);
  t.match(byAdmin.note, /row not found \(role admin, which reads the rows, sees none either\)/);
  const byRoot = await explain(runtime, { ...opts, reader: async (sql, params) => (await root.query(sql, params)).rows }, hidden);
  t.same(byRoot.rows, [{ key: { id: 4 }, visible: true, policies: [{ name: "campus-admin_all", using: true, check: null }] }]);
});

t.test("the CLI", async (t) => {
  const db = await createTestDatabase(t, "app");
  const explainArgs = ["--explain", "--role", "user", "--session", '{"x-hasura-user-id":"1"}', "--table", "user"];
  const res = await runCli("permissions", [...explainArgs, "--pk", '{"id":3}'], db, "app");
  t.equal(res.code, 0, res.output);
  t.match(res.stdout, /^Why not\? select on public\.user as role user, session \{"x-hasura-user-id":"1"\}\n/);
  t.match(res.stdout, /\nrow-level security: enabled, forced\n/);
  t.match(res.stdout, /\ncolumns granted for SELECT: id, login, firstName, lastName, email, campus, createdAt\n/);
  t.match(res.stdout, /\n {2}user_select \(permissive, for select\)\n {6}using {6}\(id = \( SELECT hasura\.user_id_int\(\)/);
  t.match(res.stdout, /\nrow \{"id":3\}: not visible\n {2}user_select: using FAIL\n/);
  t.match(res.stdout, /rows read by role admin/);

  const visible = await runCli("permissions", [...explainArgs, "--pk", '{"id":1}'], db, "app");
  t.match(visible.stdout, /\nrow \{"id":1\}: visible\n {2}user_select: using pass\n/);

  const anon = await runCli(
    "permissions",
    ["--explain", "--role", "anonymous", "--table", "user", "--pk", '{"id":1}', "--command", "update"],
    db,
    "app",
  );
  t.equal(anon.code, 0, anon.output);
  t.match(anon.stdout, /columns granted for UPDATE: none\ncolumns not granted: id, login/);
  t.match(anon.stdout, /note: role anonymous has no UPDATE privilege/);

  // With a superuser connection (ROOT_DATABASE_URL) the CLI reads the rows with it: even one the admin role cannot see.
  await db.asOwner(`create policy admin_hides on public."user" as restrictive for all to admin using (id <> 4)`);
  const hiddenArgs = [
    "--explain",
    "--role",
    "campus-admin",
    "--session",
    '{"x-hasura-campus":"{pyc}"}',
    "--table",
    "user",
    "--pk",
    '{"id":4}',
  ];
  const byAdmin = await runCli("permissions", hiddenArgs, db, "app");
  t.match(byAdmin.stdout, /note: row not found \(role admin, which reads the rows, sees none either\)/);
  const byRoot = await runCli("permissions", hiddenArgs, db, "app", { ROOT_DATABASE_URL: db.rootUrl });
  t.equal(byRoot.code, 0, byRoot.output);
  t.match(byRoot.stdout, /\nrow \{"id":4\}: visible\n {2}campus-admin_all: using pass\n/);
  t.match(byRoot.stdout, /rows read by the superuser/);

  for (const [args, message] of [
    [[...explainArgs, "--pk", "{id:3}"], /--pk: not valid JSON/],
    [[...explainArgs, "--command", "upsert"], /--command: expected one of select, insert, update, delete/],
    [["--explain", "--table", "user"], /--role is required/],
    [[...explainArgs, "--pk", '{"login":"x"}'], /--pk: the primary key of public\.user is \(id\)/],
    [["--explain", "--role", "nobody", "--table", "user"], /--role: nobody is not an application role/],
  ] as const) {
    const bad = await runCli("permissions", [...args], db, "app");
    t.equal(bad.code, 1, bad.output);
    t.match(bad.stderr, message);
  }
});

t.test("with the console disabled the API is not served", async (t) => {
  const server = await startServer(t, { project: "app", env: { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_ENABLE_CONSOLE: "false" } });
  const res = await post(server, { role: "user", session: {}, table: "user" });
  t.equal(res.status, 404);
  t.match(res.body, { code: "not-found" });
});

t.test("blog: a column preset is applied before WITH CHECK, as its trigger does", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const runtime = new pg.Client({ connectionString: db.runtimeUrl });
  await runtime.connect();
  t.teardown(() => runtime.end());
  const opts = { schemas: ["public"], authenticator: TEST_ROLES.authenticator.name };
  const insert = (session: Record<string, string>, values: Record<string, unknown>) =>
    explain(runtime, opts, parseExplainRequest({ role: "user", session, table: "article", command: "insert", values }));
  const own = await insert({ "x-hasura-user-id": "1" }, { title: "New", author_id: 2 });
  t.same(own.rows[0]!.policies, [{ name: "user_all", using: null, check: true }], "author_id is the session's user, not the 2 given");
  t.equal(own.rows[0]!.visible, false, "but naming author_id, which is not granted, is refused");
  t.match(own.note, /values name author_id, not granted for INSERT to user: the statement is refused/);
  t.match(own.note, /column presets of user for INSERT: author_id = x-hasura-user-id/);
  const titled = await insert({ "x-hasura-user-id": "1" }, { title: "New" });
  t.same(titled.rows[0]!.policies, [{ name: "user_all", using: null, check: true }]);
  t.equal(titled.rows[0]!.visible, true);
  t.same(
    own.columns.filter((c) => c.granted).map((c) => c.name),
    ["title", "content", "is_published"],
  );
  const anonymous = await insert({}, { title: "New" });
  t.equal(anonymous.rows[0]!.visible, false);
  t.match(anonymous.note, /missing session variables: x-hasura-user-id: the insert fails/);
  // A draft of author 3: hidden from user 1 by user_select and user_all, visible to its author.
  const draft = (id: string) =>
    explain(runtime, opts, parseExplainRequest({ role: "user", session: { "x-hasura-user-id": id }, table: "article", pk: { id: 4 } }));
  const other = await draft("1");
  t.equal(other.rows[0]!.visible, false);
  t.same(other.rows[0]!.policies, [
    { name: "user_all", using: false, check: null },
    { name: "user_select", using: false, check: null },
  ]);
  t.equal((await draft("3")).rows[0]!.visible, true);
});
