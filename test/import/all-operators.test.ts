/**
 * Issue 14's metadata suite: test/import/fixtures/all-operators, a Hasura
 * project whose permissions use every boolean-expression form once or more
 * ({}; implicit AND; _and _or _not; _eq _ne _neq _gt _lt _gte _lte _in _nin
 * _is_null; the text and jsonb operators; _ceq _cne _cgt _clt _cgte _clte
 * with "col", [col] and ["$", col]; _exists; object and array relationships
 * by foreign key and by column_mapping, nested; computed fields, one with a
 * session argument; session variables in three case spellings cast to int,
 * uuid, text, timestamptz and boolean; array session variables as Hasura's
 * {a,b} and as a JSON array; legacy $-spellings) and every permission kind
 * (columns, limit, allow_aggregations, root fields, computed_fields, insert
 * check and preset, update filter and check, delete filter, backend_only,
 * an inherited role, a function permission).
 *
 * Imported into an empty database with importHasuraProject, then for each
 * rule: the rows each role sees (as the server runs a request: SET LOCAL
 * ROLE and hasura.user in one transaction) equal the rows of the same rule
 * restated by hand in SQL, run as the superuser. Relationships, _exists and
 * computed fields read the related rows whatever the related table's own
 * rule says (checked on rows that rule hides). A few rules again through
 * real HTTP /v1/graphql; lint:policies and --compare-hasura as child
 * processes; policies.sql applied a second time.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import t from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { migrateProject } from "../../server/db/migrate.ts";
import { importHasuraProject } from "../../server/import/index.ts";
import { quoteIdent } from "../../server/import/sql-quote.ts";
import { createEmptyDatabase } from "../helpers/empty-database.ts";
import { clusterUrl, type TestDatabase } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { startServer } from "../helpers/server.ts";

const FIXTURE = path.join(REPO_ROOT, "test/import/fixtures/all-operators");
const work = mkdtempSync(path.join(tmpdir(), "import-all-operators-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const reader = `fx_${randomBytes(4).toString("hex")}_rules_reader`;
const scratch = await createEmptyDatabase(t);
await scratch.asRoot("revoke all on schema public from public");
t.teardown(async () => {
  await scratch.asRoot(`drop owned by ${quoteIdent(reader)} cascade`).catch(() => {});
  await scratch.asRoot(`drop role if exists ${quoteIdent(reader)}`).catch(() => {});
});

const out = path.join(work, "out");
const result = await importHasuraProject(FIXTURE, out, {
  scratch: { ownerUrl: scratch.ownerUrl, authenticator: TEST_ROLES.authenticator.name },
  reader,
});
const report = readFileSync(path.join(out, "IMPORT.md"), "utf8");
const policies = readFileSync(path.join(out, "policies.sql"), "utf8");

const U = (n: number) => `00000000-0000-0000-0000-00000000000${n}`;
/** Each role's session variables (lower-case names, as the server keeps them). */
const SESSIONS: Record<string, Record<string, string>> = {
  ao_member: { "x-hasura-user-id": "1", "x-hasura-user-uid": U(1) },
  // Array variables as a JSON array here, as Hasura's {a,b} for ao_auditor and ao_guest.
  ao_manager: { "x-hasura-user-id": "2", "x-hasura-org-ids": "[1,3]", "x-hasura-since": "2024-01-01T00:00:00+00" },
  ao_auditor: { "x-hasura-user-uid": U(1), "x-hasura-uids": `{${U(1)},${U(3)},${U(4)}}`, "x-hasura-active": "true" },
  ao_guest: {
    "x-hasura-keys": "{y,z}",
    "x-hasura-action": "login",
    "x-hasura-since": "2024-06-01T00:00:00Z",
    "x-hasura-email": "bea@globex.test",
  },
};
SESSIONS.ao_lead = { ...SESSIONS.ao_member, ...SESSIONS.ao_guest };

