/*
 * policies.sql: every row-level security policy and grant of the school
 * platform, one table at a time. `npm run permissions` prints the matrix
 * these make; each section opens with its row of that matrix in words.
 *
 * Re-applied after every migration run and on every save in `npm run dev`,
 * so it is declarative: it starts from a clean slate (no privilege, no
 * policy) and runs as one transaction, so there is no moment without
 * policies.
 *
 * Conventions. RLS enabled *and* forced on every table; grants list their
 * columns; the grants and the policies of a role sit together. A policy
 * covers exactly the commands its role is granted, named <role>_<command>:
 * <role>_all (USING is also the WITH CHECK) for the roles that may do all
 * four, <role>_select for the readers. What Hasura declares beside a
 * select permission (allow_aggregations, a row limit: sql/permissions.sql)
 * follows the policy of the role it is for: `call hasura.select_permission`.
 * Aggregates are declared where the platform's clients use them; admin has
 * them everywhere, as Hasura's admin.
 *
 * The rules, each written once:
 *   own rows     "userId" = (select hasura.user_id_int())
 *   campus       campus = any ((select hasura.campuses())::text[])
 *                (x-hasura-campus, a list; sql/campus.sql)
 *   parent's     exists (select 1 from public."group" g where g.id = audit."groupId"):
 *                a row without a campus column belongs to its parent's
 *                campus (group_user, audit → group; event_user → event;
 *                registration_user → registration; object_child → parent
 *                object; user_role → user). The EXISTS reads the parent
 *                through the parent's own policy for the same role, so the
 *                campus rule is said once, on the parent. No parent's policy
 *                looks at its children: no recursion.
 * Helpers are called as sub-selects, so Postgres evaluates them once per
 * statement (an InitPlan) and the comparisons stay index conditions. EXISTS,
 * not IN: the planner may then look each parent up by its primary key when
 * few rows are read, or hash the visible parents when many are.
 *
 * The roles (seed 001):
 *   anonymous               SELECT on a few public columns of user, object,
 *                           result, transaction, progress; nothing else
 *   user                    SELECT: the catalogue (objects, events, groups…)
 *                           entirely; audit, result, transaction, user_role,
 *                           user, progress only where they concern the user
 *   campus-admin            everything on the rows of its campuses; lookups
 *                           read-only
 *   admin-campus-read-only  SELECT on the rows campus-admin sees
 *   admin                   everything
 *   admin-read-only         SELECT on everything
 */

call hasura.reset_app_privileges('public', array['anonymous', 'user', 'campus-admin', 'admin-campus-read-only', 'admin', 'admin-read-only']);

-- The identity sequences, for the roles that insert.
grant usage on all sequences in schema public to "campus-admin", admin;

----------------------------------------------------------------------------
-- user. anonymous: id and login of every account. user: its own account.
-- campus-admin: the accounts of its campuses, all commands (it cannot move
-- one to another campus); admin-campus-read-only reads them. admin: all;
-- admin-read-only reads all. The campus and read-only admin roles
-- aggregate (head counts).
----------------------------------------------------------------------------
alter table public."user" enable row level security, force row level security;
grant select (id, login) on public."user" to anonymous;
create policy anonymous_select on public."user" for select to anonymous using (true);
grant select (id, login, "firstName", "lastName", email, campus, "createdAt")
  on public."user" to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public."user" for select to "user" using (id = (select hasura.user_id_int()));
grant insert (login, "firstName", "lastName", email, campus),
      update (login, "firstName", "lastName", email, campus), delete on public."user" to "campus-admin";
create policy "campus-admin_all" on public."user" for all to "campus-admin"
  using (campus = any ((select hasura.campuses())::text[]));
call hasura.select_permission('public."user"', 'campus-admin', allow_aggregations => true);
create policy "admin-campus-read-only_select" on public."user" for select to "admin-campus-read-only"
  using (campus = any ((select hasura.campuses())::text[]));
call hasura.select_permission('public."user"', 'admin-campus-read-only', allow_aggregations => true);
grant select, insert, update, delete on public."user" to admin;
create policy admin_all on public."user" for all to admin using (true);
create policy "admin-read-only_select" on public."user" for select to "admin-read-only" using (true);
call hasura.select_permission('public."user"', 'admin-read-only', allow_aggregations => true);

