/**
 * Runtime privileges: what the server's own connection (the authenticator,
 * test/helpers/pg.ts runtimeUrl) can and cannot do, tried directly with pg,
 * and what a client can make it do through HTTP.
 *
 *  - no GRANT, no read: a table whose RLS policy says `using (true)` but
 *    with no grant is `permission denied` for every application role (and
 *    for the authenticator itself, NOINHERIT); granting it makes the same
 *    read work, so the grant is what decided;
 *  - SET ROLE reaches the six application roles and no privileged role:
 *    other projects' application roles in a shared cluster aside, every
 *    other role of the cluster (postgres, app_owner, pg_*) is refused, by
 *    SET ROLE, set_config('role', …) and SET SESSION AUTHORIZATION, from the
 *    login role and from inside an application role;
 *  - hasura.user cannot reach a later transaction through the server: the
 *    server only ever sets it (and role, request.jwt.claims) with
 *    set_config(…, true), so after any requests its pooled connections hold
 *    no session-level value; a transaction-local value is gone at COMMIT and
 *    ROLLBACK. What Postgres itself cannot forbid: a session that runs
 *    arbitrary SQL may set a custom setting at session level (placeholders
 *    are USERSET). The server masks such a value for role and hasura.user
 *    (set in every transaction), shown here by poisoning a pooled connection;
 *  - X-Hasura-Role naming a non-application role (app_owner, postgres,
 *    authenticator, pg_*, none) is refused with access-denied before any SQL:
 *    the write it carries does not happen, the same write as admin does.
 */
import pg from "pg";
import t from "tap";
import { createTestDatabase } from "../helpers/pg.ts";
import { WRITE, COUNT_USERS } from "../helpers/probe.ts";
import { granteeList } from "../helpers/roles.ts";
import { ADMIN, ADMIN_SECRET_ENV, SECURED_JWT } from "../helpers/secured.ts";
import { startServer, type TestServer } from "../helpers/server.ts";
import { NS, sign } from "../helpers/tokens.ts";
import { CLEAN, installProbes, pooledSettings } from "./helpers-isolation.ts";

// The six by name, not read from the catalog (test/helpers/roles.ts): the
// tests below check the catalog itself (no application role is privileged,
// SET ROLE reaches exactly these), and the catalog's definition of an
// application role already leaves privileged roles out.
const APP_ROLES = ["anonymous", "user", "campus-admin", "admin-campus-read-only", "admin", "admin-read-only"];
const db = await createTestDatabase(t);
await installProbes(db);
const roleList = granteeList(APP_ROLES);
await db.asOwner(`
  create table public.ungranted (id int primary key, secret text not null);
  alter table public.ungranted enable row level security;
  alter table public.ungranted force row level security;
  create policy everyone on public.ungranted for select to ${roleList}, public using (true);`);
await db.asRoot(`insert into public.ungranted values (1, 'no grant, no read')`);

/** A raw connection as the server's runtime role. */
async function runtime(t: { teardown(fn: () => unknown): void }): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: db.runtimeUrl });
  await c.connect();
  t.teardown(() => c.end());
  return c;
}

/** The SQLSTATE a statement fails with, or null when it succeeds. */
async function sqlstate(c: pg.Client, sql: string, values?: unknown[]): Promise<string | null> {
  try {
    await c.query(sql, values);
    return null;
  } catch (e) {
    return (e as { code?: string }).code ?? "?";
  }
}

/** Runs SQL on `count` (default: all) of the server's pooled connections, checked out together. */
async function onPooled(srv: TestServer, poolSize: number, sql: string, count = poolSize): Promise<void> {
  const clients: pg.PoolClient[] = [];
  try {
    for (let i = 0; i < poolSize; i++) clients.push(await srv.app.pgPool.connect());
    for (const c of clients.slice(0, count)) await c.query(sql);
  } finally {
    for (const c of clients) c.release();
  }
}
const RESET = `reset role; reset hasura."user"; reset request.jwt.claims`;

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

