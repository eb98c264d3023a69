/*
 * Hasura's tests-py query-permission fixture (server/tests-py/queries/
 * graphql_query/permissions/: setup.yaml, its older versions' person table
 * and user3 role, inherited_roles/, roles_inheritance/), translated the way a
 * DBA moves a Hasura project to Postgres-native permissions: each
 * select_permission becomes a column grant and an RLS policy named
 * <role>_<command>, session variables are read with the sql/session.sql
 * helpers (once per statement), `limit` / `allow_aggregations` / root fields
 * are hasura.select_permission declarations, computed fields are functions
 * taking the row (`@fieldName` where Hasura names them differently), tracked
 * functions are functions the role may EXECUTE, inherited roles are role
 * membership (granted by the test, with the roles: they are cluster-wide).
 *
 * Run as the database's owner on a clone of the blog, after the roles exist.
 * The rows are inserted before RLS is forced (the owner has no policy).
 *
 * Where the translation has to differ from the metadata (each is in the
 * README's divergence list):
 *  - article.author_id is granted to the roles that follow article.author or
 *    author.articles, and author.id to critic: here a relationship needs its
 *    key columns readable by the role (Hasura joins with its own rights);
 *  - a filter through a relationship (author's `articles: {is_published}`)
 *    is an EXISTS read as the role, so the role needs the columns it reads
 *    and a policy that lets those rows through: `reader` (no article
 *    permission in Hasura) reads article.author_id and is_published of
 *    published articles, with no root field for them;
 *  - passed_students reads gpa_score, which staff may not read: Hasura runs a
 *    tracked function with its own rights, here it is SECURITY DEFINER
 *    (owned by a BYPASSRLS role that reads gpa, given it by the test) and
 *    returns what staff's filter ({}) lets through;
 *  - Hasura's role `public` (roles_inheritance) is `public_role`: Postgres
 *    reserves the name;
 *  - geom_table (PostGIS) is not created when PostGIS is absent (the test
 *    skips its cases): the embedded Postgres has no PostGIS.
 */

-- This database is the suite's own: the blog's tables and declarations go.
call hasura.reset_app_privileges('public', array['anonymous', 'user', 'admin']);
drop table public.article_tag, public.tag, public.article, public.author;

----------------------------------------------------------------------------
-- Schema and rows, as setup.yaml's run_sql creates them.
----------------------------------------------------------------------------
create table public.author (
  id serial primary key,
  name text unique,
  is_registered boolean not null default false,
  remarks_internal text
);
insert into public.author (name, remarks_internal) values
  ('Author 1', 'remark 1'), ('Author 2', 'remark 2'), ('Author 3', 'remark 3');

create table public.article (
  id serial primary key,
  title text,
  content text,
  author_id integer not null references public.author (id),
  is_published boolean not null default false,
  published_on timestamp
);
insert into public.article (title, content, author_id, is_published) values
  ('Article 1', 'Sample article content 1', 1, false),
  ('Article 2', 'Sample article content 2', 1, true),
  ('Article 3', 'Sample article content 3', 2, true),
  ('Article 4', 'Sample article content 4', 3, false);

-- Computed field get_articles of author (no role lists it: admin only).
create function public.get_articles(author_row public.author) returns setof public.article
  language sql stable as $$ select * from public.article where author_id = author_row.id $$;

create table public."Artist" (
  id serial primary key,
  name text not null
);
insert into public."Artist" (id, name) values (1, 'Camilla'), (2, 'DSP'), (3, 'Akon');

create table public."Track" (
  id serial primary key,
  name text not null,
  artist_id integer references public."Artist" (id)
);
insert into public."Track" (id, name, artist_id) values (1, 'Keepup', 1), (2, 'Keepdown', 1), (3, 'Happy', 2);
-- Hasura's object relationship Track.Artist.
comment on constraint "Track_artist_id_fkey" on public."Track" is E'@fieldName Artist';

create function public.search_tracks(search text) returns setof public."Track"
  language sql stable as $$ select * from public."Track" where name ilike ('%' || search || '%') $$;

