-- Rows of tests-py graphql_mutation/insert/permissions/values_setup.yaml, loaded before
-- every case (as the suite's per-method fixture does). The users, the lead and the item
-- are from their cases (the stored values_setup.yaml predates them).
insert into public.author (name) values ('Author 1'), ('Author 2');
insert into public.article (content, title, author_id) values
  ('Sample article content', 'Article 1', 1),
  ('Sample article content', 'Article 2', 1),
  ('Sample article content', 'Article 3', 2);
insert into public.blog (id, title, author_id) values (1, 'first blog', 1), (2, 'second blog', 2);
insert into public.resident (id, name, age) values (5, 'Resident 5', 21), (6, 'Resident 6', 22);
insert into public."user" (name, is_admin) values ('user_1', false), ('user_2', true);
insert into public.leads (id, name, added_by) values (1, 'lead 1', 'sales 1');
insert into public.item (id, name, quantity) values (1, 'item 1', 100);
