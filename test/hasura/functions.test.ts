/**
 * Hasura's tracked SQL functions and computed fields on /v1/graphql, after
 * Hasura's own fixtures (tests-py graphql_query/permissions, functions,
 * computed_fields): search_tracks, student_marks' total_marks and
 * total_marks_offset (with the session argument), a tutor-like role whose
 * row rule is a computed field. Permission is Postgres': EXECUTE on the
 * function, the grants and RLS of what it reads, all as the role.
 */
import t from "tap";
import { createTestDatabase } from "../helpers/pg.ts";
import { startServer, type TestServer } from "../helpers/server.ts";

const db = await createTestDatabase(t, "blog");
await db.asOwner(`
  create table public.artist (id int primary key, name text not null);
  insert into public.artist values (1, 'Camilla'), (2, 'DSP'), (3, 'Akon');
  create table public.track (id int primary key, name text not null, artist_id int not null, hidden boolean not null default false);
  insert into public.track values (1, 'Keepup', 1, false), (2, 'Keepdown', 1, false), (3, 'Happy', 2, false), (4, 'Keepsecret', 1, true);

  create function public.search_tracks(search text) returns setof public.track
    language sql stable as $$ select * from public.track where name ilike ('%' || search || '%') $$;
  revoke execute on function public.search_tracks(text) from public;
  grant execute on function public.search_tracks(text) to "user", admin;

  create function public.tracks_between(low int, high int default 1000) returns setof public.track
    language sql stable as $$ select * from public.track where id between low and high $$;

  create function public.my_tracks(hasura_session json) returns setof public.track
    language sql stable as $$ select * from public.track where artist_id = (hasura_session ->> 'x-hasura-user-id')::int $$;

  create function public.first_track(artist int) returns public.track
    language sql stable as $$ select * from public.track where artist_id = artist order by id limit 1 $$;

  create function public.rename_track(track_id int, new_name text) returns setof public.track
    language sql volatile as $$ update public.track set name = new_name where id = track_id returning * $$;

  create function public.artist_songs(artist_row public.artist) returns setof public.track
    language sql stable as $$ select * from public.track where artist_id = artist_row.id $$;

  alter table public.artist enable row level security, force row level security;
  alter table public.track enable row level security, force row level security;
  grant select on public.artist, public.track to "user", anonymous, admin;
  grant update (name) on public.track to "user";
  create policy user_select on public.artist for select to "user" using (true);
  create policy anonymous_select on public.artist for select to anonymous using (true);
  create policy admin_all on public.artist for all to admin using (true);
  -- The user role is artist x-hasura-user-id and never sees hidden tracks.
  create policy user_select on public.track for select to "user"
    using (not hidden and artist_id = (select hasura.user_id_int()));
  create policy user_update on public.track for update to "user" using (artist_id = (select hasura.user_id_int()));
  create policy anonymous_select on public.track for select to anonymous using (true);
  create policy admin_all on public.track for all to admin using (true);
  call hasura.select_permission('public.track', 'user', allow_aggregations => true);

  create table public.student_marks (id int primary key, name text unique not null, physics int, chemistry int, mathematics int);
  insert into public.student_marks values
    (1, 'clarke', 84, 67, 70), (2, 'george', 56, 79, 70), (3, 'blake', 66, 89, 78), (4, 'leonel', 90, 93, 85);
  create function public.student_total_marks(student_row public.student_marks) returns int
    language sql stable as $$ select student_row.physics + student_row.chemistry + student_row.mathematics $$;
  comment on function public.student_total_marks(public.student_marks) is E'@fieldName total_marks';
  create function public.student_total_marks_offset(hasura_session json, student_row public.student_marks) returns int
    language sql stable as $$
      select student_row.physics + student_row.chemistry + student_row.mathematics - (hasura_session ->> 'x-hasura-offset-marks')::int
    $$;
  comment on function public.student_total_marks_offset(json, public.student_marks) is E'@fieldName total_marks_offset';
  -- No tag: the field is the function's name without the table's.
  create function public.student_marks_with_bonus(student_row public.student_marks, bonus int) returns int
    language sql stable as $$ select student_row.physics + bonus $$;
  alter table public.student_marks enable row level security, force row level security;
  grant select on public.student_marks to "user";
  create policy user_select on public.student_marks for select to "user" using (true);
  -- Hasura's tutor: the column name only, rows whose total_marks >= 220 (a computed field in the row rule).
  grant select (name) on public.student_marks to anonymous;
  create policy anonymous_select on public.student_marks for select to anonymous
    using (public.student_total_marks(student_marks) >= 220);
`);
const srv: TestServer = await startServer(t, { db });