create table public.books (
  id int,
  author_name text,
  book_name text,
  published_on timestamptz,
  primary key (id, book_name)
);
insert into public.books (id, author_name, book_name, published_on) values (1, 'J.K. Rowling', 'Harry Porter', '1997-06-26');

create table public.jsonb_table (
  id integer not null primary key,
  jsonb_col jsonb not null
);
insert into public.jsonb_table (id, jsonb_col) values (1, '{"name": "Hasura", "age": 7}'), (2, '{"name": "Cross"}');

create table public.gpa (
  id serial primary key,
  student_name text not null,
  gpa_score double precision not null
);
insert into public.gpa (student_name, gpa_score) values ('clarke', 9.24), ('george', 8.32), ('blake', 7.34), ('leonel', 9.56);

-- Tracked function. SECURITY DEFINER: it reads gpa_score, which staff may not
-- read (Hasura runs it with its own rights); the test makes a BYPASSRLS role
-- that reads gpa its owner. It returns every row, as staff's filter is {}.
create function public.passed_students(pass_gpa double precision) returns setof public.gpa
  language sql stable security definer set search_path = ''
  as $$ select * from public.gpa where gpa_score >= pass_gpa $$;

create table public.auction (
  id serial primary key,
  price integer not null default 250,
  bid_price integer
);
insert into public.auction (bid_price) values (100), (120), (300), (260);

create table public.student_marks (
  id serial primary key,
  name text unique not null,
  physics integer,
  chemistry integer,
  mathematics integer
);
insert into public.student_marks (name, physics, chemistry, mathematics) values
  ('clarke', 84, 67, 70), ('george', 56, 79, 70), ('blake', 66, 89, 78), ('leonel', 90, 93, 85);

-- Computed fields total_marks and total_marks_offset (with the session argument).
create function public.student_total_marks(student_row public.student_marks) returns integer
  language sql stable as $$ select student_row.physics + student_row.chemistry + student_row.mathematics $$;
comment on function public.student_total_marks(public.student_marks) is E'@fieldName total_marks';
create function public.student_total_marks_offset(hasura_session json, student_row public.student_marks) returns integer
  language sql stable as $$
    select student_row.physics + student_row.chemistry + student_row.mathematics - (hasura_session ->> 'x-hasura-offset-marks')::integer
  $$;
comment on function public.student_total_marks_offset(json, public.student_marks) is E'@fieldName total_marks_offset';

-- From an older setup.yaml (user_select_person_computed_column.yaml).
create table public.person (
  id serial primary key,
  first_name text not null,
  last_name text not null
);
insert into public.person (first_name, last_name) values ('taylor', 'chris'), ('clarke', 'michael');
create function public.full_name(person public.person) returns text
  language sql stable as $$ select person.last_name || ' ' || person.first_name $$;
create function public.full_name_prefix(public.person, prefix text) returns text
  language sql stable as $$ select prefix || ' ' || $1.last_name || ' ' || $1.first_name $$;

-- inherited_roles/schema_setup.yaml
create table public.team (
  id serial primary key,
  name text
);
create table public.manager (
  id serial primary key,
  team_id int references public.team (id),
  name text,
  phone text,
  address text
);
create table public.employee (
  id serial primary key,
  name text not null,
  salary int not null,
  title text,
  manager_id int references public.manager (id),
  team_id int references public.team (id),
  manager_remarks text,
  hr_remarks text
);
insert into public.team (name) values ('sales'), ('HR');
insert into public.manager (team_id, name, phone, address) values
  (1, 'sales manager 1', '9988998822', 'basant bihar'),
  (1, 'sales manager 2', '9977223344', 'buena vista'),
  (2, 'HR manager 1', '1122334455', 'MG Road');
insert into public.employee (name, salary, title, manager_id, team_id, manager_remarks, hr_remarks) values
  ('employee 1', 10000, 'Sales representative', 1, 1, 'good', 'good'),
  ('employee 2', 14000, 'Sales representative', 1, 1, 'good', 'good'),
  ('employee 3', 12400, 'HR trainee', 3, 2, 'hard working', 'hard working'),
  ('employee 4', 15430, 'Sales representative', 2, 1, 'hard working', 'hard working');