/** Each rule of the metadata restated by hand over alias `a`; the session values written out. */
const RULES: Record<string, Record<string, string | null>> = {
  org: {
    ao_member: "true",
    ao_manager: "a.id in (1, 3)",
    ao_auditor: "a.name ilike '%e%' and not a.hidden",
    ao_guest: `exists (select 1 from public.project p where p.org_id = a.id and p.tags ?& array['k', 'p'])`,
  },
  member: {
    ao_member: `a.id = 1 or exists (select 1 from public.org o join public.project p on p.org_id = o.id
                                     where o.id = a.org_id and p.owner_id = a.id and p.archived = false)`,
    ao_manager: "a.org_id not in (1, 3) and a.joined_at >= '2024-01-01T00:00:00+00' and a.profile ? 'x'",
    ao_auditor: `a.uid in ('${U(1)}', '${U(3)}', '${U(4)}') and a.active`,
    ao_guest: `a.profile <@ '{"x": 1, "y": 2, "z": 3}' or a.profile ?| array['y', 'z']`,
  },
  project: {
    ao_member: `a.owner_id = 1
      or exists (select 1 from public.member m where m.id = a.owner_id and m.uid = '${U(1)}')
      or exists (select 1 from public.member m join public.org o on o.id = m.org_id where m.email = a.lead_email and o.region = 'us')`,
    ao_manager: `a.spent > a.budget or (a.spent >= a.budget and a.spent <= a.budget)
      or exists (select 1 from public.task k where k.project_id = a.id and k.estimate < a.id)`,
    ao_auditor: `a.budget - a.spent > 20 and a.tags @> '{"k": "v"}'
      and exists (select 1 from public.audit_log l where l.actor_uid = '${U(1)}' and l.action ~ '^log')
      and (a.id = a.owner_id or a.org_id <> a.owner_id)`,
    ao_guest: `exists (select 1 from public.audit_log l where l.action = 'login' and l.id = a.id) and a.starts_at < '2024-06-01T00:00:00Z'
      and exists (select 1 from public.task k where k.project_id = a.id and not k.done and k.estimate >= 3)`,
  },
  task: {
    ao_member: `exists (select 1 from public.project p join public.member m on m.id = p.owner_id where p.id = a.project_id and m.name like 'B%')
      or a.assignee_uid = '${U(1)}'`,
    ao_manager: `exists (select 1 from public.member m where m.uid = a.assignee_uid and m.email not ilike '%@EXAMPLE.org')
      and a.title not like '%draft%'`,
    ao_auditor: "a.title similar to '%(fix|bug)%' and a.title not similar to '%bash' and a.estimate is not null and a.estimate < 10",
    ao_guest: `exists (select 1 from public.project p join public.member m on m.org_id = p.org_id
                        where p.id = a.project_id and p.budget - p.spent > 0 and m.email = 'bea@globex.test')`,
  },
  audit_log: {
    ao_member: "a.action !~ '^delete' and a.id <> 3",
    ao_manager: "a.action ~* '^LOG' and not (a.action !~* 'in$')",
    ao_auditor: `a.actor_uid <> '${U(1)}' and a.id > 1 and a.id <= 5`,
    ao_guest: null, // no select permission: no row
  },
};
// Hasura's inherited role: a row is visible when either parent's rule admits it.
for (const rules of Object.values(RULES)) {
  const parents = [rules.ao_member, rules.ao_guest].filter((r): r is string => r != null);
  rules.ao_lead = parents.map((r) => `(${r})`).join(" or ");
}
const ROLES = Object.keys(SESSIONS);
const inheritedTranslated = !/inherited role[^\n]*not translated/i.test(report + policies);

const runtimeUrl = clusterUrl(TEST_ROLES.authenticator.name, TEST_ROLES.authenticator.password, scratch.name);