const USER1 = { "x-hasura-role": "user", "x-hasura-user-id": "1" };
const ANON = { "x-hasura-role": "anonymous" };

async function v1(query: string, headers: Record<string, string>, variables?: Record<string, unknown>) {
  const res = await srv.gql(query, { path: "/v1/graphql", headers, variables });
  return res.body;
}

t.test("a tracked function: args, where, order_by, limit, the returned table's RLS", async (t) => {
  t.same(await v1(`{ search_tracks(args: {search: "keep"}, order_by: {id: asc}) { id name } }`, USER1), {
    data: {
      search_tracks: [
        { id: 1, name: "Keepup" },
        { id: 2, name: "Keepdown" },
      ],
    },
  });
  t.same(
    await v1(`{ search_tracks(args: {search: "p"}, where: {name: {_like: "%down"}}) { name } }`, USER1),
    { data: { search_tracks: [{ name: "Keepdown" }] } },
    "where",
  );
  t.same(
    await v1(`{ search_tracks(args: {search: "keep"}, order_by: {name: asc}, limit: 1, offset: 1) { name } }`, USER1),
    { data: { search_tracks: [{ name: "Keepup" }] } },
    "order_by, limit, offset",
  );
  t.same(
    await v1(`{ search_tracks(args: {search: "keep"}, order_by: [{artist_id: asc}, {id: desc}], distinct_on: artist_id) { id } }`, USER1),
    { data: { search_tracks: [{ id: 2 }] } },
    "distinct_on over the function's rows",
  );
  const admin = await v1(`{ search_tracks(args: {search: "keep"}, order_by: {id: asc}) { id } }`, { "x-hasura-role": "admin" });
  t.same(admin, { data: { search_tracks: [{ id: 1 }, { id: 2 }, { id: 4 }] } }, "admin: no row rule hides Keepsecret");
});

t.test("<fn>_aggregate, where the returned table's aggregates are allowed", async (t) => {
  t.same(await v1(`{ search_tracks_aggregate(args: {search: "keep"}) { aggregate { count max { id } } nodes { name } } }`, USER1), {
    data: { search_tracks_aggregate: { aggregate: { count: 2, max: { id: 2 } }, nodes: [{ name: "Keepup" }, { name: "Keepdown" }] } },
  });
  t.same(
    await v1(`{ search_tracks_aggregate(args: {search: "keep"}, order_by: {id: desc}, limit: 1) { aggregate { count } } }`, USER1),
    { data: { search_tracks_aggregate: { aggregate: { count: 1 } } } },
    "limit on an aggregate counts the window of the function's rows",
  );
  const undeclared = await v1(`{ tracks_between_aggregate(args: {low: 1}) { aggregate { count } } }`, ANON);
  t.equal(
    undeclared.errors?.[0]?.message,
    "field 'tracks_between_aggregate' not found in type: 'query_root'",
    "no allow_aggregations for anonymous",
  );
});

t.test("a role without EXECUTE has no field", async (t) => {
  t.same(await v1(`{ search_tracks(args: {search: "keep"}) { id } }`, ANON), {
    errors: [
      {
        message: "field 'search_tracks' not found in type: 'query_root'",
        extensions: { path: "$.selectionSet.search_tracks", code: "validation-failed" },
      },
    ],
  });
  const res = await v1(`{ tracks_between(args: {low: 2, high: 3}, order_by: {id: asc}) { id } }`, ANON);
  t.same(res, { data: { tracks_between: [{ id: 2 }, { id: 3 }] } }, "EXECUTE granted to PUBLIC (Postgres' default)");
});

