/*
 * hasura.campuses: the school model's campus rule, x-hasura-campus (a list,
 * {madere,pyc} or ["madere","pyc"]) as text[]. A campus-scoped policy reads
 *
 *   using (campus = any ((select hasura.campuses())::text[]))
 *
 * The sub-select makes it an InitPlan, evaluated once per statement, and
 * keeps the comparison sargable: campus = ANY (array) is an index condition
 * on the campus indexes of the migrations. (The cast keeps `any (…)` one
 * array value rather than a sub-query's rows.) A bare call, or an inlined SQL
 * function around the comparison, would run once per row on a sequential
 * scan instead.
 *
 * Raises HA404 (Hasura: missing session variables) when the request has no
 * x-hasura-campus, like hasura.session_var_array_required.
 *
 * Same rules as sql/session.sql: stable, security invoker, pinned
 * search_path, `create or replace` only.
 */
create or replace function hasura.campuses() returns text[]
  language sql stable parallel safe
  security invoker
  set search_path = ''
as $$
  select hasura.session_var_array_required('x-hasura-campus')
$$;
comment on function hasura.campuses() is
  E'x-hasura-campus as text[]; raises HA404 when absent. Use: campus = any ((select hasura.campuses())::text[]).';
