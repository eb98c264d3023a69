/**
 * The importer at issue 14's scale: the synthetic Hasura project of 200
 * tables and 500 permissions (test/helpers/synthetic-hasura.ts: four roles,
 * two inherited, session variables scalar and array, relationships, _exists)
 * imported into an empty database. Every table gets its section (RLS enabled
 * and forced), every role its application role, and `npm run permissions --
 * --compare-hasura` on the result, as a user runs it, finds no difference.
 * How long it takes is bench/import-scale.ts's business, not this test's.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { importHasuraProject } from "../../server/import/index.ts";
import { loadHasuraMetadata } from "../../server/import/metadata.ts";
import { quoteIdent } from "../../server/import/sql-quote.ts";
import { createEmptyDatabase } from "../helpers/empty-database.ts";
import { clusterUrl } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { writeSyntheticHasuraProject } from "../helpers/synthetic-hasura.ts";

const work = mkdtempSync(path.join(tmpdir(), "import-scale-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const hasura = path.join(work, "hasura");
const counts = writeSyntheticHasuraProject(hasura, 200);

const reader = `scale_${Date.now().toString(36)}_rules_reader`;
const db = await createEmptyDatabase(t);
await db.asRoot("revoke all on schema public from public");
t.teardown(async () => {
  await db.asRoot(`drop owned by ${quoteIdent(reader)} cascade`).catch(() => {});
  await db.asRoot(`drop role if exists ${quoteIdent(reader)}`).catch(() => {});
});

const out = path.join(work, "out");
const result = await importHasuraProject(hasura, out, {
  scratch: { ownerUrl: db.ownerUrl, authenticator: TEST_ROLES.authenticator.name },
  reader,
});

t.test("the generated project holds what it says", async (t) => {
  const md = loadHasuraMetadata(hasura);
  t.equal(md.tables.length, 200);
  const permissions = md.tables.reduce((n, x) => n + x.select.size + x.insert.size + x.update.size + x.delete.size, 0);
  t.equal(permissions, 500);
  t.equal(counts.permissions, 500);
  t.same(
    md.inheritedRoles.map((r) => r.roleName),
    ["staff", "reviewer"],
  );
  t.same(md.untranslated, []);
});

t.test("every table imported: RLS enabled and forced, every role created and granted to the authenticator", async (t) => {
  const [rls] = await db.asRoot<{ tables: number; secured: number }>(
    `select count(*)::int as tables, count(*) filter (where c.relrowsecurity and c.relforcerowsecurity)::int as secured
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'r' and c.relname like 't\\_%'`,
  );
  t.same(rls, { tables: 200, secured: 200 });
  const [{ n: policies }] = await db.asRoot<{ n: number }>("select count(*)::int as n from pg_policies where schemaname = 'public'");
  t.ok(policies >= 500, `${policies} policies for 500 permissions`);
  const granted = await db.asRoot<{ rolname: string }>(
    `select r.rolname from pg_auth_members m join pg_roles r on r.oid = m.roleid join pg_roles a on a.oid = m.member
      where a.rolname = $1 and r.rolname = any($2) order by 1`,
    [TEST_ROLES.authenticator.name, counts.roles],
  );
  t.same(
    granted.map((r) => r.rolname),
    counts.roles,
  );
  const doc = readFileSync(path.join(out, "policies.expected.md"), "utf8");
  t.equal((doc.match(/^\| t_\d{3} \|/gm) ?? []).length, 200, "policies.expected.md: a matrix row per table");
});

t.test("--compare-hasura: no difference, in the import and from the CLI", async (t) => {
  t.same(result.differences, []);
  const res = await new Promise<{ code: number; output: string }>((resolve, reject) =>
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, "server/cli/permissions.ts"), "--compare-hasura", hasura],
      {
        timeout: 120_000,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          DATABASE_URL: clusterUrl(TEST_ROLES.authenticator.name, TEST_ROLES.authenticator.password, db.name),
          DATABASE_OWNER_URL: db.ownerUrl,
        },
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") return reject(error);
        resolve({ code: error ? (error.code as number) : 0, output: stdout + stderr });
      },
    ),
  );
  t.equal(res.code, 0, res.output);
  t.match(res.output, "permissions match the Hasura metadata");
});
