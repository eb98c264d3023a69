/**
 * Issue 13's permission kinds attacked as a hostile client would, through
 * real HTTP and Postgres, on a fixture of the blog's roles (`user` is
 * author `x-hasura-user-id`; rows of author 2 are hidden from author 1):
 *
 *  - presets: the preset column named in every input that could carry it
 *    (insert_input, _set, _inc, on_conflict.update_columns, nested insert
 *    data both ways, update_many, /graphql's create and patch), in the
 *    document and in variables; a hostile session value in a preset;
 *  - hasura_session as a client argument of a tracked function, its
 *    aggregate and a computed field, in both dialects;
 *  - backend_only with a JWT, a webhook session, the unauthorized role,
 *    odd header values, batches, nested inserts and upserts, on /graphql,
 *    /v1/graphql and /v1alpha1/graphql;
 *  - the select `limit` through distinct_on, offset, aggregates' nodes,
 *    relationships, tracked functions (query and mutation), computed
 *    `setof` fields and mutation `returning`;
 *  - side channels: computed fields, aggregate predicates, `_cast`,
 *    function arguments and jsonb update operators that would raise an
 *    error (or answer differently) only if they ran on a hidden row;
 *  - cost: update_t_many entries and nested-insert statements, which grow
 *    with the input rather than the document, stop at
 *    HASURA_GRAPHQL_OPERATION_TIMEOUT_MS; nesting is bounded.
 *
 * What held and what was fixed is in README "Hardening".
 */
import type { Test } from "tap";
import t from "tap";
import { createTestDatabase, type TestDatabase } from "../helpers/pg.ts";
import { ADMIN, ADMIN_SECRET_ENV, SECURED_JWT } from "../helpers/secured.ts";
import { startServer, type GqlResponse } from "../helpers/server.ts";
import { hasuraClaims, sign, webhookServer } from "../helpers/tokens.ts";

const V1 = "/v1/graphql";
const V1ALPHA1 = "/v1alpha1/graphql";
const PG = "/graphql";
const BACKEND = "x-hasura-use-backend-only-permissions";
const EDITOR = "x-hasura-editor";

/** Author 1 and author 2, as an admin-secret caller impersonating them. */
const U1 = { ...ADMIN, "x-hasura-role": "user", "x-hasura-user-id": "1", [EDITOR]: "alice" };
const U2 = { ...ADMIN, "x-hasura-role": "user", "x-hasura-user-id": "2", [EDITOR]: "bob" };

/*
 * team: every row visible to `user`; owner_id an insert preset, score an
 * update preset. note: author 1 owns 1-5 (team 1, secret 10, an array in
 * data); author 2 owns 6-13 (6 in team 1, 7-13 in team 2, secret 0, an
 * object in data, pinned), hidden from author 1. `100 / secret` divides by
 * zero and `data - 0` fails on an object only on author 2's rows. Presets:
 * owner_id and status on insert, edited_by (from x-hasura-editor) and
 * status on update. note_audit: a backend-only insert; tally: a
 * backend-only update. The select limit of note is 2.
 */
const FIXTURE = `
  create table public.team (id serial primary key, name text not null unique, owner_id int not null, score int not null default 0);
  create table public.note (
    id serial primary key,
    team_id int references public.team (id),
    owner_id int not null,
    title text not null,
    secret int not null default 1,
    data jsonb not null default '[]',
    pinned boolean not null default false,
    status text not null default 'new',
    edited_by text
  );
  create table public.note_audit (id serial primary key, note_id int not null references public.note (id), what text not null);
  create table public.tally (id serial primary key, name text not null unique, n int not null default 0);
  insert into public.team (name, owner_id) values ('red', 1), ('blue', 2);
  insert into public.note (team_id, owner_id, title, secret, data)
    select 1, 1, 'mine-' || i, 10, '[1, 2]' from generate_series(1, 5) i;
  insert into public.note (team_id, owner_id, title, secret, data, pinned)
    select case when i = 6 then 1 else 2 end, 2, 'hidden-' || i, 0, '{"k": "hidden"}', true from generate_series(6, 13) i;
  insert into public.tally (name, n) values ('t1', 1);

  alter table public.team enable row level security, force row level security;
  alter table public.note enable row level security, force row level security;
  alter table public.note_audit enable row level security, force row level security;
  alter table public.tally enable row level security, force row level security;
  grant usage on all sequences in schema public to "user";

  grant select (id, name, owner_id, score), insert (name), update (name, score) on public.team to "user";
  create policy user_select on public.team for select to "user" using (true);
  create policy user_insert on public.team for insert to "user" with check (owner_id = (select hasura.user_id_int()));
  create policy user_update on public.team for update to "user" using (owner_id = (select hasura.user_id_int()));
  call hasura.column_preset('public.team', 'user', 'insert', 'owner_id', session_variable => 'x-hasura-user-id');
  call hasura.column_preset('public.team', 'user', 'update', 'score', value => '7');
  call hasura.select_permission('public.team', 'user', allow_aggregations => true);

  grant select, insert (team_id, title, secret, data, status), update (title, secret, data, status), delete on public.note to "user";
  create policy user_all on public.note for all to "user" using (owner_id = (select hasura.user_id_int()));
  call hasura.column_preset('public.note', 'user', 'insert', 'owner_id', session_variable => 'x-hasura-user-id');
  call hasura.column_preset('public.note', 'user', 'insert', 'status', value => 'draft');
  call hasura.column_preset('public.note', 'user', 'update', 'edited_by', session_variable => '${EDITOR}');
  call hasura.column_preset('public.note', 'user', 'update', 'status', value => 'edited');
  call hasura.select_permission('public.note', 'user', "limit" => 2, allow_aggregations => true);
  -- The functions below that read every note run as the owner (security definer).
  create policy owner_select on public.note for select to app_owner using (true);

  grant select, insert (note_id, what) on public.note_audit to "user";
  create policy user_select on public.note_audit for select to "user"
    using (exists (select 1 from public.note n where n.id = note_audit.note_id));
  create policy user_insert on public.note_audit for insert to "user" with check (true);
  call hasura.backend_only('public.note_audit', 'user', 'insert');

  grant select, insert (name, n), update (n) on public.tally to "user";
  create policy user_all on public.tally for all to "user" using (true);
  call hasura.backend_only('public.tally', 'user', 'update');

  create function public.note_ratio(n public.note) returns int language sql stable as $$ select 100 / n.secret $$;
  create function public.note_viewer(n public.note, hasura_session jsonb) returns text language sql stable
    as $$ select hasura_session ->> 'x-hasura-user-id' $$;
  create function public.team_notes_all(t public.team) returns setof public.note language sql stable
    as $$ select * from public.note where team_id = t.id $$;
  comment on function public.team_notes_all(public.team) is E'@fieldName notes_all';
  create function public.search_notes(q text) returns setof public.note language sql stable
    as $$ select * from public.note where title like q $$;
  create function public.touch_notes() returns setof public.note language sql volatile
    as $$ update public.note set title = title returning * $$;
  -- The session decides whose notes (README: security definer, filter in the body).
  create function public.session_notes(hasura_session json) returns setof public.note language sql stable
    security definer set search_path = ''
    as $$ select * from public.note where owner_id = (hasura_session ->> 'x-hasura-user-id')::int $$;
  -- The same with the session as text: Hasura's session argument is json.
  create function public.legacy_notes(hasura_session text) returns setof public.note language sql stable
    security definer set search_path = ''
    as $$ select * from public.note where owner_id = ((hasura_session::jsonb) ->> 'x-hasura-user-id')::int $$;
  revoke execute on all functions in schema public from public;
  grant execute on function public.note_ratio(public.note), public.note_viewer(public.note, jsonb),
    public.team_notes_all(public.team), public.search_notes(text), public.touch_notes(), public.session_notes(json),
    public.legacy_notes(text) to "user";
`;

