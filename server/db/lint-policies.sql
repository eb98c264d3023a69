-- Policy lints (npm run lint:policies). Each returns rows of
-- (lint, object, detail); no row means clean. $1 = exposed schema,
-- $2 = the application roles (plugins/app-roles.ts loadAppRoles), text[].
-- lint-policies.ts runs this with search_path = pg_catalog, so policy
-- expressions deparse with every other schema spelled out (lint 5 relies on it).

-- 1. Exposed tables without RLS enabled, or enabled but not forced (the owner would bypass it).
select case when not c.relrowsecurity then 'rls_disabled' else 'rls_not_forced' end as lint,
       format('%I.%I', n.nspname, c.relname) as object,
       case when not c.relrowsecurity then 'row level security is not enabled'
            else 'row level security is not forced (the owner would bypass it)' end as detail
from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname = $1 and c.relkind in ('r', 'p') and not (c.relrowsecurity and c.relforcerowsecurity)

union all
-- 2. Anything in the exposed schema granted to PUBLIC: tables, views, sequences,
--    columns, functions (EXECUTE is PUBLIC's by default until revoked), and
--    CREATE on the schema itself. Objects of extensions are left out.
select 'grant_to_public', format('%I.%I', n.nspname, c.relname), format('%s granted to PUBLIC', a.privilege_type)
from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
cross join lateral aclexplode(coalesce(c.relacl, acldefault(case when c.relkind = 'S' then 's' else 'r' end::"char", c.relowner))) a
where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') and a.grantee = 0

union all
select 'grant_to_public', format('%I.%I(%I)', n.nspname, c.relname, att.attname), format('%s granted to PUBLIC', a.privilege_type)
from pg_catalog.pg_attribute att
join pg_catalog.pg_class c on c.oid = att.attrelid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
cross join lateral aclexplode(att.attacl) a
where n.nspname = $1 and att.attacl is not null and a.grantee = 0 and not att.attisdropped

union all
select 'grant_to_public', format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)),
       format('%s granted to PUBLIC (revoke it: every role could call it)', a.privilege_type)
from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
where n.nspname = $1 and a.grantee = 0
  and not exists (select 1 from pg_catalog.pg_depend d
                  where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')

union all
select 'grant_to_public', format('schema %I', n.nspname), 'CREATE granted to PUBLIC: any role could add objects to the exposed schema'
from pg_catalog.pg_namespace n cross join lateral aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
where n.nspname = $1 and a.grantee = 0 and a.privilege_type = 'CREATE'

union all
-- 3. Policies for roles that are not application roles (including PUBLIC, the
--    default when a policy has no TO).
select 'policy_for_unknown_role', format('%I on %I.%I', p.policyname, p.schemaname, p.tablename),
       format('applies to %s, which is not an application role', r)
from pg_catalog.pg_policies p cross join lateral unnest(p.roles) r
where p.schemaname = $1
  and r::text <> all ($2::text[])
  -- Not the Hasura importer's rule reader (server/import/bool-exp.ts): a NOLOGIN
  -- role owning SECURITY DEFINER helpers, reading rows through `hasura_rules_read`.
  and not (p.policyname = 'hasura_rules_read' and p.cmd = 'SELECT' and p.qual = 'true'
           and exists (select 1 from pg_catalog.pg_roles g join pg_catalog.pg_proc f on f.proowner = g.oid
                       where g.rolname = r and not g.rolcanlogin and f.prosecdef))

union all
-- 4. SECURITY DEFINER functions without a fixed search_path (any non-system
--    schema; functions of extensions left out).
select 'security_definer_search_path', format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)),
       'SECURITY DEFINER without SET search_path: callers could hijack unqualified names'
from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where p.prosecdef and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_'
  and not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) cfg where cfg like 'search_path=%')
  and not exists (select 1 from pg_catalog.pg_depend d
                  where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')

union all
-- 5. Session helpers called per row: `hasura.f()` not wrapped as `(select hasura.f())`.
select 'helper_per_row', format('%I on %I.%I', p.policyname, p.schemaname, p.tablename),
       format('calls %s() per row; write (select %s()) so it runs once per statement', m[1], m[1])
from pg_catalog.pg_policies p
cross join lateral regexp_matches(
  regexp_replace(coalesce(p.qual, '') || ' ' || coalesce(p.with_check, ''), 'SELECT\s+hasura\.\w+\(', '', 'g'),
  '(hasura\.\w+)\(', 'g') m
where p.schemaname = $1

order by 1, 2;
