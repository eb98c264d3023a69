-- Rows of tests-py graphql_mutation/delete/permissions/values_setup.yaml, loaded before every case.
insert into public.resident (name, age) values ('Griffin', 25), ('Clarke', 26);
insert into public.author (name, payments_done) values
  ('Author 1', false), ('Author 2', false), ('Author 3', true), ('Author 4', true), ('Author 5', true);
insert into public.article (content, title, author_id) values
  ('Sample article content 1', 'Article 1', 1),
  ('Sample article content 2', 'Article 2', 1),
  ('Sample article content 3', 'Article 3', 1),
  ('Sample article content 4', 'Article 4', 2),
  ('Sample article content 5', 'Article 5', 2);
insert into public."user" (name, is_admin) values ('user_1', false), ('user_2', true);
insert into public.account (account_no) values (1), (2);
