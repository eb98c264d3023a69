/**
 * Inherited roles (Hasura's inherited_roles) as Postgres role membership,
 * on the blog with fixture roles (server/db/inherited-roles.ts):
 *
 *  - accepted: `editor` = `reader` (published articles) + `drafts` (drafts,
 *    which it also edits and inserts with a preset); through /v1/graphql it
 *    reads the union, edits only what `drafts` may, and its inserts get
 *    `drafts`' preset; its declarations are its parents' combined (largest
 *    limit, aggregations if any allows); the matrix and the lint say so;
 *  - every (row, column) an accepted inherited role reads is one a parent
 *    that can see that row may read (parents with different columns under
 *    one shared policy);
 *  - refused, at start-up and by the lint, naming role, parents, table and
 *    reason: a column only one parent has on rows only the other sees (the
 *    inherited role would see it, Hasura answers null), parents' different
 *    update policies, different presets, the role's own grant on a table
 *    its parents cover, a policy reading a table the parents see differently;
 *  - a definition broken while the server runs (npm run dev) drops the role.
 */
import t, { type Test } from "tap";
import { describeFinding, InheritedRoleError } from "../../server/db/inherited-roles.ts";
import { describeStartupError } from "../../server/startup-errors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { createFixtureRoles } from "../helpers/roles.ts";
import { sortRows } from "../helpers/rows.ts";
import { ADMIN, ADMIN_SECRET_ENV } from "../helpers/secured.ts";
import { startServer, type TestServer } from "../helpers/server.ts";
import { runCli } from "./cli.ts";

const V1 = "/v1/graphql";
type Roles = Record<"reader" | "drafts" | "editor", string>;

/** editor = reader + drafts on the blog's article table. */
async function editorFixture(t: Test, opts: { draftsColumns?: string } = {}): Promise<{ db: TestDatabase; roles: Roles }> {
  const db = await createTestDatabase(t, "blog");
  const roles = await createFixtureRoles(t, db, ["reader", "drafts", "editor"], { editor: ["reader", "drafts"] });
  const { reader, drafts } = roles;
  await db.asOwner(`
    grant select (id, title, content, author_id, is_published) on public.article to "${reader}";
    create policy fx_reader_select on public.article for select to "${reader}" using (is_published);
    call hasura.select_permission('public.article', '${reader}', "limit" => 2);
    grant select (id, name) on public.author to "${reader}";
    create policy fx_reader_select on public.author for select to "${reader}" using (true);

    grant select (${opts.draftsColumns ?? "id, title, content, author_id, is_published"}) on public.article to "${drafts}";
    create policy fx_drafts_select on public.article for select to "${drafts}" using (not is_published);
    call hasura.select_permission('public.article', '${drafts}', "limit" => 5, allow_aggregations => true);
    grant update (title, content), insert (title, content) on public.article to "${drafts}";
    grant usage on sequence public.article_id_seq to "${drafts}";
    create policy fx_drafts_update on public.article for update to "${drafts}" using (not is_published);
    create policy fx_drafts_insert on public.article for insert to "${drafts}" with check (not is_published);
    call hasura.column_preset('public.article', '${drafts}', 'insert', 'author_id', session_variable => 'x-hasura-user-id');`);
  return { db, roles };
}

const as = (role: string, userId = "1") => ({ ...ADMIN, "x-hasura-role": role, "x-hasura-user-id": userId });

async function articles(t: Test, srv: TestServer, role: string): Promise<Record<string, unknown>[]> {
  const res = await srv.gql("{ article(order_by: {id: asc}) { id title is_published } }", { path: V1, headers: as(role) });
  t.notOk(res.body.errors, `${role}: ${JSON.stringify(res.body.errors)}`);
  return res.body.data.article;
}