t.test("the runtime role: no superuser, no BYPASSRLS, NOINHERIT, and no application role bypasses RLS", async (t) => {
  const rows = await db.asRoot<{ rolname: string; rolsuper: boolean; rolbypassrls: boolean; rolinherit: boolean }>(
    `select rolname, rolsuper, rolbypassrls, rolinherit from pg_roles where rolname = any($1) order by rolname`,
    [["authenticator", ...APP_ROLES]],
  );
  t.equal(rows.length, APP_ROLES.length + 1);
  for (const r of rows) t.same([r.rolsuper, r.rolbypassrls], [false, false], `${r.rolname}: not superuser, not BYPASSRLS`);
  t.equal(rows.find((r) => r.rolname === "authenticator")?.rolinherit, false, "authenticator is NOINHERIT");
});

t.test("no grant, no read: a using (true) policy does not open a table", async (t) => {
  const c = await runtime(t);
  t.equal(await sqlstate(c, "select * from public.ungranted"), "42501", "authenticator itself: permission denied");
  t.equal(await sqlstate(c, `select id from public."user"`), "42501", "NOINHERIT: not even the tables its roles may read");
  for (const role of APP_ROLES) {
    await c.query("begin");
    await c.query(`set local role ${ident(role)}`);
    t.equal(await sqlstate(c, "select * from public.ungranted"), "42501", `${role}: permission denied`);
    await c.query("rollback");
  }
  // Through the server, the table is not even in the schema.
  const srv = await startServer(t, { db, env: ADMIN_SECRET_ENV });
  const admin = { ...ADMIN, "x-hasura-role": "admin" };
  const pgRes = await srv.gql("{ allUngranteds { nodes { id secret } } }", { headers: admin });
  t.match(JSON.stringify(pgRes.body.errors), /allUngranteds/, "/graphql: no such field");
  t.notOk(pgRes.body.data, "no data");
  const v1 = await srv.gql("{ ungranted { id secret } }", { headers: admin, path: "/v1/graphql" });
  t.equal(v1.body.errors?.[0]?.extensions?.code, "validation-failed", "/v1/graphql: validation-failed");

  // Control: with the grant, the same read returns the row.
  await db.asOwner(`grant select on public.ungranted to "user"`);
  await c.query("begin");
  await c.query(`set local role "user"`);
  const { rows } = await c.query("select * from public.ungranted");
  await c.query("rollback");
  t.same(rows, [{ id: 1, secret: "no grant, no read" }], "granted: the policy lets the row through");
  await db.asOwner(`revoke select on public.ungranted from "user"`);
});

t.test("SET ROLE reaches the application roles and nothing else", async (t) => {
  const settable = (
    await db.asRoot<{ rolname: string }>(`select rolname from pg_roles where pg_has_role('authenticator', oid, 'SET') order by rolname`)
  ).map((r) => r.rolname);
  t.same(
    settable.filter((r) => r === "authenticator" || APP_ROLES.includes(r)),
    ["authenticator", ...APP_ROLES].sort(),
    "the catalog: authenticator may SET ROLE to each of the six",
  );
  // Roles are cluster-wide: other projects' application roles in the same
  // cluster (the test suite imports several) are settable too, as they are
  // in production when projects share a cluster. None of them may be, or
  // lead to, a privileged role.
  const privileged = await db.asRoot<{ rolname: string }>(
    `select r.rolname from pg_roles r
      where pg_has_role('authenticator', r.oid, 'SET')
        and (r.rolsuper or r.rolbypassrls or r.rolcreaterole or r.rolcreatedb or r.rolreplication
             or (r.rolcanlogin and r.rolname <> 'authenticator')
             or exists (select 1 from pg_roles p
                         where p.oid <> r.oid
                           and (p.rolsuper or p.rolbypassrls or p.rolname like 'pg\\_%' or p.rolname = 'app_owner')
                           and pg_has_role(r.oid, p.oid, 'USAGE')))`,
  );
  t.same(privileged, [], "no settable role is, or inherits, a privileged one");

  const others = (
    await db.asRoot<{ rolname: string }>(`select rolname from pg_roles where rolname <> all($1) order by rolname`, [settable])
  ).map((r) => r.rolname);
  t.ok(
    others.includes("postgres") && others.includes("app_owner") && others.includes("pg_read_all_data"),
    `other roles: ${others.join(", ")}`,
  );
  const c = await runtime(t);
  for (const role of others) {
    t.equal(await sqlstate(c, `set role ${ident(role)}`), "42501", `set role ${role}: denied`);
    t.equal(await sqlstate(c, "select set_config('role', $1, false)", [role]), "42501", `set_config('role', ${role}): denied`);
    t.equal(await sqlstate(c, `set session authorization ${ident(role)}`), "42501", `set session authorization ${role}: denied`);
  }
  // From inside an application role, the same.
  for (const role of ["postgres", "app_owner", "pg_write_server_files", "pg_execute_server_program"]) {
    await c.query("begin");
    await c.query(`set local role "user"`);
    t.equal(await sqlstate(c, `set local role ${ident(role)}`), "42501", `as user, set local role ${role}: denied`);
    await c.query("rollback");
  }
  const { rows } = await c.query("select current_user::text as u, session_user::text as s");
  t.same(rows[0], { u: "authenticator", s: "authenticator" }, "still the authenticator");
  // Control: an application role is settable.
  t.equal(await sqlstate(c, `set role "admin-read-only"`), null, "set role admin-read-only: allowed");
  await c.query("reset role");
});

