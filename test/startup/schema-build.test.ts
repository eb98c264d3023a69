/**
 * A real (imported) schema must build (issue 14):
 *  - tables whose PostGraphile names coincide (`_map_pool` / `map_pools`,
 *    `author` / `authors`) build, by the documented rule
 *    (server/graphile/TableNameCollisionsPlugin.ts), in both dialects;
 *    two `@name` tags that coincide fail with both tables named;
 *  - one role's failing build is built once, its requests get a clear
 *    error naming the role while other roles work, /readyz polls and
 *    repeated requests do not rebuild it, and an invalidation (what
 *    watch/notify does) retries it;
 *  - a build that could not reach the database is not kept: retried.
 */
import pg from "pg";
import t from "tap";
import { makeRolePreset } from "../../server/graphile/preset.ts";
import { SchemaBuildFailed, SchemaRegistry } from "../../server/graphile/schema-registry.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { createFixtureRoles } from "../helpers/roles.ts";
import { ADMIN, SECURED } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";

// The machine may be busy with other suites: no overload refusals here.
const ENV = { ...SECURED, HASURA_GRAPHQL_MAX_EVENT_LOOP_DELAY_MS: "0" };
const as = (role: string) => ({ ...ADMIN, "x-hasura-role": role });

t.test("tables whose names coincide in PostGraphile's dialect build, by the documented rule", async (t) => {
  const db = await createTestDatabase(t);
  await db.asOwner(`
    create table public._map_pool (id int primary key, name text not null);
    create table public.map_pools (id int primary key, label text not null);
    create table public.author (id int primary key, name text not null);
    create table public.authors (id int primary key, handle text not null);
    create table public."PlayerRole" (id int primary key);
    create table public.player_role (id int primary key);
    grant select on public."PlayerRole", public.player_role to anonymous, admin;
    insert into public._map_pool values (1, 'underscored');
    insert into public.map_pools values (2, 'plural');
    insert into public.author values (3, 'singular');
    insert into public.authors values (4, 'plural');
    grant select on public._map_pool, public.map_pools, public.author, public.authors to anonymous, admin;`);
  const srv = await startServer(t, { db, env: ENV });
  const res = await srv.gql(
    "{ allMapPools { nodes { id name } } allMapPoolsRecords { nodes { id label } } allAuthors { nodes { id name } } allAuthorsRecords { nodes { id handle } } }",
    { headers: as("anonymous") },
  );
  t.same(
    res.body,
    {
      data: {
        allMapPools: { nodes: [{ id: 1, name: "underscored" }] },
        allMapPoolsRecords: { nodes: [{ id: 2, label: "plural" }] },
        allAuthors: { nodes: [{ id: 3, name: "singular" }] },
        allAuthorsRecords: { nodes: [{ id: 4, handle: "plural" }] },
      },
    },
    "the first by (schema, name) keeps the name; the other is named from its exact name + _record",
  );
  const hasura = await srv.gql("{ _map_pool { name } map_pools { label } author { name } authors { handle } }", {
    headers: as("anonymous"),
    path: "/v1/graphql",
  });
  t.same(
    hasura.body,
    {
      data: {
        _map_pool: [{ name: "underscored" }],
        map_pools: [{ label: "plural" }],
        author: [{ name: "singular" }],
        authors: [{ handle: "plural" }],
      },
    },
    "Hasura's dialect keeps the exact names",
  );
  const cased = await srv.gql("{ allPlayerRoles { totalCount } allPlayerRoleRecords { totalCount } }", { headers: as("anonymous") });
  t.same(
    cased.body,
    { data: { allPlayerRoles: { totalCount: 0 }, allPlayerRoleRecords: { totalCount: 0 } } },
    "PlayerRole and player_role",
  );
  const casedHasura = await srv.gql("{ PlayerRole { id } player_role { id } }", { headers: as("anonymous"), path: "/v1/graphql" });
  t.same(casedHasura.body, { data: { PlayerRole: [], player_role: [] } });
  const admin = await srv.gql("{ allAuthors { totalCount } allAuthorsRecords { totalCount } }", { headers: ADMIN });
  t.same(admin.body, { data: { allAuthors: { totalCount: 1 }, allAuthorsRecords: { totalCount: 1 } } }, "every role, the same rule");
});

t.test("two @name smart tags that coincide: the error names both tables", async (t) => {
  const db = await createTestDatabase(t);
  await db.asOwner(`
    create table public.widget_a (id int primary key);
    create table public.widget_b (id int primary key);
    comment on table public.widget_a is '@name widget';
    comment on table public.widget_b is '@name widgets';`);
  const srv = await startServer(t, { db, env: ENV });
  const failed = await srv.app.schemas.get("anonymous").catch((e: unknown) => e);
  t.ok(failed instanceof SchemaBuildFailed, "a kept failure");
  t.match(
    (failed as Error).message,
    /tables public\.widget_a and public\.widget_b get the same GraphQL name \(Widget\).*@name smart tags coincide/,
  );
  const res = await srv.gql("{ __typename }", { headers: as("anonymous") });
  t.equal(res.status, 500);
  t.match(res.body.errors[0].message, 'the GraphQL schema of role "anonymous" could not be built');
  // anonymous is the readiness role here: /readyz says so, and its polls do not rebuild.
  const builds = srv.app.schemas.builds;
  for (let i = 0; i < 3; i++) {
    const ready = await fetch(`${srv.url}/readyz`);
    t.equal(ready.status, 503);
    t.same(await ready.json(), { status: "unavailable", database: true, schema: false });
  }
  t.equal(srv.app.schemas.builds, builds, "no rebuild per /readyz poll");
});