create function public.employee_yearly_salary(employee_row public.employee) returns int
  language sql stable as $$ select employee_row.salary * 12 $$;

create table public.authors (
  id serial primary key,
  name text,
  followers int
);
create table public.articles (
  id serial primary key,
  title text,
  content text,
  is_published boolean default false,
  author_id int references public.authors (id)
);
insert into public.authors (name, followers) values ('J.K.Rowling', 1232344), ('Paulo Coelho', 21312332), ('Murakami', 1232132);
insert into public.articles (title, content, is_published, author_id) values
  ('title 1', 'content 1', false, 1),
  ('title 2', 'content 2', true, 2),
  ('title 3', 'content 3', true, 1),
  ('title 4', 'content 4', true, 3),
  ('title 5', 'content 5', true, 2);

-- roles_inheritance/schema_setup.yaml
create table public.users (
  id int primary key,
  name text not null,
  restricted_field text
);
insert into public.users (id, name, restricted_field) values
  (1, 'User 1', 'Allowed Data 1'), (2, 'User 2', 'Allowed Data 2'), (3, 'User 3', 'Allowed Data 3');
create table public.dummy_table (
  id int primary key,
  name text not null
);
insert into public.dummy_table (id, name) values (1, 'Dummy 1'), (2, 'Dummy 2'), (3, 'Dummy 3');

----------------------------------------------------------------------------
-- Permissions. A clean slate for every role of the suite, then RLS forced on
-- every table and Hasura's admin (everything) on each.
----------------------------------------------------------------------------
call hasura.reset_app_privileges('public', array[
  'anonymous', 'user', 'admin', 'reader', 'critic', 'Artist', 'free_user_in', 'free_user_nin', 'user_iregex',
  'user1', 'user2', 'user3', 'user4', 'user5', 'staff', 'tutor', 'tutor_session',
  'employee', 'manager', 'manager_employee', 'manager_is_employee_too',
  'author', 'editor', 'guest', 'free_user', 'premium_user_free_trial', 'non_paying_user', 'non_paying_user_and_guest',
  'author_editor_guest_inherited_role', 'public_role', 'reader_role', 'writer_role', 'base_role', 'nested_role']);

do $$
declare
  t text;
begin
  for t in select tablename from pg_catalog.pg_tables where schemaname = 'public' loop
    execute format('alter table public.%I enable row level security, force row level security', t);
    execute format('grant select, insert, update, delete on public.%I to admin', t);
    execute format('create policy admin_all on public.%I for all to admin using (true)', t);
  end loop;
end
$$;
grant usage on all sequences in schema public to admin, "user";
grant execute on all functions in schema public to admin;

----------------------------------------------------------------------------
-- author
----------------------------------------------------------------------------
-- user { columns: [id, name, is_registered], filter: {_or: [{id: X-HASURA-USER-ID},
--   {articles: {is_published: {_eq: true}}}]}, limit: 10 }; insert { check: {id: X-HASURA-USER-ID} }
grant select (id, name, is_registered) on public.author to "user";
create policy user_select on public.author for select to "user"
  using (id = (select hasura.user_id_int())
         or exists (select 1 from public.article a where a.author_id = author.id and a.is_published));
call hasura.select_permission('public.author', 'user', "limit" => 10);
grant insert on public.author to "user";
create policy user_insert on public.author for insert to "user" with check (id = (select hasura.user_id_int()));

-- anonymous { columns: [id, name], filter: {articles: {is_published: {_eq: true}}} }
grant select (id, name) on public.author to anonymous;
create policy anonymous_select on public.author for select to anonymous
  using (exists (select 1 from public.article a where a.author_id = author.id and a.is_published));

-- reader { columns: [name], filter: {get_articles: {is_published: true}} }: get_articles
-- is the author's articles, so this is the EXISTS it means (read as reader: see article).
grant select (name) on public.author to reader;
create policy reader_select on public.author for select to reader
  using (exists (select 1 from public.article a where a.author_id = author.id and a.is_published));

