/**
 * An upsert's DO UPDATE touches a conflicting row only if the role may both
 * see and update it; any other conflicting row is skipped (affected_rows 0,
 * nothing written), as Hasura skips a row outside its update filter.
 * Postgres alone raises an RLS error there (ExecOnConflictUpdate checks the
 * SELECT and UPDATE policies on the existing row), so the server adds a
 * sub-select `FOR UPDATE` run as the role (server/hasura/mutation-plugin.ts
 * updatableWhere). Hasura's own case is tests-py's
 * resident_5_modifies_resident_6_upsert (test/hasura/tests-py/).
 *
 * Fixture: `note`, which `user` reads entirely but updates only where it is
 * the owner, with UPDATE on one column only (FOR UPDATE needs UPDATE on some
 * column, not all); `secret`, which `user` cannot see at all except its own.
 */
import t from "tap";
import { createTestDatabase } from "../helpers/pg.ts";
import { ADMIN, SECURED } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";

const V1 = "/v1/graphql";
const ADA = { ...ADMIN, "x-hasura-role": "user", "x-hasura-user-id": "1" };

const FIXTURE = `
  create table public.note (id int primary key, owner int not null, body text not null);
  insert into public.note values (1, 1, 'ada''s'), (2, 2, 'grace''s');
  alter table public.note enable row level security, force row level security;
  grant select, insert (id, owner, body), update (body) on public.note to "user";
  create policy user_select on public.note for select to "user" using (true);
  create policy user_insert on public.note for insert to "user" with check (owner = (select hasura.user_id_int()));
  create policy user_update on public.note for update to "user" using (owner = (select hasura.user_id_int()));

  create table public.secret (id int primary key, owner int not null, body text not null);
  insert into public.secret values (1, 1, 'mine'), (2, 2, 'hidden');
  alter table public.secret enable row level security, force row level security;
  grant select, insert, update (body) on public.secret to "user";
  create policy user_all on public.secret for all to "user" using (owner = (select hasura.user_id_int()));`;

t.test("DO UPDATE only on a conflicting row the role may see and update", async (t) => {
  const db = await createTestDatabase(t, "blog");
  await db.asOwner(FIXTURE);
  const srv = await startServer(t, { db, env: SECURED });
  const upsert = (table: string, id: number, body: string, where = "") =>
    srv.gql(
      `mutation { insert_${table}(objects: [{id: ${id}, owner: 1, body: "${body}"}], on_conflict: {constraint: ${table}_pkey, update_columns: [body]${where}}) { affected_rows returning { id body } } }`,
      { path: V1, headers: ADA },
    );

  t.strictSame(
    (await upsert("note", 2, "overwritten")).body,
    { data: { insert_note: { affected_rows: 0, returning: [] } } },
    "a visible row the role may not update is skipped, not an error",
  );
  t.strictSame(
    (await upsert("secret", 2, "overwritten")).body,
    { data: { insert_secret: { affected_rows: 0, returning: [] } } },
    "a hidden row is skipped, not an error",
  );
  t.strictSame(
    (await upsert("note", 1, "updated")).body,
    { data: { insert_note: { affected_rows: 1, returning: [{ id: 1, body: "updated" }] } } },
    "the role's own row is updated",
  );
  t.strictSame(
    (await upsert("secret", 1, "updated", ', where: {body: {_eq: "mine"}}')).body,
    { data: { insert_secret: { affected_rows: 1, returning: [{ id: 1, body: "updated" }] } } },
    "with a where that holds, updated",
  );
  t.strictSame(
    (await upsert("secret", 1, "again", ', where: {body: {_eq: "mine"}}')).body,
    { data: { insert_secret: { affected_rows: 0, returning: [] } } },
    "with a where that no longer holds, skipped",
  );
  t.strictSame(
    (await upsert("note", 3, "new")).body,
    { data: { insert_note: { affected_rows: 1, returning: [{ id: 3, body: "new" }] } } },
    "no conflict: inserted",
  );
  t.strictSame(
    await db.asRoot("select id, body from public.note union all select id + 10, body from public.secret order by 1"),
    [
      { id: 1, body: "updated" },
      { id: 2, body: "grace's" },
      { id: 3, body: "new" },
      { id: 11, body: "updated" },
      { id: 12, body: "hidden" },
    ],
    "only the role's own rows changed",
  );
});
