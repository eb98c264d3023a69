-- Hasura's tests-py graphql_mutation/insert/permissions (schema_setup.yaml: tables and
-- metadata), as a DBA writes it here: column grants, RLS policies and the declarations
-- of sql/permissions.sql. A doubled-brace name is the test's application role for that Hasura role.
--
-- Translation: a select `filter` is a SELECT policy's USING; an insert `check` an INSERT
-- policy's WITH CHECK; an update `filter` an UPDATE policy's USING and its `check` its
-- WITH CHECK (`with check (true)` when Hasura has none: USING alone would also check the
-- new row); `columns` are column grants ('*' or absent: every column but the presets);
-- `set` is hasura.column_preset; `backend_only` hasura.backend_only. A session variable
-- a rule names is required (hasura.session_var_required), as Hasura answers not-found
-- when a request lacks it. A rule reading another table (`_exists`, a relationship) is
-- a subquery run as the role, so the role reads what the rule reads (Hasura evaluates
-- rules with its own rights): the columns the rule names, the rows it needs.
--
-- The stored schema_setup.yaml predates `leads`, `item`/`order_cart` and the role
-- `restricted`; those three are written from their cases (marked "from the case").

create table public.author (
  id serial primary key,
  name text unique,
  bio text,
  is_registered boolean not null default false
);
create table public.article (
  id serial primary key,
  title text,
  content text,
  author_id integer references public.author (id),
  is_published boolean,
  published_on timestamp
);
create table public.resident (
  id serial primary key,
  name text not null unique,
  age integer not null,
  is_user boolean default false not null
);
create table public.address (
  id serial primary key,
  door_no text not null,
  street text not null,
  city text not null,
  resident_id integer references public.resident (id)
);
create table public."Company" (id serial primary key, name text);
create table public.blog (
  id serial primary key,
  title text not null,
  content text,
  author_id integer references public.author (id),
  last_updated timestamptz,
  updated_by integer references public.author (id)
);
create table public.computer (id serial primary key, name text not null, spec jsonb not null);
create table public."user" (id serial primary key, name text not null unique, is_admin boolean default false);
create table public.account (id serial primary key, account_no integer not null);
-- From the case leads_upsert_check_with_headers.yaml.
create table public.leads (id serial primary key, name text not null, added_by text not null);
-- From the case column_comparison_across_tables.yaml: an order may not exceed the item's stock.
create table public.item (id serial primary key, name text not null, quantity integer not null);
create table public.order_cart (
  id serial primary key,
  item_id integer not null references public.item (id),
  quantity integer not null
);

do $$
declare t text;
begin
  foreach t in array array['author', 'article', 'resident', 'address', 'Company', 'blog', 'computer', 'user', 'account',
                           'leads', 'item', 'order_cart'] loop
    execute format('alter table public.%I enable row level security, force row level security', t);
    execute format('create policy admin_all on public.%I for all to admin using (true)', t);
  end loop;
end
$$;
grant all on all tables in schema public to admin;
grant usage on all sequences in schema public to admin;
grant usage on all sequences in schema public to {{user}}, {{editor}}, {{restricted}}, {{student}}, {{infant}}, {{resident}},
  {{seller}}, {{developer}}, {{backend_user}}, {{backend_user_2}}, {{sales}};

-- article. user: reads its own and published ones, inserts its own, updates its own.
-- editor: the same for the authors of x-hasura-allowed-user-ids. restricted (from the
-- case article_on_conflict_restricted_role.yaml): as user, with an update permission of
-- no columns, which no grant can say: no UPDATE.
grant select, insert on public.article to {{user}}, {{editor}}, {{restricted}};
grant update on public.article to {{user}};
create policy user_select on public.article for select to {{user}}, {{restricted}}
  using (author_id = (select hasura.session_var_required('x-hasura-user-id'))::int or is_published);
create policy editor_select on public.article for select to {{editor}}
  using (author_id = any ((select hasura.session_var_array_required('x-hasura-allowed-user-ids'))::int[]) or is_published);
create policy user_insert on public.article for insert to {{user}}, {{restricted}}
  with check (author_id = (select hasura.session_var_required('x-hasura-user-id'))::int);
create policy editor_insert on public.article for insert to {{editor}}
  with check (author_id = any ((select hasura.session_var_array_required('x-hasura-allowed-user-ids'))::int[]));
create policy user_update on public.article for update to {{user}}
  using (author_id = (select hasura.session_var_required('x-hasura-user-id'))::int) with check (true);

-- author. user: reads id, name, is_registered of its own row; inserts and updates its own
-- unregistered row (only admin registers). student: inserts authors with a bio.
grant select (id, name, is_registered), insert, update on public.author to {{user}};
grant insert on public.author to {{student}};
create policy user_select on public.author for select to {{user}}
  using (id = (select hasura.session_var_required('x-hasura-user-id'))::int);
create policy user_insert on public.author for insert to {{user}}
  with check (id = (select hasura.session_var_required('x-hasura-user-id'))::int and is_registered = false);
create policy user_update on public.author for update to {{user}}
  using (id = (select hasura.session_var_required('x-hasura-user-id'))::int and is_registered = false) with check (true);
create policy student_insert on public.author for insert to {{student}} with check (bio is not null);

-- Company. user: the company of x-hasura-company-id.
grant select (id, name), insert, update on public."Company" to {{user}};
create policy user_select on public."Company" for select to {{user}}
  using (id = (select hasura.session_var_required('x-hasura-company-id'))::int);
create policy user_insert on public."Company" for insert to {{user}}
  with check (id = (select hasura.session_var_required('x-hasura-company-id'))::int);
create policy user_update on public."Company" for update to {{user}}
  using (id = (select hasura.session_var_required('x-hasura-company-id'))::int) with check (true);