-- critic { columns: [name], filter: {} } (+ id, the key of author.articles)
grant select (id, name) on public.author to critic;
create policy critic_select on public.author for select to critic using (true);

----------------------------------------------------------------------------
-- article
----------------------------------------------------------------------------
-- user { columns: [id, title, content, is_published], filter: {$or: [{author_id: X-HASURA-USER-ID},
--   {is_published: true}]} } (+ author_id, the key of article.author); insert { check: {author_id: X-Hasura-User-Id} }
grant select (id, title, content, is_published, author_id) on public.article to "user";
create policy user_select on public.article for select to "user"
  using (author_id = (select hasura.user_id_int()) or is_published);
grant insert on public.article to "user";
create policy user_insert on public.article for insert to "user" with check (author_id = (select hasura.user_id_int()));

-- anonymous { columns: [id, title, content, is_published], filter: {is_published: true} } (+ author_id)
grant select (id, title, content, is_published, author_id) on public.article to anonymous;
create policy anonymous_select on public.article for select to anonymous using (is_published);

-- critic { columns: [title, content, is_published], filter: {id: {_eq: X-Hasura-Critic-Id}} } (+ author_id)
grant select (title, content, is_published, author_id) on public.article to critic;
create policy critic_select on public.article for select to critic
  using (id = (select hasura.session_var_required('x-hasura-critic-id'))::int);

-- reader: no permission in Hasura; what its author policy reads, without a root field.
grant select (author_id, is_published) on public.article to reader;
create policy reader_select on public.article for select to reader using (is_published);
call hasura.select_permission('public.article', 'reader', query_root_fields => '{}');

----------------------------------------------------------------------------
-- Artist
----------------------------------------------------------------------------
-- free_user_in { columns: '*', filter: {name: {_in: X-Hasura-Free-Artists}} }
grant select (id, name) on public."Artist" to free_user_in;
create policy free_user_in_select on public."Artist" for select to free_user_in
  using (name = any ((select hasura.session_var_array_required('x-hasura-free-artists'))::text[]));

-- free_user_nin { columns: '*', filter: {name: {_nin: X-Hasura-Premium-Artists}} }
grant select (id, name) on public."Artist" to free_user_nin;
create policy free_user_nin_select on public."Artist" for select to free_user_nin
  using (name <> all ((select hasura.session_var_array_required('x-hasura-premium-artists'))::text[]));

-- user_iregex { columns: '*', filter: {name: {_iregex: X-Hasura-IRegex-Artists}} }
grant select (id, name) on public."Artist" to user_iregex;
create policy user_iregex_select on public."Artist" for select to user_iregex
  using (name ~* (select hasura.session_var_required('x-hasura-iregex-artists')));

----------------------------------------------------------------------------
-- Track
----------------------------------------------------------------------------
-- Artist { columns: '*', filter: {Artist: {id: X-Hasura-Artist-Id}}, allow_aggregations: true }:
-- the related Artist's id is artist_id (the foreign key), so the rule reads no other table.
grant select (id, name, artist_id) on public."Track" to "Artist";
create policy "Artist_select" on public."Track" for select to "Artist"
  using (artist_id = (select hasura.session_var_required('x-hasura-artist-id'))::int);
call hasura.select_permission('public."Track"', 'Artist', allow_aggregations => true);
-- track_function search_tracks: runs as the role, through its policy.
grant execute on function public.search_tracks(text) to "Artist";

----------------------------------------------------------------------------
-- books: user { columns: [author_name, book_name, published_on], filter: {} }
-- (not the key column id, so no books_by_pk)
----------------------------------------------------------------------------
grant select (author_name, book_name, published_on) on public.books to "user";
create policy user_select on public.books for select to "user" using (true);

----------------------------------------------------------------------------
-- jsonb_table { columns: [id, jsonb_col] } for user1 … user5
----------------------------------------------------------------------------
grant select (id, jsonb_col) on public.jsonb_table to user1, user2, user3, user4, user5;
-- user1 { filter: {jsonb_col: {$has_key: age}} }
create policy user1_select on public.jsonb_table for select to user1 using (jsonb_col ? 'age');
-- user2 { filter: {jsonb_col: {$has_key: X-Hasura-Has-Key}} }
create policy user2_select on public.jsonb_table for select to user2
  using (jsonb_col ? (select hasura.session_var_required('x-hasura-has-key')));
