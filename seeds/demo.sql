/*
 * Demo rows of the school platform, over two campuses: madere (alice 1,
 * bob 2) and pyc (chloe 3, dimitri 4). Explicit ids (overriding system
 * value) so tests can name rows; each sequence is reset past them.
 *
 * A seed, not a migration (as Hasura keeps seeds/ apart from migrations/):
 * server/db/migrate.ts inserts it once, on a database no migration had run
 * on, for `npm start` / `npm run dev` on the embedded cluster and for the
 * test suite; a production database never gets it. It runs as the owner
 * after the migrations and before policies.sql, so row-level security is
 * not yet in the way. The lookup rows (object_type, object_status,
 * transaction_type, role) are reference data and stay in migration 000002.
 */
insert into public."user" (id, login, "firstName", "lastName", email, campus) overriding system value values
  (1, 'alice', 'Alice', 'Martin', 'alice@example.com', 'madere'),
  (2, 'bob', 'Bob', 'Durand', 'bob@example.com', 'madere'),
  (3, 'chloe', 'Chloé', 'Bernard', 'chloe@example.com', 'pyc'),
  (4, 'dimitri', 'Dimitri', 'Petit', 'dimitri@example.com', 'pyc');
select setval(pg_get_serial_sequence('public."user"', 'id'), 4);

insert into public.user_role (id, "userId", "roleId") overriding system value values
  (1, 1, 1), (2, 2, 1), (3, 3, 1), (4, 4, 1),
  (5, 1, 2),   -- alice administers madere
  (6, 3, 3);   -- chloe reads pyc

insert into public.object (id, name, type, status, attrs, "childAttr", campus, "authorId", "createdAt") overriding system value values
  (1, 'Div-01', 'module', 'online', '{"language":"go"}', '{"groupMax":3}', 'madere', 1, '2024-01-02'),
  (2, 'go-reloaded', 'project', 'online', '{"groupMin":1,"groupMax":2}', '{}', 'madere', 1, '2024-01-02'),
  (3, 'ascii-art', 'project', 'online', '{"groupMin":1,"groupMax":3}', '{}', 'madere', 1, '2024-01-02'),
  (4, 'Piscine Go', 'piscine', 'online', '{"days":26}', '{"exerciseType":"go"}', 'madere', 1, '2024-01-02'),
  (5, 'printalphabet', 'exercise', 'online', '{}', '{}', 'madere', 1, '2024-01-02'),
  (6, 'Div-01', 'module', 'online', '{"language":"go"}', '{"groupMax":3}', 'pyc', 3, '2024-01-03'),
  (7, 'go-reloaded', 'project', 'online', '{"groupMin":1,"groupMax":2}', '{}', 'pyc', 3, '2024-01-03'),
  (8, 'Piscine JS', 'piscine', 'online', '{"days":26}', '{"exerciseType":"js"}', 'pyc', 3, '2024-01-03'),
  (9, 'hello-js', 'exercise', 'draft', '{}', '{}', 'pyc', 3, '2024-01-03');

insert into public.object_child (id, "parentId", "childId", attrs, key, index) overriding system value values
  (1, 1, 2, '{}', 'go-reloaded', 0),
  (2, 1, 3, '{}', 'ascii-art', 1),
  (3, 4, 5, '{"day":1}', 'printalphabet', 0),
  (4, 6, 7, '{}', 'go-reloaded', 0),
  (5, 8, 9, '{"day":1}', 'hello-js', 0);

insert into public.registration (id, "objectId", "startAt", "endAt", campus, path) overriding system value values
  (1, 4, '2024-01-05', '2024-01-20', 'madere', '/madere/piscine-go'),
  (2, 8, '2024-01-06', '2024-01-21', 'pyc', '/pyc/piscine-js');

insert into public.registration_user (id, "registrationId", "userId") overriding system value values
  (1, 1, 1), (2, 1, 2), (3, 2, 4);

insert into public.event (id, "objectId", "parentId", "registrationId", path, campus, "createdAt", "endAt") overriding system value values
  (1, 1, null, null, '/madere/div-01', 'madere', '2024-02-01', '2025-02-01'),
  (2, 4, null, 1, '/madere/piscine-go', 'madere', '2024-01-22', '2024-02-17'),
  (3, 6, null, null, '/pyc/div-01', 'pyc', '2024-02-01', '2025-02-01'),
  (4, 8, null, 2, '/pyc/piscine-js', 'pyc', '2024-01-23', '2024-02-18'),
  (5, 5, 2, null, '/madere/piscine-go/printalphabet', 'madere', '2024-01-22', '2024-01-23');

insert into public.event_user (id, "eventId", "userId") overriding system value values
  (1, 1, 1), (2, 1, 2), (3, 2, 2), (4, 3, 3), (5, 3, 4), (6, 4, 4), (7, 2, 1);

insert into public."group" (id, "objectId", "eventId", "captainId", status, path, campus) overriding system value values
  (1, 2, 1, 1, 'finished', '/madere/div-01/go-reloaded', 'madere'),
  (2, 3, 1, 2, 'working', '/madere/div-01/ascii-art', 'madere'),
  (3, 7, 3, 3, 'finished', '/pyc/div-01/go-reloaded', 'pyc'),
  (4, 7, 3, 4, 'audit', '/pyc/div-01/go-reloaded', 'pyc');

insert into public.group_user (id, "groupId", "userId") overriding system value values
  (1, 1, 1), (2, 1, 2),   -- alice and bob: go-reloaded
  (3, 2, 2),              -- bob alone: ascii-art
  (4, 3, 3), (5, 3, 4),   -- chloe and dimitri: go-reloaded (pyc)
  (6, 4, 4);              -- dimitri alone: go-reloaded again

