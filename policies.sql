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
 * <role>_<command>, with TO; session helpers called as (select hasura.…()),
 * so Postgres evaluates them once per statement (an InitPlan) and the
 * comparison stays sargable: "userId" = (select …) and
 * campus = any ((select …)) use the indexes of the migration.
 *
 * The roles (seed 001):
 *   anonymous               SELECT on a few public columns of user, object,
 *                           result, transaction, progress; nothing else
 *   user                    SELECT: the catalogue (objects, events, groups…)
 *                           entirely; audit, result, transaction, user_role,
 *                           user, progress only where they concern the user
 *                           (x-hasura-user-id); no writes
 *   campus-admin            everything on the rows of its campuses
 *                           (x-hasura-campus, a list); lookups read-only
 *   admin-campus-read-only  SELECT on the rows campus-admin sees
 *   admin                   everything
 *   admin-read-only         SELECT on everything
 *
 * Rows without a campus column belong to the campus of their parent
 * (group_user, audit → group; event_user → event; registration_user →
 * registration; object_child → parent object; user_role → user): their
 * campus policies look the parent up with EXISTS, and that lookup is itself
 * filtered by the parent's policy for the same role. No parent's policy
 * looks back at its children, so there is no recursion.
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

-- The identity sequences, for the roles that insert.
grant usage on all sequences in schema public to "campus-admin", admin;

----------------------------------------------------------------------------
-- user
----------------------------------------------------------------------------
alter table public."user" enable row level security;
alter table public."user" force row level security;

-- anonymous: the public directory, id and login only.
grant select (id, login) on public."user" to anonymous;
create policy anonymous_select on public."user" for select to anonymous using (true);

grant select (id, login, "firstName", "lastName", email, campus, "createdAt")
  on public."user" to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
grant insert (login, "firstName", "lastName", email, campus),
      update (login, "firstName", "lastName", email, campus),
      delete
  on public."user" to "campus-admin";

-- user: only their own account.
create policy user_select on public."user" for select to "user"
  using (id = (select hasura.user_id_int()));

-- campus-admin: the accounts of its campuses; cannot move one elsewhere.
create policy "campus-admin_select" on public."user" for select to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_insert" on public."user" for insert to "campus-admin"
  with check (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_update" on public."user" for update to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]))
  with check (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_delete" on public."user" for delete to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));

create policy "admin-campus-read-only_select" on public."user" for select to "admin-campus-read-only"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));

-- admin: everything.
grant select, insert, update, delete on public."user" to admin;
create policy admin_all on public."user" for all to admin using (true) with check (true);

create policy "admin-read-only_select" on public."user" for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- Lookup tables: object_type, object_status, transaction_type, role.
-- Everyone but anonymous reads them whole; only admin changes them.
----------------------------------------------------------------------------
alter table public.object_type enable row level security;
alter table public.object_type force row level security;
grant select (type, description) on public.object_type
  to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.object_type for select to "user" using (true);
create policy "campus-admin_select" on public.object_type for select to "campus-admin" using (true);
create policy "admin-campus-read-only_select" on public.object_type for select to "admin-campus-read-only" using (true);
grant select, insert, update, delete on public.object_type to admin;
create policy admin_all on public.object_type for all to admin using (true) with check (true);
create policy "admin-read-only_select" on public.object_type for select to "admin-read-only" using (true);

alter table public.object_status enable row level security;
alter table public.object_status force row level security;
grant select (status, description) on public.object_status
  to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.object_status for select to "user" using (true);
create policy "campus-admin_select" on public.object_status for select to "campus-admin" using (true);
create policy "admin-campus-read-only_select" on public.object_status for select to "admin-campus-read-only" using (true);
grant select, insert, update, delete on public.object_status to admin;
create policy admin_all on public.object_status for all to admin using (true) with check (true);
create policy "admin-read-only_select" on public.object_status for select to "admin-read-only" using (true);

alter table public.transaction_type enable row level security;
alter table public.transaction_type force row level security;
grant select (type, description) on public.transaction_type
  to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.transaction_type for select to "user" using (true);
create policy "campus-admin_select" on public.transaction_type for select to "campus-admin" using (true);
create policy "admin-campus-read-only_select" on public.transaction_type for select to "admin-campus-read-only" using (true);
grant select, insert, update, delete on public.transaction_type to admin;
create policy admin_all on public.transaction_type for all to admin using (true) with check (true);
create policy "admin-read-only_select" on public.transaction_type for select to "admin-read-only" using (true);

