/**
 * Hasura's own tests-py query-permission suite, ported: the cases of
 * server/tests-py/queries/graphql_query/permissions/ (with inherited_roles/
 * and roles_inheritance/; query-permissions.cases.ts) against the real HTTP
 * server and Postgres, after the fixture translated into Postgres-native
 * permissions (query-permissions.sql: column grants, RLS policies with the
 * session helpers, hasura.select_permission declarations, functions,
 * inherited roles as role membership).
 *
 * Development mode (no admin secret), as tests-py runs them: X-Hasura-*
 * headers are the session, no X-Hasura-Role is admin. Each case is sent to
 * the endpoint its YAML names; data is compared exactly (order included),
 * errors by status, code, path and message.
 *
 *  - Expected divergences (README, "Where Postgres-native authorization
 *    answers differently"): an inherited role whose parents read different
 *    columns on different rows (Hasura answers null in those cells) stops the
 *    server; the test checks that refusal names each such role, then drops
 *    them from the application roles as the DBA would, and their cases assert
 *    the answer a dropped role gets. A computed field is offered only to a
 *    role that reads every column (tutor_session reads `name` only).
 *  - Skipped: the two PostGIS cases (geom_table, $st_d_within) when the
 *    cluster has no PostGIS, which the embedded Postgres never has.
 *
 * Prints `tests-py query permissions: N of M cases as Hasura`.
 */
import { readFile } from "node:fs/promises";
import { isDeepStrictEqual } from "node:util";
import t, { type Test } from "tap";
import { describeFinding, InheritedRoleError } from "../../../server/db/inherited-roles.ts";
import { createTestDatabase, type TestDatabase } from "../../helpers/pg.ts";
import { TEST_ROLES } from "../../helpers/projects.ts";
import { granteeList } from "../../helpers/roles.ts";
import { sortRows } from "../../helpers/rows.ts";
import { startServer, type GqlResponse } from "../../helpers/server.ts";
import { CASES, type Case, type Expected } from "./query-permissions.cases.ts";

/** tests-py's roles (the blog's anonymous, user and admin exist already); an inherited role lists its parents. */
const ROLES: Record<string, string[]> = {
  reader: [],
  critic: [],
  Artist: [],
  free_user_in: [],
  free_user_nin: [],
  user_iregex: [],
  user1: [],
  user2: [],
  user3: [],
  user4: [],
  user5: [],
  staff: [],
  tutor: [],
  tutor_session: [],
  employee: [],
  manager: [],
  author: [],
  editor: [],
  guest: [],
  free_user: [],
  premium_user_free_trial: [],
  public_role: [],
  reader_role: [],
  writer_role: [],
  non_paying_user: ["free_user", "premium_user_free_trial"],
  non_paying_user_and_guest: ["non_paying_user", "guest"],
  manager_employee: ["manager", "employee"],
  manager_is_employee_too: ["manager", "employee"],
  author_editor_guest_inherited_role: ["author", "editor", "guest"],
  base_role: ["public_role", "reader_role"],
  nested_role: ["base_role", "writer_role"],
};
/** Owns passed_students (SECURITY DEFINER): reads gpa past RLS, as Hasura runs a tracked function. */
const DEFINER = "tests_py_definer";
/** The inherited roles Postgres would serve wider than Hasura (README "Inherited roles"). */
const REFUSED = ["author_editor_guest_inherited_role", "base_role", "manager_employee", "manager_is_employee_too", "nested_role"];

async function createRoles(t: Test, db: TestDatabase): Promise<void> {
  const mine = [...Object.keys(ROLES), DEFINER];
  t.teardown(async () => {
    await db.asRoot(`drop owned by ${granteeList(mine)}`).catch(() => {}); // the database may be gone already
    for (const role of mine.reverse()) await db.asRoot(`drop role if exists "${role}"`);
  });
  for (const role of Object.keys(ROLES)) {
    await db.asRoot(`create role "${role}" nologin; grant "${role}" to ${TEST_ROLES.authenticator.name}`);
  }
  for (const [role, parents] of Object.entries(ROLES)) {
    if (parents.length) await db.asRoot(`grant ${granteeList(parents)} to "${role}" with inherit true`);
  }
  await db.asRoot(`create role ${DEFINER} nologin bypassrls`);
}

const db = await createTestDatabase(t, "blog");
await createRoles(t, db);
await db.asOwner(await readFile(new URL("./query-permissions.sql", import.meta.url), "utf8"));
await db.asRoot(`
  grant usage on schema public to ${DEFINER};
  grant select on public.gpa to ${DEFINER};
  alter function public.passed_students(double precision) owner to ${DEFINER}`);