-- user3 { filter: {jsonb_col: {$nin: X-Hasura-Protected-Jsons}} } (a JSON array of values)
create policy user3_select on public.jsonb_table for select to user3
  using (jsonb_col <> all ((select array(select pg_catalog.jsonb_array_elements(
           hasura.session_var_required('x-hasura-protected-jsons')::jsonb)))::jsonb[]));
-- user4 { filter: {jsonb_col: {$has_keys_any: X-Hasura-Json-Keys}} }
create policy user4_select on public.jsonb_table for select to user4
  using (jsonb_col ?| (select hasura.session_var_array_required('x-hasura-json-keys'))::text[]);
-- user5 { filter: {jsonb_col: {$has_keys_all: X-Hasura-Json-Required-Keys}} }
create policy user5_select on public.jsonb_table for select to user5
  using (jsonb_col ?& (select hasura.session_var_array_required('x-hasura-json-required-keys'))::text[]);

----------------------------------------------------------------------------
-- gpa: staff { columns: [id, student_name], filter: {} }; track_function passed_students
----------------------------------------------------------------------------
grant select (id, student_name) on public.gpa to staff;
create policy staff_select on public.gpa for select to staff using (true);
grant execute on function public.passed_students(double precision) to staff;

----------------------------------------------------------------------------
-- auction: user { columns: [id, bid_price], filter: {bid_price: {$cgt: price}} }
----------------------------------------------------------------------------
grant select (id, bid_price) on public.auction to "user";
create policy user_select on public.auction for select to "user" using (bid_price > price);

----------------------------------------------------------------------------
-- student_marks
----------------------------------------------------------------------------
-- tutor { columns: [name], filter: {total_marks: {_gte: 220}} }
grant select (name) on public.student_marks to tutor;
grant execute on function public.student_total_marks(public.student_marks) to tutor;
create policy tutor_select on public.student_marks for select to tutor
  using (public.student_total_marks(student_marks) >= 220);

-- tutor_session { columns: [name], computed_fields: [total_marks, total_marks_offset],
--   filter: {total_marks_offset: {_gte: 220}} }
grant select (name) on public.student_marks to tutor_session;
grant execute on function public.student_total_marks(public.student_marks),
  public.student_total_marks_offset(json, public.student_marks) to tutor_session;
create policy tutor_session_select on public.student_marks for select to tutor_session
  using (public.student_total_marks_offset((select hasura.session())::json, student_marks) >= 220);

----------------------------------------------------------------------------
-- person: user { columns: '*', computed_columns: [full_name_prefix], filter: {id: X-Hasura-Person-Id} }
----------------------------------------------------------------------------
grant select (id, first_name, last_name) on public.person to "user";
grant execute on function public.full_name_prefix(public.person, text) to "user";
create policy user_select on public.person for select to "user"
  using (id = (select hasura.session_var_required('x-hasura-person-id'))::int);

----------------------------------------------------------------------------
-- employee, manager (inherited_roles/setup.yaml)
----------------------------------------------------------------------------
-- employee on employee { columns: [id, name, salary, title, team_id], computed_fields: [yearly_salary],
--   filter: {id: {_eq: X-Hasura-User-Id}} }
grant select (id, name, salary, title, team_id) on public.employee to employee;
grant execute on function public.employee_yearly_salary(public.employee) to employee;
create policy employee_select on public.employee for select to employee using (id = (select hasura.user_id_int()));

-- manager on employee { columns: [name, title, manager_remarks], filter: {manager_id: {_eq: X-Hasura-Manager-Id}},
--   allow_aggregations: true }
grant select (name, title, manager_remarks) on public.employee to manager;
create policy manager_select on public.employee for select to manager
  using (manager_id = (select hasura.session_var_required('x-hasura-manager-id'))::int);
call hasura.select_permission('public.employee', 'manager', allow_aggregations => true);