----------------------------------------------------------------------------
-- Lookups: object_type, object_status, transaction_type, role. Everyone but
-- anonymous reads them whole; only admin changes them.
----------------------------------------------------------------------------
alter table public.object_type enable row level security, force row level security;
grant select (type, description) on public.object_type to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.object_type for select to "user" using (true);
create policy "campus-admin_select" on public.object_type for select to "campus-admin" using (true);
create policy "admin-campus-read-only_select" on public.object_type for select to "admin-campus-read-only" using (true);
grant select, insert, update, delete on public.object_type to admin;
create policy admin_all on public.object_type for all to admin using (true);
create policy "admin-read-only_select" on public.object_type for select to "admin-read-only" using (true);

alter table public.object_status enable row level security, force row level security;
grant select (status, description) on public.object_status to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.object_status for select to "user" using (true);
create policy "campus-admin_select" on public.object_status for select to "campus-admin" using (true);
create policy "admin-campus-read-only_select" on public.object_status for select to "admin-campus-read-only" using (true);
grant select, insert, update, delete on public.object_status to admin;
create policy admin_all on public.object_status for all to admin using (true);
create policy "admin-read-only_select" on public.object_status for select to "admin-read-only" using (true);

alter table public.transaction_type enable row level security, force row level security;
grant select (type, description) on public.transaction_type to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.transaction_type for select to "user" using (true);
create policy "campus-admin_select" on public.transaction_type for select to "campus-admin" using (true);
create policy "admin-campus-read-only_select" on public.transaction_type for select to "admin-campus-read-only" using (true);
grant select, insert, update, delete on public.transaction_type to admin;
create policy admin_all on public.transaction_type for all to admin using (true);
create policy "admin-read-only_select" on public.transaction_type for select to "admin-read-only" using (true);