async function fixture(t: Test, extra = ""): Promise<TestDatabase> {
  const db = await createTestDatabase(t, "blog");
  await db.asOwner(FIXTURE + extra);
  return db;
}

const db = await fixture(t);
const srv = await startServer(t, { db, env: SECURED_JWT });
const jwt = async (claims: Record<string, string>) => ({
  authorization: `Bearer ${await sign(hasuraClaims("user", { "x-hasura-user-id": "1", [EDITOR]: "alice", ...claims }))}`,
});

function ask(query: string, headers: Record<string, string> = U1, path = V1, variables?: Record<string, unknown>): Promise<GqlResponse> {
  return srv.gql(query, { path, headers, variables });
}

function dataOf(t: Test, res: GqlResponse, what: string): any {
  t.equal(res.status, 200, `${what}: HTTP 200`);
  t.notOk(res.body.errors, `${what}: no errors (${JSON.stringify(res.body.errors)})`);
  return res.body.data;
}

function refused(t: Test, res: GqlResponse, code: string, message: RegExp, what: string): void {
  t.equal(res.body.errors?.[0]?.extensions?.code ?? (res.status === 400 ? "graphql-validation" : undefined), code, `${what}: ${code}`);
  t.match(res.body.errors?.[0]?.message, message, `${what}: message`);
  t.notOk(res.body.data, `${what}: no data`);
}

/** /graphql's refusal of a field or argument the schema does not have (grafserv's 400). */
function notInSchema(t: Test, res: GqlResponse, message: RegExp, what: string): void {
  t.equal(res.status, 400, `${what}: 400`);
  t.match(res.body.errors?.[0]?.message, message, `${what}: message`);
}

const notes = (where = "true") =>
  db.asRoot(`select id, owner_id, title, secret, data, status, edited_by from public.note where ${where} order by id`);
const hiddenNotes = () => notes("owner_id = 2");