t.test("hasura.user does not outlive its transaction", async (t) => {
  const c = await runtime(t);
  const read = async () =>
    (
      await c.query(
        `select current_setting('hasura.user', true) as h, current_setting('request.jwt.claims', true) as j, current_user::text as u`,
      )
    ).rows[0];
  for (const end of ["commit", "rollback"]) {
    await c.query("begin");
    await c.query(
      `select set_config('role', 'admin', true), set_config('hasura.user', '{"x-hasura-role":"admin"}', true), set_config('request.jwt.claims', '{}', true)`,
    );
    t.same(await read(), { h: '{"x-hasura-role":"admin"}', j: "{}", u: "admin" }, "set in the transaction");
    await c.query(end);
    t.same(await read(), { h: "", j: "", u: "authenticator" }, `gone after ${end}`);
  }
});

t.test("through the server: no session-level setting, ever", async (t) => {
  const POOL = 2;
  const srv = await startServer(t, {
    db,
    env: { ...SECURED_JWT, HASURA_GRAPHQL_PG_CONNECTIONS: String(POOL) },
  });
  // The detector works: a session-level value on a pooled connection shows.
  await onPooled(srv, POOL, `select set_config('hasura.user', '{"x-hasura-role":"admin"}', false)`, 1);
  const seen = await pooledSettings(srv, POOL);
  t.ok(
    seen.some((s) => s.hasura_user === '{"x-hasura-role":"admin"}'),
    "a session-level hasura.user is detected",
  );
  await onPooled(srv, POOL, RESET);
  t.same(await pooledSettings(srv, POOL), Array(POOL).fill(CLEAN), "reset");

  const token = async (role: string, vars: Record<string, string>) =>
    `Bearer ${await sign({ [NS]: { "x-hasura-default-role": role, "x-hasura-allowed-roles": [role], ...vars } })}`;
  // Values that would end the statement or the literal if they were SQL text.
  const hostile = `1', false); select set_config('hasura.user', 'x', false); --`;
  const requests: Array<[string, string, Record<string, string>]> = [
    ["/graphql", "{ whoami }", { authorization: await token("user", { "x-hasura-user-id": "1" }) }],
    ["/v1/graphql", "{ whoami_v { role } transaction { id } }", { authorization: await token("user", { "x-hasura-user-id": "2" }) }],
    ["/graphql", "{ allTransactions { nodes { id } } }", { authorization: await token("user", { "x-hasura-user-id": hostile }) }],
    ["/graphql", "{ whoami }", { ...ADMIN, "x-hasura-role": "user", "x-hasura-user-id": hostile }],
    ["/v1/graphql", "{ transaction { id } }", { authorization: await token("campus-admin", { "x-hasura-campus": hostile }) }],
    ["/graphql", WRITE, ADMIN],
    ["/graphql", WRITE, ADMIN],
    ["/v1/graphql", "{ user { id } }", {}],
  ];
  await Promise.all(requests.map(([path, q, headers]) => srv.gql(q, { path, headers })));
  t.same(
    await pooledSettings(srv, POOL),
    Array(POOL).fill(CLEAN),
    "after requests (JWT, admin secret, none; errors; a duplicate write): every pooled connection as new",
  );
  t.equal(
    (await db.asRoot(`select count(*)::int as n from public."user" where login = 'intruder'`))[0]!.n,
    1,
    "one write of two (the duplicate failed)",
  );
  await db.asRoot(`delete from public."user" where login = 'intruder'`);
});