alter table public.role enable row level security;
alter table public.role force row level security;
grant select (id, slug, name, description) on public.role
  to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.role for select to "user" using (true);
create policy "campus-admin_select" on public.role for select to "campus-admin" using (true);
create policy "admin-campus-read-only_select" on public.role for select to "admin-campus-read-only" using (true);
grant select, insert, update, delete on public.role to admin;
create policy admin_all on public.role for all to admin using (true) with check (true);
create policy "admin-read-only_select" on public.role for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- user_role (campus: the user's)
----------------------------------------------------------------------------
alter table public.user_role enable row level security;
alter table public.user_role force row level security;

grant select (id, "userId", "roleId") on public.user_role
  to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
grant insert ("userId", "roleId"), update ("userId", "roleId"), delete on public.user_role to "campus-admin";

-- user: the roles they hold.
create policy user_select on public.user_role for select to "user"
  using ("userId" = (select hasura.user_id_int()));

-- campus-admin: the roles of the accounts of its campuses. It may hand out
-- and take back the campus-level roles only: a campus admin who could write
-- an 'admin' or 'admin-read-only' row would make itself (or anyone on its
-- campus) a platform-wide administrator.
create policy "campus-admin_select" on public.user_role for select to "campus-admin"
  using (exists (
    select 1 from public."user" u
    where u.id = user_role."userId"
      and u.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));
create policy "campus-admin_insert" on public.user_role for insert to "campus-admin"
  with check (
    exists (
      select 1 from public."user" u
      where u.id = user_role."userId"
        and u.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]))
    and exists (
      select 1 from public.role r
      where r.id = user_role."roleId" and r.slug not in ('admin', 'admin-read-only')));
create policy "campus-admin_update" on public.user_role for update to "campus-admin"
  using (
    exists (
      select 1 from public."user" u
      where u.id = user_role."userId"
        and u.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]))
    and exists (
      select 1 from public.role r
      where r.id = user_role."roleId" and r.slug not in ('admin', 'admin-read-only')))
  with check (
    exists (
      select 1 from public."user" u
      where u.id = user_role."userId"
        and u.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]))
    and exists (
      select 1 from public.role r
      where r.id = user_role."roleId" and r.slug not in ('admin', 'admin-read-only')));
create policy "campus-admin_delete" on public.user_role for delete to "campus-admin"
  using (
    exists (
      select 1 from public."user" u
      where u.id = user_role."userId"
        and u.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]))
    and exists (
      select 1 from public.role r
      where r.id = user_role."roleId" and r.slug not in ('admin', 'admin-read-only')));

create policy "admin-campus-read-only_select" on public.user_role for select to "admin-campus-read-only"
  using (exists (
    select 1 from public."user" u
    where u.id = user_role."userId"
      and u.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));

grant select, insert, update, delete on public.user_role to admin;
create policy admin_all on public.user_role for all to admin using (true) with check (true);
create policy "admin-read-only_select" on public.user_role for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- object
----------------------------------------------------------------------------
alter table public.object enable row level security;
alter table public.object force row level security;

-- anonymous: the public catalogue.
grant select (id, "childAttr", campus, name, type) on public.object to anonymous;
create policy anonymous_select on public.object for select to anonymous using (true);

grant select (id, name, type, status, attrs, "childAttr", campus, "authorId", "createdAt", "updatedAt")
  on public.object to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
grant insert (name, type, status, attrs, "childAttr", campus, "authorId"),
      update (name, type, status, attrs, "childAttr", campus, "authorId", "updatedAt"),
      delete
  on public.object to "campus-admin";

create policy user_select on public.object for select to "user" using (true);

create policy "campus-admin_select" on public.object for select to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_insert" on public.object for insert to "campus-admin"
  with check (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_update" on public.object for update to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]))
  with check (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_delete" on public.object for delete to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));

create policy "admin-campus-read-only_select" on public.object for select to "admin-campus-read-only"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));