insert into public.progress (id, "userId", "groupId", "eventId", "objectId", grade, "isDone", path, campus) overriding system value values
  (1, 1, 1, 1, 2, 1, true, '/madere/div-01/go-reloaded', 'madere'),
  (2, 2, 1, 1, 2, 1, true, '/madere/div-01/go-reloaded', 'madere'),
  (3, 2, 2, 1, 3, null, false, '/madere/div-01/ascii-art', 'madere'),
  (4, 3, 3, 3, 7, 1.2, true, '/pyc/div-01/go-reloaded', 'pyc'),
  (5, 4, 3, 3, 7, 1.2, true, '/pyc/div-01/go-reloaded', 'pyc'),
  (6, 4, 4, 3, 7, 0, false, '/pyc/div-01/go-reloaded', 'pyc'),
  (7, 1, null, 5, 5, 1, true, '/madere/piscine-go/printalphabet', 'madere');

insert into public.result (id, "userId", "groupId", "objectId", "progressId", "eventId", grade, type, path, campus) overriding system value values
  (1, 1, 1, 2, 1, 1, 1, 'audit', '/madere/div-01/go-reloaded', 'madere'),
  (2, 2, 1, 2, 2, 1, 1, 'audit', '/madere/div-01/go-reloaded', 'madere'),
  (3, 2, 2, 3, 3, 1, 0, 'tester', '/madere/div-01/ascii-art', 'madere'),
  (4, 3, 3, 7, 4, 3, 1.2, 'audit', '/pyc/div-01/go-reloaded', 'pyc'),
  (5, 4, 3, 7, 5, 3, 1.2, 'audit', '/pyc/div-01/go-reloaded', 'pyc'),
  (6, 4, 4, 7, 6, 3, 0, 'tester', '/pyc/div-01/go-reloaded', 'pyc'),
  (7, 1, null, 5, 7, 5, 1, 'tester', '/madere/piscine-go/printalphabet', 'madere');

insert into public.transaction (id, type, amount, "userId", "objectId", "eventId", path, campus, "createdAt") overriding system value values
  (1, 'xp', 5000, 1, 2, 1, '/madere/div-01/go-reloaded', 'madere', '2024-03-01'),
  (2, 'xp', 5000, 2, 2, 1, '/madere/div-01/go-reloaded', 'madere', '2024-03-01'),
  (3, 'level', 1, 1, 1, 1, '/madere/div-01', 'madere', '2024-03-01'),
  (4, 'up', 1000, 1, 3, 1, '/madere/div-01/ascii-art', 'madere', '2024-03-02'),
  (5, 'down', 800, 2, 3, 1, '/madere/div-01/ascii-art', 'madere', '2024-03-02'),
  (6, 'xp', 4000, 3, 7, 3, '/pyc/div-01/go-reloaded', 'pyc', '2024-03-03'),
  (7, 'xp', 4000, 4, 7, 3, '/pyc/div-01/go-reloaded', 'pyc', '2024-03-03'),
  (8, 'up', 1200, 4, 2, 1, '/madere/div-01/go-reloaded', 'pyc', '2024-03-04'),
  (9, 'level', 1, 3, 6, 3, '/pyc/div-01', 'pyc', '2024-03-03'),
  (10, 'xp', 200, 1, 5, 5, '/madere/piscine-go/printalphabet', 'madere', '2024-01-22');

insert into public.match (id, "userId", "matchId", "eventId", "objectId", bet, result, confirmed, path, campus) overriding system value values
  (1, 1, 2, 2, 4, true, true, true, '/madere/piscine-go', 'madere'),
  (2, 2, 1, 2, 4, false, null, false, '/madere/piscine-go', 'madere'),
  (3, 3, 4, 4, 8, true, null, true, '/pyc/piscine-js', 'pyc'),
  (4, 4, 3, 4, 8, null, null, false, '/pyc/piscine-js', 'pyc');

insert into public.audit (id, "groupId", "auditorId", grade, "resultId", version, "endAt") overriding system value values
  (1, 1, 4, 1.0, 1, 'v1', '2024-03-05'),    -- dimitri (pyc) audits alice and bob's go-reloaded
  (2, 2, 1, 0.8, 3, 'v1', '2024-03-02'),    -- alice audits bob's ascii-art
  (3, 4, 3, null, null, 'v1', null),        -- chloe's pending audit of dimitri's second try
  (4, 3, 2, 1.2, 4, 'v1', '2024-03-06');    -- bob (madere) audits chloe and dimitri

select setval(pg_get_serial_sequence('public.user_role', 'id'), 6);
select setval(pg_get_serial_sequence('public.object', 'id'), 9);
select setval(pg_get_serial_sequence('public.object_child', 'id'), 5);
select setval(pg_get_serial_sequence('public.registration', 'id'), 2);
select setval(pg_get_serial_sequence('public.registration_user', 'id'), 3);
select setval(pg_get_serial_sequence('public.event', 'id'), 5);
select setval(pg_get_serial_sequence('public.event_user', 'id'), 7);
select setval(pg_get_serial_sequence('public."group"', 'id'), 4);
select setval(pg_get_serial_sequence('public.group_user', 'id'), 6);
select setval(pg_get_serial_sequence('public.progress', 'id'), 7);
select setval(pg_get_serial_sequence('public.result', 'id'), 7);
select setval(pg_get_serial_sequence('public.transaction', 'id'), 10);
select setval(pg_get_serial_sequence('public.match', 'id'), 4);
select setval(pg_get_serial_sequence('public.audit', 'id'), 4);
