/**
 * A probe function installed in a test database: what role and settings a
 * GraphQL operation actually ran with, as Postgres saw them.
 */
import type { TestDatabase } from "./pg.ts";

export async function installProbe(db: TestDatabase): Promise<void> {
  await db.asOwner(`
    create function public.whoami() returns json language sql stable as $$
      select json_build_object(
        'role', current_user,
        'hasura_user', nullif(current_setting('hasura.user', true), '')::json,
        'claims', nullif(current_setting('request.jwt.claims', true), '')::json)
    $$`);
  await db.asRoot(`
    do $$ declare r record; begin
      for r in select b.rolname from pg_auth_members m join pg_roles b on b.oid = m.roleid
               where m.member = 'authenticator'::regrole loop
        execute format('grant execute on function public.whoami() to %I', r.rolname);
      end loop;
    end $$`);
}

/** A query that would write a row: used to prove a rejected request changed nothing. */
export const WRITE = `mutation { createUser(input: { user: { login: "intruder" } }) { user { id login } } }`;
export const COUNT_USERS = `select count(*)::int as n from public."user"`;
