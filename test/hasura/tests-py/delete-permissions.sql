-- Hasura's tests-py graphql_mutation/delete/permissions (schema_setup.yaml: tables and
-- metadata), as a DBA writes it here; translated as insert-permissions.sql says (a delete
-- `filter` is a DELETE policy's USING). A doubled-brace name is the test's application
-- role for that Hasura role. The stored schema_setup.yaml predates the author select
-- permission, `user` and `account` that its newer cases use; those are written from
-- their cases (marked "from the case").

create table public.author (id serial primary key, name text unique, payments_done boolean not null default false);
create table public.article (
  id serial primary key,
  title text,
  content text,
  author_id integer not null references public.author (id),
  is_published boolean,
  published_on timestamp
);
create table public.resident (id serial primary key, name text not null, age integer not null);
create table public."user" (id serial primary key, name text not null unique, is_admin boolean default false);
create table public.account (id serial primary key, account_no integer not null);

do $$
declare t text;
begin
  foreach t in array array['author', 'article', 'resident', 'user', 'account'] loop
    execute format('alter table public.%I enable row level security, force row level security', t);
    execute format('create policy admin_all on public.%I for all to admin using (true)', t);
  end loop;
end
$$;
grant all on all tables in schema public to admin;
grant usage on all sequences in schema public to admin;

-- author. user: deletes its own row once paid. Reads its own id and name (from the
-- case user_delete_author.yaml, whose returning reads them).
grant select (id, name), delete on public.author to {{user}};
create policy user_select on public.author for select to {{user}}
  using (id = (select hasura.session_var_required('x-hasura-user-id'))::int);
create policy user_delete on public.author for delete to {{user}}
  using (id = (select hasura.session_var_required('x-hasura-user-id'))::int and payments_done = true);

-- article. user: reads and deletes its own articles.
grant select (id, title, content, author_id), delete on public.article to {{user}};
create policy user_select on public.article for select to {{user}}
  using (author_id = (select hasura.session_var_required('x-hasura-user-id'))::int);
create policy user_delete on public.article for delete to {{user}}
  using (author_id = (select hasura.session_var_required('x-hasura-user-id'))::int);

-- resident. resident: deletes its own row (no select). agent: reads and deletes the
-- residents of x-hasura-allowed-resident-ids.
grant delete on public.resident to {{resident}};
create policy resident_delete on public.resident for delete to {{resident}}
  using (id = (select hasura.session_var_required('x-hasura-resident-id'))::int);
grant select (id, name, age), delete on public.resident to {{agent}};
create policy agent_select on public.resident for select to {{agent}}
  using (id = any ((select hasura.session_var_array_required('x-hasura-allowed-resident-ids'))::int[]));
create policy agent_delete on public.resident for delete to {{agent}}
  using (id = any ((select hasura.session_var_array_required('x-hasura-allowed-resident-ids'))::int[]));

-- account (from the cases user_delete_account_*.yaml). user: reads and deletes accounts
-- when x-hasura-user-id is an admin user (Hasura: _exists on `user`); the rule is a
-- subquery run as the role, so it reads the user's own row of `user`.
grant select (id, account_no), delete on public.account to {{user}};
create policy user_select on public.account for select to {{user}}
  using (exists (select 1 from public."user" u
                  where u.id = (select hasura.session_var_required('x-hasura-user-id'))::int and u.is_admin));
create policy user_delete on public.account for delete to {{user}}
  using (exists (select 1 from public."user" u
                  where u.id = (select hasura.session_var_required('x-hasura-user-id'))::int and u.is_admin));
grant select (id, is_admin) on public."user" to {{user}};
create policy user_select on public."user" for select to {{user}}
  using (id = (select hasura.session_var_required('x-hasura-user-id'))::int);
