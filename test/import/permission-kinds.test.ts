/**
 * The importer's permission kinds beyond table permissions (issue 14):
 * inherited roles, tracked functions and computed fields. The Hasura project
 * in fixtures/permission-kinds (a migration and its metadata) is imported
 * into an empty database (migrations converted and run, policies.sql emitted
 * against that catalog and applied), then checked through SQL, through the
 * server's /v1/graphql, and with --compare-hasura.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { migrateProject } from "../../server/db/migrate.ts";
import { loadCatalog as loadPermissionCatalog } from "../../server/db/permissions/catalog.ts";
import { compareWithHasura, loadTableColumns } from "../../server/db/permissions/hasura-compare.ts";
import { withClient } from "../../server/db/with-client.ts";
import { loadCatalog } from "../../server/import/catalog.ts";
import { emitPolicies, rolesOf } from "../../server/import/emit-policies.ts";
import { loadFunctionCatalog } from "../../server/import/function-permissions.ts";
import { importHasuraProject } from "../../server/import/index.ts";
import { orderInheritedRoles, resolveInheritedRoles } from "../../server/import/inherited-roles.ts";
import { type HasuraMetadata, loadHasuraMetadata } from "../../server/import/metadata.ts";
import { importHasuraMigrations } from "../../server/import/migrations.ts";
import { quoteIdent } from "../../server/import/sql-quote.ts";
import { createEmptyDatabase } from "../helpers/empty-database.ts";
import { clusterUrl, query } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { ADMIN, ADMIN_SECRET_ENV } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";
import { runCli } from "../permissions/cli.ts";
import { as } from "../policies/helpers.ts";

const FIXTURE = path.join(REPO_ROOT, "test/import/fixtures/permission-kinds");
const V1 = "/v1/graphql";
const READER = "pk_rules_reader";

const md = loadHasuraMetadata(FIXTURE);
const work = mkdtempSync(path.join(tmpdir(), "permission-kinds-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

// The migrations as the importer converts them, run as `npm start` would run them (sql/ helpers first).
const migrations = await importHasuraMigrations(FIXTURE, { roles: rolesOf(md) });
for (const f of migrations.files) {
  mkdirSync(path.dirname(path.join(work, f.path)), { recursive: true });
  writeFileSync(path.join(work, f.path), f.content);
}
writeFileSync(path.join(work, "migrations/current.sql"), "");
const helpers = ["session.sql", "permissions.sql", "privileges.sql"].map((f) =>
  JSON.stringify(path.relative(path.join(work, "migrations"), path.join(REPO_ROOT, "sql", f))),
);
writeFileSync(
  path.join(work, ".gmrc"),
  `{ "placeholders": { ":DATABASE_OWNER": "!ENV", ":DATABASE_AUTHENTICATOR": "!ENV" }, "beforeAllMigrations": [${helpers}], "beforeCurrent": [${helpers}] }\n`,
);

const db = await createEmptyDatabase(t);
await db.asRoot("revoke all on schema public from public");
t.teardown(async () => {
  await db.asRoot(`drop owned by ${quoteIdent(READER)} cascade`).catch(() => {});
});
await migrateProject({ projectDir: work, ownerUrl: db.ownerUrl, authenticator: TEST_ROLES.authenticator.name });
const [catalog, functions] = await withClient(db.ownerUrl, async (c) => [await loadCatalog(c), await loadFunctionCatalog(c)] as const);
const emitted = emitPolicies(md, { catalog, functions, reader: READER, source: "permission-kinds" });
await query(db.ownerUrl, emitted.sql);

const noteAbout = (where: RegExp, detail: RegExp) => emitted.notes.some((n) => where.test(n.where) && detail.test(n.detail));
const testDb = {
  name: db.name,
  runtimeUrl: clusterUrl(TEST_ROLES.authenticator.name, TEST_ROLES.authenticator.password, db.name),
  ownerUrl: db.ownerUrl,
  rootUrl: db.rootUrl,
  asOwner: <R extends import("pg").QueryResultRow>(sql: string, values?: unknown[]) => query<R>(db.ownerUrl, sql, values),
  asRoot: db.asRoot,
};
/** Rows as the role sees them in SQL (session variables as the server sets them). */
const asRole = <R extends import("pg").QueryResultRow>(role: string, sql: string, userId = "1") =>
  withClient(db.rootUrl, async (c) => {
    await c.query("begin");
    try {
      await c.query("select set_config('hasura.user', $1, true)", [JSON.stringify({ "x-hasura-role": role, "x-hasura-user-id": userId })]);
      await c.query(`set local role ${quoteIdent(role)}`);
      return (await c.query<R>(sql)).rows;
    } finally {
      await c.query("rollback");
    }
  });