/** Ids of `table` the role sees, in one transaction as the server runs a request. */
async function visibleIds(table: string, role: string, session = SESSIONS[role]!): Promise<number[]> {
  const client = new pg.Client({ connectionString: runtimeUrl });
  await client.connect();
  try {
    await client.query("begin");
    await client.query(`set local role ${quoteIdent(role)}`);
    await client.query("select set_config('hasura.user', $1, true)", [JSON.stringify({ ...session, "x-hasura-role": role })]);
    const { rows } = await client.query<{ id: number }>(`select id from public.${quoteIdent(table)} order by id`);
    await client.query("commit");
    return rows.map((r) => r.id);
  } finally {
    await client.end();
  }
}

async function ruleIds(table: string, where: string | null): Promise<number[]> {
  if (where === null) return [];
  const rows = await scratch.asRoot<{ id: number }>(`select id from public.${quoteIdent(table)} a where ${where} order by id`);
  return rows.map((r) => r.id);
}

/** Ids a role's statement changes (as the superuser SET LOCAL ROLE to it, rolled back): what the command's policy admits. */
async function changedIds(role: string, table: string, statement: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: scratch.rootUrl });
  await client.connect();
  try {
    await client.query("begin");
    const before = (await client.query<{ id: number; r: string }>(`select id, a::text as r from public.${table} a order by id`)).rows;
    await client.query(`set local role ${quoteIdent(role)}`);
    await client.query("select set_config('hasura.user', $1, true)", [JSON.stringify({ ...SESSIONS[role], "x-hasura-role": role })]);
    await client.query(statement);
    await client.query("reset role");
    const after = new Map(
      (await client.query<{ id: number; r: string }>(`select id, a::text as r from public.${table} a`)).rows.map((r) => [r.id, r.r]),
    );
    return before.filter((b) => after.get(b.id) !== b.r).map((b) => b.id);
  } finally {
    await client.query("rollback").catch(() => {});
    await client.end();
  }
}

t.test("the import: every rule translated, the matrix matches the metadata", async (t) => {
  t.same(result.differences, [], "--compare-hasura: no difference");
  t.notMatch(report, /not translated: /, "no boolean expression left untranslated");
  t.match(policies, /hasura_rules\.project_remaining_[0-9a-f]+\(project\) > '20'::numeric/, "a computed field: a helper on the row");
  t.match(policies, /select public\.project_remaining\(\$1\)/, "calling its function");
  t.match(
    policies,
    /select public\.project_owned_by_session\(\$1, \(select hasura\.session\(\)\)::json\)/,
    "a computed field with a session argument",
  );
  t.match(policies, /grant execute on function public\.project_remaining\(public\.project\) to /, "the reader may call it");
  t.match(
    policies,
    /from public\.project_open_tasks\(row\(\$1, \$2, [$0-9, ]+\)::public\.project\) r1 where r1\.estimate >= '3'::integer/,
    "a set-returning computed field: EXISTS over its rows, the row rebuilt from the helper's arguments",
  );
  t.match(policies, /session_var_array_required\('x-hasura-uids'\)\)::uuid\[\]/, "an array session variable cast to uuid[]");
  t.match(policies, /session_var_required\('x-hasura-since'\)\)::timestamp with time zone/, "timestamptz cast");
  t.match(policies, /session_var_required\('x-hasura-active'\)\)::boolean/, "boolean cast");
  t.match(policies, /session_var_required\('x-hasura-email'\)\)::text/, "text cast");
});

for (const [table, rules] of Object.entries(RULES)) {
  for (const role of ROLES) {
    const where = rules[role] ?? null;
    const todo = role === "ao_lead" && !inheritedTranslated ? "inherited roles are not translated by emit-policies yet" : false;
    t.test(`${table} as ${role}`, { todo }, async (t) => {
      const expected = await ruleIds(table, where);
      const total = (await ruleIds(table, "true")).length;
      if (where !== null && !/\btrue\b/.test(where))
        t.ok(expected.length > 0 && expected.length < total, `the rule selects some rows, not all (${expected.join(",")})`);
      // No select permission: Hasura has no such field for the role; here the table is not granted.
      if (where === null) await t.rejects(visibleIds(table, role), { code: "42501" }, "no select permission: not granted");
      else t.same(await visibleIds(table, role), expected, `visible rows = the rule's rows (${where})`);
    });
  }
}

