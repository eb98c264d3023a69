/*
 * policies.sql of the blog example (seed 002): every row-level security
 * policy and grant, one table at a time; each section opens with its row of
 * the permission matrix in words.
 *
 * Re-applied after every migration run and on every save in `npm run dev`,
 * so it is declarative: it starts from a clean slate (no privilege, no
 * policy) and runs as one transaction.
 *
 * Conventions (as the root policies.sql): RLS enabled *and* forced on every
 * table; grants list their columns; the grants and the policies of a role
 * sit together; a policy covers exactly the commands its role is granted,
 * named <role>_<command> (<role>_all: USING is also the WITH CHECK); session
 * helpers called as (select hasura.…()) so they run once per statement. A
 * tag follows its article: `exists (select 1 from public.article a where
 * a.id = article_tag.article_id)` reads the article through the article's
 * own policy for the same role, so who may see an article is said once.
 *
 * The roles (the walkthrough's permission matrix):
 *   anonymous  SELECT what is published: published articles, their tags,
 *              authors, tags; aggregates over the articles. No writes, so
 *              its GraphQL schema has no Mutation type ("the mutation does
 *              not exist").
 *   user       x-hasura-user-id is an author id. Reads the published
 *              articles and its own drafts, and aggregates over them;
 *              writes its own articles only; creates tags; tags its own
 *              articles.
 *   admin      everything.
 */

call hasura.reset_app_privileges('public', array['anonymous', 'user', 'admin']);

-- The identity sequences, for the roles that insert.
grant usage on all sequences in schema public to "user", admin;

----------------------------------------------------------------------------
-- author. anonymous and user: the bylines (id, name). admin: all.
----------------------------------------------------------------------------
alter table public.author enable row level security, force row level security;
grant select (id, name) on public.author to anonymous, "user";
create policy anonymous_select on public.author for select to anonymous using (true);
create policy user_select on public.author for select to "user" using (true);
grant select, insert, update, delete on public.author to admin;
create policy admin_all on public.author for all to admin using (true);

----------------------------------------------------------------------------
-- article. anonymous: the published ones. user: the published ones and its
-- own drafts; writes its own articles only. Both aggregate what they read.
-- admin: all.
----------------------------------------------------------------------------
alter table public.article enable row level security, force row level security;
grant select (id, title, content, author_id, is_published) on public.article to anonymous;
create policy anonymous_select on public.article for select to anonymous using (is_published);
-- article_aggregate and author.articles_aggregate, over the rows the role reads.
call hasura.select_permission('public.article', 'anonymous', allow_aggregations => true);
grant select (id, title, content, author_id, is_published), insert (title, content, is_published),
      update (title, content, is_published), delete
  on public.article to "user";
-- An article's author is the session's user: the walkthrough's user inserts
-- articles without naming one (author_id is not insertable, nor input).
call hasura.column_preset('public.article', 'user', 'insert', 'author_id', session_variable => 'x-hasura-user-id');
create policy user_select on public.article for select to "user"
  using (is_published or author_id = (select hasura.user_id_int()));
-- Writes: its own articles. The same rule is the WITH CHECK of insert and
-- update, so an article cannot be created for, or handed over to, another
-- author (author_id is preset on insert, not updatable). For SELECT this
-- policy adds nothing to user_select (its own articles are among those).
create policy user_all on public.article for all to "user" using (author_id = (select hasura.user_id_int()));
call hasura.select_permission('public.article', 'user', allow_aggregations => true);
grant select, insert, update, delete on public.article to admin;
create policy admin_all on public.article for all to admin using (true);

----------------------------------------------------------------------------
-- tag. anonymous: reads them. user: reads and creates them (the
-- walkthrough's insert_tag); tags are shared by every author, so renaming or
-- deleting one is left to admin. admin: all.
----------------------------------------------------------------------------
alter table public.tag enable row level security, force row level security;
grant select (name) on public.tag to anonymous;
create policy anonymous_select on public.tag for select to anonymous using (true);
grant select (name), insert (name) on public.tag to "user";
create policy user_select on public.tag for select to "user" using (true);
create policy user_insert on public.tag for insert to "user" with check (true);
grant select, insert, update, delete on public.tag to admin;
create policy admin_all on public.tag for all to admin using (true);

----------------------------------------------------------------------------
-- article_tag (follows its article). anonymous: the tags of the articles it
-- reads (the published ones). user: the tags of the articles it reads; tags
-- and untags its own articles (no update). admin: all.
----------------------------------------------------------------------------
alter table public.article_tag enable row level security, force row level security;
grant select (article_id, tag_name) on public.article_tag to anonymous;
create policy anonymous_select on public.article_tag for select to anonymous
  using (exists (select 1 from public.article a where a.id = article_tag.article_id));
grant select (article_id, tag_name), insert (article_id, tag_name), delete on public.article_tag to "user";
create policy user_select on public.article_tag for select to "user"
  using (exists (select 1 from public.article a where a.id = article_tag.article_id));
create policy user_insert on public.article_tag for insert to "user"
  with check (exists (select 1 from public.article a where a.id = article_tag.article_id and a.author_id = (select hasura.user_id_int())));
create policy user_delete on public.article_tag for delete to "user"
  using (exists (select 1 from public.article a where a.id = article_tag.article_id and a.author_id = (select hasura.user_id_int())));
grant select, insert, update, delete on public.article_tag to admin;
create policy admin_all on public.article_tag for all to admin using (true);

-- Tell running servers (npm run dev) to rebuild their GraphQL schemas.
notify postgraphile_watch, '{"type":"manual","source":"examples/blog/policies.sql"}';
