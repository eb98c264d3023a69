/*
 * hasura: session helpers for policy authors.
 *
 * Every GraphQL operation runs in a transaction that first sets, locally:
 *   role                 the chosen application role
 *   hasura.user          JSON of the session variables, names lower-cased
 *                        ({"x-hasura-role":"user","x-hasura-user-id":"42"}),
 *                        Hasura's own convention, so SQL written for Hasura
 *                        that reads current_setting('hasura.user') keeps working
 *   request.jwt.claims   the verified JWT claims (PostgREST / Supabase convention)
 *
 * Rules every helper here follows:
 * - `stable` and `set search_path = ''` with schema-qualified names;
 * - settings read with nullif(current_setting(…, true), ''): once a
 *   transaction-local setting has been used on a pooled connection it reads
 *   back as '' rather than NULL;
 * - call them as `(select hasura.user_id())` in policies, so Postgres
 *   evaluates them once per statement (an InitPlan), not once per row.
 *
 * Re-applied before every migration run: `create or replace` only, never drop.
 */
create schema if not exists hasura;
comment on schema hasura is E'Session helpers for row-level security policies (sql/session.sql).';
revoke all on schema hasura from public;
grant usage on schema hasura to public;

-- The whole session as jsonb; '{}' outside a request.
create or replace function hasura.session() returns jsonb
  language sql stable parallel safe
  set search_path = ''
as $$
  select coalesce(nullif(pg_catalog.current_setting('hasura.user', true), '')::jsonb, '{}'::jsonb)
$$;
comment on function hasura.session() is
  E'All session variables of the current request as jsonb (lower-case names). Use: (select hasura.session()).';

-- One session variable by name (case-insensitive), NULL when absent.
create or replace function hasura.session_var(name text) returns text
  language sql stable parallel safe
  set search_path = ''
as $$
  select hasura.session() ->> pg_catalog.lower(name)
$$;
comment on function hasura.session_var(text) is
  E'A session variable by name, or NULL when the request has none. Use: (select hasura.session_var(''x-hasura-org-id'')).';

-- The required form: a policy that needs a variable the request lacks fails
-- the way Hasura does (code not-found, "missing session variables: ...")
-- instead of silently matching nothing. SQLSTATE HA404 is mapped by the server.
create or replace function hasura.session_var_required(name text) returns text
  language plpgsql stable parallel safe
  set search_path = ''
as $$
declare
  value text := hasura.session() ->> pg_catalog.lower(name);
begin
  if value is null then
    raise exception 'missing session variables: "%"', pg_catalog.lower(name)
      using errcode = 'HA404', hint = 'send it as a JWT claim, a webhook variable or (admin only) a header';
  end if;
  return value;
end
$$;
comment on function hasura.session_var_required(text) is
  E'A session variable by name; raises SQLSTATE HA404 (Hasura: not-found, missing session variables) when absent. Use: (select hasura.session_var_required(''x-hasura-user-id'')).';

-- A list-valued session variable as text[]. Hasura's format is a Postgres
-- array literal ({madere,pyc}); a JSON array (["madere","pyc"]) is accepted too.
create or replace function hasura.parse_text_array(value text) returns text[]
  language plpgsql immutable parallel safe
  set search_path = ''
as $$
begin
  if value is null then
    return null;
  elsif pg_catalog.left(pg_catalog.ltrim(value), 1) = '[' then
    return array(select pg_catalog.jsonb_array_elements_text(value::jsonb));
  else
    return value::text[];
  end if;
end
$$;
comment on function hasura.parse_text_array(text) is
  E'Parses a Postgres array literal ({a,b}) or a JSON array (["a","b"]) into text[].';

create or replace function hasura.session_var_array(name text) returns text[]
  language sql stable parallel safe
  set search_path = ''
as $$
  select hasura.parse_text_array(hasura.session_var(name))
$$;
comment on function hasura.session_var_array(text) is
  E'A list session variable ({a,b} or ["a","b"]) as text[], NULL when absent. Use: campus = any ((select hasura.session_var_array(''x-hasura-campus''))::text[]) (the cast keeps it one array value, evaluated once).';

create or replace function hasura.session_var_array_required(name text) returns text[]
  language sql stable parallel safe
  set search_path = ''
as $$
  select hasura.parse_text_array(hasura.session_var_required(name))
$$;
comment on function hasura.session_var_array_required(text) is
  E'Like session_var_array, but raises HA404 (missing session variables) when absent.';

-- Typed shortcuts for the two variables nearly every policy uses.
create or replace function hasura.user_id() returns text
  language sql stable parallel safe
  set search_path = ''
as $$
  select hasura.session_var('x-hasura-user-id')
$$;
comment on function hasura.user_id() is
  E'x-hasura-user-id as text, NULL when absent. Use: "userId" = (select hasura.user_id())::int.';

-- Canonical decimal only. A bigint cast also reads ' 2 ', '+2', '02' and (from
-- PostgreSQL 16) '0x2', '0b10', '0o2', '2_0': several spellings of one user,
-- which defeats anything keyed on the text (a cache, an audit trail, a
-- uniqueness check). Anything else fails exactly as a non-number does
-- (22P02, invalid input syntax), repeating at most 20 characters of it:
-- longer is never a bigint.
create or replace function hasura.user_id_int() returns bigint
  language plpgsql stable parallel safe
  set search_path = ''
as $$
declare
  value text := hasura.session_var_required('x-hasura-user-id');
begin
  if pg_catalog.length(value) > 20 or value !~ '^(0|-?[1-9][0-9]*)$' then
    raise exception 'invalid input syntax for type bigint: "%"',
      case when pg_catalog.length(value) > 20 then pg_catalog.left(value, 20) || '…' else value end
      using errcode = '22P02';
  end if;
  return value::bigint;
end
$$;
comment on function hasura.user_id_int() is
  E'x-hasura-user-id as bigint, canonical decimal only (no sign, spaces, leading zeros or 0x); raises HA404 when absent, 22P02 when not canonical. Use: "userId" = (select hasura.user_id_int()).';

create or replace function hasura.role() returns text
  language sql stable parallel safe
  set search_path = ''
as $$
  select coalesce(hasura.session_var('x-hasura-role'), current_user::text)
$$;
comment on function hasura.role() is
  E'The request''s role (x-hasura-role), falling back to current_user. Use: (select hasura.role()).';

-- PostgREST / Supabase compatible: the verified JWT claims.
create or replace function hasura.jwt() returns jsonb
  language sql stable parallel safe
  set search_path = ''
as $$
  select coalesce(nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb)
$$;
comment on function hasura.jwt() is
  E'The verified JWT claims of the request (request.jwt.claims), ''{}'' without a token.';