t.test("arguments: defaults, omissions, types", async (t) => {
  t.same(
    await v1(`{ tracks_between(args: {low: 3}, order_by: {id: asc}) { id } }`, { "x-hasura-role": "admin" }),
    { data: { tracks_between: [{ id: 3 }, { id: 4 }] } },
    "an argument with a default may be omitted",
  );
  const omitted = await v1(`{ tracks_between(args: {high: 3}) { id } }`, { "x-hasura-role": "admin" });
  t.equal(omitted.errors?.[0]?.extensions?.code, "not-supported");
  t.equal(omitted.errors?.[0]?.message, "Non default arguments cannot be omitted");
  const noArgs = await v1(`{ tracks_between { id } }`, { "x-hasura-role": "admin" });
  t.equal(noArgs.errors?.[0]?.extensions?.code, "validation-failed", "args is required when the function takes arguments");
  const typed = await v1(
    `query ($low: Int!) { tracks_between(args: {low: $low, high: 1}) { id } }`,
    { "x-hasura-role": "admin" },
    { low: 1 },
  );
  t.same(typed, { data: { tracks_between: [{ id: 1 }] } }, "values from variables");
});

t.test("a function returning one row is a nullable object field", async (t) => {
  t.same(await v1(`{ first_track(args: {artist: 2}) { name } }`, ANON), { data: { first_track: { name: "Happy" } } });
  t.same(await v1(`{ first_track(args: {artist: 1}) { name } }`, USER1), { data: { first_track: { name: "Keepup" } } });
  t.same(await v1(`{ first_track(args: {artist: 2}) { name } }`, USER1), { data: { first_track: null } }, "RLS hides it");
});

t.test("hasura_session is filled from the session, never by the client", async (t) => {
  t.same(await v1(`{ my_tracks(order_by: {id: asc}) { id } }`, { "x-hasura-role": "admin", "x-hasura-user-id": "2" }), {
    data: { my_tracks: [{ id: 3 }] },
  });
  const spoof = await v1(`{ my_tracks(args: {hasura_session: "{\\"x-hasura-user-id\\": \\"1\\"}"}) { id } }`, {
    "x-hasura-role": "admin",
    "x-hasura-user-id": "2",
  });
  t.equal(spoof.errors?.[0]?.extensions?.code, "validation-failed", "no args to pass it in");
  const type = await v1(`{ __type(name: "query_root") { fields { name args { name } } } }`, { "x-hasura-role": "admin" });
  const field = type.data.__type.fields.find((f: { name: string }) => f.name === "my_tracks");
  t.notOk(
    field.args.some((a: { name: string }) => a.name === "args"),
    "no args: its only argument is the session",
  );
});

t.test("a volatile function is a mutation_root field", async (t) => {
  const asQuery = await v1(`{ rename_track(args: {track_id: 1, new_name: "x"}) { id } }`, USER1);
  t.equal(asQuery.errors?.[0]?.message, "field 'rename_track' not found in type: 'query_root'");
  t.same(await v1(`mutation { rename_track(args: {track_id: 1, new_name: "Kept"}) { id name } }`, USER1), {
    data: { rename_track: [{ id: 1, name: "Kept" }] },
  });
  t.same(
    await v1(`mutation { rename_track(args: {track_id: 3, new_name: "Stolen"}) { id name } }`, USER1),
    { data: { rename_track: [] } },
    "RLS: another artist's track is not updated",
  );
  const [row] = await db.asRoot<{ name: string }>("select name from public.track where id = 3");
  t.equal(row!.name, "Happy");
  // EXECUTE is PUBLIC's by default, so anonymous has the field; its UPDATE is Postgres' to refuse.
  const anon = await v1(`mutation { rename_track(args: {track_id: 3, new_name: "x"}) { id } }`, ANON);
  t.equal(anon.errors?.[0]?.extensions?.code, "permission-error", "anonymous may not update track");
  const [after] = await db.asRoot<{ name: string }>("select name from public.track where id = 3");
  t.equal(after!.name, "Happy");
  await db.asRoot("update public.track set name = 'Keepup' where id = 1");
});

