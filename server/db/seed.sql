-- Bulk demo data for the school model (npm run seed -- --scale N).
-- $1 = scale. Run as a superuser: FORCE ROW LEVEL SECURITY applies to the
-- owner too, and seeding is not something any application role may do.
-- Per unit of scale: 1,000 users, 10,000 each of progress, results and
-- transactions, 20 events, 100 groups (of 4), over four campuses.
with params as (
  select $1::int as n, array['madere', 'pyc', 'rouen', 'tallinn'] as campuses
), u as (
  insert into public."user" (login, "firstName", "lastName", email, campus)
  select 'seed_' || g || '_' || substr(md5(random()::text), 1, 6), 'First' || g, 'Last' || g,
         'seed' || g || '@example.com', (select campuses[1 + g % 4] from params)
  from params, generate_series(1, n * 1000) g
  returning id, campus
)
select count(*) as users from u;

insert into public.object (name, type, campus, attrs, "childAttr")
select 'seed-exercise-' || g, 'exercise', (array['madere', 'pyc', 'rouen', 'tallinn'])[1 + g % 4], '{}', '{}'
from generate_series(1, 200) g;

insert into public.event ("objectId", path, campus, "createdAt", "endAt")
select o.id, '/' || o.campus || '/seed/' || o.id, o.campus, now() - interval '30 days', now() + interval '30 days'
from (select id, campus from public.object where name like 'seed-exercise-%' order by id limit greatest(20 * $1::int, 20)) o;

-- Child events (with a parent), so "events with parent" has data at scale.
insert into public.event ("objectId", "parentId", path, campus, "createdAt")
select e."objectId", e.id, e.path || '/child', e.campus, now() - interval '10 days'
from public.event e where e.path like '/%/seed/%' and e."parentId" is null;

create temporary table seed_users on commit drop as
  select id, campus, row_number() over (order by id) as rn from public."user" where login like 'seed\_%';
create temporary table seed_objects on commit drop as
  select id, campus, row_number() over (order by id) as rn from public.object where name like 'seed-exercise-%';
create temporary table seed_events on commit drop as
  select id, "objectId", campus, row_number() over (order by id) as rn from public.event where path like '/%/seed/%';

insert into public."group" ("objectId", "eventId", "captainId", status, path, campus)
select e."objectId", e.id, u.id, 'finished', '/seed/group/' || g, u.campus
from generate_series(1, 100 * $1::int) g
join seed_users u on u.rn = 1 + (g * 4) % (select count(*) from seed_users)
join seed_events e on e.rn = 1 + g % (select count(*) from seed_events);

insert into public.group_user ("groupId", "userId")
select gr.id, u.id
from (select id, row_number() over (order by id) as rn from public."group" where path like '/seed/group/%') gr
cross join generate_series(0, 3) k
join seed_users u on u.rn = 1 + ((gr.rn * 4 + k) % (select count(*) from seed_users))
on conflict do nothing;

insert into public.progress ("userId", "objectId", "eventId", grade, "isDone", path, campus, "createdAt")
select u.id, o.id, e.id, round((random() * 2)::numeric, 2), random() < 0.7, '/seed/progress/' || g, u.campus,
       now() - (g % 1000) * interval '1 hour'
from generate_series(1, 10000 * $1::int) g
join seed_users u on u.rn = 1 + g % (select count(*) from seed_users)
join seed_objects o on o.rn = 1 + g % (select count(*) from seed_objects)
join seed_events e on e.rn = 1 + g % (select count(*) from seed_events);

insert into public.result ("userId", "objectId", "eventId", grade, path, campus, "createdAt")
select u.id, o.id, e.id, round((random() * 2)::numeric, 2), '/seed/result/' || g, u.campus,
       now() - (g % 1000) * interval '1 hour'
from generate_series(1, 10000 * $1::int) g
join seed_users u on u.rn = 1 + g % (select count(*) from seed_users)
join seed_objects o on o.rn = 1 + (g * 7) % (select count(*) from seed_objects)
join seed_events e on e.rn = 1 + g % (select count(*) from seed_events);

insert into public.transaction (type, amount, "userId", "objectId", "eventId", path, campus, "createdAt")
select (array['xp', 'up', 'down', 'level'])[1 + g % 4], (g % 5000) + 10, u.id, o.id, e.id, '/seed/transaction/' || g, u.campus,
       now() - (g % 1000) * interval '1 hour'
from generate_series(1, 10000 * $1::int) g
join seed_users u on u.rn = 1 + g % (select count(*) from seed_users)
join seed_objects o on o.rn = 1 + (g * 3) % (select count(*) from seed_objects)
join seed_events e on e.rn = 1 + g % (select count(*) from seed_events);