alter table public.role enable row level security, force row level security;
grant select (id, slug, name, description) on public.role to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.role for select to "user" using (true);
create policy "campus-admin_select" on public.role for select to "campus-admin" using (true);
create policy "admin-campus-read-only_select" on public.role for select to "admin-campus-read-only" using (true);
grant select, insert, update, delete on public.role to admin;
create policy admin_all on public.role for all to admin using (true);
create policy "admin-read-only_select" on public.role for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- user_role (campus: the user's). user: the roles it holds. campus-admin:
-- the roles of its campuses' accounts, all commands, but only campus-level
-- roles: one that could write an 'admin' or 'admin-read-only' row would make
-- itself (or anyone on its campus) a platform-wide administrator.
-- admin-campus-read-only reads its campuses' rows (any role). admin: all;
-- admin-read-only reads all.
----------------------------------------------------------------------------
alter table public.user_role enable row level security, force row level security;
grant select (id, "userId", "roleId") on public.user_role
  to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.user_role for select to "user" using ("userId" = (select hasura.user_id_int()));
grant insert ("userId", "roleId"), update ("userId", "roleId"), delete on public.user_role to "campus-admin";
create policy "campus-admin_all" on public.user_role for all to "campus-admin"
  using (exists (select 1 from public."user" u where u.id = user_role."userId")
         and exists (select 1 from public.role r where r.id = user_role."roleId" and r.slug not in ('admin', 'admin-read-only')));
create policy "admin-campus-read-only_select" on public.user_role for select to "admin-campus-read-only"
  using (exists (select 1 from public."user" u where u.id = user_role."userId"));
grant select, insert, update, delete on public.user_role to admin;
create policy admin_all on public.user_role for all to admin using (true);
create policy "admin-read-only_select" on public.user_role for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- object. anonymous: five columns of the whole catalogue. user and
-- admin-read-only: all of it. campus-admin: its campuses' objects, all
-- commands; admin-campus-read-only reads them. admin: all. The campus and
-- read-only admin roles aggregate (catalogue counts).
----------------------------------------------------------------------------
alter table public.object enable row level security, force row level security;
grant select (id, "childAttr", campus, name, type) on public.object to anonymous;
create policy anonymous_select on public.object for select to anonymous using (true);
grant select (id, name, type, status, attrs, "childAttr", campus, "authorId", "createdAt", "updatedAt")
  on public.object to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.object for select to "user" using (true);
grant insert (name, type, status, attrs, "childAttr", campus, "authorId"),
      update (name, type, status, attrs, "childAttr", campus, "authorId", "updatedAt"), delete
  on public.object to "campus-admin";
create policy "campus-admin_all" on public.object for all to "campus-admin"
  using (campus = any ((select hasura.campuses())::text[]));
call hasura.select_permission('public.object', 'campus-admin', allow_aggregations => true);
create policy "admin-campus-read-only_select" on public.object for select to "admin-campus-read-only"
  using (campus = any ((select hasura.campuses())::text[]));
call hasura.select_permission('public.object', 'admin-campus-read-only', allow_aggregations => true);
grant select, insert, update, delete on public.object to admin;
create policy admin_all on public.object for all to admin using (true);
create policy "admin-read-only_select" on public.object for select to "admin-read-only" using (true);
call hasura.select_permission('public.object', 'admin-read-only', allow_aggregations => true);

----------------------------------------------------------------------------
-- object_child (campus: the parent object's). user and admin-read-only:
-- the whole tree. campus-admin: the edges under its campuses' objects, all
-- commands; admin-campus-read-only reads them. admin: all.
----------------------------------------------------------------------------
alter table public.object_child enable row level security, force row level security;
grant select (id, "parentId", "childId", attrs, key, index)
  on public.object_child to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.object_child for select to "user" using (true);
grant insert ("parentId", "childId", attrs, key, index), update ("parentId", "childId", attrs, key, index), delete
  on public.object_child to "campus-admin";
create policy "campus-admin_all" on public.object_child for all to "campus-admin"
  using (exists (select 1 from public.object o where o.id = object_child."parentId"));
create policy "admin-campus-read-only_select" on public.object_child for select to "admin-campus-read-only"
  using (exists (select 1 from public.object o where o.id = object_child."parentId"));
grant select, insert, update, delete on public.object_child to admin;
create policy admin_all on public.object_child for all to admin using (true);
create policy "admin-read-only_select" on public.object_child for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- registration. user and admin-read-only: every one. campus-admin: its
-- campuses', all commands; admin-campus-read-only reads them. admin: all.
----------------------------------------------------------------------------
alter table public.registration enable row level security, force row level security;
grant select (id, "objectId", "startAt", "endAt", attrs, campus, path, "createdAt")
  on public.registration to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.registration for select to "user" using (true);
grant insert ("objectId", "startAt", "endAt", attrs, campus, path),
      update ("objectId", "startAt", "endAt", attrs, campus, path), delete
  on public.registration to "campus-admin";
create policy "campus-admin_all" on public.registration for all to "campus-admin"
  using (campus = any ((select hasura.campuses())::text[]));
create policy "admin-campus-read-only_select" on public.registration for select to "admin-campus-read-only"
  using (campus = any ((select hasura.campuses())::text[]));
grant select, insert, update, delete on public.registration to admin;
create policy admin_all on public.registration for all to admin using (true);
create policy "admin-read-only_select" on public.registration for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- registration_user (campus: the registration's). user and admin-read-only:
-- every sign-up. campus-admin: the sign-ups to its campuses' registrations,
-- all commands; admin-campus-read-only reads them. admin: all.
----------------------------------------------------------------------------
alter table public.registration_user enable row level security, force row level security;
grant select (id, "registrationId", "userId", "createdAt")
  on public.registration_user to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.registration_user for select to "user" using (true);
grant insert ("registrationId", "userId"), update ("registrationId", "userId"), delete
  on public.registration_user to "campus-admin";
create policy "campus-admin_all" on public.registration_user for all to "campus-admin"
  using (exists (select 1 from public.registration r where r.id = registration_user."registrationId"));
create policy "admin-campus-read-only_select" on public.registration_user for select to "admin-campus-read-only"
  using (exists (select 1 from public.registration r where r.id = registration_user."registrationId"));
grant select, insert, update, delete on public.registration_user to admin;
create policy admin_all on public.registration_user for all to admin using (true);
create policy "admin-read-only_select" on public.registration_user for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- event. user and admin-read-only: every one. campus-admin: its campuses',
-- all commands; admin-campus-read-only reads them. admin: all.
----------------------------------------------------------------------------
alter table public.event enable row level security, force row level security;
grant select (id, "objectId", "parentId", "registrationId", path, campus, "createdAt", "endAt")
  on public.event to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.event for select to "user" using (true);
grant insert ("objectId", "parentId", "registrationId", path, campus, "endAt"),
      update ("objectId", "parentId", "registrationId", path, campus, "endAt"), delete
  on public.event to "campus-admin";
create policy "campus-admin_all" on public.event for all to "campus-admin"
  using (campus = any ((select hasura.campuses())::text[]));
create policy "admin-campus-read-only_select" on public.event for select to "admin-campus-read-only"
  using (campus = any ((select hasura.campuses())::text[]));
grant select, insert, update, delete on public.event to admin;
create policy admin_all on public.event for all to admin using (true);
create policy "admin-read-only_select" on public.event for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- event_user (campus: the event's). user and admin-read-only: every
-- participant. campus-admin: those of its campuses' events, all commands;
-- admin-campus-read-only reads them. admin: all.
----------------------------------------------------------------------------
alter table public.event_user enable row level security, force row level security;
grant select (id, "eventId", "userId", "createdAt")
  on public.event_user to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.event_user for select to "user" using (true);
grant insert ("eventId", "userId"), update ("eventId", "userId"), delete on public.event_user to "campus-admin";
create policy "campus-admin_all" on public.event_user for all to "campus-admin"
  using (exists (select 1 from public.event e where e.id = event_user."eventId"));
create policy "admin-campus-read-only_select" on public.event_user for select to "admin-campus-read-only"
  using (exists (select 1 from public.event e where e.id = event_user."eventId"));
grant select, insert, update, delete on public.event_user to admin;
create policy admin_all on public.event_user for all to admin using (true);
create policy "admin-read-only_select" on public.event_user for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- group. user and admin-read-only: every one. campus-admin: its campuses',
-- all commands; admin-campus-read-only reads them. admin: all.
----------------------------------------------------------------------------
alter table public."group" enable row level security, force row level security;
grant select (id, "objectId", "eventId", "captainId", status, path, campus, "createdAt", "updatedAt")
  on public."group" to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public."group" for select to "user" using (true);
grant insert ("objectId", "eventId", "captainId", status, path, campus),
      update ("objectId", "eventId", "captainId", status, path, campus, "updatedAt"), delete
  on public."group" to "campus-admin";
create policy "campus-admin_all" on public."group" for all to "campus-admin"
  using (campus = any ((select hasura.campuses())::text[]));
create policy "admin-campus-read-only_select" on public."group" for select to "admin-campus-read-only"
  using (campus = any ((select hasura.campuses())::text[]));
grant select, insert, update, delete on public."group" to admin;
create policy admin_all on public."group" for all to admin using (true);
create policy "admin-read-only_select" on public."group" for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- group_user (campus: the group's). user and admin-read-only: every
-- membership (the result and audit policies read it to find the user's
-- groups: it must stay readable, and not look back at them). campus-admin:
-- the members of its campuses' groups, all commands; admin-campus-read-only
-- reads them. admin: all.
----------------------------------------------------------------------------
alter table public.group_user enable row level security, force row level security;
grant select (id, "groupId", "userId", confirmed, "createdAt")
  on public.group_user to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.group_user for select to "user" using (true);
grant insert ("groupId", "userId", confirmed), update ("groupId", "userId", confirmed), delete
  on public.group_user to "campus-admin";
create policy "campus-admin_all" on public.group_user for all to "campus-admin"
  using (exists (select 1 from public."group" g where g.id = group_user."groupId"));
create policy "admin-campus-read-only_select" on public.group_user for select to "admin-campus-read-only"
  using (exists (select 1 from public."group" g where g.id = group_user."groupId"));
grant select, insert, update, delete on public.group_user to admin;
create policy admin_all on public.group_user for all to admin using (true);
create policy "admin-read-only_select" on public.group_user for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- progress. anonymous: who is done with what, and how well (six columns of
-- every row). user: its own. campus-admin: its campuses', all commands;
-- admin-campus-read-only reads them. admin: all; admin-read-only reads all.
-- Every reader aggregates what it reads (progress totals).
----------------------------------------------------------------------------
alter table public.progress enable row level security, force row level security;
grant select ("isDone", "objectId", "userId", id, grade, campus) on public.progress to anonymous;
create policy anonymous_select on public.progress for select to anonymous using (true);
call hasura.select_permission('public.progress', 'anonymous', allow_aggregations => true);
grant select (id, "userId", "groupId", "eventId", "objectId", grade, "isDone", path, campus, "createdAt", "updatedAt")
  on public.progress to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.progress for select to "user" using ("userId" = (select hasura.user_id_int()));
call hasura.select_permission('public.progress', 'user', allow_aggregations => true);
grant insert ("userId", "groupId", "eventId", "objectId", grade, "isDone", path, campus),
      update ("userId", "groupId", "eventId", "objectId", grade, "isDone", path, campus, "updatedAt"), delete
  on public.progress to "campus-admin";
create policy "campus-admin_all" on public.progress for all to "campus-admin"
  using (campus = any ((select hasura.campuses())::text[]));
call hasura.select_permission('public.progress', 'campus-admin', allow_aggregations => true);
create policy "admin-campus-read-only_select" on public.progress for select to "admin-campus-read-only"
  using (campus = any ((select hasura.campuses())::text[]));
call hasura.select_permission('public.progress', 'admin-campus-read-only', allow_aggregations => true);
grant select, insert, update, delete on public.progress to admin;
create policy admin_all on public.progress for all to admin using (true);
create policy "admin-read-only_select" on public.progress for select to "admin-read-only" using (true);
call hasura.select_permission('public.progress', 'admin-read-only', allow_aggregations => true);

----------------------------------------------------------------------------
-- result. anonymous: grades of every row, without the row id. user: its
-- own and those of the groups it is in. campus-admin: its campuses', all
-- commands; admin-campus-read-only reads them. admin: all; admin-read-only
-- reads all. Every reader aggregates what it reads (grade averages).
----------------------------------------------------------------------------
alter table public.result enable row level security, force row level security;
grant select ("groupId", "objectId", "progressId", "userId", grade, campus) on public.result to anonymous;
create policy anonymous_select on public.result for select to anonymous using (true);
call hasura.select_permission('public.result', 'anonymous', allow_aggregations => true);
grant select (id, "userId", "groupId", "objectId", "progressId", "eventId", grade, type, attrs, "isLast", path, campus, "createdAt", "updatedAt")
  on public.result to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
-- The groups are collected once (array(…) is an InitPlan), so both arms are
-- index scans (result_user_id_idx, result_group_id_idx) combined by a BitmapOr.
create policy user_select on public.result for select to "user"
  using ("userId" = (select hasura.user_id_int())
         or "groupId" = any (array(select gu."groupId" from public.group_user gu where gu."userId" = (select hasura.user_id_int()))));
call hasura.select_permission('public.result', 'user', allow_aggregations => true);
grant insert ("userId", "groupId", "objectId", "progressId", "eventId", grade, type, attrs, "isLast", path, campus),
      update ("userId", "groupId", "objectId", "progressId", "eventId", grade, type, attrs, "isLast", path, campus, "updatedAt"), delete
  on public.result to "campus-admin";
create policy "campus-admin_all" on public.result for all to "campus-admin"
  using (campus = any ((select hasura.campuses())::text[]));
call hasura.select_permission('public.result', 'campus-admin', allow_aggregations => true);
create policy "admin-campus-read-only_select" on public.result for select to "admin-campus-read-only"
  using (campus = any ((select hasura.campuses())::text[]));
call hasura.select_permission('public.result', 'admin-campus-read-only', allow_aggregations => true);
grant select, insert, update, delete on public.result to admin;
create policy admin_all on public.result for all to admin using (true);
create policy "admin-read-only_select" on public.result for select to "admin-read-only" using (true);
call hasura.select_permission('public.result', 'admin-read-only', allow_aggregations => true);

----------------------------------------------------------------------------
-- transaction. anonymous: amounts of every row, without the row id, campus
-- or path. user: its own ledger. campus-admin: its campuses', all commands;
-- admin-campus-read-only reads them. admin: all; admin-read-only reads all.
-- Every reader aggregates what it reads (the xp totals of a profile).
----------------------------------------------------------------------------
alter table public.transaction enable row level security, force row level security;
grant select ("objectId", "userId", amount, type) on public.transaction to anonymous;
create policy anonymous_select on public.transaction for select to anonymous using (true);
call hasura.select_permission('public.transaction', 'anonymous', allow_aggregations => true);
grant select (id, type, amount, "userId", "objectId", "eventId", attrs, path, campus, "createdAt")
  on public.transaction to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.transaction for select to "user" using ("userId" = (select hasura.user_id_int()));
call hasura.select_permission('public.transaction', 'user', allow_aggregations => true);
grant insert (type, amount, "userId", "objectId", "eventId", attrs, path, campus),
      update (type, amount, "userId", "objectId", "eventId", attrs, path, campus), delete
  on public.transaction to "campus-admin";
create policy "campus-admin_all" on public.transaction for all to "campus-admin"
  using (campus = any ((select hasura.campuses())::text[]));
call hasura.select_permission('public.transaction', 'campus-admin', allow_aggregations => true);
create policy "admin-campus-read-only_select" on public.transaction for select to "admin-campus-read-only"
  using (campus = any ((select hasura.campuses())::text[]));
call hasura.select_permission('public.transaction', 'admin-campus-read-only', allow_aggregations => true);
grant select, insert, update, delete on public.transaction to admin;
create policy admin_all on public.transaction for all to admin using (true);
create policy "admin-read-only_select" on public.transaction for select to "admin-read-only" using (true);
call hasura.select_permission('public.transaction', 'admin-read-only', allow_aggregations => true);

----------------------------------------------------------------------------
-- match. user and admin-read-only: every one. campus-admin: its campuses',
-- all commands; admin-campus-read-only reads them. admin: all.
----------------------------------------------------------------------------
alter table public.match enable row level security, force row level security;
grant select (id, "userId", "matchId", "eventId", "objectId", bet, result, confirmed, path, campus, "createdAt", "updatedAt")
  on public.match to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.match for select to "user" using (true);
grant insert ("userId", "matchId", "eventId", "objectId", bet, result, confirmed, path, campus),
      update ("userId", "matchId", "eventId", "objectId", bet, result, confirmed, path, campus, "updatedAt"), delete
  on public.match to "campus-admin";
create policy "campus-admin_all" on public.match for all to "campus-admin"
  using (campus = any ((select hasura.campuses())::text[]));
create policy "admin-campus-read-only_select" on public.match for select to "admin-campus-read-only"
  using (campus = any ((select hasura.campuses())::text[]));
grant select, insert, update, delete on public.match to admin;
create policy admin_all on public.match for all to admin using (true);
create policy "admin-read-only_select" on public.match for select to "admin-read-only" using (true);

----------------------------------------------------------------------------
-- audit (campus: the audited group's). user: the audits it does and those
-- of the groups it is in. campus-admin: the audits of its campuses' groups,
-- all commands; admin-campus-read-only reads them. admin: all;
-- admin-read-only reads all.
----------------------------------------------------------------------------
alter table public.audit enable row level security, force row level security;
grant select (id, "groupId", "auditorId", grade, attrs, "resultId", version, "createdAt", "updatedAt", "endAt")
  on public.audit to "user", "campus-admin", "admin-campus-read-only", "admin-read-only";
create policy user_select on public.audit for select to "user"
  using ("auditorId" = (select hasura.user_id_int())
         or "groupId" = any (array(select gu."groupId" from public.group_user gu where gu."userId" = (select hasura.user_id_int()))));
grant insert ("groupId", "auditorId", grade, attrs, "resultId", version, "endAt"),
      update ("groupId", "auditorId", grade, attrs, "resultId", version, "updatedAt", "endAt"), delete
  on public.audit to "campus-admin";
create policy "campus-admin_all" on public.audit for all to "campus-admin"
  using (exists (select 1 from public."group" g where g.id = audit."groupId"));
create policy "admin-campus-read-only_select" on public.audit for select to "admin-campus-read-only"
  using (exists (select 1 from public."group" g where g.id = audit."groupId"));
grant select, insert, update, delete on public.audit to admin;
create policy admin_all on public.audit for all to admin using (true);
create policy "admin-read-only_select" on public.audit for select to "admin-read-only" using (true);

-- Tell running servers (npm run dev) to rebuild their GraphQL schemas.
notify postgraphile_watch, '{"type":"manual","source":"policies.sql"}';