t.test("presets: a client cannot name a preset column anywhere, in either dialect", async (t) => {
  const before = await notes();
  const attacks: [string, string, RegExp][] = [
    ["insert_input", `mutation { insert_note(objects: [{title: "x", owner_id: 2}]) { affected_rows } }`, /owner_id/],
    ["insert_input (granted column)", `mutation { insert_note(objects: [{title: "x", status: "published"}]) { affected_rows } }`, /status/],
    ["insert_one", `mutation { insert_note_one(object: {title: "x", owner_id: 2}) { id } }`, /owner_id/],
    ["_set", `mutation { update_note(where: {}, _set: {edited_by: "mallory"}) { affected_rows } }`, /edited_by/],
    ["_set (granted column)", `mutation { update_note(where: {}, _set: {status: "published"}) { affected_rows } }`, /status/],
    ["_set by pk", `mutation { update_note_by_pk(pk_columns: {id: 1}, _set: {owner_id: 2}) { id } }`, /owner_id/],
    // score is team's only integer column the role updates: with it a preset, there is no _inc at all.
    ["_inc", `mutation { update_team(where: {}, _inc: {score: 100}) { affected_rows } }`, /_inc/],
    ["_set of an update preset", `mutation { update_team(where: {}, _set: {score: 100}) { affected_rows } }`, /score/],
    [
      "on_conflict.update_columns",
      `mutation { insert_team(objects: [{name: "red"}], on_conflict: {constraint: team_name_key, update_columns: [owner_id]}) { affected_rows } }`,
      /owner_id/,
    ],
    [
      "on_conflict.update_columns (update preset)",
      `mutation { insert_team(objects: [{name: "red"}], on_conflict: {constraint: team_name_key, update_columns: [score]}) { affected_rows } }`,
      /score/,
    ],
    [
      "nested array insert data",
      `mutation { insert_team(objects: [{name: "green", notes: {data: [{title: "n", owner_id: 2}]}}]) { affected_rows } }`,
      /owner_id/,
    ],
    [
      "nested object insert data",
      `mutation { insert_note(objects: [{title: "n", team: {data: {name: "green", owner_id: 2}}}]) { affected_rows } }`,
      /owner_id/,
    ],
    [
      "nested object on_conflict",
      `mutation { insert_note(objects: [{title: "n", team: {data: {name: "red"}, on_conflict: {constraint: team_name_key, update_columns: [owner_id]}}}]) { affected_rows } }`,
      /owner_id/,
    ],
    ["update_many", `mutation { update_note_many(updates: [{where: {}, _set: {edited_by: "mallory"}}]) { affected_rows } }`, /edited_by/],
    ["update_many _inc", `mutation { update_team_many(updates: [{where: {}, _inc: {score: 1}}]) { affected_rows } }`, /_inc/],
  ];
  for (const [what, query, column] of attacks) {
    for (const path of [V1, V1ALPHA1]) {
      const res = await ask(query, U1, path);
      refused(t, res, "validation-failed", column, `${what} on ${path}`);
      t.equal(res.status, path === V1 ? 200 : 400, `${what} on ${path}: status`);
    }
  }
  // The same through variables: the input types have no such field.
  const viaVariables = await ask("mutation ($o: [note_insert_input!]!) { insert_note(objects: $o) { affected_rows } }", U1, V1, {
    o: [{ title: "x", owner_id: 2, status: "published" }],
  });
  refused(t, viaVariables, "validation-failed", /owner_id|status/, "insert_input in variables");
  const manyViaVariables = await ask("mutation ($u: [note_updates!]!) { update_note_many(updates: $u) { affected_rows } }", U1, V1, {
    u: [{ where: {}, _set: { title: "x", edited_by: "mallory" } }],
  });
  refused(t, manyViaVariables, "validation-failed", /edited_by/, "update_many in variables");

  // /graphql: PostGraphile's create and patch inputs.
  for (const [what, query, message] of [
    ["createNote ownerId", `mutation { createNote(input: {note: {title: "p", ownerId: 2}}) { note { id } } }`, /ownerId/],
    ["createNote status", `mutation { createNote(input: {note: {title: "p", status: "published"}}) { note { id } } }`, /status/],
    [
      "updateNoteById editedBy",
      `mutation { updateNoteById(input: {id: 1, notePatch: {editedBy: "mallory"}}) { note { id } } }`,
      /editedBy/,
    ],
    ["updateNoteById status", `mutation { updateNoteById(input: {id: 1, notePatch: {status: "published"}}) { note { id } } }`, /status/],
    ["createTeam ownerId", `mutation { createTeam(input: {team: {name: "p", ownerId: 2}}) { team { id } } }`, /ownerId/],
    ["updateTeamById score", `mutation { updateTeamById(input: {id: 1, teamPatch: {score: 100}}) { team { id } } }`, /score/],
  ] as const) {
    notInSchema(t, await ask(query, U1, PG), message, `/graphql ${what}`);
  }
  t.strictSame(await notes(), before, "nothing was written");
  t.strictSame(await db.asRoot("select id, name, owner_id, score from public.team order by id"), [
    { id: 1, name: "red", owner_id: 1, score: 0 },
    { id: 2, name: "blue", owner_id: 2, score: 0 },
  ]);
});

t.test("presets: what the role writes gets the preset values, whatever path it takes", async (t) => {
  const inserted = dataOf(
    t,
    await ask(`mutation { insert_note(objects: [{title: "plain"}]) { returning { id owner_id status } } }`),
    "plain insert",
  );
  t.strictSame(inserted.insert_note.returning[0].owner_id, 1);
  t.strictSame(inserted.insert_note.returning[0].status, "draft");
  dataOf(
    t,
    await ask(
      `mutation { insert_team(objects: [{name: "green", notes: {data: [{title: "nested-a"}, {title: "nested-b"}]}}]) { affected_rows } }`,
    ),
    "nested array insert",
  );
  dataOf(
    t,
    await ask(`mutation { insert_note(objects: [{title: "nested-c", team: {data: {name: "yellow"}}}]) { affected_rows } }`),
    "nested object insert",
  );
  const pg = await ask(`mutation { createNote(input: {note: {title: "pg"}}) { note { ownerId status } } }`, U1, PG);
  t.strictSame(pg.body, { data: { createNote: { note: { ownerId: 1, status: "draft" } } } }, "/graphql create");
  t.strictSame(
    await db.asRoot(
      "select owner_id, status from public.note where title in ('plain', 'nested-a', 'nested-b', 'nested-c', 'pg') group by 1, 2",
    ),
    [{ owner_id: 1, status: "draft" }],
    "every inserted note: owner_id and status from the presets",
  );
  t.strictSame(await db.asRoot("select name, owner_id from public.team where name in ('green', 'yellow') order by name"), [
    { name: "green", owner_id: 1 },
    { name: "yellow", owner_id: 1 },
  ]);
  // Updates: _set, update_many, an upsert's update, /graphql's patch.
  dataOf(t, await ask(`mutation { update_note(where: {id: {_eq: 1}}, _set: {title: "u1"}) { affected_rows } }`), "update");
  dataOf(
    t,
    await ask(`mutation { update_note_many(updates: [{where: {id: {_eq: 2}}, _set: {title: "u2"}}]) { affected_rows } }`),
    "update_many",
  );
  const pgPatch = await ask(`mutation { updateNoteById(input: {id: 3, notePatch: {title: "u3"}}) { note { status editedBy } } }`, U1, PG);
  t.strictSame(pgPatch.body, { data: { updateNoteById: { note: { status: "edited", editedBy: "alice" } } } }, "/graphql patch");
  t.strictSame(
    await db.asRoot("select id, status, edited_by from public.note where id in (1, 2, 3) order by id"),
    [1, 2, 3].map((id) => ({ id, status: "edited", edited_by: "alice" })),
    "update presets applied",
  );
  const upsert = await ask(
    `mutation { insert_team(objects: [{name: "red"}], on_conflict: {constraint: team_name_key, update_columns: [name]}) { returning { name owner_id score } } }`,
  );
  t.strictSame(
    dataOf(t, upsert, "upsert").insert_team.returning,
    [{ name: "red", owner_id: 1, score: 7 }],
    "an upsert's update gets the update preset",
  );
  await db.asRoot("delete from public.note where id > 13; delete from public.team where id > 2; update public.team set score = 0");
  await db.asRoot("update public.note set title = 'mine-' || id, status = 'new', edited_by = null where id <= 5");
});