t.test("relationships and _exists read rows the related table's own rule hides", async (t) => {
  const members = await visibleIds("member", "ao_member");
  t.notOk(members.includes(6), "ao_member does not see member 6 (Bea)");
  t.ok((await visibleIds("project", "ao_member")).includes(6), "but sees project 6, whose lead (manual object relationship) is Bea");
  t.ok((await visibleIds("task", "ao_member")).includes(4), "and task 4, whose project's owner (nested object relationships) is Bea");
  await t.rejects(visibleIds("audit_log", "ao_guest"), { code: "42501" }, "ao_guest may not read audit_log");
  t.same(await visibleIds("project", "ao_guest"), [1], "but its _exists over audit_log still finds them");
  t.notOk((await visibleIds("task", "ao_guest")).includes(1), "ao_guest does not see task 1");
  t.ok((await visibleIds("project", "ao_guest")).includes(1), "but project 1's open_tasks (set-returning computed field) finds it");
  t.notOk((await visibleIds("project", "ao_member")).includes(2), "project 2 is hidden from ao_member");
  t.ok((await visibleIds("member", "ao_member")).includes(2), "yet its owner is admitted through org.projects (array, column_mapping)");
});

t.test("a missing session variable is an error (HA404), not an empty answer", async (t) => {
  await t.rejects(visibleIds("org", "ao_manager", {}), { code: "HA404", message: /missing session variables: "x-hasura-org-ids"/ });
});

t.test("update and delete filters: the rows each command may change", async (t) => {
  t.same(
    // SET from a constant and no WHERE: only the update policy decides (reading a column would add the select one).
    await changedIds("ao_member", "task", "update public.task set title = '~'"),
    await ruleIds(
      "task",
      `a.assignee_uid = '${U(1)}' or exists (select 1 from public.project p where p.id = a.project_id and p.owner_id = 1)`,
    ),
    "ao_member's update filter (a column, or a relationship with x-hasura-user-id)",
  );
  t.same(
    await changedIds("ao_member", "audit_log", "delete from public.audit_log"),
    await ruleIds("audit_log", `a.actor_uid = '${U(1)}' and a.action = 'LOGOUT'`),
    "ao_member's delete filter",
  );
  t.same(
    await changedIds("ao_auditor", "audit_log", "delete from public.audit_log"),
    await ruleIds("audit_log", "a.action like 'log%'"),
    "ao_auditor's backend-only delete filter (the server decides who reaches it)",
  );
});

t.test("declarations: limit, aggregations, root fields, backend_only, presets", async (t) => {
  const rows = await scratch.asRoot<{ role: string; command: string; row_limit: number | null; query_root_fields: string[] | null }>(
    `select role, command, row_limit, query_root_fields from hasura.permission
      where table_oid in ('public.project'::regclass, 'public.audit_log'::regclass, 'public.task'::regclass) order by 1, 2`,
  );
  t.ok(
    rows.some((r) => r.role === "ao_manager" && r.row_limit === 100),
    "ao_manager's limit on project",
  );
  t.ok(
    rows.some((r) => r.role === "ao_member" && String(r.query_root_fields) === "select,select_by_pk"),
    "ao_member's query root fields on project",
  );
  t.match(policies, "call hasura.backend_only('public.audit_log', 'ao_auditor', 'delete');");
  t.match(
    policies,
    /call hasura\.column_preset\('public\.task', 'ao_member', 'insert', 'assignee_uid', session_variable => 'x-hasura-user-uid'\);/,
  );
});

