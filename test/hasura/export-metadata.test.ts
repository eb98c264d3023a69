/**
 * POST /v1/metadata export_metadata over real HTTP (server/plugins/
 * metadata-api.ts, server/hasura/metadata-export.ts): Hasura's response
 * shapes and errors; the blog's hand-written policies exported equal the
 * blog's Hasura metadata up to ordering (the reverse translator); the
 * blog's metadata emitted as policies.sql with its rules recorded
 * (rule-comments.ts), exported, gives no --compare-hasura difference and
 * the same rules; a policy edited after import is not exported with its
 * recorded rule.
 */
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { withClient } from "../../server/db/with-client.ts";
import { type BoolExp, loadPolicyFacts, policyRuleHash, ruleComment, sameBoolExp } from "../../server/hasura/metadata-export.ts";
import { readerRoleSql } from "../../server/import/bool-exp.ts";
import { loadCatalog } from "../../server/import/catalog.ts";
import { emitPolicies } from "../../server/import/emit-policies.ts";
import { importHasuraProject } from "../../server/import/index.ts";
import { type HasuraMetadata, loadHasuraMetadata } from "../../server/import/metadata.ts";
import { ruleCommentsSql } from "../../server/import/rule-comments.ts";
import { quoteIdent } from "../../server/import/sql-quote.ts";
import { createEmptyDatabase } from "../helpers/empty-database.ts";
import { clusterUrl, createTestDatabase, query, type TestDatabase } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { createFixtureRoles } from "../helpers/roles.ts";
import { ADMIN, ADMIN_SECRET_ENV, SECURED } from "../helpers/secured.ts";
import { startServer, type TestServer } from "../helpers/server.ts";
import { runCli } from "../permissions/cli.ts";

