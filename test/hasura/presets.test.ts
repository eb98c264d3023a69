/**
 * Column presets (hasura.column_preset, sql/permissions.sql) through real
 * HTTP, in both dialects, on a test-local `resident` table modelled on
 * Hasura's tests-py (graphql_mutation/insert/permissions/resident_user,
 * update/permissions/user_update_resident_preset,
 * insert/permissions/blog_on_conflict_update_preset):
 *
 *  - a preset column is not client input: absent from `t_insert_input`,
 *    `t_set_input`, `t_inc_input`, `t_update_column` (Hasura removes it
 *    from the permission's columns), and from /graphql's create and patch
 *    inputs; naming it is a validation error;
 *  - its value is the preset's, from a literal or a session variable, on
 *    insert, update and an upsert's update;
 *  - an update with no `_set`/`_inc` assigns the role's update presets (it
 *    runs); one with nothing to set and no preset answers affected_rows 0
 *    without running (Hasura's empty mutation response);
 *  - a preset the role may not name (no UPDATE grant on it) still holds
 *    through the trigger when something else is set; alone, the update
 *    says it cannot run.
 */
import t, { type Test } from "tap";
import { createTestDatabase } from "../helpers/pg.ts";
import { ADMIN, SECURED } from "../helpers/secured.ts";
import { startServer, type GqlResponse, type TestServer } from "../helpers/server.ts";

const V1 = "/v1/graphql";
const USER = { ...ADMIN, "x-hasura-role": "user", "x-hasura-user-id": "7" };
const ANONYMOUS = { ...ADMIN, "x-hasura-role": "anonymous" };

const FIXTURE = `
  create table public.resident (
    id serial primary key,
    name text not null unique,
    age int not null,
    city text not null default 'nowhere',
    updated_by int
  );
  insert into public.resident (name, age, city) values ('clarke', 21, 'sydney'), ('bellamy', 30, 'perth');
  alter table public.resident enable row level security, force row level security;

  -- user: city and updated_by are presets; updated_by is granted for update
  -- only (an insert preset needs no grant), so an update may assign it.
  grant select on public.resident to "user";
  grant insert (name, age, city), update (name, age, city, updated_by) on public.resident to "user";
  grant usage on sequence public.resident_id_seq to "user";
  create policy user_all on public.resident for all to "user" using (true);
  call hasura.column_preset('public.resident', 'user', 'insert', 'city', value => 'melbourne');
  call hasura.column_preset('public.resident', 'user', 'insert', 'updated_by', session_variable => 'x-hasura-user-id');
  call hasura.column_preset('public.resident', 'user', 'update', 'updated_by', session_variable => 'X-Hasura-User-Id');

  -- anonymous: updates age; city is an update preset it is not granted.
  grant select, update (age) on public.resident to anonymous;
  create policy anonymous_all on public.resident for all to anonymous using (true);
  call hasura.column_preset('public.resident', 'anonymous', 'update', 'city', value => 'auckland');

  grant all on public.resident to admin;
  create policy admin_all on public.resident for all to admin using (true);
`;

async function rows(srv: TestServer, where = "true"): Promise<unknown[]> {
  return srv.db.asRoot(`select id, name, age, city, updated_by from public.resident where ${where} order by id`);
}

function dataOf(t: Test, res: GqlResponse, what: string): Record<string, unknown> {
  t.equal(res.status, 200, `${what}: HTTP 200`);
  t.notOk(res.body.errors, `${what}: no errors`);
  return res.body.data;
}

function errorOf(t: Test, res: GqlResponse, code: string, message: string | RegExp, what: string): void {
  const error = res.body.errors?.[0];
  t.equal(error?.extensions?.code, code, `${what}: ${code}`);
  if (typeof message === "string") t.equal(error?.message, message, `${what}: message`);
  else t.match(error?.message, message, `${what}: message`);
}

const INPUT_FIELDS = `query($name: String!) { __type(name: $name) { inputFields { name } enumValues { name } } }`;

async function inputFields(srv: TestServer, path: string, headers: Record<string, string>, type: string): Promise<string[] | null> {
  const res = await srv.gql(INPUT_FIELDS, { path, headers, variables: { name: type } });
  const found = res.body.data?.__type;
  if (!found) return null;
  return (found.inputFields ?? found.enumValues).map((f: { name: string }) => f.name).sort();
}

