/*
 * policies.sql of the blog example (seed 002): every row-level security
 * policy and grant, one table at a time.
 *
 * Re-applied after every migration run and on every save in `npm run dev`,
 * so it is declarative: it first revokes what the application roles hold on
 * the schema and drops every policy there, then declares each table's
 * section, in one transaction.
 *
 * Conventions (as the root policies.sql): RLS enabled *and* forced on every
 * table; grants list their columns; one policy per (table, role, command),
 * named <role>_<command>, with TO; session helpers called as
 * (select hasura.…()) so they run once per statement.
 *
 * The roles (the walkthrough's permission matrix):
 *   anonymous  SELECT what is published: published articles, their tags,
 *              authors, tags. No writes, so its GraphQL schema has no
 *              Mutation type ("the mutation does not exist").
 *   user       x-hasura-user-id is an author id. Reads the published
 *              articles and its own drafts; writes its own articles only;
 *              creates tags; tags its own articles.
 *   admin      everything.
 */

-- Clean slate for the application roles on schema public. Only the blog's
-- roles: the school's other roles exist on a shared cluster but hold nothing
-- in this database.
do $$
declare
  app_roles text[] := array['anonymous', 'user', 'admin'];
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
grant usage on schema public to anonymous, "user", admin;

-- The identity sequences, for the roles that insert.
grant usage on all sequences in schema public to "user", admin;

----------------------------------------------------------------------------
-- author
----------------------------------------------------------------------------
alter table public.author enable row level security;
alter table public.author force row level security;

-- anonymous, user: the bylines.
grant select (id, name) on public.author to anonymous, "user";
create policy anonymous_select on public.author for select to anonymous using (true);
create policy user_select on public.author for select to "user" using (true);

grant select, insert, update, delete on public.author to admin;
create policy admin_all on public.author for all to admin using (true) with check (true);

----------------------------------------------------------------------------
-- article
----------------------------------------------------------------------------
alter table public.article enable row level security;
alter table public.article force row level security;

-- anonymous: published articles only.
grant select (id, title, content, author_id, is_published) on public.article to anonymous;
create policy anonymous_select on public.article for select to anonymous
  using (is_published);

-- user: published articles and its own drafts; writes its own articles only.
-- WITH CHECK on insert and update: an article cannot be created for, or
-- handed over to, another author. author_id is not updatable anyway.
grant select (id, title, content, author_id, is_published),
      insert (title, content, author_id, is_published),
      update (title, content, is_published),
      delete
  on public.article to "user";
create policy user_select on public.article for select to "user"
  using (is_published or author_id = (select hasura.user_id_int()));
create policy user_insert on public.article for insert to "user"
  with check (author_id = (select hasura.user_id_int()));
create policy user_update on public.article for update to "user"
  using (author_id = (select hasura.user_id_int()))
  with check (author_id = (select hasura.user_id_int()));
create policy user_delete on public.article for delete to "user"
  using (author_id = (select hasura.user_id_int()));

grant select, insert, update, delete on public.article to admin;
create policy admin_all on public.article for all to admin using (true) with check (true);

----------------------------------------------------------------------------
-- tag
----------------------------------------------------------------------------
alter table public.tag enable row level security;
alter table public.tag force row level security;

grant select (name) on public.tag to anonymous;
create policy anonymous_select on public.tag for select to anonymous using (true);

-- user: reads and creates tags (the walkthrough's insert_tag). Tags are
-- shared by every author, so renaming or deleting one is left to admin.
grant select (name), insert (name) on public.tag to "user";
create policy user_select on public.tag for select to "user" using (true);
create policy user_insert on public.tag for insert to "user" with check (true);

grant select, insert, update, delete on public.tag to admin;
create policy admin_all on public.tag for all to admin using (true) with check (true);

----------------------------------------------------------------------------
-- article_tag (follows its article)
----------------------------------------------------------------------------
alter table public.article_tag enable row level security;
alter table public.article_tag force row level security;

-- anonymous: the tags of published articles.
grant select (article_id, tag_name) on public.article_tag to anonymous;
create policy anonymous_select on public.article_tag for select to anonymous
  using (exists (
    select 1 from public.article a
    where a.id = article_tag.article_id and a.is_published));

-- user: the tags of the articles it can read; tags and untags its own.
grant select (article_id, tag_name), insert (article_id, tag_name), delete on public.article_tag to "user";
create policy user_select on public.article_tag for select to "user"
  using (exists (
    select 1 from public.article a
    where a.id = article_tag.article_id
      and (a.is_published or a.author_id = (select hasura.user_id_int()))));
create policy user_insert on public.article_tag for insert to "user"
  with check (exists (
    select 1 from public.article a
    where a.id = article_tag.article_id and a.author_id = (select hasura.user_id_int())));
create policy user_delete on public.article_tag for delete to "user"
  using (exists (
    select 1 from public.article a
    where a.id = article_tag.article_id and a.author_id = (select hasura.user_id_int())));

grant select, insert, update, delete on public.article_tag to admin;
create policy admin_all on public.article_tag for all to admin using (true) with check (true);

-- Tell running servers (npm run dev) to rebuild their GraphQL schemas.
notify postgraphile_watch, '{"type":"manual","source":"examples/blog/policies.sql"}';