grant select, insert, update, delete on public.object to admin;
create policy admin_all on public.object for all to admin using (true) with check (true);
create policy "admin-read-only_select" on public.object for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- object_child (campus: the parent object's)
----------------------------------------------------------------------------
alter table public.object_child enable row level security;
alter table public.object_child force row level security;

grant select (id, "parentId", "childId", attrs, key, index)
  on public.object_child to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
grant insert ("parentId", "childId", attrs, key, index),
      update ("parentId", "childId", attrs, key, index),
      delete
  on public.object_child to "campus-admin";

create policy user_select on public.object_child for select to "user" using (true);

create policy "campus-admin_select" on public.object_child for select to "campus-admin"
  using (exists (
    select 1 from public.object o
    where o.id = object_child."parentId"
      and o.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));
create policy "campus-admin_insert" on public.object_child for insert to "campus-admin"
  with check (exists (
    select 1 from public.object o
    where o.id = object_child."parentId"
      and o.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));
create policy "campus-admin_update" on public.object_child for update to "campus-admin"
  using (exists (
    select 1 from public.object o
    where o.id = object_child."parentId"
      and o.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])))
  with check (exists (
    select 1 from public.object o
    where o.id = object_child."parentId"
      and o.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));
create policy "campus-admin_delete" on public.object_child for delete to "campus-admin"
  using (exists (
    select 1 from public.object o
    where o.id = object_child."parentId"
      and o.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));

create policy "admin-campus-read-only_select" on public.object_child for select to "admin-campus-read-only"
  using (exists (
    select 1 from public.object o
    where o.id = object_child."parentId"
      and o.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));

grant select, insert, update, delete on public.object_child to admin;
create policy admin_all on public.object_child for all to admin using (true) with check (true);
create policy "admin-read-only_select" on public.object_child for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- registration
----------------------------------------------------------------------------
alter table public.registration enable row level security;
alter table public.registration force row level security;

grant select (id, "objectId", "startAt", "endAt", attrs, campus, path, "createdAt")
  on public.registration to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
grant insert ("objectId", "startAt", "endAt", attrs, campus, path),
      update ("objectId", "startAt", "endAt", attrs, campus, path),
      delete
  on public.registration to "campus-admin";

create policy user_select on public.registration for select to "user" using (true);

create policy "campus-admin_select" on public.registration for select to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_insert" on public.registration for insert to "campus-admin"
  with check (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_update" on public.registration for update to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]))
  with check (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_delete" on public.registration for delete to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));

create policy "admin-campus-read-only_select" on public.registration for select to "admin-campus-read-only"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));

grant select, insert, update, delete on public.registration to admin;
create policy admin_all on public.registration for all to admin using (true) with check (true);
create policy "admin-read-only_select" on public.registration for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- registration_user (campus: the registration's)
----------------------------------------------------------------------------
alter table public.registration_user enable row level security;
alter table public.registration_user force row level security;

grant select (id, "registrationId", "userId", "createdAt")
  on public.registration_user to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
grant insert ("registrationId", "userId"), update ("registrationId", "userId"), delete
  on public.registration_user to "campus-admin";

create policy user_select on public.registration_user for select to "user" using (true);

create policy "campus-admin_select" on public.registration_user for select to "campus-admin"
  using (exists (
    select 1 from public.registration r
    where r.id = registration_user."registrationId"
      and r.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));
create policy "campus-admin_insert" on public.registration_user for insert to "campus-admin"
  with check (exists (
    select 1 from public.registration r
    where r.id = registration_user."registrationId"
      and r.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));
create policy "campus-admin_update" on public.registration_user for update to "campus-admin"
  using (exists (
    select 1 from public.registration r
    where r.id = registration_user."registrationId"
      and r.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])))
  with check (exists (
    select 1 from public.registration r
    where r.id = registration_user."registrationId"
      and r.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));
create policy "campus-admin_delete" on public.registration_user for delete to "campus-admin"
  using (exists (
    select 1 from public.registration r
    where r.id = registration_user."registrationId"
      and r.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));

create policy "admin-campus-read-only_select" on public.registration_user for select to "admin-campus-read-only"
  using (exists (
    select 1 from public.registration r
    where r.id = registration_user."registrationId"
      and r.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));

grant select, insert, update, delete on public.registration_user to admin;
create policy admin_all on public.registration_user for all to admin using (true) with check (true);
create policy "admin-read-only_select" on public.registration_user for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- event
----------------------------------------------------------------------------
alter table public.event enable row level security;
alter table public.event force row level security;