t.test("accepted: editor = reader + drafts reads the union and writes as drafts", async (t) => {
  const { db, roles } = await editorFixture(t);
  const { reader, drafts, editor } = roles;

  const lint = await runCli("lint-policies", [], db, "blog");
  t.equal(lint.code, 0, `lint clean; output:\n${lint.output}`);
  const matrix = await runCli("permissions", [], db, "blog");
  t.equal(matrix.code, 0, matrix.output);
  t.match(matrix.stdout, `Inherited roles (granted their parents WITH INHERIT): ${editor} = ${drafts} + ${reader}.`);
  const row = matrix.stdout.split("\n").find((l) => l.startsWith("| article |"))!;
  const header = matrix.stdout.split("\n").find((l) => l.startsWith("| table |"))!;
  const cellOf = (role: string) => row.split(" | ")[header.split(" | ").indexOf(role)];
  t.equal(cellOf(reader), "S✅[limit 2] U❌ I❌ D❌");
  t.equal(cellOf(drafts), "S✅[limit 5, agg] U✅ I✅[author_id=x-hasura-user-id] D❌");
  t.equal(cellOf(editor), "S✅[limit 5, agg] U✅ I✅[author_id=x-hasura-user-id] D❌", "its parents' declarations, combined");

  const srv = await startServer(t, { db, env: ADMIN_SECRET_ENV });
  const all = await db.asRoot<{ id: number; is_published: boolean }>("select id, is_published from public.article order by id");
  const fromReader = await articles(t, srv, reader);
  const fromDrafts = await articles(t, srv, drafts);
  t.ok(fromReader.length > 0 && fromDrafts.length > 0, "both parents read rows");
  const union = sortRows([...fromReader, ...fromDrafts]);
  t.same(sortRows(await articles(t, srv, editor)), union, "the union of its parents' rows");
  t.equal(union.length, all.length);

  const update = (id: number) =>
    srv.gql(`mutation { update_article(where: {id: {_eq: ${id}}}, _set: {title: "edited"}) { affected_rows } }`, {
      path: V1,
      headers: as(editor),
    });
  const draft = all.find((a) => !a.is_published)!.id;
  const published = all.find((a) => a.is_published)!.id;
  t.same((await update(draft)).body, { data: { update_article: { affected_rows: 1 } } }, "a draft: drafts may edit it");
  t.same((await update(published)).body, { data: { update_article: { affected_rows: 0 } } }, "a published one: no parent may");

  const inserted = await srv.gql(`mutation { insert_article_one(object: {title: "new", content: "text"}) { id author_id } }`, {
    path: V1,
    headers: as(editor, "2"),
  });
  t.equal(inserted.body.data?.insert_article_one?.author_id, 2, `drafts' preset applies: ${JSON.stringify(inserted.body)}`);
  const stored = await db.asRoot("select author_id from public.article where id = $1", [inserted.body.data.insert_article_one.id]);
  t.same(stored, [{ author_id: 2 }]);

  const agg = await srv.gql("{ article_aggregate { aggregate { count } } }", { path: V1, headers: as(editor) });
  t.same(agg.body, { data: { article_aggregate: { aggregate: { count: all.length + 1 } } } }, "aggregations: one parent allows them");
});

t.test("an inherited role never reads a column on a row that only a parent without it may see", async (t) => {
  // Accepted shape: different columns under one shared policy (every row visible to both).
  const db = await createTestDatabase(t, "blog");
  const { titles, full, both } = await createFixtureRoles(t, db, ["titles", "full", "both"], { both: ["titles", "full"] });
  await db.asOwner(`
    grant select (id, title, is_published) on public.article to "${titles}";
    grant select (id, title, content, author_id, is_published) on public.article to "${full}";
    create policy fx_published on public.article for select to "${titles}", "${full}" using (is_published)`);
  t.equal((await runCli("lint-policies", [], db, "blog")).code, 0, "accepted");
  const srv = await startServer(t, { db, env: ADMIN_SECRET_ENV });
  const read = async (role: string, fields: string) => {
    const res = await srv.gql(`{ article(order_by: {id: asc}) { ${fields} } }`, { path: V1, headers: as(role) });
    t.notOk(res.body.errors, JSON.stringify(res.body.errors));
    return res.body.data.article as Record<string, unknown>[];
  };
  const seen = await read(both, "id title content author_id is_published");
  const parents = [...(await read(titles, "id title is_published")), ...(await read(full, "id title content author_id is_published"))];
  t.ok(seen.length >= 2);
  for (const row of seen) {
    for (const [column, value] of Object.entries(row)) {
      if (value === null) continue;
      t.ok(
        parents.some((p) => p.id === row.id && p[column] === value),
        `article ${row.id}.${column}: a parent that sees the row reads it`,
      );
    }
  }

  // The refused shape: drafts without `content` sees rows reader does not.
  const refused = await editorFixture(t, { draftsColumns: "id, title, is_published" });
  const { editor, reader, drafts } = refused.roles;
  const err = await startServer(t, { db: refused.db, env: ADMIN_SECRET_ENV }).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err, "the server does not start");
  const message = describeStartupError(err);
  t.match(message, `inherited role "${editor}" (parents "${drafts}", "${reader}") on public.article: its parents read different columns`);
  t.match(message, `${drafts}: id, title, is_published; ${reader}: id, title, content, author_id, is_published`);
  t.match(message, /Hasura answers null there/);
  t.notMatch(message, /\n/, "one line");
});

