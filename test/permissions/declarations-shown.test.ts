/**
 * The Hasura declarations of sql/permissions.sql as `npm run permissions`
 * (matrix, --table, --check), policies.expected.md's rendering and
 * /console/permissions.json show them: each next to its command in the
 * matrix cell, a per-role table in the table's section, and a changed
 * declaration named by --check like any other changed cell.
 */
import pg from "pg";
import t from "tap";
import { loadCatalog } from "../../server/db/permissions/catalog.ts";
import { diffDocuments } from "../../server/db/permissions/check.ts";
import { renderDocument } from "../../server/db/permissions/markdown.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { ADMIN, ADMIN_SECRET_ENV } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";
import { runCli } from "./cli.ts";

/** Declarations on the blog's tag table, which policies.sql declares nothing for. */
async function declare(db: TestDatabase): Promise<void> {
  await db.asOwner(`
    call hasura.select_permission('public.tag', 'anonymous', "limit" => 10, allow_aggregations => true);
    call hasura.select_permission('public.tag', 'user', query_root_fields => array['select', 'select_by_pk'],
                                  subscription_root_fields => array[]::text[]);
    call hasura.column_preset('public.tag', 'user', 'insert', 'name', value => 'it''s');
    call hasura.backend_only('public.tag', 'user', 'insert');
    call hasura.backend_only('public.tag', 'admin', 'delete')`);
}

const row = (out: string, table: string) => out.split("\n").find((l) => l.startsWith(`| ${table} |`));

t.test("the matrix shows each command's declarations in its cell", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const before = await runCli("permissions", [], db, "blog");
  t.equal(row(before.stdout, "tag"), "| tag | S🟩 U🟩 I🟩 D🟩 | S🟩 U❌ I❌ D❌ | S🟩 U❌ I🟩 D❌ |", "nothing declared");
  t.match(before.stdout, /\n\[…\] Hasura declarations \(sql\/permissions\.sql\): `limit N` rows, `agg`/, "the legend");
  await declare(db);
  const after = await runCli("permissions", [], db, "blog");
  t.equal(after.code, 0, after.output);
  t.equal(
    row(after.stdout, "tag"),
    "| tag | S🟩 U🟩 I🟩 D🟩[backend-only] | S🟩[limit 10, agg] U❌ I❌ D❌ " +
      "| S🟩[query: select select_by_pk, subscription: none] U❌ I🟩[name='it''s', backend-only] D❌ |",
  );
  t.notMatch(after.stdout, /Inherited roles/, "none here");
});

t.test("--table shows the declarations per role and command", async (t) => {
  const db = await createTestDatabase(t, "blog");
  await declare(db);
  const res = await runCli("permissions", ["--table", "tag"], db, "blog");
  t.equal(res.code, 0, res.output);
  t.match(
    res.stdout,
    [
      "| hasura declarations | SELECT | UPDATE | INSERT | DELETE |",
      "|---|---|---|---|---|",
      "| admin |  |  |  | backend-only |",
      "| anonymous | limit 10, agg |  |  |  |",
      "| user | query: select select_by_pk, subscription: none |  | name='it''s', backend-only |  |",
      "",
      "| policy |",
    ].join("\n"),
  );
  const none = await runCli("permissions", ["--table", "author"], db, "blog");
  t.notMatch(none.stdout, /hasura declarations/, "a table without declarations has no such table");
});

t.test("--check names a changed declaration, cell by cell", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const client = new pg.Client({ connectionString: db.ownerUrl });
  await client.connect();
  t.teardown(() => client.end());
  const render = async () => renderDocument(await loadCatalog(client, { schema: "public", authenticator: TEST_ROLES.authenticator.name }));
  const before = await render();
  await db.asOwner(`call hasura.select_permission('public.tag', 'anonymous', "limit" => 3)`);
  const diff = diffDocuments(before, await render());
  t.same(diff.tables, ["tag"]);
  t.match(diff.text, /@@ table tag: matrix row \(expected line \d+, live line \d+\): anonymous S🟩→S🟩\[limit 3\] @@/);
  t.match(diff.text, /\+ \| anonymous \| limit 3 \|/);
});

t.test("/console/permissions.json carries the declarations, the inherited roles and whose policies apply", async (t) => {
  const db = await createTestDatabase(t, "blog");
  await declare(db);
  const srv = await startServer(t, { db, env: ADMIN_SECRET_ENV });
  const res = await fetch(`${srv.url}/console/permissions.json`, { headers: ADMIN });
  t.equal(res.status, 200);
  const body = (await res.json()) as {
    notes: Record<string, Record<string, Record<string, string>>>;
    parents: Record<string, string[]>;
    memberOf: Record<string, string[]>;
  };
  t.same(body.notes.tag, {
    admin: { D: "backend-only" },
    anonymous: { S: "limit 10, agg" },
    user: { S: "query: select select_by_pk, subscription: none", I: "name='it''s', backend-only" },
  });
  t.same(body.parents, {}, "no inherited roles in the blog");
  t.same(body.memberOf.user, ["user"]);
});
