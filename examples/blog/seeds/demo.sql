/*
 * Demo rows of the blog: three authors, two published articles and two
 * drafts, and their tags.
 *
 * A seed, not a migration (as Hasura keeps seeds/ apart from migrations/):
 * server/db/migrate.ts inserts it once, on a database no migration had run
 * on, for `PROJECT_DIR=examples/blog npm start` on the embedded cluster and
 * for the test suite; a production database never gets it. It runs as the
 * owner after the migrations and before policies.sql.
 */
insert into public.author (id, name) overriding system value values
  (1, 'Ada Lovelace'),
  (2, 'Grace Hopper'),
  (3, 'Linus Torvalds');
select setval(pg_get_serial_sequence('public.author', 'id'), 3);

insert into public.article (id, title, content, author_id, is_published) overriding system value values
  (1, 'GraphQL over Postgres', 'Types, queries and mutations generated from the schema.', 1, true),
  (2, 'Securing APIs with JWTs', 'Claims, roles and the Authorization header.', 2, true),
  (3, 'Row-level security (draft)', 'Policies, not application code.', 1, false),
  (4, 'Kernel notes (draft)', 'Work in progress.', 3, false);
select setval(pg_get_serial_sequence('public.article', 'id'), 4);

insert into public.tag (name) values ('graphql'), ('postgres'), ('jwt'), ('auth0'), ('hasura');

insert into public.article_tag (article_id, tag_name) values
  (1, 'graphql'), (1, 'postgres'), (1, 'hasura'),
  (2, 'jwt'), (2, 'auth0'),
  (3, 'postgres'),
  (4, 'graphql');