interface Refusal {
  name: string;
  setup(db: TestDatabase, roles: Roles): Promise<unknown>;
  reason: RegExp;
}

const REFUSALS: Refusal[] = [
  {
    name: "parents' update policies differ",
    setup: (db, { reader }) =>
      db.asOwner(`
        grant update (title, content) on public.article to "${reader}";
        create policy fx_reader_update on public.article for update to "${reader}" using (is_published)`),
    reason: /parents' update permissions differ in update policies: Hasura inherits a mutation only where every parent holding it agrees/,
  },
  {
    name: "parents' presets differ",
    setup: (db, { reader }) =>
      db.asOwner(`
        grant insert (title, content) on public.article to "${reader}";
        create policy fx_reader_insert on public.article for insert to "${reader}" with check (not is_published);
        call hasura.column_preset('public.article', '${reader}', 'insert', 'author_id', value => '3')`),
    reason: /insert permissions differ in presets \(fx_\w+_drafts: author_id=x-hasura-user-id; fx_\w+_reader: author_id='3'\)/,
  },
  {
    name: "the role's own grant on a table its parents cover",
    setup: (db, { editor }) =>
      db.asOwner(`
        grant select (id, title) on public.article to "${editor}";
        create policy fx_editor_select on public.article for select to "${editor}" using (true)`),
    reason: /select grants or policies of its own where its parents \(fx_\w+_drafts, fx_\w+_reader\) also have select/,
  },
  {
    name: "a restrictive policy of one parent",
    setup: (db, { reader }) =>
      db.asOwner(`create policy fx_reader_not3 on public.article as restrictive for select to "${reader}" using (author_id <> 3)`),
    reason: /restrictive select policies differ between its parents: Postgres would apply each parent's to the rows of the others too/,
  },
  {
    name: "a policy reading the role's name",
    setup: (db, { drafts }) =>
      db.asOwner(`
        grant delete on public.article to "${drafts}";
        create policy fx_drafts_delete on public.article for delete to "${drafts}"
          using ((select hasura.role()) = '${drafts}' and not is_published)`),
    reason: /policy fx_drafts_delete \(of fx_\w+_drafts\) reads the role's name, which is "fx_\w+_editor" when "fx_\w+_editor" runs it/,
  },
  {
    name: "a policy reading a table its parents see differently",
    setup: (db, { reader }) =>
      db.asOwner(`
        grant select (article_id, tag_name) on public.article_tag to "${reader}";
        create policy fx_reader_select on public.article_tag for select to "${reader}"
          using (exists (select 1 from public.article a where a.id = article_tag.article_id))`),
    reason: /policy fx_reader_select \(of fx_\w+_reader\) reads public\.article, whose rows differ between/,
  },
];

for (const r of REFUSALS) {
  t.test(`refused: ${r.name}`, async (t) => {
    const { db, roles } = await editorFixture(t);
    await r.setup(db, roles);
    const lint = await runCli("lint-policies", [], db, "blog");
    t.equal(lint.code, 1, `exit 1; output:\n${lint.output}`);
    const findings = lint.stdout.trimEnd().split("\n").slice(0, -1);
    t.ok(findings.length >= 1);
    for (const f of findings) t.match(f, new RegExp(`^inherited_role_differs\\t"${roles.editor}" on public\\.\\w+\\tparents `));
    t.ok(
      findings.some((f) => r.reason.test(f)),
      `a finding says why: ${findings.join("\n")}`,
    );
    const err = await startServer(t, { db, env: ADMIN_SECRET_ENV }).then(
      () => null,
      (e: unknown) => e,
    );
    t.ok(err instanceof InheritedRoleError, "the server refuses to start");
    t.ok(
      (err as InheritedRoleError).findings.map(describeFinding).some((f) => r.reason.test(f)),
      "for that reason",
    );
  });
}