t.test("column presets", async (t) => {
  const db = await createTestDatabase(t, "blog");
  await db.asOwner(FIXTURE);
  const srv = await startServer(t, { db, env: SECURED });

  t.test("a preset column is not client input (Hasura's dialect)", async (t) => {
    t.same(await inputFields(srv, V1, USER, "resident_insert_input"), ["age", "name"], "insert: no city, no updated_by");
    t.same(await inputFields(srv, V1, USER, "resident_set_input"), ["age", "city", "name"], "update: no updated_by");
    t.same(await inputFields(srv, V1, USER, "resident_inc_input"), ["age"], "inc: no updated_by");
    t.same(
      await inputFields(srv, V1, USER, "resident_update_column"),
      ["age", "city", "name"],
      "on_conflict update columns: no updated_by",
    );
    t.same(await inputFields(srv, V1, ANONYMOUS, "resident_set_input"), ["age"], "anonymous sets age only");
    t.same(
      await inputFields(srv, V1, ADMIN, "resident_insert_input"),
      ["age", "city", "id", "name", "updated_by"],
      "another role's presets change nothing for admin",
    );
    const before = await rows(srv);
    const res = await srv.gql('mutation { insert_resident(objects: [{name: "x", age: 1, city: "paris"}]) { affected_rows } }', {
      path: V1,
      headers: USER,
    });
    errorOf(t, res, "validation-failed", `field "city" not found in type: 'resident_insert_input'`, "naming the preset");
    t.same(await rows(srv), before, "nothing written");
  });

  t.test("insert: the presets' values, from a literal and a session variable", async (t) => {
    const res = await srv.gql(
      'mutation { insert_resident(objects: [{name: "octavia", age: 25}]) { affected_rows returning { name age city updated_by } } }',
      { path: V1, headers: USER },
    );
    t.same(dataOf(t, res, "insert"), {
      insert_resident: { affected_rows: 1, returning: [{ name: "octavia", age: 25, city: "melbourne", updated_by: 7 }] },
    });
    t.same(await srv.db.asRoot("select city, updated_by from public.resident where name = 'octavia'"), [
      { city: "melbourne", updated_by: 7 },
    ]);
    const missing = await srv.gql('mutation { insert_resident_one(object: {name: "raven", age: 25}) { id } }', {
      path: V1,
      headers: { ...ADMIN, "x-hasura-role": "user" },
    });
    errorOf(t, missing, "not-found", 'missing session variable: "x-hasura-user-id"', "a preset's session variable is required");
  });

  t.test("update with no _set or _inc assigns the update presets", async (t) => {
    const res = await srv.gql(
      'mutation { update_resident(where: {name: {_eq: "clarke"}}) { affected_rows returning { name city updated_by } } }',
      { path: V1, headers: USER },
    );
    t.same(dataOf(t, res, "presets only"), {
      update_resident: { affected_rows: 1, returning: [{ name: "clarke", city: "sydney", updated_by: 7 }] },
    });
    const byPk = await srv.gql("mutation { update_resident_by_pk(pk_columns: {id: 2}) { name updated_by } }", {
      path: V1,
      headers: { ...USER, "x-hasura-user-id": "8" },
    });
    t.same(dataOf(t, byPk, "by pk, presets only"), { update_resident_by_pk: { name: "bellamy", updated_by: 8 } });
    t.same(await rows(srv, "id in (1, 2)"), [
      { id: 1, name: "clarke", age: 21, city: "sydney", updated_by: 7 },
      { id: 2, name: "bellamy", age: 30, city: "perth", updated_by: 8 },
    ]);
  });

  t.test("an upsert's update takes the update presets, not the insert ones", async (t) => {
    await srv.db.asRoot("update public.resident set updated_by = null where id = 1");
    const res = await srv.gql(
      'mutation { insert_resident(objects: [{name: "clarke", age: 22}], on_conflict: {constraint: resident_name_key, update_columns: [age]}) { affected_rows returning { id age city updated_by } } }',
      { path: V1, headers: { ...USER, "x-hasura-user-id": "9" } },
    );
    t.same(dataOf(t, res, "upsert"), {
      insert_resident: { affected_rows: 1, returning: [{ id: 1, age: 22, city: "sydney", updated_by: 9 }] },
    });
  });

  t.test("a preset the role may not name holds through the trigger", async (t) => {
    const set = await srv.gql(
      "mutation { update_resident(where: {id: {_eq: 1}}, _set: {age: 40}) { affected_rows returning { age city } } }",
      {
        path: V1,
        headers: ANONYMOUS,
      },
    );
    t.same(dataOf(t, set, "_set age"), { update_resident: { affected_rows: 1, returning: [{ age: 40, city: "auckland" }] } });
    const before = await rows(srv);
    const alone = await srv.gql("mutation { update_resident(where: {id: {_eq: 2}}) { affected_rows } }", { path: V1, headers: ANONYMOUS });
    errorOf(t, alone, "not-supported", /update presets of "resident" apply only with _set or _inc/, "presets alone, none nameable");
    t.same(await rows(srv), before, "nothing written");
  });

  t.test("nothing to set and no preset: affected_rows 0, nothing run", async (t) => {
    const before = await rows(srv);
    const res = await srv.gql(
      "mutation { update_resident(where: {}) { affected_rows returning { id } } update_resident_by_pk(pk_columns: {id: 1}, _set: {}) { id } }",
      { path: V1, headers: ADMIN },
    );
    t.same(dataOf(t, res, "empty update"), { update_resident: { affected_rows: 0, returning: [] }, update_resident_by_pk: null });
    t.same(await rows(srv), before, "nothing written");
  });

  t.test("/graphql: preset columns are not in the create and patch inputs; the presets hold", async (t) => {
    t.same(await inputFields(srv, "/graphql", USER, "ResidentInput"), ["age", "name"]);
    t.same(await inputFields(srv, "/graphql", USER, "ResidentPatch"), ["age", "city", "name"]);
    t.same(await inputFields(srv, "/graphql", ANONYMOUS, "ResidentPatch"), ["age"]);
    const forged = await srv.gql(
      'mutation { createResident(input: {resident: {name: "forged", age: 1, city: "paris", updatedBy: 1}}) { resident { id } } }',
      { headers: USER },
    );
    t.match(forged.body.errors?.[0]?.message, /"city" is not defined by type "ResidentInput"/, "naming a preset column is refused");
    t.same(await srv.db.asRoot("select 1 from public.resident where name = 'forged'"), [], "nothing written");
    const created = await srv.gql(
      'mutation { createResident(input: {resident: {name: "monty", age: 50}}) { resident { name city updatedBy } } }',
      { headers: USER },
    );
    t.same(created.body, { data: { createResident: { resident: { name: "monty", city: "melbourne", updatedBy: 7 } } } });
    const patched = await srv.gql("mutation { updateResidentById(input: {id: 1, residentPatch: {age: 41}}) { resident { age city } } }", {
      headers: ANONYMOUS,
    });
    t.same(patched.body, { data: { updateResidentById: { resident: { age: 41, city: "auckland" } } } });
  });
});
