/*
 * policies.sql: every row-level security policy and grant of the school
 * platform, in one place a DBA can read one table at a time.
 *
 * Re-applied after every migration run and on every save in `npm run dev`,
 * so it is declarative: it first revokes what the application roles hold on
 * the schema and drops every policy there, then declares each table's
 * section. It runs as one statement batch (one transaction), so there is no
 * moment without policies.
 *
 * Conventions: RLS enabled *and* forced on every exposed table; grants list
 * their columns; one policy per (table, role, command), named
 * <role>_<command>, with TO; session helpers called as (select hasura.…()).
 */

-- Clean slate for the application roles on schema public.
do $$
declare
  app_roles text[] := array['anonymous', 'user', 'campus-admin', 'admin-campus-read-only', 'admin', 'admin-read-only'];
  r text;
  p record;
begin
  foreach r in array app_roles loop
    execute format('revoke all on all tables in schema public from %I', r);
    execute format('revoke all on all sequences in schema public from %I', r);
    execute format('revoke all on all functions in schema public from %I', r);
    execute format('revoke all on schema public from %I', r);
  end loop;
  for p in select schemaname, tablename, policyname from pg_catalog.pg_policies where schemaname = 'public' loop
    execute format('drop policy %I on %I.%I', p.policyname, p.schemaname, p.tablename);
  end loop;
end
$$;

revoke all on all functions in schema public from public;
grant usage on schema public to anonymous, "user", "campus-admin", "admin-campus-read-only", admin, "admin-read-only";

----------------------------------------------------------------------------
-- user
----------------------------------------------------------------------------
alter table public."user" enable row level security;
alter table public."user" force row level security;

-- anonymous: the public directory, id and login only.
grant select (id, login) on public."user" to anonymous;
create policy anonymous_select on public."user" for select to anonymous using (true);

-- admin: everything.
grant select, insert, update, delete on public."user" to admin;
create policy admin_all on public."user" for all to admin using (true) with check (true);

-- Tell running servers (npm run dev) to rebuild their GraphQL schemas.
notify postgraphile_watch, '{"type":"manual","source":"policies.sql"}';