const ids = (rows: { id: number }[]) => rows.map((r) => r.id).sort((a, b) => a - b);

t.test("inherited roles resolve as Hasura: own first, nested, parents' mutations only where they agree", async (t) => {
  t.same(orderInheritedRoles(md), ["pk_editor", "pk_lead", "pk_chief"], "parents first");
  const r = resolveInheritedRoles(md);
  const doc = r.metadata.tables.find((x) => x.table.name === "doc")!;
  const note = r.metadata.tables.find((x) => x.table.name === "note")!;
  t.same(doc.select.get("pk_editor")?.filter, { _or: [{ published: { _eq: true } }, { published: { _eq: false } }] });
  t.same(doc.select.get("pk_editor")?.columns, ["id", "title", "published"], "body only through pk_reviewer's rows: not granted");
  t.same(doc.select.get("pk_lead")?.columns, ["id", "title", "body", "owner_id", "published"], "secret only through pk_author's rows");
  t.equal(doc.select.get("pk_lead")?.limit, 10, "the largest limit");
  t.equal(doc.select.get("pk_lead")?.allowAggregations, true, "aggregations: one parent allows them");
  t.same(note.select.get("pk_editor")?.filter, { id: { _eq: 2 } }, "its own permission replaces the inherited one");
  t.same(note.select.get("pk_chief")?.filter, { id: { _eq: 2 } }, "nested: pk_chief inherits pk_editor's own");
  t.same(doc.update.get("pk_editor")?.columns, ["published"], "one parent alone: inherited");
  t.notOk(doc.update.has("pk_lead"), "parents' updates differ: not inherited");
  t.notOk(doc.update.has("pk_chief"), "nor through a nested parent");
  t.ok(doc.insert.has("pk_lead") && doc.delete.has("pk_chief"));
  t.ok(r.notes.some((n) => /pk_lead/.test(n.where) && /update permissions differ/.test(n.detail)));

  const cyclic: HasuraMetadata = {
    ...md,
    inheritedRoles: [
      { roleName: "a", roleSet: ["b", "pk_public"] },
      { roleName: "b", roleSet: ["a"] },
    ],
  };
  t.throws(() => resolveInheritedRoles(cyclic), /found cycle\(s\) in roles: a → b → a/);
});

t.test("a column is granted when a parent allowing it admits every other parent's rows", async (t) => {
  const doc = md.tables.find((x) => x.table.name === "doc")!;
  const sel = (columns: string[] | "*", filter: Record<string, unknown>, extra = {}) => ({
    columns,
    computedFields: [],
    filter,
    allowAggregations: false,
    ...extra,
  });
  const select = new Map([
    ["all_rows", sel(["id", "secret"], {}, { limit: 5, queryRootFields: ["select"] })],
    ["some_rows", sel(["id", "title"], { owner_id: { _eq: "X-Hasura-User-Id" } }, { limit: 20, queryRootFields: ["select_by_pk"] })],
  ]);
  const one: HasuraMetadata = {
    ...md,
    tables: [{ ...doc, select, insert: new Map(), update: new Map(), delete: new Map() }],
    inheritedRoles: [{ roleName: "both", roleSet: ["all_rows", "some_rows"] }],
  };
  const r = resolveInheritedRoles(one, { columnsOf: () => ["id", "title", "body", "secret", "owner_id", "published"] });
  const got = r.metadata.tables[0]!.select.get("both")!;
  t.same(got.columns, ["id", "secret"], "secret: all_rows sees every row; title: only some_rows' rows");
  t.same(got.filter, {}, "a parent with every row: every row");
  t.equal(got.limit, 20, "the largest limit");
  t.same(got.queryRootFields, ["select", "select_by_pk"], "the root fields' union");
  t.ok(r.notes.some((n) => /title not granted/.test(n.detail)));
});

