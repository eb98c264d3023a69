-- Policy lints (npm run lint:policies). Each returns rows of
-- (lint, object, detail); no row means clean. $1 = exposed schema,
-- $2 = the authenticator role (whose granted roles are the application roles).

-- 1. Exposed tables without RLS enabled and forced.
select 'rls_not_forced' as lint, format('%I.%I', n.nspname, c.relname) as object,
       case when not c.relrowsecurity then 'row level security is not enabled'
            else 'row level security is not forced (the owner would bypass it)' end as detail
from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname = $1 and c.relkind in ('r', 'p') and not (c.relrowsecurity and c.relforcerowsecurity)

union all
-- 2. Anything in the exposed schema granted to PUBLIC.
select 'grant_to_public', format('%I.%I', n.nspname, c.relname), format('%s granted to PUBLIC', a.privilege_type)
from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
cross join lateral aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm') and a.grantee = 0

union all
select 'grant_to_public', format('%I.%I(%I)', n.nspname, c.relname, att.attname), format('%s granted to PUBLIC', a.privilege_type)
from pg_catalog.pg_attribute att
join pg_catalog.pg_class c on c.oid = att.attrelid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
cross join lateral aclexplode(att.attacl) a
where n.nspname = $1 and att.attacl is not null and a.grantee = 0

union all
-- 3. Policies for roles that are not application roles (including PUBLIC).
select 'policy_for_unknown_role', format('%I on %I.%I', p.policyname, p.schemaname, p.tablename),
       format('applies to %s, which is not an application role', r)
from pg_catalog.pg_policies p cross join lateral unnest(p.roles) r
where p.schemaname = $1
  and r::text not in (
    select ar.rolname from pg_catalog.pg_auth_members m
    join pg_catalog.pg_roles ar on ar.oid = m.roleid
    where m.member = (select oid from pg_catalog.pg_roles where rolname = $2) and not ar.rolcanlogin)

union all
-- 4. SECURITY DEFINER functions without a fixed search_path (any non-system schema).
select 'security_definer_search_path', format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)),
       'SECURITY DEFINER without SET search_path: callers could hijack unqualified names'
from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where p.prosecdef and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_'
  and not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) cfg where cfg like 'search_path=%')

union all
-- 5. Session helpers called per row: `hasura.f()` not wrapped as `(select hasura.f())`.
select 'helper_per_row', format('%I on %I.%I', p.policyname, p.schemaname, p.tablename),
       format('calls %s per row; write (select %s) so it runs once per statement', m[1], m[1])
from pg_catalog.pg_policies p
cross join lateral regexp_matches(
  regexp_replace(coalesce(p.qual, '') || ' ' || coalesce(p.with_check, ''), 'SELECT\s+hasura\.\w+\(', '', 'g'),
  '(hasura\.\w+)\(', 'g') m
where p.schemaname = $1

order by 1, 2;
