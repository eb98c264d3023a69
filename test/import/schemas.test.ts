/**
 * A Hasura project tracking tables in two schemas (fixtures/two-schemas:
 * public.team and app.item, an item's rule reading its team across the
 * schemas) imported: --compare-hasura is clean on both schemas (importer and
 * CLI), policies.expected.md documents both, and the project, migrated into
 * a fresh database, is served over HTTP with DATABASE_SCHEMAS=public,app in
 * both dialects, each role seeing the rows its Hasura rule selects.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { describeFinding, InheritedRoleError } from "../../server/db/inherited-roles.ts";
import { migrateProject } from "../../server/db/migrate.ts";
import { importHasuraProject } from "../../server/import/index.ts";
import { quoteIdent } from "../../server/import/sql-quote.ts";
import { createEmptyDatabase } from "../helpers/empty-database.ts";
import { clusterUrl, query, type TestDatabase } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { startServer } from "../helpers/server.ts";
import { runCli } from "../permissions/cli.ts";
import { as } from "../policies/helpers.ts";

const FIXTURE = path.join(REPO_ROOT, "test/import/fixtures/two-schemas");
const work = mkdtempSync(path.join(tmpdir(), "import-schemas-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const reader = `fx_${randomBytes(4).toString("hex")}_rules_reader`;
const scratch = await createEmptyDatabase(t);
const served = await createEmptyDatabase(t);
for (const db of [scratch, served]) await db.asRoot("revoke all on schema public from public");
t.teardown(async () => {
  for (const db of [scratch, served]) await db.asRoot(`drop owned by ${quoteIdent(reader)} cascade`).catch(() => {});
  await scratch.asRoot(`drop role if exists ${quoteIdent(reader)}`).catch(() => {});
});

const out = path.join(work, "out");
const result = await importHasuraProject(FIXTURE, out, {
  scratch: { ownerUrl: scratch.ownerUrl, authenticator: TEST_ROLES.authenticator.name },
  reader,
});

// The project as `npm start` would run it, on a fresh database, with rows.
await migrateProject({ projectDir: out, ownerUrl: served.ownerUrl, authenticator: TEST_ROLES.authenticator.name });
await served.asRoot(`
  insert into public.team (id, name, hidden) values (1, 'red', false), (2, 'blue', false), (3, 'ghost', true);
  insert into app.item (team_id, title, secret, archived) values
    (1, 'red one', 's1', false), (1, 'red archived', 's2', true), (2, 'blue one', 's3', false), (3, 'ghost one', 's4', false);`);
const db: TestDatabase = {
  name: served.name,
  runtimeUrl: clusterUrl(TEST_ROLES.authenticator.name, TEST_ROLES.authenticator.password, served.name),
  ownerUrl: served.ownerUrl,
  rootUrl: served.rootUrl,
  asOwner: (sql, values) => query(served.ownerUrl, sql, values),
  asRoot: served.asRoot,
};

t.test("the import compares both schemas: no difference", async (t) => {
  t.same(result.schemas, ["public", "app"]);
  t.same(result.differences, []);
  const report = readFileSync(path.join(out, "IMPORT.md"), "utf8");
  t.match(report, "- tables: 2 of 2 tracked");
  t.match(report, "No difference.");
  t.match(report, "`PROJECT_DIR=<this folder> DATABASE_SCHEMAS=public,app npm start`");
});

t.test("policies.expected.md documents both schemas' permissions", async (t) => {
  const doc = readFileSync(path.join(out, "policies.expected.md"), "utf8");
  t.equal(doc.match(/^<!-- Generated/gm)?.length, 1, "one generated-file note");
  const publicAt = doc.indexOf("# Permissions of schema public");
  const appAt = doc.indexOf("# Permissions of schema app");
  t.ok(publicAt >= 0 && appAt > publicAt, "public, then app");
  const rows = doc.split("\n").filter((l) => /^\| (team|item) \| S/.test(l));
  t.same(rows, [
    "| team | S🟩 U🟩 I🟩 D🟩 | S✅ U❌ I❌ D❌ | S🟩 U❌ I❌ D❌ |",
    "| item | S🟩 U🟩 I🟩 D🟩 | S✅ U✅ I🟩[team_id=x-hasura-team-id] D✅ | S✅ U❌ I❌ D❌ |",
  ]);
  t.match(doc.slice(appAt), /## item\n/);
  t.match(doc.slice(appAt), /ts_viewer_select/);
});

t.test("npm run permissions -- --compare-hasura compares every schema the metadata tracks", async (t) => {
  const res = await runCli("permissions", ["--compare-hasura", FIXTURE], db, "blog");
  t.equal(res.code, 0, res.output);
  t.match(res.stdout, /permissions match the Hasura metadata of .*two-schemas \(schemas public, app\)/);
  t.equal(res.stderr, "");
  const check = await runCli("permissions", ["--schema", "public,app", "--check", path.join(out, "policies.expected.md")], db, "blog");
  t.equal(check.code, 0, check.output);
  t.match(check.stdout, /^permissions match .*policies\.expected\.md\n$/, "--check of the two-schema document");
  const byEnv = await runCli("permissions", ["--check", path.join(out, "policies.expected.md")], db, "blog", {
    DATABASE_SCHEMAS: "public,app",
  });
  t.equal(byEnv.code, 0, `DATABASE_SCHEMAS names the schemas: ${byEnv.output}`);
  const onePublic = await runCli("permissions", ["--check", path.join(out, "policies.expected.md")], db, "blog");
  t.equal(onePublic.code, 1, "public alone (the default) is not the whole document");
  t.match(onePublic.stdout, "tables that differ: item");
});

t.test("npm run lint:policies is clean on both schemas (DATABASE_SCHEMAS)", async (t) => {
  const res = await runCli("lint-policies", [], db, "blog", { DATABASE_SCHEMAS: "public,app" });
  t.equal(res.code, 0, res.output);
  t.match(res.stdout, "policies lint clean");
  // It does read app: a table there without RLS is found.
  await db.asRoot("create table app.loose (id integer)");
  t.teardown(() => db.asRoot("drop table if exists app.loose"));
  const found = await runCli("lint-policies", [], db, "blog", { DATABASE_SCHEMAS: "public,app" });
  t.equal(found.code, 1, found.output);
  t.match(found.stdout, /^rls_disabled\t.*loose/m);
  await db.asRoot("drop table app.loose");
});

t.test("HTTP with DATABASE_SCHEMAS=public,app: both schemas, each role's rows", async (t) => {
  const srv = await startServer(t, { db, env: { DATABASE_SCHEMAS: "public,app" } });
  for (const team of [1, 2]) {
    const headers = { ...as("ts_member"), "x-hasura-team-id": String(team) };
    const res = await srv.gql("{ allAppItems(orderBy: ID_ASC) { nodes { id title } } }", { headers });
    t.equal(res.status, 200);
    const expected = await db.asRoot("select id, title from app.item where team_id = $1 and not archived order by id", [team]);
    t.ok(expected.length > 0, "the fixture has rows for the rule");
    t.same(res.body, { data: { allAppItems: { nodes: expected } } }, `team ${team}: the rows Hasura's rule selects (/graphql)`);
  }
  // The relationship rule reads public.team as Hasura does (not under team's own rules): the ghost team's item is hidden.
  const viewer = await srv.gql("{ app_item(order_by: {id: asc}) { title team { name } } }", {
    headers: as("ts_viewer"),
    path: "/v1/graphql",
  });
  t.equal(viewer.status, 200);
  t.same(viewer.body, {
    data: {
      app_item: [
        { title: "red one", team: { name: "red" } },
        { title: "red archived", team: { name: "red" } },
        { title: "blue one", team: { name: "blue" } },
      ],
    },
  });
  // Insert in app with the preset from the session; the team is read in public.
  const member = { ...as("ts_member"), "x-hasura-team-id": "2" };
  const inserted = await srv.gql('mutation { insert_app_item_one(object: {title: "blue two"}) { title team_id } }', {
    headers: member,
    path: "/v1/graphql",
  });
  t.same(inserted.body, { data: { insert_app_item_one: { title: "blue two", team_id: 2 } } });
  const team = await srv.gql("{ team { id name } }", { headers: member, path: "/v1/graphql" });
  t.same(team.body, { data: { team: [{ id: 2, name: "blue" }] } });
});

t.test("relations the metadata does not track: reachable by no role, admin included, as in Hasura", async (t) => {
  // The fixture's public.untracked_secret and app.team_count (a materialized view) are in tracked schemas, untracked.
  const sql = readFileSync(path.join(out, "policies.sql"), "utf8");
  t.match(sql, "-- Not tracked by the Hasura metadata: Hasura exposes these to no role");
  t.match(sql, "alter table public.untracked_secret enable row level security, force row level security;");
  t.match(sql, "-- app.team_count is a materialized view: no policies possible; no application role is granted it.");
  t.match(
    readFileSync(path.join(out, "IMPORT.md"), "utf8"),
    "reachable by no role (admin included), as in Hasura: `app.team_count`, `public.untracked_secret`",
  );
  const rls = await db.asRoot<{ relrowsecurity: boolean; relforcerowsecurity: boolean }>(
    "select relrowsecurity, relforcerowsecurity from pg_class where oid = 'public.untracked_secret'::regclass",
  );
  t.same(rls, [{ relrowsecurity: true, relforcerowsecurity: true }]);
  const grants = await db.asRoot(
    `select c.relname, a.grantee::regrole::text as grantee from pg_class c cross join lateral aclexplode(c.relacl) a
      where c.oid in ('public.untracked_secret'::regclass, 'app.team_count'::regclass)
        and a.grantee <> c.relowner`,
  );
  t.same(grants, [], "no grant to any role but the owner");
  const srv = await startServer(t, { db, env: { DATABASE_SCHEMAS: "public,app" } });
  for (const role of ["admin", "ts_viewer", "ts_member"]) {
    for (const field of ["untracked_secret", "app_team_count"]) {
      const res = await srv.gql(`{ ${field} { __typename } }`, { headers: as(role), path: "/v1/graphql" });
      t.match(res.body.errors?.[0]?.message, new RegExp(`'${field}' not found`), `${role}: no ${field} in /v1/graphql`);
    }
  }
  // The admin's own schema still has the tracked tables (the check above is not a schema that failed to build).
  const admin = await srv.gql("{ team(order_by: {id: asc}) { id } }", { headers: as("admin"), path: "/v1/graphql" });
  t.same(admin.body, { data: { team: [{ id: 1 }, { id: 2 }, { id: 3 }] } });
});

t.test("without DATABASE_SCHEMAS only public is exposed", async (t) => {
  const srv = await startServer(t, { db });
  const res = await srv.gql("{ app_item { id } }", { headers: as("ts_viewer"), path: "/v1/graphql" });
  t.match(res.body.errors?.[0]?.message, /'app_item' not found/, "app.item is not in the schema");
});

t.test("an inherited role is checked on every exposed schema at start-up", async (t) => {
  // Membership of both would show ts_member's secret column on the rows only ts_viewer may read: refused in app.
  const both = `fx_${randomBytes(4).toString("hex")}_both`;
  t.teardown(() => db.asRoot(`drop owned by ${quoteIdent(both)}; drop role if exists ${quoteIdent(both)}`));
  await db.asRoot(
    `create role ${quoteIdent(both)} nologin; grant ${quoteIdent(both)} to ${quoteIdent(TEST_ROLES.authenticator.name)};
     grant ts_member, ts_viewer to ${quoteIdent(both)} with inherit true;
     grant usage on schema public, app to ${quoteIdent(both)}`,
  );
  const refused = await startServer(t, { db, env: { DATABASE_SCHEMAS: "public,app" } }).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(refused instanceof InheritedRoleError, `refused at start-up: ${String(refused)}`);
  t.ok(
    (refused as InheritedRoleError).findings.every((f) => describeFinding(f).includes("app.item")),
    `every finding is on app.item: ${(refused as InheritedRoleError).findings.map(describeFinding).join("; ")}`,
  );
  // In public, ts_viewer reads every row and column of team, which covers ts_member's: served.
  const srv = await startServer(t, { db });
  t.ok(srv.app.appRoles.has(both), "public alone: the role is served");
});