t.test("the policies as SQL: standalone roles, grants, EXECUTE, notes", async (t) => {
  const sql = emitted.sql;
  t.match(sql, "grant select (id, title, published), update (published) on public.doc to pk_editor;");
  t.match(
    sql,
    /create policy pk_editor_select on public\.doc for select to pk_editor using \(\(published = 'true'::boolean\) or \(published = 'false'::boolean\)\)|create policy pk_editor_select on public\.doc for select to pk_editor using/,
  );
  t.match(sql, "call hasura.select_permission('public.doc', 'pk_lead', \"limit\" => 10, allow_aggregations => true);");
  t.match(sql, "call hasura.column_preset('public.doc', 'pk_lead', 'insert', 'owner_id', session_variable => 'x-hasura-user-id');");
  t.match(sql, "revoke execute on function public.shout_title(doc_id integer) from public;");
  t.match(sql, "grant execute on function public.shout_title(doc_id integer) to pk_author, pk_chief, pk_lead, admin;");
  t.match(
    sql,
    "grant execute on function public.published_docs() to pk_author, pk_chief, pk_editor, pk_lead, pk_public, pk_reviewer, admin;",
  );
  t.match(sql, "grant execute on function public.doc_title_upper(d public.doc) to pk_author, pk_public, admin;");
  t.match(sql, "comment on function public.doc_title_length(d public.doc) is '@fieldName title_chars';");
  const memberships = await db.asRoot(
    "select 1 from pg_auth_members m join pg_roles r on r.oid = m.roleid join pg_roles u on u.oid = m.member where u.rolname like 'pk\\_%' and r.rolname like 'pk\\_%'",
  );
  t.same(memberships, [], "no role membership between imported roles");

  t.ok(noteAbout(/pk_editor/, /body, owner_id, computed field title_upper not granted/), "differing parent columns are noted");
  t.ok(noteAbout(/update_permissions\[role=pk_lead\]/, /inconsistent in Hasura, not granted/), "inconsistent mutation noted");
  t.ok(noteAbout(/update_permissions\[role=pk_chief\]/, /inconsistent in Hasura, not granted/));
  t.ok(noteAbout(/computed_fields\[name=title_upper\]/, /pk_public may execute it but are not offered the field/));
  t.notOk(
    emitted.notes.some((n) => /not translated yet/.test(n.detail)),
    "nothing left as 'not translated yet'",
  );
});