grant select (id, "objectId", "parentId", "registrationId", path, campus, "createdAt", "endAt")
  on public.event to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
grant insert ("objectId", "parentId", "registrationId", path, campus, "endAt"),
      update ("objectId", "parentId", "registrationId", path, campus, "endAt"),
      delete
  on public.event to "campus-admin";

create policy user_select on public.event for select to "user" using (true);

create policy "campus-admin_select" on public.event for select to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_insert" on public.event for insert to "campus-admin"
  with check (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_update" on public.event for update to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]))
  with check (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_delete" on public.event for delete to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));

create policy "admin-campus-read-only_select" on public.event for select to "admin-campus-read-only"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));

grant select, insert, update, delete on public.event to admin;
create policy admin_all on public.event for all to admin using (true) with check (true);
create policy "admin-read-only_select" on public.event for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- event_user (campus: the event's)
----------------------------------------------------------------------------
alter table public.event_user enable row level security;
alter table public.event_user force row level security;

grant select (id, "eventId", "userId", "createdAt")
  on public.event_user to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
grant insert ("eventId", "userId"), update ("eventId", "userId"), delete on public.event_user to "campus-admin";

create policy user_select on public.event_user for select to "user" using (true);

create policy "campus-admin_select" on public.event_user for select to "campus-admin"
  using (exists (
    select 1 from public.event e
    where e.id = event_user."eventId"
      and e.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));
create policy "campus-admin_insert" on public.event_user for insert to "campus-admin"
  with check (exists (
    select 1 from public.event e
    where e.id = event_user."eventId"
      and e.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));
create policy "campus-admin_update" on public.event_user for update to "campus-admin"
  using (exists (
    select 1 from public.event e
    where e.id = event_user."eventId"
      and e.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])))
  with check (exists (
    select 1 from public.event e
    where e.id = event_user."eventId"
      and e.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));
create policy "campus-admin_delete" on public.event_user for delete to "campus-admin"
  using (exists (
    select 1 from public.event e
    where e.id = event_user."eventId"
      and e.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));

create policy "admin-campus-read-only_select" on public.event_user for select to "admin-campus-read-only"
  using (exists (
    select 1 from public.event e
    where e.id = event_user."eventId"
      and e.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));

grant select, insert, update, delete on public.event_user to admin;
create policy admin_all on public.event_user for all to admin using (true) with check (true);
create policy "admin-read-only_select" on public.event_user for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- group
----------------------------------------------------------------------------
alter table public."group" enable row level security;
alter table public."group" force row level security;

grant select (id, "objectId", "eventId", "captainId", status, path, campus, "createdAt", "updatedAt")
  on public."group" to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
grant insert ("objectId", "eventId", "captainId", status, path, campus),
      update ("objectId", "eventId", "captainId", status, path, campus, "updatedAt"),
      delete
  on public."group" to "campus-admin";

create policy user_select on public."group" for select to "user" using (true);

create policy "campus-admin_select" on public."group" for select to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_insert" on public."group" for insert to "campus-admin"
  with check (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_update" on public."group" for update to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]))
  with check (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_delete" on public."group" for delete to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));

create policy "admin-campus-read-only_select" on public."group" for select to "admin-campus-read-only"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));

grant select, insert, update, delete on public."group" to admin;
create policy admin_all on public."group" for all to admin using (true) with check (true);
create policy "admin-read-only_select" on public."group" for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- group_user (campus: the group's)
----------------------------------------------------------------------------
alter table public.group_user enable row level security;
alter table public.group_user force row level security;

grant select (id, "groupId", "userId", confirmed, "createdAt")
  on public.group_user to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
grant insert ("groupId", "userId", confirmed), update ("groupId", "userId", confirmed), delete
  on public.group_user to "campus-admin";

-- user: every membership. The result and audit policies below read it to
-- find the user's groups; it must stay readable (and not look back at them).
create policy user_select on public.group_user for select to "user" using (true);

create policy "campus-admin_select" on public.group_user for select to "campus-admin"
  using (exists (
    select 1 from public."group" g
    where g.id = group_user."groupId"
      and g.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));
create policy "campus-admin_insert" on public.group_user for insert to "campus-admin"
  with check (exists (
    select 1 from public."group" g
    where g.id = group_user."groupId"
      and g.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));
create policy "campus-admin_update" on public.group_user for update to "campus-admin"
  using (exists (
    select 1 from public."group" g
    where g.id = group_user."groupId"
      and g.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])))
  with check (exists (
    select 1 from public."group" g
    where g.id = group_user."groupId"
      and g.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));