t.test("accepted: a parent that reads every row and column covers the others' columns", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const { titles, all, both } = await createFixtureRoles(t, db, ["titles", "all", "both"], { both: ["titles", "all"] });
  await db.asOwner(`
    grant select (id, title) on public.article to "${titles}";
    create policy fx_titles on public.article for select to "${titles}" using (is_published);
    grant select on public.article to "${all}";
    create policy fx_all on public.article for select to "${all}" using (true)`);
  const lint = await runCli("lint-policies", [], db, "blog");
  t.equal(lint.code, 0, `accepted; output:\n${lint.output}`);
  // Without the row rule `true`, the same columns are refused.
  await db.asOwner(`drop policy fx_all on public.article; create policy fx_all on public.article for select to "${all}" using (id > 0)`);
  const refused = await runCli("lint-policies", [], db, "blog");
  t.equal(refused.code, 1);
  t.match(
    refused.stdout,
    new RegExp(`inherited_role_differs\t"${both}" on public.article\tparents ${all}, ${titles}: its parents read different columns`),
  );
});

t.test("a definition broken while the server runs drops the role from the allow-list", async (t) => {
  const { db, roles } = await editorFixture(t);
  const srv = await startServer(t, { db, env: ADMIN_SECRET_ENV });
  t.ok((await articles(t, srv, roles.editor)).length > 0);
  await db.asOwner(`revoke select (content, author_id) on public.article from "${roles.drafts}"`);
  await srv.app.appRoles.refresh();
  t.notOk(srv.app.appRoles.has(roles.editor), "refused");
  t.ok(srv.app.appRoles.has(roles.reader), "its parents are still served");
  const res = await srv.gql("{ article { id } }", { path: V1, headers: as(roles.editor) });
  t.equal(res.body.errors?.[0]?.extensions?.code, "access-denied");
});

t.test("a parent that inherits in turn: a rule it has from two parents counts once; its differences reach the role", async (t) => {
  const db = await createTestDatabase(t, "blog");
  // both = tier + guest, tier = free + trial: the same rows (published), guest with one more column.
  const { free, trial, tier, guest, both } = await createFixtureRoles(t, db, ["free", "trial", "tier", "guest", "both"], {
    tier: ["free", "trial"],
    both: ["tier", "guest"],
  });
  await db.asOwner(`
    grant select (id, title) on public.article to "${free}", "${trial}";
    create policy fx_free on public.article for select to "${free}" using (is_published);
    create policy fx_trial on public.article for select to "${trial}" using (is_published);
    grant select (id, title, author_id) on public.article to "${guest}";
    create policy fx_guest on public.article for select to "${guest}" using (is_published)`);
  const lint = await runCli("lint-policies", [], db, "blog");
  t.equal(lint.code, 0, `accepted (tier's rule is guest's); output:\n${lint.output}`);

  // trial now reads content on drafts: tier would show it on published rows too. Refused for `both`,
  // which gets tier's union through membership, even once tier is no application role.
  await db.asOwner(`
    grant select (content) on public.article to "${trial}";
    drop policy fx_trial on public.article;
    create policy fx_trial on public.article for select to "${trial}" using (not is_published)`);
  await db.asRoot(`revoke "${tier}" from ${TEST_ROLES.authenticator.name}`);
  const refused = await runCli("lint-policies", [], db, "blog");
  t.equal(refused.code, 1);
  t.match(
    refused.stdout,
    new RegExp(
      `inherited_role_differs\t"${both}" on public.article\tparents ${guest}, ${tier}: through "${tier}" \\(parents "${free}", "${trial}"\\), which it inherits: its parents read different columns`,
    ),
  );
  t.notMatch(refused.stdout, `"${tier}" on`, "tier itself is no application role");
});
