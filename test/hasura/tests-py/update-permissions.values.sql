-- Rows of tests-py graphql_mutation/update/permissions/values_setup.yaml, loaded before every case.
insert into public.author (id, name) values (1, 'Author 1'), (2, 'Author 2');
insert into public.article (id, version, content, title, author_id, is_published) values
  (1, '1.0.0', 'Sample article 1, content version 1.0.0', 'Article 1', 1, true),
  (2, '1.0.1', 'Sample article 1, content version 1.0.1', 'Article 1', 1, false),
  (3, '1.0.0', 'Sample article 2, content version 1.0.2', 'Article 2', 2, false);
insert into public.resident (name, age, city) values ('phillips', 25, 'canberra'), ('george', 26, 'sydney'), ('clarke', 21, 'perth');
insert into public."user" (name, is_admin) values ('user_1', false), ('user_2', true);
insert into public.account (account_no) values (1), (2);