create policy "campus-admin_delete" on public.group_user for delete to "campus-admin"
  using (exists (
    select 1 from public."group" g
    where g.id = group_user."groupId"
      and g.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));

create policy "admin-campus-read-only_select" on public.group_user for select to "admin-campus-read-only"
  using (exists (
    select 1 from public."group" g
    where g.id = group_user."groupId"
      and g.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));

grant select, insert, update, delete on public.group_user to admin;
create policy admin_all on public.group_user for all to admin using (true) with check (true);
create policy "admin-read-only_select" on public.group_user for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- progress
----------------------------------------------------------------------------
alter table public.progress enable row level security;
alter table public.progress force row level security;

-- anonymous: who is done with what, and how well.
grant select ("isDone", "objectId", "userId", id, grade, campus) on public.progress to anonymous;
create policy anonymous_select on public.progress for select to anonymous using (true);

grant select (id, "userId", "groupId", "eventId", "objectId", grade, "isDone", path, campus, "createdAt", "updatedAt")
  on public.progress to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
grant insert ("userId", "groupId", "eventId", "objectId", grade, "isDone", path, campus),
      update ("userId", "groupId", "eventId", "objectId", grade, "isDone", path, campus, "updatedAt"),
      delete
  on public.progress to "campus-admin";

-- user: their own progress.
create policy user_select on public.progress for select to "user"
  using ("userId" = (select hasura.user_id_int()));

create policy "campus-admin_select" on public.progress for select to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_insert" on public.progress for insert to "campus-admin"
  with check (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_update" on public.progress for update to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]))
  with check (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_delete" on public.progress for delete to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));

create policy "admin-campus-read-only_select" on public.progress for select to "admin-campus-read-only"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));

grant select, insert, update, delete on public.progress to admin;
create policy admin_all on public.progress for all to admin using (true) with check (true);
create policy "admin-read-only_select" on public.progress for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- result
----------------------------------------------------------------------------
alter table public.result enable row level security;
alter table public.result force row level security;

-- anonymous: grades, without the row id.
grant select ("groupId", "objectId", "progressId", "userId", grade, campus) on public.result to anonymous;
create policy anonymous_select on public.result for select to anonymous using (true);

grant select (id, "userId", "groupId", "objectId", "progressId", "eventId", grade, type, attrs, "isLast", path, campus, "createdAt", "updatedAt")
  on public.result to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
grant insert ("userId", "groupId", "objectId", "progressId", "eventId", grade, type, attrs, "isLast", path, campus),
      update ("userId", "groupId", "objectId", "progressId", "eventId", grade, type, attrs, "isLast", path, campus, "updatedAt"),
      delete
  on public.result to "campus-admin";

-- user: their own results and those of the groups they are in. The groups
-- are collected once (array(…) is an InitPlan), so both arms are index
-- scans (result_user_id_idx, result_group_id_idx) combined by a BitmapOr.
create policy user_select on public.result for select to "user"
  using (
    "userId" = (select hasura.user_id_int())
    or "groupId" = any (array(
      select gu."groupId" from public.group_user gu
      where gu."userId" = (select hasura.user_id_int()))));

create policy "campus-admin_select" on public.result for select to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_insert" on public.result for insert to "campus-admin"
  with check (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_update" on public.result for update to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]))
  with check (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_delete" on public.result for delete to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));

create policy "admin-campus-read-only_select" on public.result for select to "admin-campus-read-only"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));

grant select, insert, update, delete on public.result to admin;
create policy admin_all on public.result for all to admin using (true) with check (true);
create policy "admin-read-only_select" on public.result for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- transaction
----------------------------------------------------------------------------
alter table public.transaction enable row level security;
alter table public.transaction force row level security;

-- anonymous: amounts, without the row id, campus or path.
grant select ("objectId", "userId", amount, type) on public.transaction to anonymous;
create policy anonymous_select on public.transaction for select to anonymous using (true);