t.test("a session-level value left on a pooled connection is masked by the next request", async (t) => {
  // Nothing in the server sets one; this is what a function calling
  // set_config(…, false) could leave behind. One connection, so the next
  // request gets the poisoned one.
  const srv = await startServer(t, {
    db,
    env: { ...SECURED_JWT, HASURA_GRAPHQL_PG_CONNECTIONS: "1" },
  });
  t.teardown(() => onPooled(srv, 1, RESET));
  const poison = () =>
    onPooled(
      srv,
      1,
      `select set_config('role', 'admin', false), set_config('hasura.user', '{"x-hasura-role":"admin","x-hasura-user-id":"1"}', false),
              set_config('request.jwt.claims', '{"poisoned":true}', false)`,
    );
  await poison();
  let res = await srv.gql("{ whoami }", {
    headers: {
      authorization: `Bearer ${await sign({ [NS]: { "x-hasura-default-role": "user", "x-hasura-allowed-roles": ["user"], "x-hasura-user-id": "3" } })}`,
    },
  });
  t.equal(res.body.data?.whoami?.role, "user", "JWT request: its own role");
  t.same(res.body.data?.whoami?.hasura_user, { "x-hasura-user-id": "3", "x-hasura-role": "user" }, "JWT request: its own hasura.user");
  t.notOk(res.body.data?.whoami?.claims?.poisoned, "JWT request: its own claims");

  await poison();
  res = await srv.gql("{ whoami }", {});
  t.equal(res.body.data?.whoami?.role, "anonymous", "no-token request: its own role");
  t.same(res.body.data?.whoami?.hasura_user, { "x-hasura-role": "anonymous" }, "no-token request: its own hasura.user");
  t.equal(res.body.data?.whoami?.claims, null, "no-token request: no claims");
});

t.test("X-Hasura-Role naming a non-application role is refused before any SQL", async (t) => {
  const srv = await startServer(t, {
    db,
    env: SECURED_JWT,
  });
  const count = async () => (await db.asRoot<{ n: number }>(COUNT_USERS))[0]!.n;
  const before = await count();
  for (const role of [
    "app_owner",
    "postgres",
    "authenticator",
    "pg_read_all_data",
    "pg_write_server_files",
    "none",
    "NONE",
    "public",
    "Admin",
    "session_user",
  ]) {
    for (const path of ["/graphql", "/v1alpha1/graphql", "/v1/graphql"]) {
      const res = await srv.gql(WRITE, { path, headers: { ...ADMIN, "x-hasura-role": role } });
      t.equal(res.status, path === "/v1/graphql" ? 200 : 400, `${role} on ${path}: HTTP ${res.status}`);
      t.equal(res.body.errors?.[0]?.extensions?.code, "access-denied", `${role} on ${path}: access-denied`);
      t.notOk(res.body.data, "no data");
    }
    // The same through a JWT that "allows" it.
    const jwt = await sign({ [NS]: { "x-hasura-default-role": role, "x-hasura-allowed-roles": [role, "user"] } });
    const res = await srv.gql(WRITE, { headers: { authorization: `Bearer ${jwt}` } });
    t.equal(res.body.errors?.[0]?.extensions?.code, "access-denied", `JWT with default role ${role}: access-denied`);
  }
  t.equal(await count(), before, "no write happened");
  // Control: the same write as an application role that may write does happen.
  t.equal((await db.asRoot(`select count(*)::int as n from public."user" where login = 'intruder'`))[0]!.n, 0, "the write was possible");
  const ok = await srv.gql(WRITE, { headers: { ...ADMIN, "x-hasura-role": "admin" } });
  t.notOk(ok.body.errors, "as admin: written");
  t.equal(await count(), before + 1, "one row more");
});