t.test("presets: a hostile session value is a bound value (a cast error or stored verbatim), never SQL", async (t) => {
  const hostile = `1'); drop table public.note; --`;
  const text = `x'); delete from public.note; select ('`;
  for (const [how, headers] of [
    ["admin-secret headers", { ...U1, "x-hasura-user-id": hostile }],
    ["JWT claims", await jwt({ "x-hasura-user-id": hostile })],
  ] as const) {
    const res = await ask(`mutation { insert_note(objects: [{title: "hostile"}]) { affected_rows } }`, headers);
    refused(t, res, "data-exception", /invalid input syntax for type integer/, `${how}: integer preset`);
  }
  for (const [how, headers] of [
    ["admin-secret headers", { ...U1, [EDITOR]: text }],
    ["JWT claims", await jwt({ [EDITOR]: text })],
  ] as const) {
    const res = await ask(`mutation { update_note(where: {id: {_eq: 4}}, _set: {title: "hostile"}) { returning { edited_by } } }`, headers);
    t.strictSame(dataOf(t, res, `${how}: text preset`).update_note.returning, [{ edited_by: text }], `${how}: stored verbatim`);
  }
  t.equal((await db.asRoot("select count(*)::int as n from public.note"))[0]!.n, 13, "every note is still there");
  const viewer = await ask(`{ note(where: {id: {_eq: 4}}) { viewer } }`, { ...U1, "x-hasura-user-id": "1" });
  t.strictSame(dataOf(t, viewer, "viewer").note, [{ viewer: "1" }]);
  await db.asRoot("update public.note set title = 'mine-4', edited_by = null, status = 'new' where id = 4");
});

t.test("presets: with a JWT, client headers are not session variables, for a preset or a function", async (t) => {
  const before = await notes("id = 4");
  const token = { authorization: `Bearer ${await sign(hasuraClaims("user", { "x-hasura-user-id": "1" }))}` };
  const forged = { ...token, [EDITOR]: "mallory", "x-hasura-user-id": "2" };
  const res = await ask(`mutation { update_note(where: {id: {_eq: 4}}, _set: {title: "h"}) { affected_rows } }`, forged);
  refused(t, res, "not-found", /missing session variable: "x-hasura-editor"/, "the editor header is not the preset's variable");
  t.strictSame(await notes("id = 4"), before, "nothing written");
  const own = await ask(`{ note(limit: 1) { owner_id viewer } }`, forged);
  t.strictSame(
    dataOf(t, own, "JWT with forged headers").note,
    [{ owner_id: 1, viewer: "1" }],
    "the claims decide, in rows and hasura_session",
  );
  const pg = await ask(`{ allNotes(first: 1) { nodes { ownerId viewer } } }`, forged, PG);
  t.strictSame(pg.body, { data: { allNotes: { nodes: [{ ownerId: 1, viewer: "1" }] } } }, "/graphql: the same");
});

t.test("hasura_session is never a client argument, in either dialect", async (t) => {
  const forged = JSON.stringify({ "x-hasura-user-id": "2", "x-hasura-role": "user" });
  for (const [what, query] of [
    ["tracked function", `query ($s: json) { session_notes(args: {hasura_session: $s}) { id } }`],
    ["its aggregate", `query ($s: json) { session_notes_aggregate(args: {hasura_session: $s}) { aggregate { count } } }`],
    ["computed field", `query ($s: jsonb) { note { viewer(args: {hasura_session: $s}) } }`],
  ] as const) {
    const res = await ask(query, U1, V1, { s: forged });
    t.equal(res.body.errors?.[0]?.extensions?.code, "validation-failed", `${what}: refused`);
    t.notOk(res.body.data, `${what}: no data`);
  }
  // The function itself sees the caller's own session: author 1's notes.
  const own = dataOf(
    t,
    await ask(`{ session_notes(order_by: {id: asc}) { owner_id } session_notes_aggregate { aggregate { count } } }`),
    "own session",
  );
  t.strictSame(own.session_notes, [{ owner_id: 1 }, { owner_id: 1 }], "author 1's notes (limit 2)");
  t.equal(own.session_notes_aggregate.aggregate.count, 5);
  t.strictSame(dataOf(t, await ask(`{ note(limit: 1) { viewer } }`), "viewer").note, [{ viewer: "1" }]);

  notInSchema(
    t,
    await ask(`{ sessionNotes(hasuraSession: ${JSON.stringify(forged)}) { nodes { id } } }`, U1, PG),
    /hasuraSession/,
    "/graphql function",
  );
  notInSchema(t, await ask(`{ allNotes { nodes { viewer(hasuraSession: "{}") } } }`, U1, PG), /hasuraSession/, "/graphql computed column");
  const pgOwn = await ask(`{ sessionNotes { totalCount } allNotes(first: 1) { nodes { viewer } } }`, U1, PG);
  t.strictSame(pgOwn.body, { data: { sessionNotes: { totalCount: 5 }, allNotes: { nodes: [{ viewer: "1" }] } } }, "/graphql: the session");

  // A hasura_session the server cannot fill (not json or jsonb) must not
  // become a client argument: the function is not offered.
  const legacy = await ask(`query ($s: String) { legacy_notes(args: {hasura_session: $s}) { owner_id } }`, U1, V1, { s: forged });
  refused(t, legacy, "validation-failed", /legacy_notes/, "a text hasura_session argument");
  notInSchema(
    t,
    await ask(`query ($s: String) { legacyNotes(hasuraSession: $s) { nodes { ownerId } } }`, U1, PG, { s: forged }),
    /legacyNotes/,
    "/graphql: a text hasura_session argument",
  );
});