t.test("rows and cells through SQL as each role", async (t) => {
  t.same(ids(await asRole<{ id: number }>("pk_editor", "select id from public.doc")), [1, 2, 3, 4, 5], "union of the parents' rows");
  t.same(ids(await asRole<{ id: number }>("pk_lead", "select id from public.doc", "3")), [2, 4, 5], "owner 3's and the unpublished");
  t.same(ids(await asRole<{ id: number }>("pk_chief", "select id from public.doc")), [1, 2, 3, 4, 5]);
  t.same(ids(await asRole<{ id: number }>("pk_editor", "select id from public.note")), [2], "own permission, not pk_public's every note");
  t.same(ids(await asRole<{ id: number }>("pk_chief", "select id from public.note")), [2], "nested: pk_editor's own");
  t.same(ids(await asRole<{ id: number }>("pk_lead", "select id from public.note")), [1]);
  // A cell Hasura hides (body of a published doc for pk_editor, secret of an unpublished one for pk_lead) never shows.
  await t.rejects(asRole("pk_editor", "select body from public.doc"), /permission denied/);
  await t.rejects(asRole("pk_lead", "select secret from public.doc"), /permission denied/);
  await t.rejects(asRole("pk_chief", "select body from public.doc"), /permission denied/);
  // Inconsistent updates are not granted; a consistent one (pk_reviewer's alone) is.
  await t.rejects(asRole("pk_lead", "update public.doc set title = 'x' where id = 5"), /permission denied/);
  await t.rejects(asRole("pk_chief", "update public.doc set published = true where id = 5"), /permission denied/);
  t.same(await asRole("pk_editor", "update public.doc set published = true where id = 5 returning id"), [{ id: 5 }]);

  const exec = (role: string, fn: string) =>
    db.asRoot<{ ok: boolean }>("select has_function_privilege($1, $2, 'execute') as ok", [role, fn]).then((r) => r[0]!.ok);
  for (const fn of [
    "public.published_docs()",
    "public.shout_title(integer)",
    "public.doc_title_upper(public.doc)",
    "public.doc_title_length(public.doc)",
  ]) {
    const acl = await db.asRoot<{ acl: string | null }>("select proacl::text as acl from pg_proc where oid = $1::regprocedure", [fn]);
    t.notMatch(acl[0]!.acl ?? "=X", /(^|[{,])=X/, `${fn}: EXECUTE not granted to PUBLIC`);
  }
  t.equal(await exec("pk_noter", "public.published_docs()"), false, "no select on doc: no inferred permission");
  t.equal(await exec("pk_reviewer", "public.published_docs()"), true, "inferred from select on doc");
  t.equal(await exec("pk_reviewer", "public.shout_title(integer)"), false, "VOLATILE: explicit permissions only");
  t.equal(await exec("pk_lead", "public.shout_title(integer)"), true, "a parent is permitted");
  t.equal(await exec("pk_reviewer", "public.doc_title_upper(public.doc)"), false, "select does not list the computed field");
  t.equal(await exec("pk_author", "public.doc_title_length(public.doc)"), true);
  await t.rejects(asRole("pk_noter", "select * from public.published_docs()"), /permission denied for function published_docs/);
});

t.test("through the server: functions and computed fields per role", async (t) => {
  const srv = await startServer(t, { db: testDb });
  const gql = (role: string, q: string, userId = "1") => srv.gql(q, { path: V1, headers: as(role, { userId }) });

  // Runs as the role, under doc's RLS: pk_author's published docs (its own).
  const pub = await gql("pk_author", "{ published_docs(order_by: {id: asc}) { id title } }");
  t.same(pub.body, { data: { published_docs: [{ id: 1, title: "one" }] } }, "inferred: a reader of doc; RLS applies inside");
  // `select *` inside it reads columns pk_public may not (Hasura runs it as admin): refused, and noted.
  t.match(JSON.stringify((await gql("pk_public", "{ published_docs { id } }")).body.errors), /permission denied for table doc/);
  t.ok(noteAbout(/function public.published_docs/, /pk_public.*every column/));
  const noter = await gql("pk_noter", "{ published_docs { id } }");
  t.match(JSON.stringify(noter.body.errors), /published_docs/, "pk_noter has no such field");

  const author = await gql("pk_author", "{ doc(order_by: {id: asc}) { id title_upper title_chars } }");
  t.same(
    author.body,
    {
      data: {
        doc: [
          { id: 1, title_upper: "ONE", title_chars: 3 },
          { id: 2, title_upper: "TWO", title_chars: 3 },
        ],
      },
    },
    "computed fields under Hasura's names",
  );
  const reviewer = await gql("pk_reviewer", "{ doc { id title_upper } }");
  t.match(JSON.stringify(reviewer.body.errors), /title_upper/, "not listed in pk_reviewer's select: absent");

  const unpublish = `mutation { shout_title(args: {doc_id: 1}) { id title } }`;
  t.match(JSON.stringify((await gql("pk_reviewer", unpublish)).body.errors), /shout_title/, "VOLATILE without permission: absent");
  t.same((await gql("pk_author", unpublish)).body, { data: { shout_title: [{ id: 1, title: "ONE" }] } });

  const editor = await gql("pk_editor", "{ doc(order_by: {id: asc}) { id title } }");
  t.equal(editor.body.data?.doc?.length, 5, `pk_editor sees the union: ${JSON.stringify(editor.body)}`);
  t.match(JSON.stringify((await gql("pk_editor", "{ doc { id body } }")).body.errors), /body/, "body is not in pk_editor's schema");
  const update = (role: string, set: string) =>
    gql(role, `mutation { update_doc(where: {id: {_eq: 5}}, _set: {${set}}) { affected_rows } }`, "3");
  t.match(JSON.stringify((await update("pk_lead", 'title: "x"')).body.errors), /update_doc/, "inconsistent update: no update_doc");
  t.match(JSON.stringify((await update("pk_chief", "published: true")).body.errors), /update_doc/);
  t.same((await update("pk_editor", "published: false")).body, { data: { update_doc: { affected_rows: 1 } } }, "pk_reviewer's alone");
  const lead = await gql("pk_lead", "{ doc_aggregate { aggregate { count } } }", "3");
  // Owner 3's (5) and the unpublished (2, 4, 5).
  t.same(lead.body, { data: { doc_aggregate: { aggregate: { count: 3 } } } }, "pk_lead: aggregations inherited");
});

t.test("--compare-hasura is clean on the result", async (t) => {
  await withClient(db.ownerUrl, async (client) => {
    const cat = await loadPermissionCatalog(client, { schema: "public", authenticator: TEST_ROLES.authenticator.name });
    t.same(compareWithHasura(cat, await loadTableColumns(client, "public"), md), []);
  });
  const cli = await runCli("permissions", ["--compare-hasura", FIXTURE], testDb, "blog");
  t.equal(cli.code, 0, `npm run permissions -- --compare-hasura: ${cli.output}`);
});

t.test("npm run lint:policies on the result", async (t) => {
  const res = await runCli("lint-policies", [], testDb, "blog");
  t.equal(res.code, 0, `clean: ${res.output}`);
});

t.test("importHasuraProject (npm run import:hasura): the same grants, the notes in IMPORT.md, no difference", async (t) => {
  const scratch = await createEmptyDatabase(t);
  await scratch.asRoot("revoke all on schema public from public");
  t.teardown(() => scratch.asRoot(`drop owned by ${quoteIdent(READER)} cascade`).catch(() => {}));
  const out = path.join(work, "imported");
  const result = await importHasuraProject(FIXTURE, out, {
    scratch: { ownerUrl: scratch.ownerUrl, authenticator: TEST_ROLES.authenticator.name },
    reader: READER,
  });
  t.same(result.differences, [], "--compare-hasura clean");
  const sql = readFileSync(path.join(out, "policies.sql"), "utf8");
  t.match(
    sql,
    "grant execute on function public.published_docs() to pk_author, pk_chief, pk_editor, pk_lead, pk_public, pk_reviewer, admin;",
  );
  t.match(sql, "grant select (id, title, published), update (published) on public.doc to pk_editor;");
  const report = readFileSync(path.join(out, "IMPORT.md"), "utf8").replace(/\s+/g, " ");
  t.match(
    report,
    /update_permissions\[role=pk_lead\] \(inherited role pk_lead \(parents pk_author, pk_reviewer\)\): the parents' update permissions differ/,
  );
  t.match(report, /body, owner_id, computed field title_upper not granted/);

  // Inherited roles' policies (their resolved permissions) record their Hasura rule too, as their parents' do.
  const uncommented = await scratch.asRoot<{ policy: string }>(
    `select p.polname || ' on ' || c.relname as policy from pg_policy p join pg_class c on c.oid = p.polrelid
      where c.relnamespace = 'public'::regnamespace and p.polname ~ '^pk_(editor|lead|chief)_'
        and coalesce(obj_description(p.oid, 'pg_policy'), '') not like 'hasura:%'`,
  );
  t.same(uncommented, [], "every inherited role's policy has its recorded rule");
  t.match(sql, /^comment on policy pk_editor_select on public\.doc is 'hasura:/m, "in policies.sql");

  // The round trip: export_metadata of the result compares clean with the result.
  const srv = await startServer(t, {
    db: {
      ...testDb,
      name: scratch.name,
      runtimeUrl: clusterUrl(TEST_ROLES.authenticator.name, TEST_ROLES.authenticator.password, scratch.name),
      ownerUrl: scratch.ownerUrl,
      rootUrl: scratch.rootUrl,
      asRoot: scratch.asRoot,
      asOwner: (q, v) => query(scratch.ownerUrl, q, v),
    },
    env: ADMIN_SECRET_ENV,
  });
  const res = await fetch(`${srv.url}/v1/metadata`, {
    method: "POST",
    headers: { "content-type": "application/json", ...ADMIN },
    body: JSON.stringify({ type: "export_metadata", version: 2, args: {} }),
  });
  const body = (await res.json()) as { metadata: unknown; warnings: unknown[] };
  t.same(body.warnings, [], "every permission exported");
  const file = path.join(work, "exported.json");
  writeFileSync(file, JSON.stringify(body.metadata));
  const exported = loadHasuraMetadata(file);
  await withClient(scratch.ownerUrl, async (client) => {
    const cat = await loadPermissionCatalog(client, { schema: "public", authenticator: TEST_ROLES.authenticator.name });
    t.same(compareWithHasura(cat, await loadTableColumns(client, "public"), exported), [], "export → --compare-hasura: no difference");
  });
});