grant select (id, type, amount, "userId", "objectId", "eventId", attrs, path, campus, "createdAt")
  on public.transaction to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
grant insert (type, amount, "userId", "objectId", "eventId", attrs, path, campus),
      update (type, amount, "userId", "objectId", "eventId", attrs, path, campus),
      delete
  on public.transaction to "campus-admin";

-- user: their own ledger.
create policy user_select on public.transaction for select to "user"
  using ("userId" = (select hasura.user_id_int()));

create policy "campus-admin_select" on public.transaction for select to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_insert" on public.transaction for insert to "campus-admin"
  with check (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_update" on public.transaction for update to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]))
  with check (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_delete" on public.transaction for delete to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));

create policy "admin-campus-read-only_select" on public.transaction for select to "admin-campus-read-only"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));

grant select, insert, update, delete on public.transaction to admin;
create policy admin_all on public.transaction for all to admin using (true) with check (true);
create policy "admin-read-only_select" on public.transaction for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- match
----------------------------------------------------------------------------
alter table public.match enable row level security;
alter table public.match force row level security;

grant select (id, "userId", "matchId", "eventId", "objectId", bet, result, confirmed, path, campus, "createdAt", "updatedAt")
  on public.match to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
grant insert ("userId", "matchId", "eventId", "objectId", bet, result, confirmed, path, campus),
      update ("userId", "matchId", "eventId", "objectId", bet, result, confirmed, path, campus, "updatedAt"),
      delete
  on public.match to "campus-admin";

create policy user_select on public.match for select to "user" using (true);

create policy "campus-admin_select" on public.match for select to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_insert" on public.match for insert to "campus-admin"
  with check (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_update" on public.match for update to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]))
  with check (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));
create policy "campus-admin_delete" on public.match for delete to "campus-admin"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));

create policy "admin-campus-read-only_select" on public.match for select to "admin-campus-read-only"
  using (campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[]));

grant select, insert, update, delete on public.match to admin;
create policy admin_all on public.match for all to admin using (true) with check (true);
create policy "admin-read-only_select" on public.match for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- audit (campus: the audited group's)
----------------------------------------------------------------------------
alter table public.audit enable row level security;
alter table public.audit force row level security;

grant select (id, "groupId", "auditorId", grade, attrs, "resultId", version, "createdAt", "updatedAt", "endAt")
  on public.audit to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
grant insert ("groupId", "auditorId", grade, attrs, "resultId", version, "endAt"),
      update ("groupId", "auditorId", grade, attrs, "resultId", version, "updatedAt", "endAt"),
      delete
  on public.audit to "campus-admin";

-- user: the audits they do and the audits of the groups they are in.
create policy user_select on public.audit for select to "user"
  using (
    "auditorId" = (select hasura.user_id_int())
    or "groupId" = any (array(
      select gu."groupId" from public.group_user gu
      where gu."userId" = (select hasura.user_id_int()))));

create policy "campus-admin_select" on public.audit for select to "campus-admin"
  using (exists (
    select 1 from public."group" g
    where g.id = audit."groupId"
      and g.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));
create policy "campus-admin_insert" on public.audit for insert to "campus-admin"
  with check (exists (
    select 1 from public."group" g
    where g.id = audit."groupId"
      and g.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));
create policy "campus-admin_update" on public.audit for update to "campus-admin"
  using (exists (
    select 1 from public."group" g
    where g.id = audit."groupId"
      and g.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])))
  with check (exists (
    select 1 from public."group" g
    where g.id = audit."groupId"
      and g.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));
create policy "campus-admin_delete" on public.audit for delete to "campus-admin"
  using (exists (
    select 1 from public."group" g
    where g.id = audit."groupId"
      and g.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));

create policy "admin-campus-read-only_select" on public.audit for select to "admin-campus-read-only"
  using (exists (
    select 1 from public."group" g
    where g.id = audit."groupId"
      and g.campus = any ((select hasura.session_var_array_required('x-hasura-campus'))::text[])));

grant select, insert, update, delete on public.audit to admin;
create policy admin_all on public.audit for all to admin using (true) with check (true);
create policy "admin-read-only_select" on public.audit for select to "admin-read-only" using (true);

-- Tell running servers (npm run dev) to rebuild their GraphQL schemas.
notify postgraphile_watch, '{"type":"manual","source":"policies.sql"}';
