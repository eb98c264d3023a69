-- Hasura's tests-py graphql_mutation/update/permissions (schema_setup.yaml: tables and
-- metadata), as a DBA writes it here; translated as insert-permissions.sql says. A
-- doubled-brace name is the test's application role for that Hasura role.

create table public.author (id serial primary key, name text unique, user_id int);
create table public.article (
  id serial,
  title text,
  version text,
  content text,
  author_id integer references public.author (id),
  is_published boolean,
  published_on timestamp,
  primary key (id, version)
);
-- Hasura's computed field author.get_articles (table_argument author_row).
create function public.fetch_articles(search text, author_row public.author) returns setof public.article
  language sql stable
  as $$
    select * from public.article
     where (title ilike ('%' || search || '%') or content ilike ('%' || search || '%')) and author_id = author_row.id
  $$;
comment on function public.fetch_articles(text, public.author) is '@fieldName get_articles';
create table public.person (id serial primary key, details jsonb not null);
create table public.resident (id serial primary key, name text not null, age integer not null, city text not null);
create table public."user" (id serial primary key, name text not null unique, is_admin boolean default false);
create table public.account (id serial primary key, account_no integer not null);

do $$
declare t text;
begin
  foreach t in array array['author', 'article', 'person', 'resident', 'user', 'account'] loop
    execute format('alter table public.%I enable row level security, force row level security', t);
    execute format('create policy admin_all on public.%I for all to admin using (true)', t);
  end loop;
end
$$;
grant all on all tables in schema public to admin;
grant usage on all sequences in schema public to admin;
revoke execute on function public.fetch_articles(text, public.author) from public;
grant execute on function public.fetch_articles(text, public.author) to admin, {{user}};

-- author. user: reads id and name of its own row, updates its name.
grant select (id, name), update (name) on public.author to {{user}};
create policy user_select on public.author for select to {{user}}
  using (id = (select hasura.session_var_required('x-hasura-user-id'))::int);
create policy user_update on public.author for update to {{user}}
  using (id = (select hasura.session_var_required('x-hasura-user-id'))::int) with check (true);

-- article. user: reads its own and published ones; updates its own unpublished ones and
-- may not publish them (check is_published = false).
grant select, update (title, content, is_published, published_on, version) on public.article to {{user}};
create policy user_select on public.article for select to {{user}}
  using (author_id = (select hasura.session_var_required('x-hasura-user-id'))::int or is_published);
create policy user_update on public.article for update to {{user}}
  using (author_id = (select hasura.session_var_required('x-hasura-user-id'))::int and is_published = false)
  with check (is_published = false);

-- resident. user1, user2: read and update every resident; an update sets city (user1:
-- melbourne, user2: x-hasura-city).
grant select, update on public.resident to {{user1}}, {{user2}};
create policy user1_user2_select on public.resident for select to {{user1}}, {{user2}} using (true);
create policy user1_user2_update on public.resident for update to {{user1}}, {{user2}} using (true) with check (true);
call hasura.column_preset('public.resident', '{{user1}}', 'update', 'city', value => 'melbourne');
call hasura.column_preset('public.resident', '{{user2}}', 'update', 'city', session_variable => 'x-hasura-city');

-- account. user: reads and updates account_no when x-hasura-user-id is an admin user
-- (Hasura: _exists: {_table: user, _where: {id: X-Hasura-User-Id, is_admin: true}}); the
-- rule is a subquery run as the role, so it reads the user's own row of `user`.
grant select (id, account_no), update (account_no) on public.account to {{user}};
create policy user_select on public.account for select to {{user}}
  using (exists (select 1 from public."user" u
                  where u.id = (select hasura.session_var_required('x-hasura-user-id'))::int and u.is_admin));
create policy user_update on public.account for update to {{user}}
  using (exists (select 1 from public."user" u
                  where u.id = (select hasura.session_var_required('x-hasura-user-id'))::int and u.is_admin))
  with check (true);
grant select (id, is_admin) on public."user" to {{user}};
create policy user_select on public."user" for select to {{user}}
  using (id = (select hasura.session_var_required('x-hasura-user-id'))::int);
