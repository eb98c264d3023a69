/*
 * hasura.reset_app_privileges: the clean slate every policies.sql starts
 * from, so that re-applying it is declarative (what it does not grant is
 * gone, a policy it no longer creates is dropped).
 *
 * For the given application roles on the given schema: revokes everything
 * they hold (tables and their columns, sequences, functions, the schema),
 * drops every policy of the schema, forgets the schema's Hasura permission
 * declarations and their preset triggers (sql/permissions.sql), takes
 * EXECUTE on the schema's functions away from PUBLIC, then grants each role
 * USAGE on the schema again: the roles with USAGE are the model's roles
 * (npm run permissions lists those). An extension's functions are left as
 * they are: a superuser created them (the root step), the caller cannot have
 * granted on them, and revoking on one it holds nothing on fails
 * (pg_stat_statements_reset, which PUBLIC may not execute).
 *
 * Security invoker with a pinned search_path: it can only do what the caller
 * (the schema's owner, running policies.sql) may do anyway. Names reach the
 * statements through format('%I'), never as raw text. Not executable by
 * PUBLIC: no application role has a reason to call it.
 *
 * Re-applied before every migration run: `create or replace` only.
 */
create or replace procedure hasura.reset_app_privileges(schema_name text, app_roles text[])
  language plpgsql
  security invoker
  set search_path = ''
as $$
declare
  r text;
  p record;
begin
  foreach r in array app_roles loop
    execute pg_catalog.format('revoke all on all tables in schema %I from %I', schema_name, r);
    execute pg_catalog.format('revoke all on all sequences in schema %I from %I', schema_name, r);
    for p in select f.oid::pg_catalog.regprocedure as fn from pg_catalog.pg_proc f
               join pg_catalog.pg_namespace n on n.oid = f.pronamespace
              where n.nspname = schema_name and f.prokind <> 'p' and not exists (
                select 1 from pg_catalog.pg_depend d
                 where d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and d.objid = f.oid and d.deptype = 'e') loop
      execute pg_catalog.format('revoke all on function %s from %I', p.fn, r);
    end loop;
    execute pg_catalog.format('revoke all on schema %I from %I', schema_name, r);
  end loop;
  for p in select tablename, policyname from pg_catalog.pg_policies where schemaname = schema_name loop
    execute pg_catalog.format('drop policy %I on %I.%I', p.policyname, schema_name, p.tablename);
  end loop;
  -- A project whose .gmrc predates sql/permissions.sql has no declarations.
  if pg_catalog.to_regclass('hasura.permission') is not null then
    delete from hasura.permission d using pg_catalog.pg_class c, pg_catalog.pg_namespace n
     where c.oid = d.table_oid and n.oid = c.relnamespace and n.nspname = schema_name;
    delete from hasura.column_preset d using pg_catalog.pg_class c, pg_catalog.pg_namespace n
     where c.oid = d.table_oid and n.oid = c.relnamespace and n.nspname = schema_name;
  end if;
  for p in select c.relname from pg_catalog.pg_trigger g
             join pg_catalog.pg_class c on c.oid = g.tgrelid
             join pg_catalog.pg_namespace n on n.oid = c.relnamespace
            where n.nspname = schema_name and g.tgname = 'hasura_column_presets' loop
    execute pg_catalog.format('drop trigger hasura_column_presets on %I.%I', schema_name, p.relname);
  end loop;
  for p in select f.oid::pg_catalog.regprocedure as fn from pg_catalog.pg_proc f
             join pg_catalog.pg_namespace n on n.oid = f.pronamespace
            where n.nspname = schema_name and f.prokind <> 'p' and not exists (
              select 1 from pg_catalog.pg_depend d
               where d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and d.objid = f.oid and d.deptype = 'e') loop
    execute pg_catalog.format('revoke all on function %s from public', p.fn);
  end loop;
  foreach r in array app_roles loop
    execute pg_catalog.format('grant usage on schema %I to %I', schema_name, r);
  end loop;
end
$$;
comment on procedure hasura.reset_app_privileges(text, text[]) is
  E'Clean slate for policies.sql: revokes what the roles hold on the schema, drops its policies, grants the roles USAGE. Use: call hasura.reset_app_privileges(''public'', array[''anonymous'', ''user'']).';
revoke all on procedure hasura.reset_app_privileges(text, text[]) from public;