const BLOG = path.join(REPO_ROOT, "examples/blog");
const blogMetadata = loadHasuraMetadata(path.join(BLOG, "hasura"));
const work = mkdtempSync(path.join(tmpdir(), "export-metadata-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

async function post(server: TestServer, body: unknown, headers: Record<string, string> = ADMIN) {
  const res = await fetch(`${server.url}/v1/metadata`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

const EXPORT = { type: "export_metadata", args: {} };

/** The exported metadata, written to a file and read back by the importer's own loader. */
function reload(metadata: unknown, name: string): HasuraMetadata {
  const file = path.join(work, `${name}.json`);
  writeFileSync(file, JSON.stringify(metadata, null, 2));
  return loadHasuraMetadata(file);
}

/** Every permission of `got` equals `want`'s up to ordering: columns, rules, presets, declarations; and the relationships' names. */
function samePermissions(t: Test, got: HasuraMetadata, want: HasuraMetadata) {
  const cols = (c: string[] | "*") => (c === "*" ? "*" : [...c].sort());
  const rule = (a: BoolExp | null, b: BoolExp | null, where: string) =>
    t.ok(sameBoolExp(a ?? {}, b ?? {}), `${where}: ${JSON.stringify(a)} is ${JSON.stringify(b)}`);
  const lower = (set: Record<string, unknown>) => Object.fromEntries(Object.entries(set).map(([k, v]) => [k, String(v).toLowerCase()]));
  t.same(got.tables.map((x) => x.table.name).sort(), want.tables.map((x) => x.table.name).sort(), "the tables");
  for (const w of want.tables) {
    const g = got.tables.find((x) => x.table.name === w.table.name)!;
    const name = w.table.name;
    t.same(
      [...g.objectRelationships.map((r) => r.name)].sort(),
      [...w.objectRelationships.map((r) => r.name)].sort(),
      `${name} object relationships`,
    );
    t.same(
      [...g.arrayRelationships.map((r) => r.name)].sort(),
      [...w.arrayRelationships.map((r) => r.name)].sort(),
      `${name} array relationships`,
    );
    for (const cmd of ["select", "insert", "update", "delete"] as const)
      t.same([...g[cmd].keys()].sort(), [...w[cmd].keys()].sort(), `${name} ${cmd}: the roles`);
    for (const [role, p] of w.select) {
      const q = g.select.get(role)!;
      t.same(cols(q.columns), cols(p.columns), `${name} ${role} select columns`);
      rule(q.filter, p.filter, `${name} ${role} select filter`);
      t.same(
        [q.limit, q.allowAggregations, q.queryRootFields],
        [p.limit, p.allowAggregations, p.queryRootFields],
        `${name} ${role} select options`,
      );
    }
    for (const [role, p] of w.insert) {
      const q = g.insert.get(role)!;
      t.same(cols(q.columns), cols(p.columns), `${name} ${role} insert columns`);
      rule(q.check, p.check, `${name} ${role} insert check`);
      t.same(lower(q.set), lower(p.set), `${name} ${role} insert presets`);
      t.equal(q.backendOnly, p.backendOnly);
    }
    for (const [role, p] of w.update) {
      const q = g.update.get(role)!;
      t.same(cols(q.columns), cols(p.columns), `${name} ${role} update columns`);
      rule(q.filter, p.filter, `${name} ${role} update filter`);
      rule(q.check, p.check, `${name} ${role} update check`);
      t.same(lower(q.set), lower(p.set), `${name} ${role} update presets`);
    }
    for (const [role, p] of w.delete) rule(g.delete.get(role)!.filter, p.filter, `${name} ${role} delete filter`);
  }
}

async function compareClean(t: Test, db: TestDatabase, metadata: unknown, name: string) {
  const file = path.join(work, `${name}.json`);
  writeFileSync(file, JSON.stringify(metadata));
  const r = await runCli("permissions", ["--compare-hasura", file], db, "blog");
  t.equal(r.code, 0, `--compare-hasura is clean:\n${r.output}`);
}

// ---------------------------------------------------------------------------

const blog = await createTestDatabase(t, "blog");
const server = await startServer(t, { db: blog, env: ADMIN_SECRET_ENV });

t.test("Hasura's shapes: the metadata itself, or {resource_version, metadata} with version 2", async (t) => {
  const v1 = await post(server, EXPORT);
  t.equal(v1.status, 200);
  t.equal(v1.body.version, 3);
  t.equal(v1.headers.get("x-hasura-export-warnings"), "0");
  const source = v1.body.sources[0];
  t.match(source, { name: "default", kind: "postgres", functions: [] });
  t.same(source.configuration.connection_info.database_url, { from_env: "HASURA_GRAPHQL_DATABASE_URL" });
  t.same(
    source.tables.map((x: any) => x.table),
    ["article", "article_tag", "author", "tag"].map((name) => ({ name, schema: "public" })),
  );
  t.notOk("warnings" in v1.body, "the metadata object carries nothing Hasura's would not");

  const v2 = await post(server, { ...EXPORT, version: 2 });
  t.equal(v2.status, 200);
  t.same(Object.keys(v2.body).sort(), ["metadata", "resource_version", "warnings"]);
  t.equal(v2.body.resource_version, 1);
  t.same(v2.body.metadata, v1.body);
  t.same(v2.body.warnings, []);
});

t.test("the blog's hand-written policies export as the blog's Hasura metadata, up to ordering", async (t) => {
  const { body } = await post(server, EXPORT);
  samePermissions(t, reload(body, "blog-hand-written"), blogMetadata);
  const article = body.sources[0].tables.find((x: any) => x.table.name === "article");
  t.same(article.object_relationships, [{ name: "author", using: { foreign_key_constraint_on: "author_id" } }]);
  t.same(article.array_relationships, [
    {
      name: "article_tags",
      using: { foreign_key_constraint_on: { table: { schema: "public", name: "article_tag" }, column: "article_id" } },
    },
  ]);
  const user = article.select_permissions.find((p: any) => p.role === "user").permission;
  t.same(user.columns, ["id", "title", "content", "author_id", "is_published"], "columns in table order");
  t.equal(user.allow_aggregations, true);
  await compareClean(t, blog, body, "blog-hand-written");
});

t.test("errors as Hasura's metadata API", async (t) => {
  const none = await post(server, EXPORT, {});
  t.equal(none.status, 401);
  t.same(none.body, { error: "x-hasura-admin-secret/x-hasura-access-key required, but not found", path: "$", code: "access-denied" });
  const wrong = await post(server, EXPORT, { "x-hasura-admin-secret": "not-the-secret" });
  t.equal(wrong.status, 401);
  t.same(wrong.body, { error: "invalid x-hasura-admin-secret/x-hasura-access-key", path: "$", code: "access-denied" });
  const asUser = await post(server, EXPORT, { ...ADMIN, "x-hasura-role": "user" });
  t.equal(asUser.status, 400);
  t.same(asUser.body, { error: "restricted access : admin only", path: "$.args", code: "access-denied" });

  const badJson = await post(server, "{not json");
  t.equal(badJson.status, 400);
  t.equal(badJson.body.code, "invalid-json");
  const unknown = await post(server, { type: "export_metadatas", args: {} });
  t.equal(unknown.status, 400);
  t.same(unknown.body, {
    error: 'unknown metadata command "export_metadatas"; "export" was not recognized as a valid backend name',
    path: "$",
    code: "parse-failed",
  });
  const noType = await post(server, { args: {} });
  t.same([noType.status, noType.body.code], [400, "parse-failed"]);
  const notServed = await post(server, { type: "pg_create_select_permission", args: {} });
  t.equal(notServed.status, 400);
  t.equal(notServed.body.code, "not-supported");
  t.match(notServed.body.error, /"pg_create_select_permission" is not supported/);
  const replace = await post(server, { type: "replace_metadata", args: {} });
  t.same([replace.status, replace.body.code], [400, "not-supported"]);
});

t.test("with an unauthorized role, a request without credentials is that role: restricted", async (t) => {
  const anonymous = await startServer(t, { db: blog, env: SECURED });
  const r = await post(anonymous, EXPORT, {});
  t.equal(r.status, 400);
  t.same(r.body, { error: "restricted access : admin only", path: "$.args", code: "access-denied" });
});

t.test("imported policies: export → --compare-hasura is clean, and the rules are the metadata's", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const reader = `fx_${randomBytes(4).toString("hex")}_rules_reader`;
  t.teardown(async () => {
    await db.asRoot(`drop owned by ${quoteIdent(reader)} cascade`).catch(() => {});
    await db.asRoot(`drop role if exists ${quoteIdent(reader)}`);
  });
  await db.asOwner(readerRoleSql(reader));
  // As npm run import:hasura does: emit, apply, then record each policy's rule with its hash.
  const emitted = emitPolicies(blogMetadata, { catalog: await withClient(db.ownerUrl, loadCatalog), reader });
  await db.asOwner(emitted.sql);
  const facts = await withClient(db.ownerUrl, (c) => loadPolicyFacts(c, "public"));
  const comments = ruleCommentsSql(blogMetadata, "public", facts);
  t.match(comments, /comment on policy user_insert on public\.article_tag is 'hasura:\{"hash":"[0-9a-f]{32}","insert":/);
  await db.asOwner(emitted.sql + comments);

  const imported = await startServer(t, { db, env: ADMIN_SECRET_ENV });
  const { body } = await post(imported, { ...EXPORT, version: 2 });
  t.same(body.warnings, [], "every permission exported");
  samePermissions(t, reload(body.metadata, "blog-imported"), blogMetadata);
  await compareClean(t, db, body.metadata, "blog-imported");

  // Without the recorded rules, a relationship rule read through a SECURITY DEFINER helper is not guessed.
  await db.asOwner(emitted.sql);
  const bare = await post(imported, { ...EXPORT, version: 2 });
  t.ok(
    bare.body.warnings.some((w: any) => w.table === "article_tag" && w.role === "user" && w.permission === "insert_permissions"),
    "the helper's rule is listed, not exported",
  );
  const tag = bare.body.metadata.sources[0].tables.find((x: any) => x.table.name === "article_tag");
  t.notOk(tag.insert_permissions, "and left out of the metadata");
});

t.test("a policy edited after import is not exported with its recorded rule", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const srv = await startServer(t, { db, env: ADMIN_SECRET_ENV });
  // A form the reverse translator does not read, recorded as the importer would.
  await db.asOwner(
    "drop policy anonymous_select on public.article; create policy anonymous_select on public.article for select to anonymous using (is_published is true)",
  );
  const [f] = (await withClient(db.ownerUrl, (c) => loadPolicyFacts(c, "public"))).filter(
    (x) => x.table === "article" && x.policy === "anonymous_select",
  );
  const recorded = { select: { filter: { is_published: { _eq: true } } } };
  await db.asOwner(`comment on policy anonymous_select on public.article is '${ruleComment(policyRuleHash(f!), recorded)}'`);
  const before = await post(srv, { ...EXPORT, version: 2 });
  t.same(before.body.warnings, []);
  const article = (b: any) => b.metadata.sources[0].tables.find((x: any) => x.table.name === "article");
  const anon = (b: any) => article(b).select_permissions?.find((p: any) => p.role === "anonymous");
  t.same(anon(before.body).permission.filter, { is_published: { _eq: true } }, "the recorded rule, while the policy is as imported");

  // Hand-edited: every published article, and every draft too. The comment stays; its hash no longer matches.
  await db.asOwner("alter policy anonymous_select on public.article using (is_published is true or is_published is false)");
  const after = await post(srv, { ...EXPORT, version: 2 });
  t.notOk(anon(after.body), "not exported with the stale rule");
  t.ok(
    after.body.warnings.some((w: any) => w.table === "article" && w.role === "anonymous" && /anonymous_select/.test(w.reason)),
    "listed beside the metadata",
  );
  // What depends on it (a tag follows its article, under the article's RLS) is not guessed either.
  t.ok(after.body.warnings.some((w: any) => w.table === "article_tag" && w.role === "anonymous"));
});

t.test("views: one read with its owner's rights shows every row; a security_invoker one is not guessed", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const srv = await startServer(t, { db, env: ADMIN_SECRET_ENV });
  await db.asOwner(`
    create view public.titles as select id, title from public.article;
    create view public.published with (security_invoker = true) as select id, title from public.article;
    grant select on public.titles, public.published to anonymous;`);
  const { body } = await post(srv, { ...EXPORT, version: 2 });
  const table = (name: string) => body.metadata.sources[0].tables.find((x: any) => x.table.name === name);
  t.same(table("titles").select_permissions, [{ role: "anonymous", permission: { columns: "*", filter: {} } }]);
  t.notOk(table("published").select_permissions, "left out");
  t.ok(body.warnings.some((w: any) => w.table === "published" && w.role === "anonymous" && /security_invoker/.test(w.reason)));
});

t.test(
  "functions: a tracked one with the roles that may execute it, a computed field where a role may call it on every column",
  async (t) => {
    const db = await createTestDatabase(t, "blog");
    const srv = await startServer(t, { db, env: ADMIN_SECRET_ENV });
    await db.asOwner(`
    create function public.article_title_length(a public.article) returns int language sql stable as 'select length(a.title)';
    create function public.search_articles(q text) returns setof public.article language sql stable
      as 'select * from public.article where title ilike q';
    create function public.publish(article_id int, hasura_session json) returns public.article language sql volatile
      as 'update public.article set is_published = true where id = article_id returning *';
    revoke execute on function public.article_title_length(public.article), public.search_articles(text),
      public.publish(int, json) from public;
    grant execute on function public.article_title_length(public.article), public.search_articles(text) to "user", anonymous;
    grant execute on function public.publish(int, json) to "user";`);
    const { body } = await post(srv, { ...EXPORT, version: 2 });
    const source = body.metadata.sources[0];
    t.same(source.functions, [
      {
        function: { schema: "public", name: "publish" },
        configuration: { session_argument: "hasura_session", exposed_as: "mutation" },
        permissions: [{ role: "user" }],
      },
      { function: { schema: "public", name: "search_articles" }, permissions: [{ role: "anonymous" }, { role: "user" }] },
    ]);
    const article = source.tables.find((x: any) => x.table.name === "article");
    t.same(article.computed_fields, [
      { name: "title_length", definition: { function: { schema: "public", name: "article_title_length" }, table_argument: "a" } },
    ]);
    const select = (role: string) => article.select_permissions.find((p: any) => p.role === role).permission;
    t.same(select("user").computed_fields, ["title_length"], "user reads every column of article");
    t.same(select("anonymous").computed_fields, ["title_length"]);
    // The importer's own loader reads it back.
    const md = reload(body.metadata, "functions");
    t.same(
      md.functions.map((f) => [f.function.name, f.permissions]),
      [
        ["publish", ["user"]],
        ["search_articles", ["anonymous", "user"]],
      ],
    );
    t.same(
      md.tables.find((x) => x.table.name === "article")!.computedFields.map((c) => c.name),
      ["title_length"],
    );
  },
);

t.test("the reverse translator's forms, restrictive policies ANDed, and what it does not read left out", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const srv = await startServer(t, { db, env: ADMIN_SECRET_ENV });
  await db.asOwner(`
    create table public.note (id int primary key, owner_id int, campus text, score numeric, archived boolean not null default false);
    alter table public.note enable row level security, force row level security;
    grant select, insert, update, delete on public.note to "user";
    grant select (id, campus, score) on public.note to anonymous;
    create policy user_select on public.note for select to "user"
      using (owner_id = (select hasura.user_id_int()) and not archived);
    create policy anonymous_select on public.note for select to anonymous
      using (campus = any ((select hasura.session_var_array('x-hasura-campus'))::text[]) and score >= 10.5 and owner_id is not null);
    create policy anonymous_open on public.note as restrictive for select to anonymous using (campus <> 'closed');
    create policy user_update on public.note for update to "user"
      using (owner_id = (select hasura.session_var_required('X-Hasura-User-Id'))::integer) with check (score < 100 or archived);
    create policy user_delete on public.note for delete to "user" using (owner_id in (1, 2) or 3 > id);
    create policy user_insert on public.note for insert to "user" with check (length(campus) > 2);`);
  const { body } = await post(srv, { ...EXPORT, version: 2 });
  const note = body.metadata.sources[0].tables.find((x: any) => x.table.name === "note");
  const perm = (cmd: string, role: string) => note[`${cmd}_permissions`]?.find((p: any) => p.role === role)?.permission;
  t.same(perm("select", "user"), {
    columns: "*",
    filter: { _and: [{ owner_id: { _eq: "X-Hasura-User-Id" } }, { archived: { _eq: false } }] },
  });
  t.same(perm("select", "anonymous"), {
    columns: ["id", "campus", "score"],
    filter: {
      _and: [
        { campus: { _in: "X-Hasura-Campus" } },
        { score: { _gte: 10.5 } },
        { owner_id: { _is_null: false } },
        { campus: { _neq: "closed" } },
      ],
    },
  });
  t.same(perm("update", "user"), {
    columns: "*",
    filter: { owner_id: { _eq: "X-Hasura-User-Id" } },
    check: { _or: [{ score: { _lt: 100 } }, { archived: { _eq: true } }] },
  });
  t.same(perm("delete", "user"), { filter: { _or: [{ owner_id: { _in: [1, 2] } }, { id: { _lt: 3 } }] } });
  t.notOk(perm("insert", "user"), "a function call it does not read: left out");
  t.same(
    body.warnings.filter((w: any) => w.table === "note"),
    [
      {
        table: "note",
        role: "user",
        permission: "insert_permissions",
        reason: "not exported: policy user_insert on note: a call of length",
      },
    ],
  );
});

t.test("npm run import:hasura → export_metadata → --compare-hasura: no difference, and the metadata's rules", async (t) => {
  // The blog as a Hasura project: its metadata, and its tables as Hasura's first migration (as test/import/import-project.test.ts).
  const hasura = path.join(work, "round-trip-hasura");
  cpSync(path.join(BLOG, "hasura"), hasura, { recursive: true });
  const committed = readFileSync(path.join(BLOG, "migrations/committed/000001-blog-model-seed-002.sql"), "utf8");
  mkdirSync(path.join(hasura, "migrations/default/1700000000000_init"), { recursive: true });
  writeFileSync(
    path.join(hasura, "migrations/default/1700000000000_init/up.sql"),
    committed.slice(committed.indexOf("drop table if exists public.article_tag;")),
  );
  const reader = `fx_${randomBytes(4).toString("hex")}_rules_reader`;
  const scratch = await createEmptyDatabase(t);
  await scratch.asRoot("revoke all on schema public from public");
  t.teardown(async () => {
    await scratch.asRoot(`drop owned by ${quoteIdent(reader)} cascade`).catch(() => {});
    await scratch.asRoot(`drop role if exists ${quoteIdent(reader)}`).catch(() => {});
  });
  const out = path.join(work, "round-trip-out");
  const result = await importHasuraProject(hasura, out, {
    scratch: { ownerUrl: scratch.ownerUrl, authenticator: TEST_ROLES.authenticator.name },
    reader,
  });
  t.same(result.differences, []);
  t.match(readFileSync(path.join(out, "policies.sql"), "utf8"), /comment on policy user_select on public\.article is 'hasura:/);

  const db: TestDatabase = {
    ...scratch,
    runtimeUrl: clusterUrl(TEST_ROLES.authenticator.name, TEST_ROLES.authenticator.password, scratch.name),
    asOwner: (sql, values) => query(scratch.ownerUrl, sql, values),
  };
  const srv = await startServer(t, { db, env: ADMIN_SECRET_ENV });
  const { body } = await post(srv, { ...EXPORT, version: 2 });
  t.same(body.warnings, [], "every permission exported");
  samePermissions(t, reload(body.metadata, "round-trip"), blogMetadata);
  await compareClean(t, db, body.metadata, "round-trip");
});

t.test("a recorded rule naming a relationship the export does not declare is not used", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const srv = await startServer(t, { db, env: ADMIN_SECRET_ENV });
  const [f] = (await withClient(db.ownerUrl, (c) => loadPolicyFacts(c, "public"))).filter(
    (x) => x.table === "article_tag" && x.policy === "anonymous_select",
  );
  // As a metadata whose relationship was declared by hand as `post` would have recorded it.
  const recorded = { select: { filter: { post: { is_published: { _eq: true } } } } };
  await db.asOwner(`comment on policy anonymous_select on public.article_tag is '${ruleComment(policyRuleHash(f!), recorded)}'`);
  const { body } = await post(srv, { ...EXPORT, version: 2 });
  const tag = body.metadata.sources[0].tables.find((x: any) => x.table.name === "article_tag");
  t.same(
    tag.select_permissions.find((p: any) => p.role === "anonymous").permission.filter,
    { article: { is_published: { _eq: true } } },
    "read from the policy's SQL instead, through the foreign key's relationship",
  );
  t.same(body.warnings, []);
});

t.test("inherited roles: role_set from membership, the parents' own permissions; --compare-hasura clean", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const { reader, drafts, editor } = await createFixtureRoles(t, db, ["reader", "drafts", "editor"], { editor: ["reader", "drafts"] });
  await db.asOwner(`
    grant select (id, title, content, author_id, is_published) on public.article to "${reader}";
    create policy fx_reader_select on public.article for select to "${reader}" using (is_published);
    call hasura.select_permission('public.article', '${reader}', "limit" => 2);
    grant select (id, title, content, author_id, is_published), insert (title, content) on public.article to "${drafts}";
    create policy fx_drafts_select on public.article for select to "${drafts}" using (not is_published);
    create policy fx_drafts_insert on public.article for insert to "${drafts}" with check (not is_published);
    call hasura.column_preset('public.article', '${drafts}', 'insert', 'author_id', session_variable => 'x-hasura-user-id');`);
  const srv = await startServer(t, { db, env: ADMIN_SECRET_ENV });
  const { body } = await post(srv, { ...EXPORT, version: 2 });
  t.same(body.warnings, []);
  t.same(
    body.metadata.inherited_roles.filter((r: any) => r.role_name === editor),
    [{ role_name: editor, role_set: [drafts, reader].sort() }],
  );
  const article = body.metadata.sources[0].tables.find((x: any) => x.table.name === "article");
  const perm = (cmd: string, role: string) => article[`${cmd}_permissions`]?.find((p: any) => p.role === role)?.permission;
  t.notOk(perm("select", editor), "an inherited role without its own grant: its parents' permissions, as Hasura combines them");
  t.same(perm("select", reader), {
    columns: ["id", "title", "content", "author_id", "is_published"],
    filter: { is_published: { _eq: true } },
    limit: 2,
  });
  t.same(perm("insert", drafts), {
    check: { is_published: { _eq: false } },
    columns: ["title", "content"],
    set: { author_id: "x-hasura-user-id" },
  });
  await compareClean(t, db, body.metadata, "inherited");
});