const AUDIT = `mutation { insert_note_audit(objects: [{note_id: 1, what: "audit"}]) { affected_rows } }`;
const NESTED_AUDIT = `mutation { insert_note(objects: [{title: "n", note_audits: {data: [{what: "nested"}]}}]) { affected_rows } }`;
const TALLY_UPSERT = `mutation { insert_tally(objects: [{name: "t1", n: 5}], on_conflict: {constraint: tally_name_key, update_columns: [n]}) { affected_rows } }`;
const TALLY_UPDATE = `mutation { update_tally(where: {}, _set: {n: 9}) { affected_rows } }`;
const PG_AUDIT = `mutation { createNoteAudit(input: {noteAudit: {noteId: 1, what: "pg"}}) { noteAudit { what } } }`;
const PG_TALLY = `mutation { updateTallyById(input: {id: 1, tallyPatch: {n: 9}}) { tally { n } } }`;

const audits = () => db.asRoot("select what from public.note_audit order by id");
const tally = () => db.asRoot("select name, n from public.tally order by id");

/** Every backend-only path, refused for these headers on every endpoint; nothing written. */
async function noBackendOnly(t: Test, headers: Record<string, string>, what: string): Promise<void> {
  const [auditsBefore, tallyBefore] = [await audits(), await tally()];
  for (const path of [V1, V1ALPHA1]) {
    for (const [name, query, message] of [
      ["insert_note_audit", AUDIT, /insert_note_audit/],
      ["nested note_audits", NESTED_AUDIT, /note_audits/],
      ["upsert updating tally", TALLY_UPSERT, /tally_update_column|"n"/],
      ["update_tally", TALLY_UPDATE, /update_tally/],
    ] as const) {
      const res = await ask(query, headers, path);
      t.equal(res.body.errors?.[0]?.extensions?.code, "validation-failed", `${what}, ${name} on ${path}: refused`);
      t.match(res.body.errors?.[0]?.message, message, `${what}, ${name} on ${path}: message`);
    }
  }
  notInSchema(t, await ask(PG_AUDIT, headers, PG), /createNoteAudit/, `${what}: /graphql createNoteAudit`);
  notInSchema(t, await ask(PG_TALLY, headers, PG), /updateTallyById/, `${what}: /graphql updateTallyById`);
  t.strictSame(await audits(), auditsBefore, `${what}: no audit written`);
  t.strictSame(await tally(), tallyBefore, `${what}: tally unchanged`);
}

t.test("backend_only: only the admin secret with the header reaches the backend schema", async (t) => {
  // The backend schema exists and works for the trusted caller (built first, so it is cached).
  const trusted = { ...U1, [BACKEND]: "true" };
  t.strictSame(dataOf(t, await ask(AUDIT, trusted), "trusted insert"), { insert_note_audit: { affected_rows: 1 } });
  t.strictSame(dataOf(t, await ask(TALLY_UPSERT, trusted), "trusted upsert"), { insert_tally: { affected_rows: 1 } });
  t.strictSame(dataOf(t, await ask(NESTED_AUDIT, trusted), "trusted nested"), { insert_note: { affected_rows: 2 } });
  t.strictSame(
    (await ask(PG_AUDIT, trusted, PG)).body,
    { data: { createNoteAudit: { noteAudit: { what: "pg" } } } },
    "/graphql: trusted create",
  );
  await db.asRoot("delete from public.note_audit; delete from public.note where id > 13; update public.tally set n = 1");

  await noBackendOnly(t, U1, "admin secret without the header");
  for (const value of ["false", "0", "1", "on", "", "true, true", "truee", "yes please", "t\u00a0"]) {
    const res = await ask(AUDIT, { ...U1, [BACKEND]: value });
    t.notOk(res.body.data, `admin secret, header ${JSON.stringify(value)}: nothing runs`);
    t.ok(
      ["validation-failed", "bad-request"].includes(res.body.errors?.[0]?.extensions?.code),
      `admin secret, header ${JSON.stringify(value)}: ${res.body.errors?.[0]?.extensions?.code}`,
    );
  }
  await noBackendOnly(t, { ...(await jwt({})), [BACKEND]: "true" }, "JWT with the header");
  await noBackendOnly(t, { ...(await jwt({ [BACKEND]: "true" })), [BACKEND]: "true" }, "JWT with the header and the claim");
  await noBackendOnly(t, { ...(await jwt({})), [BACKEND]: "true", "x-hasura-role": "user" }, "JWT choosing its role");
  // A wrong admin secret never falls back to anything.
  const wrong = await ask(AUDIT, { ...U1, "x-hasura-admin-secret": "wrong", [BACKEND]: "true" });
  t.equal(wrong.body.errors?.[0]?.extensions?.code, "access-denied", "a wrong admin secret: access-denied");
  // The unauthorized role: no credentials, the header alone.
  const anonymous = await ask(AUDIT, { [BACKEND]: "true", "x-hasura-role": "user", "x-hasura-user-id": "1" });
  t.equal(anonymous.body.errors?.[0]?.extensions?.code, "validation-failed", "the unauthorized role: no mutations at all");
  t.strictSame(await audits(), [], "nothing written");

  // A batch: the session is the request's, for every operation in it.
  const batch = await fetch(srv.url + V1, {
    method: "POST",
    headers: { "content-type": "application/json", ...(await jwt({})), [BACKEND]: "true" },
    body: JSON.stringify([{ query: "{ note(limit: 1) { id } }" }, { query: AUDIT }, { query: TALLY_UPDATE }]),
  });
  const answers = (await batch.json()) as GqlResponse["body"][];
  t.strictSame(answers[0], { data: { note: [{ id: 1 }] } }, "batch: the query is answered");
  t.equal(answers[1]?.errors?.[0]?.extensions?.code, "validation-failed", "batch: the backend insert is refused");
  t.equal(answers[2]?.errors?.[0]?.extensions?.code, "validation-failed", "batch: the backend update is refused");
  t.strictSame(await audits(), [], "batch: nothing written");
  t.strictSame(await tally(), [{ name: "t1", n: 1 }]);
});

