/**
 * policies.sql's clean slate (hasura.reset_app_privileges, sql/privileges.sql)
 * on a schema holding an extension a superuser created (the importer's root
 * step; 5stackgg/api's pg_stat_statements in public): the extension's
 * functions are left as they are — revoking on pg_stat_statements_reset,
 * which PUBLIC may not execute, failed as the owner — while the schema's own
 * functions still lose EXECUTE for the roles and PUBLIC.
 */
import t from "tap";
import { createTestDatabase } from "../helpers/pg.ts";

t.test("the clean slate skips an extension's functions and still revokes on the schema's own", async (t) => {
  const db = await createTestDatabase(t, "blog");
  await db.asRoot("create extension if not exists pg_stat_statements schema public");
  await db.asOwner(`
    create function public.reset_probe() returns int language sql stable as 'select 1';
    grant execute on function public.reset_probe() to "user";
  `);
  const can = async (role: string, fn: string) =>
    (await db.asRoot<{ ok: boolean }>("select has_function_privilege($1, $2, 'execute') as ok", [role, fn]))[0]!.ok;
  t.ok(await can("user", "public.reset_probe()"), "before: user may execute the project's function");

  await db.asOwner(`call hasura.reset_app_privileges('public', array['anonymous', 'user'])`);

  t.notOk(await can("user", "public.reset_probe()"), "the role's EXECUTE on the project's function is revoked");
  const publicAcl = await db.asRoot<{ acl: string | null }>(
    "select proacl::text as acl from pg_proc where oid = 'public.reset_probe()'::regprocedure",
  );
  t.notMatch(publicAcl[0]!.acl ?? "", /(^|[{,])=X/, "and PUBLIC's");
  t.notOk(await can("user", "public.pg_stat_statements_reset(oid, oid, bigint, boolean)"), "the extension's reset stays superuser-only");
  t.ok(await can("user", "public.pg_stat_statements(boolean)"), "the extension's own grants to PUBLIC are untouched");
});
