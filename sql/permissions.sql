/*
 * hasura: the parts of Hasura's permission model that are not a grant or a
 * row rule, declared in policies.sql next to the policy they belong to:
 *
 *   call hasura.select_permission('public.author', 'user', "limit" => 10,
 *     allow_aggregations => true, query_root_fields => array['select', 'select_by_pk']);
 *   call hasura.column_preset('public.article', 'user', 'insert', 'author_id',
 *     session_variable => 'x-hasura-user-id');
 *   call hasura.backend_only('public.article', 'service', 'insert');
 *
 * One source of truth, in the catalog (tables hasura.permission and
 * hasura.column_preset): Postgres enforces what it can (a column preset is a
 * trigger, below, so it holds for every client of the database); what only
 * the GraphQL schema can say (a row limit, whether aggregates or a root field
 * exist, a backend-only mutation) the per-role schema build reads from here
 * (server/hasura/declarations.ts). `npm run permissions` shows both.
 *
 * policies.sql starts from a clean slate: hasura.reset_app_privileges also
 * forgets these declarations for the schema's tables (sql/privileges.sql).
 * Declarations are not secrets (like pg_policies): every role may read them.
 *
 * Re-applied before every migration run: `if not exists` and
 * `create or replace` only, never drop.
 */
create table if not exists hasura.permission (
  table_oid regclass not null,
  role name not null,
  command text not null check (command in ('select', 'insert', 'update', 'delete')),
  -- select: the most rows one selection of the table returns (Hasura's `limit`).
  row_limit integer check (row_limit > 0),
  -- select: `t_aggregate` and `<rel>_aggregate` exist (Hasura's `allow_aggregations`).
  allow_aggregations boolean not null default false,
  -- select: which of select, select_by_pk, select_aggregate (select_stream) exist; null: all.
  query_root_fields text[],
  subscription_root_fields text[],
  -- insert, update, delete: only for the admin secret with x-hasura-use-backend-only-permissions: true.
  backend_only boolean not null default false,
  primary key (table_oid, role, command)
);
comment on table hasura.permission is
  E'Hasura permission options per table, role and command; written by hasura.select_permission and hasura.backend_only in policies.sql.';

create table if not exists hasura.column_preset (
  table_oid regclass not null,
  role name not null,
  command text not null check (command in ('insert', 'update')),
  column_name name not null,
  session_variable text check (session_variable ~* '^x-hasura-'),
  value text,
  primary key (table_oid, role, command, column_name),
  check ((session_variable is null) <> (value is null))
);
comment on table hasura.column_preset is
  E'Hasura column presets (insert/update `set`): forced by the trigger hasura_column_presets; written by hasura.column_preset in policies.sql.';

revoke all on hasura.permission, hasura.column_preset from public;
grant select on hasura.permission, hasura.column_preset to public;

create or replace function hasura.check_declared(tbl regclass, role_name name, command text, commands text[]) returns void
  language plpgsql stable
  set search_path = ''
as $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = role_name) then
    raise exception 'hasura permission declaration on %: role "%" does not exist', tbl, role_name using errcode = '42704';
  end if;
  if command is null or not (command = any (commands)) then
    raise exception 'hasura permission declaration on %: command must be one of %, not %', tbl, commands, coalesce(command, 'null')
      using errcode = '22023';
  end if;
end
$$;
revoke all on function hasura.check_declared(regclass, name, text, text[]) from public;

create or replace procedure hasura.select_permission(
  tbl regclass,
  role_name name,
  "limit" integer default null,
  allow_aggregations boolean default false,
  query_root_fields text[] default null,
  subscription_root_fields text[] default null
)
  language plpgsql
  security invoker
  set search_path = ''
as $$
declare
  root_fields constant text[] := array['select', 'select_by_pk', 'select_aggregate', 'select_stream'];
begin
  perform hasura.check_declared(tbl, role_name, 'select', array['select']);
  if not (coalesce(query_root_fields, '{}') <@ root_fields and coalesce(subscription_root_fields, '{}') <@ root_fields) then
    raise exception 'hasura.select_permission on %: root fields must be among %', tbl, root_fields using errcode = '22023';
  end if;
  if "limit" is not null and "limit" < 1 then
    raise exception 'hasura.select_permission on %: limit must be positive, not %', tbl, "limit" using errcode = '22023';
  end if;
  insert into hasura.permission as p (table_oid, role, command, row_limit, allow_aggregations, query_root_fields, subscription_root_fields)
  values (tbl, role_name, 'select', select_permission."limit", coalesce(select_permission.allow_aggregations, false),
          select_permission.query_root_fields, select_permission.subscription_root_fields)
  on conflict on constraint permission_pkey do update
    set row_limit = excluded.row_limit, allow_aggregations = excluded.allow_aggregations,
        query_root_fields = excluded.query_root_fields, subscription_root_fields = excluded.subscription_root_fields;
end
$$;
comment on procedure hasura.select_permission(regclass, name, integer, boolean, text[], text[]) is
  E'Hasura select options of a role on a table: "limit" (rows per selection), allow_aggregations, query_root_fields / subscription_root_fields (null: all). Use: call hasura.select_permission(''public.author'', ''user'', "limit" => 10, allow_aggregations => true).';

create or replace procedure hasura.backend_only(tbl regclass, role_name name, command text)
  language plpgsql
  security invoker
  set search_path = ''
as $$
begin
  perform hasura.check_declared(tbl, role_name, command, array['insert', 'update', 'delete']);
  insert into hasura.permission (table_oid, role, command, backend_only)
  values (tbl, role_name, backend_only.command, true)
  on conflict on constraint permission_pkey do update set backend_only = true;
end
$$;
comment on procedure hasura.backend_only(regclass, name, text) is
  E'Hasura backend_only: the role''s insert/update/delete on the table exists only for requests with the admin secret and x-hasura-use-backend-only-permissions: true. Use: call hasura.backend_only(''public.article'', ''service'', ''insert'').';

/*
 * Inherited roles (Hasura's inherited_roles) are Postgres role membership:
 * an application role granted other roles WITH INHERIT has their privileges
 * and their policies. Its declarations follow Hasura's rules: what the role
 * declares itself for a table and command wins; otherwise, from the parents
 * that hold the command on the table, a select takes the largest limit,
 * aggregations if any parent allows them and the union of root fields (all
 * if any parent has no list); a mutation takes the parents' backend_only and
 * presets, which must agree (server/db/inherited-roles.ts refuses, at
 * start-up and in `npm run lint:policies`, an inherited role whose parents
 * disagree, or that Postgres would otherwise serve differently from Hasura).
 */
create or replace function hasura.parent_roles(role_name name) returns name[]
  language sql stable
  set search_path = ''
as $$
  select coalesce(pg_catalog.array_agg(p.rolname order by p.rolname), '{}')
    from pg_catalog.pg_auth_members m
    join pg_catalog.pg_roles p on p.oid = m.roleid
   where m.member = (select r.oid from pg_catalog.pg_roles r where r.rolname = role_name) and m.inherit_option
$$;
comment on function hasura.parent_roles(name) is
  E'The roles whose privileges the role inherits directly (granted WITH INHERIT): an inherited role''s parents.';

create or replace function hasura.holds(role_name name, tbl regclass, command text) returns boolean
  language sql stable
  set search_path = ''
as $$
  select case command
    when 'select' then pg_catalog.has_any_column_privilege(role_name, tbl::oid, 'SELECT')
    when 'insert' then pg_catalog.has_any_column_privilege(role_name, tbl::oid, 'INSERT')
    when 'update' then pg_catalog.has_any_column_privilege(role_name, tbl::oid, 'UPDATE')
    when 'delete' then pg_catalog.has_table_privilege(role_name, tbl::oid, 'DELETE')
  end
$$;
comment on function hasura.holds(name, regclass, text) is
  E'Whether the role (with what it inherits) may run the command on the table at all.';

create or replace function hasura.effective_permission(role_name name)
  returns table (table_oid regclass, role name, command text, row_limit integer, allow_aggregations boolean,
                 query_root_fields text[], subscription_root_fields text[], backend_only boolean)
  language plpgsql stable
  set search_path = ''
as $$
#variable_conflict use_column
declare
  parents constant name[] := hasura.parent_roles(role_name);
begin
  return query
    select p.table_oid, p.role, p.command, p.row_limit, p.allow_aggregations, p.query_root_fields,
           p.subscription_root_fields, p.backend_only
      from hasura.permission p where p.role = role_name;
  if pg_catalog.cardinality(parents) = 0 then
    return;
  end if;
  return query
    with inherited as materialized (
      select pr.name as parent, e.*
        from pg_catalog.unnest(parents) pr(name)
        cross join lateral hasura.effective_permission(pr.name) e
    ), keys as (
      select distinct i.table_oid, i.command from inherited i
       where not exists (select 1 from hasura.permission o
                          where o.role = role_name and o.table_oid = i.table_oid and o.command = i.command)
    ), holders as (
      -- Every parent holding the command, with its declaration or, without one, Hasura's defaults.
      select k.table_oid, k.command, i.row_limit, coalesce(i.allow_aggregations, false) as allow_aggregations,
             i.query_root_fields, i.subscription_root_fields, coalesce(i.backend_only, false) as backend_only,
             i.parent is null or i.query_root_fields is null as all_query_fields,
             i.parent is null or i.subscription_root_fields is null as all_subscription_fields
        from keys k
       cross join pg_catalog.unnest(parents) pr(name)
        left join inherited i on i.parent = pr.name and i.table_oid = k.table_oid and i.command = k.command
       where hasura.holds(pr.name, k.table_oid, k.command)
    )
    select h.table_oid, role_name, h.command, pg_catalog.max(h.row_limit), pg_catalog.bool_or(h.allow_aggregations),
           case when pg_catalog.bool_or(h.all_query_fields) then null
                else (select pg_catalog.array_agg(distinct f order by f) from holders h2, pg_catalog.unnest(h2.query_root_fields) f
                       where h2.table_oid = h.table_oid and h2.command = h.command) end,
           case when pg_catalog.bool_or(h.all_subscription_fields) then null
                else (select pg_catalog.array_agg(distinct f order by f) from holders h2, pg_catalog.unnest(h2.subscription_root_fields) f
                       where h2.table_oid = h.table_oid and h2.command = h.command) end,
           pg_catalog.bool_or(h.backend_only)
      from holders h
     group by h.table_oid, h.command;
end
$$;
comment on function hasura.effective_permission(name) is
  E'The hasura.permission rows that apply to the role: its own, else (inherited roles) its parents'' combined as Hasura combines them.';

create or replace function hasura.effective_column_preset(role_name name)
  returns table (table_oid regclass, role name, command text, column_name name, session_variable text, value text)
  language plpgsql stable
  set search_path = ''
as $$
#variable_conflict use_column
declare
  parents constant name[] := hasura.parent_roles(role_name);
begin
  return query
    select p.table_oid, p.role, p.command, p.column_name, p.session_variable, p.value
      from hasura.column_preset p where p.role = role_name;
  if pg_catalog.cardinality(parents) = 0 then
    return;
  end if;
  -- Parents that agree give the same presets; if they do not, the role is refused at start-up.
  return query
    select distinct on (e.table_oid, e.command, e.column_name)
           e.table_oid, role_name, e.command, e.column_name, e.session_variable, e.value
      from pg_catalog.unnest(parents) pr(name)
     cross join lateral hasura.effective_column_preset(pr.name) e
     where hasura.holds(pr.name, e.table_oid, e.command)
       and not exists (select 1 from hasura.column_preset o
                        where o.role = role_name and o.table_oid = e.table_oid and o.command = e.command)
     order by e.table_oid, e.command, e.column_name, pr.name;
end
$$;
comment on function hasura.effective_column_preset(name) is
  E'The column presets that apply to the role: its own for a table and command, else (inherited roles) its parents''.';

/*
 * A column preset is applied by a BEFORE trigger, so it holds whoever
 * writes: the value the role's statement names is replaced. Column
 * privileges only cover the columns a statement names, so the role needs no
 * INSERT/UPDATE grant on a preset column (and the schema never offers it).
 * Security invoker: it reads the request's role (current_user) and session.
 * A preset from a session variable the request lacks fails as Hasura does
 * (HA404, missing session variables).
 */
create or replace function hasura.apply_column_presets() returns trigger
  language plpgsql
  security invoker
  set search_path = ''
as $$
declare
  presets jsonb;
begin
  select pg_catalog.jsonb_object_agg(p.column_name,
           coalesce(p.value, hasura.session_var_required(p.session_variable)))
    into presets
    from hasura.column_preset p
   where p.table_oid = tg_relid and p.role = current_user and p.command = pg_catalog.lower(tg_op);
  -- An inherited role without presets of its own takes its parents' (below).
  if presets is null and pg_catalog.cardinality(hasura.parent_roles(current_user)) > 0 then
    select pg_catalog.jsonb_object_agg(p.column_name,
             coalesce(p.value, hasura.session_var_required(p.session_variable)))
      into presets
      from hasura.effective_column_preset(current_user) p
     where p.table_oid = tg_relid and p.command = pg_catalog.lower(tg_op);
  end if;
  if presets is null then
    return new;
  end if;
  return pg_catalog.jsonb_populate_record(new, presets);
end
$$;
comment on function hasura.apply_column_presets() is
  E'Trigger of hasura.column_preset: forces the preset columns of the current role''s insert/update.';

create or replace procedure hasura.column_preset(
  tbl regclass,
  role_name name,
  command text,
  column_name name,
  session_variable text default null,
  value text default null
)
  language plpgsql
  security invoker
  set search_path = ''
as $$
begin
  perform hasura.check_declared(tbl, role_name, command, array['insert', 'update']);
  if not exists (select 1 from pg_catalog.pg_attribute a
                  where a.attrelid = tbl and a.attname = column_preset.column_name and a.attnum > 0 and not a.attisdropped) then
    raise exception 'hasura.column_preset on %: no column "%"', tbl, column_name using errcode = '42703';
  end if;
  if (session_variable is null) = (value is null) then
    raise exception 'hasura.column_preset on %.%: give exactly one of session_variable and value', tbl, column_name using errcode = '22023';
  end if;
  if session_variable is not null and session_variable !~* '^x-hasura-' then
    raise exception 'hasura.column_preset on %.%: session variables start with x-hasura-, not %', tbl, column_name, session_variable
      using errcode = '22023';
  end if;
  insert into hasura.column_preset as p (table_oid, role, command, column_name, session_variable, value)
  values (tbl, role_name, column_preset.command, column_preset.column_name, pg_catalog.lower(column_preset.session_variable),
          column_preset.value)
  on conflict on constraint column_preset_pkey do update
    set session_variable = excluded.session_variable, value = excluded.value;
  execute pg_catalog.format(
    'create or replace trigger hasura_column_presets before insert or update on %s for each row execute function hasura.apply_column_presets()',
    tbl);
end
$$;
comment on procedure hasura.column_preset(regclass, name, text, name, text, text) is
  E'Hasura column preset (insert/update `set`): the column takes a session variable''s value or a literal, whatever the role sends; absent from the role''s insert/set input types. Use: call hasura.column_preset(''public.article'', ''user'', ''insert'', ''author_id'', session_variable => ''x-hasura-user-id'').';

revoke all on procedure hasura.select_permission(regclass, name, integer, boolean, text[], text[]) from public;
revoke all on procedure hasura.backend_only(regclass, name, text) from public;
revoke all on procedure hasura.column_preset(regclass, name, text, name, text, text) from public;
-- Declarations are not secrets (like pg_policies): every role reads them, and the preset trigger runs as the role.
grant execute on function hasura.parent_roles(name), hasura.holds(name, regclass, text), hasura.effective_permission(name),
  hasura.effective_column_preset(name) to public;