const [{ postgis }] = await db.asRoot<{ postgis: boolean }>(
  "select exists (select 1 from pg_catalog.pg_available_extensions where name = 'postgis') as postgis",
);

// The server refuses the inherited roles Postgres cannot serve as Hasura; the DBA's way out:
// those roles are no longer application roles.
const refusal = await startServer(t, { db }).then(
  () => null,
  (e: unknown) => e,
);
await db.asRoot(`revoke ${granteeList(REFUSED)} from ${TEST_ROLES.authenticator.name}`);
const srv = await startServer(t, { db });

t.test("the inherited roles Postgres cannot serve as Hasura stop the server, each named", async (t) => {
  t.ok(refusal instanceof InheritedRoleError, `refused at start-up (${String(refusal)})`);
  const findings = refusal instanceof InheritedRoleError ? refusal.findings : [];
  t.same([...new Set(findings.map((f) => f.role))].sort(), REFUSED, findings.map(describeFinding).join("\n"));
  t.ok(
    findings.some((f) => f.role === "manager_employee" && f.table === "public.employee" && /read different columns/.test(f.reason)),
    "manager_employee: employee and manager read different columns of employee",
  );
});

/** The response, with the rows of an `unordered` case's root field in a canonical order (both sides). */
function normalise(c: Case, body: any): any {
  const field = c.unordered;
  if (!field || !Array.isArray(body?.data?.[field])) return body;
  return { ...body, data: { ...body.data, [field]: sortRows(body.data[field]) } };
}

function matches(c: Case, res: GqlResponse, want: Expected): boolean {
  if ("data" in want) return res.status === 200 && isDeepStrictEqual(normalise(c, res.body), normalise(c, { data: want.data }));
  const err = res.body?.errors?.[0];
  return (
    res.status === want.status &&
    res.body?.data == null &&
    err?.extensions?.code === want.code &&
    (want.message === undefined || err?.message === want.message) &&
    (want.path === undefined || err?.extensions?.path === want.path)
  );
}

function check(t: Test, c: Case, res: GqlResponse, want: Expected): void {
  if ("data" in want) {
    t.equal(res.status, 200, "HTTP 200");
    const label = c.unordered ? `the data, exactly (${c.unordered}: as a set, no order_by)` : "the data, exactly";
    t.strictSame(normalise(c, res.body), normalise(c, { data: want.data }), label);
    return;
  }
  const err = res.body?.errors?.[0];
  t.equal(res.status, want.status, `HTTP ${want.status}`);
  t.notOk(res.body?.data, "no data");
  t.equal(err?.extensions?.code, want.code, "extensions.code");
  if (want.path !== undefined) t.equal(err?.extensions?.path, want.path, "extensions.path");
  if (want.message !== undefined) t.equal(err?.message, want.message, "message");
}

const tally = { asHasura: 0, divergences: 0, skipped: 0, failing: [] as string[] };
const label = (c: Case) => `${c.file}: ${c.description}`;

t.test("the cases", async (t) => {
  for (const c of CASES) {
    // Were PostGIS installed, the fixture would still have no geom_table: the dialect offers no geometry type.
    const skip = c.skip && (postgis ? `${c.skip} (PostGIS is installed, but the fixture has no geom_table)` : c.skip);
    await t.test(label(c), { skip }, async (t) => {
      const res = await srv.gql(c.query, { headers: c.headers, path: c.url });
      const got = `got ${res.status} ${JSON.stringify(res.body)}`;
      if (c.divergence) {
        t.comment(`expected divergence: ${c.divergence.readme}`);
        check(t, c, res, c.divergence.ours);
        if (matches(c, res, c.divergence.ours)) tally.divergences++;
        else tally.failing.push(`${label(c)} (divergence): ${got}`);
        return;
      }
      check(t, c, res, c.expect);
      if (matches(c, res, c.expect)) tally.asHasura++;
      else tally.failing.push(`${label(c)}: ${got}`);
    });
    if (skip) tally.skipped++;
  }
});

t.test("summary", async (t) => {
  const total = CASES.length;
  const line = `tests-py query permissions: ${tally.asHasura} of ${total} cases as Hasura`;
  console.log(line);
  console.log(
    `  ${tally.divergences} expected divergences (README), ${tally.skipped} skipped (PostGIS absent), ${tally.failing.length} failing`,
  );
  for (const c of CASES.filter((c) => c.unordered)) console.log(`  rows compared as a set (no order_by): ${label(c)}`);
  for (const f of tally.failing) console.log(`  failing: ${f}`);
  t.equal(tally.asHasura + tally.divergences + tally.skipped + tally.failing.length, total, line);
  t.same(tally.failing, [], "every case answers as Hasura or as the README documents");
});