t.test("one role's failing build: built once, a clear error for that role, others work, retried after invalidation", async (t) => {
  const db = await createTestDatabase(t);
  // `foo_bar` and `fooBar` are one GraphQL field: PostGraphile skips one for the roles that may read the
  // table, and cannot build the schema of a role that may not (here campus-admin).
  await db.asOwner(`
    create table public.gadget (id int primary key, foo_bar int, "fooBar" int);
    grant select, insert, update, delete on public.gadget to "user";
    grant select on public.gadget to anonymous;`);
  const srv = await startServer(t, { db, env: ENV });
  const ready = await fetch(`${srv.url}/readyz`);
  t.equal(ready.status, 200, "the unauthenticated role's schema builds: ready");

  const first = await srv.gql("{ __typename }", { headers: as("campus-admin") });
  t.equal(first.status, 500);
  t.same(first.body.errors[0].extensions.code, "unexpected");
  t.equal(
    first.body.errors[0].message,
    'the GraphQL schema of role "campus-admin" could not be built; the server log says why (it is not rebuilt until the database schema changes)',
  );
  const builds = srv.app.schemas.builds;
  for (let i = 0; i < 5; i++) {
    const again = await srv.gql("{ __typename }", { headers: as("campus-admin") });
    t.equal(again.status, 500, `request ${i + 2}: the same error`);
    t.equal((await fetch(`${srv.url}/readyz`)).status, 200, "readyz keeps answering");
  }
  t.equal(srv.app.schemas.builds, builds, "no rebuild per request or /readyz poll");

  for (const role of ["user", "anonymous"]) {
    const other = await srv.gql("{ allUsers(first: 1) { totalCount } }", { headers: { ...as(role), "x-hasura-user-id": "1" } });
    t.type(other.body.data?.allUsers?.totalCount, "number", `${role} works`);
  }
  const hasura = await srv.gql("{ __typename }", { headers: as("campus-admin"), path: "/v1/graphql" });
  t.same(hasura.body, { data: { __typename: "query_root" } }, "the role's Hasura dialect builds");

  // What a watch/notify rebuild does after the schema is fixed.
  await db.asOwner(`alter table public.gadget rename column "fooBar" to foo_bar_2`);
  const before = srv.app.schemas.builds;
  srv.app.schemas.invalidate();
  const fixed = await srv.gql("{ __typename }", { headers: as("campus-admin") });
  t.same(fixed.body, { data: { __typename: "Query" } }, "rebuilt after invalidation");
  t.equal(srv.app.schemas.builds, before + 1, "once");
});

t.test("a build that could not reach the database is not kept", async (t) => {
  const pool = new pg.Pool({ connectionString: "postgres://nobody@127.0.0.1:1/none", connectionTimeoutMillis: 500 });
  t.teardown(() => pool.end());
  const failures: boolean[] = [];
  const registry = new SchemaRegistry((role) => makeRolePreset({ pool, role, schemas: ["public"], maxRequestLength: 100_000 }), {
    onBuildFailed: (_e, { kept }) => failures.push(kept),
  });
  t.teardown(() => registry.release());
  for (let i = 0; i < 2; i++) {
    const e = await registry.get("anonymous").catch((x: unknown) => x);
    t.notOk(e instanceof SchemaBuildFailed, "not a kept failure");
  }
  t.equal(registry.builds, 2, "retried");
  t.same(failures, [false, false]);
});

t.test("schemas kept are bounded (HASURA_GRAPHQL_MAX_CACHED_SCHEMAS): least recently used out, rebuilt on its next request", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const roles = await createFixtureRoles(t, db, ["ids", "names", "both"]);
  await db.asOwner(`
    create table public.cache_probe (id int primary key, name text not null, secret text not null);
    insert into public.cache_probe values (1, 'one', 's1');
    grant select (id) on public.cache_probe to "${roles.ids}";
    grant select (id, name) on public.cache_probe to "${roles.names}";
    grant select (id, name, secret) on public.cache_probe to "${roles.both}";`);
  const srv = await startServer(t, { db, env: { ...ENV, HASURA_GRAPHQL_MAX_CACHED_SCHEMAS: "2" } });
  // Each role's own schema: the probe's fields are its column grants.
  const fields = async (role: string) => {
    const res = await srv.gql(`{ __type(name: "CacheProbe") { fields { name } } }`, { headers: as(role) });
    t.notOk(res.body.errors, `${role}: answered`);
    return (res.body.data.__type?.fields ?? []).map((f: { name: string }) => f.name).sort();
  };
  const first: Record<string, string[]> = {};
  for (const key of ["ids", "names", "both"] as const) first[key] = await fields(roles[key]);
  t.same(first.ids, ["id"]);
  t.same(first.names, ["id", "name"]);
  t.same(first.both, ["id", "name", "secret"]);
  t.ok(srv.app.schemas.size <= 2, `at most 2 schemas kept (${srv.app.schemas.size})`);

  // The most recent one is kept: asking again builds nothing.
  const builds = srv.app.schemas.builds;
  t.same(await fields(roles.both), first.both);
  t.equal(srv.app.schemas.builds, builds, "the most recently used role's schema was kept");
  // The first one was evicted: its next request rebuilds it, the same schema as before.
  t.same(await fields(roles.ids), first.ids);
  t.equal(srv.app.schemas.builds, builds + 1, "an evicted role's schema is rebuilt on its next request");
  t.ok(srv.app.schemas.size <= 2, `still at most 2 (${srv.app.schemas.size})`);
  // The readiness role is pinned: /readyz never rebuilds it.
  const res = await fetch(`${srv.url}/readyz`);
  t.equal(res.status, 200);
  t.equal(srv.app.schemas.builds, builds + 1, "/readyz's role stayed built");
});