t.test("backend_only: a webhook session never gets it, whatever the hook or the client says", async (t) => {
  const hook = await webhookServer((_req, _body, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ "x-hasura-role": "user", "x-hasura-user-id": "1", [EDITOR]: "alice", [BACKEND]: "true" }));
  });
  t.teardown(hook.close);
  const hooked = await startServer(t, { db, env: { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_AUTH_HOOK: hook.url } });
  const res = await hooked.gql(AUDIT, { path: V1, headers: { [BACKEND]: "true" } });
  t.equal(res.body.errors?.[0]?.extensions?.code, "validation-failed", "webhook session: refused");
  const pg = await hooked.gql(PG_AUDIT, { headers: { [BACKEND]: "true" } });
  t.match(pg.body.errors?.[0]?.message, /createNoteAudit/, "/graphql: refused");
  t.strictSame(await audits(), []);
});

/** Every list in `data` (at any depth) has at most `max` items; returns how many lists were seen. */
function listsAtMost(t: Test, data: unknown, max: number, where = "data"): number {
  let seen = 0;
  if (Array.isArray(data)) {
    t.ok(data.length <= max, `${where}: ${data.length} rows, at most ${max}`);
    seen++;
    for (const [i, item] of data.entries()) seen += listsAtMost(t, item, max, `${where}[${i}]`);
  } else if (data && typeof data === "object") {
    for (const [k, v] of Object.entries(data)) seen += listsAtMost(t, v, max, `${where}.${k}`);
  }
  return seen;
}

t.test("select limit: no selection of note returns more than its 2 rows", async (t) => {
  const attempts = [
    `{ note(limit: 100) { id } }`,
    `{ note(limit: 100, offset: 0, order_by: {id: desc}) { id } }`,
    `{ note(distinct_on: title, order_by: {title: asc}, limit: 100) { id } }`,
    `{ note(order_by: [{team: {notes_aggregate: {count: desc}}}, {id: asc}]) { id } }`,
    `{ note(where: {_or: [{id: {_gt: 0}}, {ratio: {_gt: 0}}]}, limit: 2147483647) { id } }`,
    `{ note_aggregate(limit: 100) { aggregate { count } nodes { id } } }`,
    `{ a: note(limit: 100) { id } b: note(limit: 100, offset: 2) { id } }`,
    `{ team { notes(limit: 100) { id } notes_aggregate(limit: 100) { nodes { id } } notes_all(limit: 100) { id } } }`,
    `{ team(order_by: {notes_aggregate: {count: desc}}) { notes_all(order_by: {id: asc}, limit: 100) { id team { notes { id } } } } }`,
    `{ note(limit: 100) { team { notes(limit: 100) { team { notes_all(limit: 100) { id } } } } } }`,
    `{ search_notes(args: {q: "%"}, limit: 100) { id } search_notes_aggregate(args: {q: "%"}, limit: 100) { nodes { id } } }`,
    `{ search_notes(args: {q: "%"}, distinct_on: id, limit: 100) { id } }`,
    `{ session_notes(limit: 100) { id } }`,
    `mutation { touch_notes(limit: 100) { id } }`,
  ];
  for (const query of attempts) {
    const data = dataOf(t, await ask(query), query);
    t.ok(listsAtMost(t, data, 2) > 0, `${query}: lists were checked`);
  }
  // A mutation's returning lists the rows it changed (Hasura applies no
  // select limit there either: its returning is built without the
  // permission's limit); what is nested under them is capped.
  const returned = dataOf(
    t,
    await ask(
      `mutation { update_note(where: {}, _set: {secret: 10}) { returning { id team { notes(limit: 100) { id } notes_all(limit: 100) { id } } } } }`,
    ),
    "returning",
  );
  t.equal(returned.update_note.returning.length, 5, "returning: every row the update changed");
  for (const row of returned.update_note.returning) listsAtMost(t, row, 2, `returning ${row.id}`);
  // Paging works as in Hasura (a client may read page after page), and the
  // aggregate counts every visible row: the limit bounds a response, not RLS.
  const page = dataOf(t, await ask(`{ note(offset: 4, order_by: {id: asc}) { id } note_aggregate { aggregate { count } } }`), "page");
  t.strictSame(page, { note: [{ id: 5 }], note_aggregate: { aggregate: { count: 5 } } });
  await db.asRoot("update public.note set edited_by = null, status = 'new' where id <= 5");
});

t.test("allow_aggregations: a table declared without them is aggregated nowhere in the Hasura dialect", async (t) => {
  // note_audit has no select declaration for user: Hasura's default, no aggregates.
  for (const query of [
    `{ note_audit_aggregate { aggregate { count } } }`,
    `{ note { note_audits_aggregate { aggregate { count } } } }`,
    `{ note { note_audits_aggregate { nodes { id } } } }`,
    `{ note(where: {note_audits_aggregate: {count: {predicate: {_gt: 0}}}}) { id } }`,
  ]) {
    refused(t, await ask(query), "validation-failed", /aggregate/, query);
  }
});

/**
 * The probe with a condition that would match a hidden row and one that
 * would not: the same answer for author 1; `control` (author 2, who sees
 * those rows) proves the probe is live: its two answers differ.
 */
async function sameAnswer(t: Test, probe: (cond: string) => string, matching: string, notMatching: string) {
  const hit = await ask(probe(matching));
  const miss = await ask(probe(notMatching));
  t.strictSame(hit.body, miss.body, `author 1: same answer (${JSON.stringify(hit.body).slice(0, 200)})`);
  t.notOk(hit.body.errors, "author 1: no error");
  const [h2, m2] = [await ask(probe(matching), U2), await ask(probe(notMatching), U2)];
  t.notSame(h2.body, m2.body, `author 2 (who sees those rows): the probe tells them apart (${JSON.stringify(h2.body).slice(0, 200)})`);
}

