/**
 * Migrations and policies: applied as `npm start` applies them, and
 * re-applying changes nothing.
 */
import t from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { migrateProject } from "../../server/db/migrate.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { startServer } from "../helpers/server.ts";

const SNAPSHOT = `
  select json_build_object(
    'policies', (select json_agg(row_to_json(p) order by tablename, policyname) from pg_policies p where schemaname = 'public'),
    'grants', (select json_agg(row_to_json(g) order by table_name, grantee, privilege_type)
               from information_schema.role_table_grants g where table_schema = 'public'),
    'column_grants', (select json_agg(row_to_json(c) order by table_name, column_name, grantee, privilege_type)
               from information_schema.column_privileges c where table_schema = 'public'),
    'rls', (select json_agg(json_build_object('t', relname, 'rls', relrowsecurity, 'force', relforcerowsecurity) order by relname)
               from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r')
  ) as snapshot`;

t.test("policies.sql re-applies idempotently", async (t) => {
  const db = await createTestDatabase(t);
  const [before] = await db.asRoot(SNAPSHOT);
  t.ok(before!.snapshot.policies.length > 0, "policies exist");
  t.ok(
    before!.snapshot.rls.every((r: { rls: boolean; force: boolean }) => r.rls && r.force),
    "RLS enabled and forced everywhere",
  );
  await migrateProject({ projectDir: REPO_ROOT, ownerUrl: db.ownerUrl, authenticator: TEST_ROLES.authenticator.name });
  await migrateProject({ projectDir: REPO_ROOT, ownerUrl: db.ownerUrl, authenticator: TEST_ROLES.authenticator.name });
  const [after] = await db.asRoot(SNAPSHOT);
  t.same(after!.snapshot, before!.snapshot, "same policies, grants and RLS flags");
  const srv = await startServer(t, { db });
  const res = await srv.gql("{ allUsers { nodes { login } } }");
  t.ok(res.body.data.allUsers.nodes.length > 0, "still serves");
});

t.test("the application roles are NOLOGIN, granted to the authenticator, never privileged", async (t) => {
  const db = await createTestDatabase(t);
  const rows = await db.asRoot<{ rolname: string; rolcanlogin: boolean; rolsuper: boolean; rolbypassrls: boolean }>(
    `select r.rolname, r.rolcanlogin, r.rolsuper, r.rolbypassrls
     from pg_auth_members m join pg_roles r on r.oid = m.roleid
     where m.member = $1::regrole order by 1`,
    [TEST_ROLES.authenticator.name],
  );
  t.ok(rows.length >= 2);
  for (const r of rows) t.same([r.rolcanlogin, r.rolsuper, r.rolbypassrls], [false, false, false], r.rolname);
});
