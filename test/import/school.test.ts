/**
 * The school platform (seed 001) as its Hasura users wrote it
 * (examples/school/hasura: metadata and its schema as a Hasura migration)
 * imported into an empty database: the generated policies.expected.md has
 * the hand-written matrix (repo-root policies.expected.md), --compare-hasura
 * is clean both ways (the import against the metadata, and the hand-written
 * project against the same metadata), the metadata is translated whole, and
 * `npm run lint:policies` is clean on the generated policies. The HTTP
 * policy tests run against the import too (test/policies/school, project
 * "app-imported").
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { loadCatalog } from "../../server/db/permissions/catalog.ts";
import { compareWithHasura, loadTableColumns } from "../../server/db/permissions/hasura-compare.ts";
import { withClient } from "../../server/db/with-client.ts";
import { importHasuraProject } from "../../server/import/index.ts";
import { loadHasuraMetadata } from "../../server/import/metadata.ts";
import { quoteIdent } from "../../server/import/sql-quote.ts";
import { createEmptyDatabase } from "../helpers/empty-database.ts";
import { clusterUrl, createTestDatabase, type TestDatabase, query } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { runCli } from "../permissions/cli.ts";

const SCHOOL_HASURA = path.join(REPO_ROOT, "examples/school/hasura");
const work = mkdtempSync(path.join(tmpdir(), "import-school-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const reader = `fx_${randomBytes(4).toString("hex")}_rules_reader`;
const scratch = await createEmptyDatabase(t);
// As the root step (server/db/bootstrap.ts) leaves a database: only the application roles get USAGE on public.
await scratch.asRoot("revoke all on schema public from public");
t.teardown(async () => {
  await scratch.asRoot(`drop owned by ${quoteIdent(reader)} cascade`).catch(() => {});
  await scratch.asRoot(`drop role if exists ${quoteIdent(reader)}`).catch(() => {});
});

const out = path.join(work, "out");
const result = await importHasuraProject(SCHOOL_HASURA, out, {
  scratch: { ownerUrl: scratch.ownerUrl, authenticator: TEST_ROLES.authenticator.name },
  reader,
});
const md = loadHasuraMetadata(SCHOOL_HASURA);

/** The matrix's rows (`| table | S… |`), as import-project.test.ts compares the blog's. */
const matrixRows = (doc: string) => doc.split("\n").filter((l) => /^\| [a-z_]+ \| S(🟩|✅|❌)/u.test(l));

/**
 * The document without what may differ by design: a policy's expressions
 * (the import reads a relationship through a SECURITY DEFINER helper where
 * the hand-written policy has an EXISTS; its name, command and roles stay),
 * and the helpers' reader's own `hasura_rules_read` policies.
 */
const withoutExpressions = (doc: string) =>
  doc
    .split("\n")
    .filter((l) => !l.startsWith("| hasura_rules_read |"))
    .map((l) => {
      const cells = l.split(" | ");
      return cells.length === 5 && /^(SELECT|INSERT|UPDATE|DELETE|ALL)$/.test(cells[1]!) ? cells.slice(0, 3).join(" | ") : l;
    });

t.test("the matrix is the hand-written school platform's", async (t) => {
  const live = readFileSync(path.join(out, "policies.expected.md"), "utf8");
  const expected = readFileSync(path.join(REPO_ROOT, "policies.expected.md"), "utf8");
  t.equal(matrixRows(expected).length, 19, "a row per table of the hand-written document");
  t.same(matrixRows(live), matrixRows(expected));
  // Beyond the matrix: the same grants column by column, sequences, declarations and policy names.
  t.same(withoutExpressions(live), withoutExpressions(expected), "the whole document but for the policies' expressions");
});

t.test("the metadata is translated whole; --compare-hasura of the import is clean", async (t) => {
  t.same(result.differences, []);
  t.equal(result.untranslated, 0, "nothing untranslated");
  const report = readFileSync(path.join(out, "IMPORT.md"), "utf8");
  t.match(report, "- tables: 19 of 19 tracked");
  t.match(report, "No difference.");
  const policies = readFileSync(path.join(out, "policies.sql"), "utf8");
  t.match(policies, "hasura.session_var_array_required('x-hasura-campus')", "X-Hasura-campus as an array for _in");
});

/** The CLIs take a TestDatabase; the scratch one has the same URLs. */
const imported: TestDatabase = {
  name: scratch.name,
  runtimeUrl: clusterUrl(TEST_ROLES.authenticator.name, TEST_ROLES.authenticator.password, scratch.name),
  ownerUrl: scratch.ownerUrl,
  rootUrl: scratch.rootUrl,
  asOwner: (sql, values) => query(scratch.ownerUrl, sql, values),
  asRoot: scratch.asRoot,
};

t.test("npm run permissions -- --compare-hasura: the import and the hand-written project both match the metadata", async (t) => {
  for (const [label, db] of [
    ["imported", imported],
    ["hand-written", await createTestDatabase(t, "app")],
  ] as const) {
    const res = await runCli("permissions", ["--compare-hasura", SCHOOL_HASURA], db, "app");
    t.equal(res.code, 0, `${label}: exit 0; output:\n${res.output}`);
    t.match(res.stdout, /^permissions match the Hasura metadata of .*examples\/school\/hasura \(schema public\)\n$/, label);
  }
  // The same in-process, to show the differences on failure.
  const handWritten = await createTestDatabase(t, "app");
  await withClient(handWritten.ownerUrl, async (client) => {
    const cat = await loadCatalog(client, { schema: "public", authenticator: TEST_ROLES.authenticator.name });
    t.same(compareWithHasura(cat, await loadTableColumns(client, "public"), md), [], "hand-written vs metadata");
  });
});

t.test("npm run lint:policies is clean on the generated policies", async (t) => {
  const res = await runCli("lint-policies", [], imported, "app");
  t.equal(res.code, 0, `clean: ${res.output}`);
});