t.test("scalar computed fields: selection, where, order_by, args", async (t) => {
  t.same(
    await v1(
      `{ student_marks(where: {total_marks: {_gte: 220}}, order_by: {total_marks: desc}) { name total_marks with_bonus(args: {bonus: 5}) } }`,
      USER1,
    ),
    {
      data: {
        student_marks: [
          { name: "leonel", total_marks: 268, with_bonus: 95 },
          { name: "blake", total_marks: 233, with_bonus: 71 },
          { name: "clarke", total_marks: 221, with_bonus: 89 },
        ],
      },
    },
  );
  const withArgsInWhere = await v1(`{ student_marks(where: {with_bonus: {_gt: 1}}) { name } }`, USER1);
  t.equal(
    withArgsInWhere.errors?.[0]?.extensions?.code,
    "validation-failed",
    "a computed field with arguments is not in bool_exp (Hasura)",
  );
});

t.test("the session argument of a computed field", async (t) => {
  const headers = { ...USER1, "x-hasura-offset-marks": "10" };
  t.same(
    await v1(
      `{ student_marks(where: {total_marks_offset: {_gte: 220}}, order_by: {name: asc}) { name total_marks total_marks_offset } }`,
      headers,
    ),
    {
      data: {
        student_marks: [
          { name: "blake", total_marks: 233, total_marks_offset: 223 },
          { name: "leonel", total_marks: 268, total_marks_offset: 258 },
        ],
      },
    },
  );
  const spoof = await v1(`{ student_marks { total_marks_offset(args: {hasura_session: "{}"}) } }`, headers);
  t.equal(spoof.errors?.[0]?.extensions?.code, "validation-failed");
});

t.test("a computed field in a row rule (Hasura's tutor)", async (t) => {
  t.same(await v1(`{ student_marks(order_by: {name: asc}) { name } }`, ANON), {
    data: { student_marks: [{ name: "blake" }, { name: "clarke" }, { name: "leonel" }] },
  });
  // A whole-row reference needs SELECT on every column: a role granted some
  // columns gets no computed fields (the policy above still uses one).
  const res = await v1(`{ student_marks { total_marks } }`, ANON);
  t.equal(res.errors?.[0]?.message, "field 'total_marks' not found in type: 'student_marks'");
});

t.test("a setof computed field: rows of another table, its RLS, where/order_by/limit, in bool_exp", async (t) => {
  t.same(
    await v1(`{ artist(order_by: {id: asc}) { name songs(order_by: {id: desc}) { id name } } }`, USER1),
    {
      data: {
        artist: [
          {
            name: "Camilla",
            songs: [
              { id: 2, name: "Keepdown" },
              { id: 1, name: "Keepup" },
            ],
          },
          { name: "DSP", songs: [] },
          { name: "Akon", songs: [] },
        ],
      },
    },
    "the user sees its own visible tracks only",
  );
  t.same(
    await v1(`{ artist(where: {id: {_eq: 1}}) { songs(where: {name: {_like: "%up"}}, limit: 1) { id } } }`, { "x-hasura-role": "admin" }),
    { data: { artist: [{ songs: [{ id: 1 }] }] } },
  );
  t.same(
    await v1(`{ artist(where: {songs: {name: {_eq: "Happy"}}}) { name } }`, ANON),
    { data: { artist: [{ name: "DSP" }] } },
    "filter through it, as through an array relationship",
  );
});

t.test("the PostGraphile dialect does not take hasura_session from the client either", async (t) => {
  const res = await srv.gql(`{ __type(name: "Query") { fields { name args { name } } } }`, { headers: { "x-hasura-role": "admin" } });
  const field = res.body.data.__type.fields.find((f: { name: string }) => f.name === "myTracks");
  t.ok(field, "myTracks exists");
  t.notOk(
    field.args.some((a: { name: string }) => /session/i.test(a.name)),
    "no session argument",
  );
  const rows = await srv.gql(`{ myTracks { nodes { id } } }`, { headers: { "x-hasura-role": "admin", "x-hasura-user-id": "2" } });
  t.same(rows.body, { data: { myTracks: { nodes: [{ id: 3 }] } } });
  const computed = await srv.gql(`{ allStudentMarks(condition: {name: "blake"}) { nodes { total_marks_offset } } }`, {
    headers: { ...USER1, "x-hasura-offset-marks": "10" },
  });
  t.same(computed.body, { data: { allStudentMarks: { nodes: [{ total_marks_offset: 223 }] } } }, "a computed column too");
});