t.test("HTTP /v1/graphql: rules through the running server", async (t) => {
  const db: TestDatabase = {
    name: scratch.name,
    runtimeUrl,
    ownerUrl: scratch.ownerUrl,
    rootUrl: scratch.rootUrl,
    asOwner: () => Promise.reject(new Error("not used")),
    asRoot: scratch.asRoot,
  };
  const srv = await startServer(t, { db });
  const headers = (role: string) => {
    const h: Record<string, string> = { "x-hasura-role": role };
    // Header names in another case spelling: they are case-insensitive.
    for (const [k, v] of Object.entries(SESSIONS[role]!)) h[k.toUpperCase()] = v;
    return h;
  };
  for (const [table, role] of [
    ["project", "ao_member"],
    ["project", "ao_auditor"],
    ["task", "ao_guest"],
    ["member", "ao_manager"],
  ] as const) {
    const res = await srv.gql(`{ ${table}(order_by: {id: asc}) { id } }`, { headers: headers(role), path: "/v1/graphql" });
    t.notOk(res.body.errors, JSON.stringify(res.body.errors));
    t.same(
      (res.body.data?.[table] ?? []).map((r: { id: number }) => r.id),
      await ruleIds(table, RULES[table]![role]!),
      `${table} as ${role}`,
    );
  }
  // Insert: the check reads project.owner_id through a helper; assignee_uid is preset from the session.
  const ok = await srv.gql('mutation { insert_task_one(object: {id: 100, project_id: 1, title: "new", estimate: 2}) { id } }', {
    headers: headers("ao_member"),
    path: "/v1/graphql",
  });
  t.same(ok.body, { data: { insert_task_one: { id: 100 } } }, "ao_member adds a task to its project");
  t.same(await scratch.asRoot("select assignee_uid from public.task where id = 100"), [{ assignee_uid: U(1) }], "assignee preset");
  const refused = await srv.gql('mutation { insert_task_one(object: {id: 101, project_id: 2, title: "x"}) { id } }', {
    headers: headers("ao_member"),
    path: "/v1/graphql",
  });
  t.ok(refused.body.errors, "a task in another owner's project is refused");
  t.same(await scratch.asRoot("select id from public.task where id = 101"), []);
});

/** A database CLI (server/cli/*.ts) as a child process on the imported project. */
function cli(script: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, "server/cli", `${script}.ts`), ...args],
      {
        cwd: REPO_ROOT,
        timeout: 60_000,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          GRAPHILE_ENV: "production",
          DATABASE_URL: runtimeUrl,
          DATABASE_OWNER_URL: scratch.ownerUrl,
          PROJECT_DIR: out,
        },
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") return reject(error);
        resolve({ code: error ? (error.code as number) : 0, output: stdout + stderr });
      },
    );
  });
}

t.test("npm run lint:policies and --compare-hasura are clean on the import", async (t) => {
  const lint = await cli("lint-policies", []);
  t.equal(lint.code, 0, `lint:policies clean: ${lint.output}`);
  const compare = await cli("permissions", ["--compare-hasura", FIXTURE]);
  t.equal(compare.code, 0, `--compare-hasura clean: ${compare.output}`);
});

t.test("policies.sql applied again (as every npm start does) gives the same rules", async (t) => {
  await migrateProject({ projectDir: out, ownerUrl: scratch.ownerUrl, authenticator: TEST_ROLES.authenticator.name });
  for (const [table, role] of [
    ["project", "ao_auditor"],
    ["task", "ao_guest"],
    ["project", "ao_guest"],
  ] as const)
    t.same(await visibleIds(table, role), await ruleIds(table, RULES[table]![role]!), `${table} as ${role}`);
  const [r] = await scratch.asRoot<{ ok: boolean }>(
    "select has_function_privilege($1, 'public.project_remaining(public.project)', 'execute') as ok",
    [reader],
  );
  t.ok(r!.ok, "the reader may still call the computed field's function");
});