-- resident. user: inserts its own row, name and is_user preset. infant: inserts only age,
-- id and name preset. resident: inserts, updates, reads its own row.
grant select (id, name, age, is_user), insert (id, age) on public.resident to {{user}};
grant select (id, name, age, is_user), insert (age) on public.resident to {{infant}};
grant select, insert, update on public.resident to {{resident}};
create policy user_select on public.resident for select to {{user}}
  using (id = (select hasura.session_var_required('x-hasura-resident-id'))::int);
create policy user_insert on public.resident for insert to {{user}}
  with check (id = (select hasura.session_var_required('x-hasura-resident-id'))::int);
call hasura.column_preset('public.resident', '{{user}}', 'insert', 'name', session_variable => 'x-hasura-resident-name');
call hasura.column_preset('public.resident', '{{user}}', 'insert', 'is_user', value => 'true');
create policy infant_select on public.resident for select to {{infant}}
  using (id = (select hasura.session_var_required('x-hasura-infant-id'))::int);
create policy infant_insert on public.resident for insert to {{infant}}
  with check (id = (select hasura.session_var_required('x-hasura-infant-id'))::int);
call hasura.column_preset('public.resident', '{{infant}}', 'insert', 'name', session_variable => 'x-hasura-infant-name');
call hasura.column_preset('public.resident', '{{infant}}', 'insert', 'id', session_variable => 'x-hasura-infant-id');
create policy resident_select on public.resident for select to {{resident}}
  using (id = (select hasura.session_var_required('x-hasura-resident-id'))::int);
create policy resident_insert on public.resident for insert to {{resident}}
  with check (id = (select hasura.session_var_required('x-hasura-resident-id'))::int);
create policy resident_update on public.resident for update to {{resident}}
  using (id = (select hasura.session_var_required('x-hasura-resident-id'))::int) with check (true);

-- address: only admin (merchant has no permission at all).

-- blog. user: reads any (blog_on_conflict_update_preset answers user 2 with author 1's
-- blog in returning), inserts any, updates title and content of any; an update stamps
-- last_updated and updated_by.
grant select, insert, update (title, content) on public.blog to {{user}};
create policy user_select on public.blog for select to {{user}} using (true);
create policy user_insert on public.blog for insert to {{user}} with check (true);
create policy user_update on public.blog for update to {{user}} using (true) with check (true);
call hasura.column_preset('public.blog', '{{user}}', 'update', 'last_updated', value => 'NOW()');
call hasura.column_preset('public.blog', '{{user}}', 'update', 'updated_by', session_variable => 'x-hasura-user-id');

-- computer. seller: a spec with every key of x-hasura-spec-required-keys; developer: with
-- one of x-hasura-spec-keys. Both read every computer.
grant select, insert on public.computer to {{seller}}, {{developer}};
create policy seller_developer_select on public.computer for select to {{seller}}, {{developer}} using (true);
create policy seller_insert on public.computer for insert to {{seller}}
  with check (spec ?& (select hasura.session_var_array_required('x-hasura-spec-required-keys')));
create policy developer_insert on public.computer for insert to {{developer}}
  with check (spec ?| (select hasura.session_var_array_required('x-hasura-spec-keys')));

-- user (the table). backend_user, backend_user_2: insert, backend only, is_admin preset.
grant select, insert (id, name) on public."user" to {{backend_user}}, {{backend_user_2}};
create policy backend_select on public."user" for select to {{backend_user}}, {{backend_user_2}} using (true);
create policy backend_insert on public."user" for insert to {{backend_user}}, {{backend_user_2}} with check (true);
call hasura.column_preset('public.user', '{{backend_user}}', 'insert', 'is_admin', value => 'true');
call hasura.column_preset('public.user', '{{backend_user_2}}', 'insert', 'is_admin', value => 'true');
call hasura.backend_only('public.user', '{{backend_user}}', 'insert');
call hasura.backend_only('public.user', '{{backend_user_2}}', 'insert');

-- account. user: inserts account_no when x-hasura-user-id is an admin user (Hasura:
-- _exists: {_table: user, _where: {id: X-Hasura-User-Id, is_admin: true}}); the rule
-- reads the user's own row of `user`.
grant insert (account_no) on public.account to {{user}};
create policy user_insert on public.account for insert to {{user}}
  with check (exists (select 1 from public."user" u
                       where u.id = (select hasura.session_var_required('x-hasura-user-id'))::int and u.is_admin));
grant select (id, is_admin) on public."user" to {{user}};
create policy user_select on public."user" for select to {{user}}
  using (id = (select hasura.session_var_required('x-hasura-user-id'))::int);

-- leads (from the case). sales: inserts and upserts the leads it adds (added_by).
grant select, insert, update (name) on public.leads to {{sales}};
create policy sales_select on public.leads for select to {{sales}} using (true);
create policy sales_insert on public.leads for insert to {{sales}}
  with check (added_by = (select hasura.session_var_required('x-hasura-user-id')));
create policy sales_update on public.leads for update to {{sales}}
  using (true) with check (added_by = (select hasura.session_var_required('x-hasura-user-id')));

-- order_cart (from the case). user: orders no more than the item's stock
-- (Hasura: {item: {quantity: {_cgte: ["$", "quantity"]}}}).
-- The rule reads the item's stock.
grant insert (item_id, quantity) on public.order_cart to {{user}};
create policy user_insert on public.order_cart for insert to {{user}}
  with check (exists (select 1 from public.item i where i.id = order_cart.item_id and i.quantity >= order_cart.quantity));
grant select (id, quantity) on public.item to {{user}};
create policy user_select on public.item for select to {{user}} using (true);