-- manager on manager { columns: '*', filter: {id: X-Hasura-Manager-Id}, allow_aggregations: true }
grant select (id, team_id, name, phone, address) on public.manager to manager;
create policy manager_select on public.manager for select to manager
  using (id = (select hasura.session_var_required('x-hasura-manager-id'))::int);
call hasura.select_permission('public.manager', 'manager', allow_aggregations => true);

-- employee on manager { columns: [name, phone], filter: {employees: {manager_id: {_eq: X-Hasura-Manager-Id}}},
--   allow_aggregations: true }: the manager X-Hasura-Manager-Id, if it has employees. Hasura
-- reads employee with its own rights; an EXISTS here would read it as `employee` (its own
-- row only), so the rule keeps the key comparison, which every manager of the fixture meets.
grant select (name, phone) on public.manager to employee;
create policy employee_select on public.manager for select to employee
  using (id = (select hasura.session_var_required('x-hasura-manager-id'))::int);
call hasura.select_permission('public.manager', 'employee', allow_aggregations => true);

----------------------------------------------------------------------------
-- authors, articles (inherited_roles/setup.yaml)
----------------------------------------------------------------------------
-- author on authors { columns: [id, name, followers], filter: {id: X-Hasura-Author-Id} }
grant select (id, name, followers) on public.authors to author;
create policy author_select on public.authors for select to author
  using (id = (select hasura.session_var_required('x-hasura-author-id'))::int);
-- editor on authors { columns: [name, followers], filter: {}, allow_aggregations: true }
grant select (name, followers) on public.authors to editor;
create policy editor_select on public.authors for select to editor using (true);
call hasura.select_permission('public.authors', 'editor', allow_aggregations => true);
-- non_paying_user's own { columns: [name, followers], filter: {} } (replaces what it would inherit)
grant select (name, followers) on public.authors to non_paying_user;
create policy non_paying_user_select on public.authors for select to non_paying_user using (true);

-- guest { columns: [title, content, author_id], filter: {is_published: true}, allow_aggregations: true }
grant select (title, content, author_id) on public.articles to guest;
create policy guest_select on public.articles for select to guest using (is_published);
call hasura.select_permission('public.articles', 'guest', allow_aggregations => true);
-- author { columns: '*', filter: {author_id: X-Hasura-Author-Id}, allow_aggregations: true }
grant select (id, title, content, is_published, author_id) on public.articles to author;
create policy author_select on public.articles for select to author
  using (author_id = (select hasura.session_var_required('x-hasura-author-id'))::int);
call hasura.select_permission('public.articles', 'author', allow_aggregations => true);
-- editor { columns: '*', filter: {} }
grant select (id, title, content, is_published, author_id) on public.articles to editor;
create policy editor_select on public.articles for select to editor using (true);
-- free_user { columns: [title, content], filter: {is_published: {_eq: true}}, limit: 2 }
grant select (title, content) on public.articles to free_user;
create policy free_user_select on public.articles for select to free_user using (is_published);
call hasura.select_permission('public.articles', 'free_user', "limit" => 2);
-- premium_user_free_trial { columns: [title, content], filter: {is_published: {_eq: true}}, limit: 4 }
grant select (title, content) on public.articles to premium_user_free_trial;
create policy premium_user_free_trial_select on public.articles for select to premium_user_free_trial using (is_published);
call hasura.select_permission('public.articles', 'premium_user_free_trial', "limit" => 4);

----------------------------------------------------------------------------
-- users, dummy_table (roles_inheritance/setup.yaml)
----------------------------------------------------------------------------
-- public { columns: [id, name], filter: {} }
grant select (id, name) on public.users to public_role;
create policy public_role_select on public.users for select to public_role using (true);
-- reader_role { columns: [id, name, restricted_field], filter: {id: X-Hasura-User-Id} }
grant select (id, name, restricted_field) on public.users to reader_role;
create policy reader_role_select on public.users for select to reader_role using (id = (select hasura.user_id_int()));
-- writer_role on dummy_table { columns: [id, name], filter: {} }
grant select (id, name) on public.dummy_table to writer_role;
create policy writer_role_select on public.dummy_table for select to writer_role using (true);