t.test("side channels: nothing a client sends runs on a hidden row", async (t) => {
  const hidden = await hiddenNotes();
  const ids = (res: GqlResponse) => res.body.data;

  // A computed field that divides by zero on the hidden rows: where, order_by, update's where, aggregate filters.
  t.strictSame(ids(await ask(`{ note(where: {ratio: {_gt: 0}}, order_by: {id: asc}) { id ratio } }`)), {
    note: [
      { id: 1, ratio: 10 },
      { id: 2, ratio: 10 },
    ],
  });
  t.equal(
    (await ask(`{ note(where: {ratio: {_gt: 0}}) { id } }`, U2)).body.errors?.[0]?.extensions?.code,
    "data-exception",
    "control: on author 2's own rows it fails",
  );
  t.notOk((await ask(`{ note(order_by: {ratio: desc}) { id } }`)).body.errors, "order_by a computed field");
  t.strictSame(
    dataOf(t, await ask(`mutation { update_note(where: {ratio: {_gt: 0}}, _set: {title: "r"}) { affected_rows } }`), "update where"),
    {
      update_note: { affected_rows: 5 },
    },
  );
  t.strictSame(dataOf(t, await ask(`mutation { delete_note(where: {ratio: {_lt: 0}}) { affected_rows } }`), "delete where"), {
    delete_note: { affected_rows: 0 },
  });
  t.notOk(
    (await ask(`{ team(where: {notes_aggregate: {count: {predicate: {_gt: 0}, filter: {ratio: {_gt: 0}}}}}) { id } }`)).body.errors,
    "aggregate predicate filter",
  );
  t.notOk((await ask(`{ team(where: {notes_all: {ratio: {_gt: 0}}}) { id } }`)).body.errors, "computed setof field filter");

  // Aggregates and their predicates count only what the role sees.
  t.strictSame(ids(await ask(`{ team(where: {notes_aggregate: {bool_or: {arguments: pinned, predicate: {_eq: true}}}}) { id } }`)), {
    team: [],
  });
  t.strictSame(
    ids(await ask(`{ team(where: {notes_aggregate: {count: {predicate: {_gt: 0}, filter: {title: {_like: "hidden%"}}}}}) { id } }`)),
    {
      team: [],
    },
  );
  t.strictSame(
    ids(await ask(`{ team(order_by: [{notes_aggregate: {count: desc}}, {id: desc}]) { id notes_aggregate { aggregate { count } } } }`)),
    {
      team: [
        { id: 1, notes_aggregate: { aggregate: { count: 5 } } },
        { id: 2, notes_aggregate: { aggregate: { count: 0 } } },
      ],
    },
  );

  // Errors that depend on a hidden value: LIKE ending in an escape fails only once the text before it matched.
  await sameAnswer(t, (p) => `{ note(where: {data: {_cast: {String: {_like: ${JSON.stringify(p)}}}}}) { id } }`, '{"k%\\', '{"z%\\');
  await sameAnswer(t, (p) => `{ search_notes(args: {q: ${JSON.stringify(p)}}) { id } }`, "hidden-1%\\", "zzz\\");
  await sameAnswer(t, (p) => `{ team(where: {notes_all: {title: {_like: ${JSON.stringify(p)}}}}) { id } }`, "hidden-1%\\", "zzz\\");

  // jsonb operators: data - 0 fails on an object (the hidden rows' data).
  for (const op of [
    `_delete_elem: {data: 0}`,
    `_delete_at_path: {data: ["k"]}`,
    `_delete_key: {data: "k"}`,
    `_append: {data: 3}`,
    `_prepend: {data: 0}`,
  ]) {
    t.strictSame(
      dataOf(t, await ask(`mutation { update_note(where: {id: {_gt: 5}}, ${op}) { affected_rows } }`), op),
      { update_note: { affected_rows: 0 } },
      `${op} on hidden rows: 0 rows`,
    );
    t.strictSame(
      dataOf(t, await ask(`mutation { update_note_by_pk(pk_columns: {id: 6}, ${op}) { id } }`), `${op} by pk`),
      { update_note_by_pk: null },
      `${op} by pk on a hidden row: null`,
    );
  }
  t.strictSame(
    dataOf(t, await ask(`mutation { update_note(where: {}, _delete_elem: {data: 0}) { affected_rows } }`), "every row"),
    { update_note: { affected_rows: 5 } },
    "on every row: only author 1's five",
  );
  const many = await ask(
    `mutation { update_note_many(updates: [{where: {id: {_eq: 6}}, _delete_elem: {data: 0}}, {where: {owner_id: {_eq: 2}}, _append: {data: 1}}]) { affected_rows } }`,
  );
  t.strictSame(dataOf(t, many, "update_many"), { update_note_many: [{ affected_rows: 0 }, { affected_rows: 0 }] });
  const control = await ask(`mutation { update_note(where: {id: {_eq: 6}}, _delete_elem: {data: 0}) { affected_rows } }`, U2);
  t.equal(control.body.errors?.[0]?.extensions?.code, "data-exception", "control: on author 2's own row it fails");

  t.strictSame(await hiddenNotes(), hidden, "the hidden rows are unchanged");
  await db.asRoot(`update public.note set title = 'mine-' || id, data = '[1, 2]', status = 'new', edited_by = null where id <= 5`);
});

/*
 * Cost. A document's limits (depth, fields, object fields, row estimate)
 * bound how many statements its fields make, and statement_timeout bounds
 * each; but update_t_many runs one statement per entry and a nested insert
 * one per object with relationships, as many as the input holds (a 1 MB
 * body: ~20,000 entries, each up to a statement timeout). The operation's
 * time bound stops them.
 */
const SLOW = `
  create function public.note_nap(n public.note) returns boolean language sql stable as $$ select pg_sleep(0.05) is not null $$;
  grant execute on function public.note_nap(public.note) to "user";
  create function public.nap() returns trigger language plpgsql as $$ begin perform pg_sleep(0.02); return new; end $$;
  create trigger nap before insert on public.team for each row execute function public.nap();
  create function public.long_nap() returns trigger language plpgsql as $$ begin perform pg_sleep(0.05); return new; end $$;
  create trigger nap before insert on public.note_audit for each row execute function public.long_nap();
`;

