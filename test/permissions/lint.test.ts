/**
 * `npm run lint:policies`, the real CLI as a child process: clean on both
 * projects as migrated; each lint fires, alone, on a fresh database broken
 * the way it describes (as the owner, or the superuser where the owner
 * cannot); and look-alikes that are fine stay clean.
 */
import t from "tap";
import { createTestDatabase, type TestDatabase } from "../helpers/pg.ts";
import type { ProjectName } from "../helpers/projects.ts";
import { runCli } from "./cli.ts";

const lint = (db: TestDatabase, project: ProjectName = "app") => runCli("lint-policies", [], db, project);

for (const project of ["app", "blog"] as const) {
  t.test(`${project}: policies lint clean`, async (t) => {
    const db = await createTestDatabase(t, project);
    const res = await lint(db, project);
    t.equal(res.code, 0, `exit 0; output:\n${res.output}`);
    t.equal(res.stdout, "policies lint clean\n");
  });
}

interface Fixture {
  name: string;
  project?: ProjectName;
  setup(db: TestDatabase): Promise<unknown>;
  /** [lint, object] of every finding, in the CLI's order. */
  findings: Array<[string, string]>;
}

const FIXTURES: Fixture[] = [
  {
    name: "a new table without row-level security",
    setup: (db) => db.asOwner(`create table public.fixture_plain (id int primary key)`),
    findings: [["rls_disabled", "public.fixture_plain"]],
  },
  {
    name: "row-level security enabled but not forced",
    setup: (db) => db.asOwner(`alter table public."user" no force row level security`),
    findings: [["rls_not_forced", `public."user"`]],
  },
  {
    name: "a table granted to PUBLIC",
    project: "blog",
    setup: (db) => db.asOwner(`grant select on public.author to public; grant usage on sequence public.author_id_seq to public`),
    findings: [
      ["grant_to_public", "public.author"],
      ["grant_to_public", "public.author_id_seq"],
    ],
  },
  {
    name: "a column granted to PUBLIC",
    setup: (db) => db.asOwner(`grant select (login) on public."user" to public`),
    findings: [["grant_to_public", `public."user"(login)`]],
  },
  {
    name: "a function of the exposed schema executable by PUBLIC (the default)",
    setup: (db) => db.asOwner(`create function public.fixture_count() returns bigint language sql stable as 'select 1::bigint'`),
    findings: [["grant_to_public", "public.fixture_count()"]],
  },
  {
    name: "CREATE on the exposed schema granted to PUBLIC",
    setup: (db) => db.asRoot(`grant create on schema public to public`),
    findings: [["grant_to_public", "schema public"]],
  },
  {
    name: "policies for postgres, the owner and PUBLIC",
    setup: (db) =>
      db.asOwner(`
        create policy fixture_postgres on public."user" for select to postgres using (true);
        create policy fixture_owner on public.result for select to app_owner using (true);
        create policy fixture_public on public.role for select using (true)`),
    findings: [
      ["policy_for_unknown_role", `fixture_owner on public.result`],
      ["policy_for_unknown_role", `fixture_postgres on public."user"`],
      ["policy_for_unknown_role", `fixture_public on public.role`],
    ],
  },
  {
    name: "a SECURITY DEFINER function without search_path",
    setup: (db) =>
      db.asOwner(`
        create function hasura.fixture_definer() returns bigint language sql stable security definer as 'select 1::bigint';
        revoke all on function hasura.fixture_definer() from public`),
    findings: [["security_definer_search_path", "hasura.fixture_definer()"]],
  },
  {
    name: "a session helper called per row",
    setup: (db) =>
      db.asOwner(`create policy fixture_per_row on public.result for select to "user" using ("userId" = hasura.user_id_int())`),
    findings: [["helper_per_row", "fixture_per_row on public.result"]],
  },
  {
    name: "a session helper called per row, with hasura on the search_path",
    project: "blog",
    async setup(db) {
      // Policy expressions deparse relative to the search_path: here `user_id_int()` unqualified.
      await db.asRoot(`alter database ${db.name} set search_path = public, hasura`);
      await db.asOwner(`create policy fixture_per_row on public.article for select to anonymous using (author_id = hasura.user_id_int())`);
    },
    findings: [["helper_per_row", "fixture_per_row on public.article"]],
  },
];

for (const f of FIXTURES) {
  t.test(f.name, async (t) => {
    const db = await createTestDatabase(t, f.project ?? "app");
    await f.setup(db);
    const res = await lint(db, f.project ?? "app");
    t.equal(res.code, 1, `exit 1; output:\n${res.output}`);
    const lines = res.stdout.trimEnd().split("\n");
    t.same(
      lines.slice(0, -1).map((l) => l.split("\t").slice(0, 2)),
      f.findings,
      "the findings, by lint and object",
    );
    t.equal(lines.at(-1), `${f.findings.length} finding(s)`);
  });
}

t.test("look-alikes that are fine stay clean", async (t) => {
  const db = await createTestDatabase(t, "app");
  await db.asOwner(`
    create table public.fixture_ok (id int primary key, owner bigint);
    alter table public.fixture_ok enable row level security;
    alter table public.fixture_ok force row level security;
    grant select (id) on public.fixture_ok to anonymous;
    create policy fixture_ok_select on public.fixture_ok for select to "user"
      using (owner = (select hasura.user_id_int()) or exists (select 1 from public."user" u where u.id = (select hasura.user_id_int())));
    create function hasura.fixture_definer() returns bigint language sql stable security definer set search_path = '' as 'select 1::bigint';
    create function public.fixture_private() returns bigint language sql stable as 'select 1::bigint';
    revoke all on function public.fixture_private() from public;
    grant execute on function public.fixture_private() to "user"`);
  const res = await lint(db);
  t.equal(res.code, 0, `exit 0; output:\n${res.output}`);
  t.equal(res.stdout, "policies lint clean\n");
});