t.test("cost: statements that grow with the input stop at HASURA_GRAPHQL_OPERATION_TIMEOUT_MS", async (t) => {
  const slowDb = await fixture(t, SLOW);
  const LIMIT_MS = 1000;
  const slow = await startServer(t, { db: slowDb, env: { ...SECURED_JWT, HASURA_GRAPHQL_OPERATION_TIMEOUT_MS: String(LIMIT_MS) } });
  const run = async (query: string, variables?: Record<string, unknown>) => {
    const started = Date.now();
    const res = await slow.gql(query, { path: V1, headers: U1, variables });
    return { res, ms: Date.now() - started };
  };
  const stopped = (what: string, { res, ms }: { res: GqlResponse; ms: number }) => {
    t.equal(res.body.errors?.[0]?.extensions?.code, "timeout", `${what}: timeout (${JSON.stringify(res.body).slice(0, 200)})`);
    t.match(res.body.errors?.[0]?.message, /1000 ms/, `${what}: the message names the limit`);
    t.notOk(res.body.data, `${what}: no data`);
    // Each entry takes 50 ms: 100 of them would take 5 s.
    t.ok(ms < LIMIT_MS + 1500, `${what}: stopped after ${ms} ms`);
  };
  const state = () =>
    slowDb.asRoot("select (select secret from public.note where id = 1) as secret, (select count(*)::int from public.team) as teams");
  const before = await state();

  const entries = Array.from({ length: 100 }, () => ({ where: { id: { _eq: 1 }, nap: { _eq: true } }, _inc: { secret: 1 } }));
  stopped(
    "update_note_many, 100 slow entries",
    await run("mutation ($u: [note_updates!]!) { update_note_many(updates: $u) { affected_rows } }", { u: entries }),
  );
  const teams = Array.from({ length: 100 }, (_, i) => ({ name: `slow-${i}`, notes: { data: [{ title: "x" }] } }));
  stopped(
    "nested insert, 100 slow parents",
    await run("mutation ($o: [team_insert_input!]!) { insert_team(objects: $o) { affected_rows } }", { o: teams }),
  );
  const aliases = Array.from(
    { length: 40 },
    (_, i) => `a${i}: update_note(where: {id: {_eq: 1}, nap: {_eq: true}}, _inc: {secret: 1}) { affected_rows }`,
  );
  stopped("40 aliased slow updates", await run(`mutation { ${aliases.join(" ")} }`));
  t.strictSame(await state(), before, "everything was rolled back");

  // /graphql: PostGraphile commits each mutation field on its own; the fields past the bound do not run.
  const creates = Array.from(
    { length: 30 },
    (_, i) => `a${i}: createNoteAudit(input: {noteAudit: {noteId: 1, what: "slow"}}) { clientMutationId }`,
  );
  const started = Date.now();
  const pg = await slow.gql(`mutation { ${creates.join(" ")} }`, { headers: { ...U1, [BACKEND]: "true" } });
  const ms = Date.now() - started;
  const codes = new Set((pg.body.errors ?? []).map((e: { extensions?: { code?: string } }) => e.extensions?.code));
  t.strictSame([...codes], ["timeout"], `/graphql: the fields past the bound fail with timeout (${JSON.stringify(pg.body).slice(-200)})`);
  t.ok(ms < LIMIT_MS + 1500, `/graphql: stopped after ${ms} ms`);
  const written = (await slowDb.asRoot("select count(*)::int as n from public.note_audit"))[0]!.n;
  t.ok(written > 0 && written < 30, `/graphql: the fields before the bound are written (${written} of 30)`);

  // Within the bound, the same requests work.
  const few = await run("mutation ($u: [note_updates!]!) { update_note_many(updates: $u) { affected_rows } }", { u: entries.slice(0, 3) });
  t.strictSame(
    few.res.body,
    { data: { update_note_many: [{ affected_rows: 1 }, { affected_rows: 1 }, { affected_rows: 1 }] } },
    "3 entries",
  );
  const fewTeams = await run("mutation ($o: [team_insert_input!]!) { insert_team(objects: $o) { affected_rows } }", {
    o: teams.slice(0, 3),
  });
  t.strictSame(fewTeams.res.body, { data: { insert_team: { affected_rows: 6 } } }, "3 nested parents");
  // Each operation of a batch has its own bound.
  const batch = await fetch(slow.url + V1, {
    method: "POST",
    headers: { "content-type": "application/json", ...U1 },
    body: JSON.stringify(
      Array.from({ length: 3 }, () => ({
        query: "mutation ($u: [note_updates!]!) { update_note_many(updates: $u) { affected_rows } }",
        variables: { u: entries.slice(0, 12) },
      })),
    ),
  });
  const answers = (await batch.json()) as GqlResponse["body"][];
  t.ok(
    answers.every((a) => a.data?.update_note_many?.length === 12),
    `a batch of three 600 ms operations: each within its own bound (${JSON.stringify(answers).slice(0, 200)})`,
  );
});

t.test("cost: nested inserts cannot nest without bound", async (t) => {
  const count = async () => (await db.asRoot("select count(*)::int as n from public.team"))[0]!.n;
  const before = await count();
  // In the document: the parser's own bound (and the token limit).
  let literal = `{title: "leaf"}`;
  for (let i = 0; i < 2000; i++) literal = `{title: "n", team: {data: {name: "deep${i}", notes: {data: [${literal}]}}}}`;
  const deep = await ask(`mutation { insert_note(objects: [${literal}]) { affected_rows } }`);
  t.equal(
    deep.body.errors?.[0]?.extensions?.code,
    "validation-failed",
    `2,000 levels in the document: ${JSON.stringify(deep.body).slice(0, 200)}`,
  );
  // In variables: the variables' depth limit.
  let nested: Record<string, unknown> = { title: "leaf" };
  for (let i = 0; i < 30; i++) nested = { title: "n", team: { data: { name: `deep${i}`, notes: { data: [nested] } } } };
  const viaVariables = await ask("mutation ($o: [note_insert_input!]!) { insert_note(objects: $o) { affected_rows } }", U1, V1, {
    o: [nested],
  });
  t.match(viaVariables.body.errors?.[0]?.message, /nested deeper than the limit/, "30 levels in variables");
  t.equal(await count(), before, "nothing written");
});
