/**
 * `update_t_many` and the jsonb update operators in Hasura's dialect
 * (server/hasura/update-operators.ts), on a test-local `doc` table in the
 * blog database: `user` reads its own docs, may update `data`, `counter`
 * and `title` but not `meta` (jsonb too), and may update but not read
 * `notes` (jsonb: an operator reads the value it changes), through real HTTP:
 *
 *  1. Schema: `update_doc`, `update_doc_by_pk` and `doc_updates` take
 *     `_prepend _append _delete_key _delete_elem _delete_at_path`, typed
 *     `doc_<op>_input` over the jsonb columns the role may update and read
 *     (`data`, not `meta` nor `notes`); `update_doc_many(updates: [doc_updates!]!): [doc_mutation_response]`;
 *     a table without jsonb columns (`article`) has no jsonb operators.
 *  2. Each operator does what Postgres' jsonb operator does: `||` either
 *     side, `-` key, `-` index, `#-` path.
 *  3. A column in two operators is refused as Hasura refuses it.
 *  4. update_many runs its entries in order (the second sees the first's
 *     result), each answering its own mutation_response; RLS narrows each
 *     (another user's doc: affected_rows 0).
 *  5. An entry that fails rolls back the ones before it.
 */
import t from "tap";
import { TYPE_REF, typeText, type TypeRef } from "../helpers/graphql-types.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { ADMIN, SECURED } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";

const db = await createTestDatabase(t, "blog");
await db.asOwner(`
  create table public.doc (
    id integer primary key,
    owner_id integer not null,
    title text not null default '',
    counter integer not null default 0,
    data jsonb not null default '{}',
    meta jsonb,
    notes jsonb
  );
  insert into public.doc (id, owner_id, data, meta) values
    (1, 1, '{"a": 1, "b": {"c": 2, "d": 3}}', '{}'),
    (2, 1, '[1, 2, 3]', '{}'),
    (3, 2, '{"a": 1}', '{}');
  alter table public.doc enable row level security, force row level security;
  grant select (id, owner_id, title, counter, data, meta), update (title, counter, data, notes) on public.doc to "user";
  create policy user_all on public.doc for all to "user" using (owner_id = (select hasura.user_id_int()));
`);
const srv = await startServer(t, { db, env: SECURED });

const user1 = { ...ADMIN, "x-hasura-role": "user", "x-hasura-user-id": "1" };

async function gql(query: string, variables?: Record<string, unknown>) {
  return (await srv.gql(query, { headers: user1, path: "/v1/graphql", variables })).body;
}

async function docData(id: number): Promise<unknown> {
  return (await db.asRoot<{ data: unknown }>(`select data from public.doc where id = $1`, [id]))[0]!.data;
}

t.test("schema", async (t) => {
  const body = await gql(`{
    __schema { mutationType { fields { name type { ...T } args { name type { ...T } } } } }
    updates: __type(name: "doc_updates") { inputFields { name type { ...T } } }
    append: __type(name: "doc_append_input") { inputFields { name type { ...T } } }
    deleteAtPath: __type(name: "doc_delete_at_path_input") { inputFields { name type { ...T } } }
  } ${TYPE_REF}`);
  const fields = new Map<string, { type: TypeRef; args: { name: string; type: TypeRef }[] }>(
    body.data.__schema.mutationType.fields.map((f: any) => [f.name, f]),
  );
  const args = (field: string) => Object.fromEntries(fields.get(field)!.args.map((a) => [a.name, typeText(a.type)]));
  const JSONB_OPS = {
    _append: "doc_append_input",
    _delete_at_path: "doc_delete_at_path_input",
    _delete_elem: "doc_delete_elem_input",
    _delete_key: "doc_delete_key_input",
    _prepend: "doc_prepend_input",
  };
  t.same(args("update_doc"), { where: "doc_bool_exp!", _set: "doc_set_input", _inc: "doc_inc_input", ...JSONB_OPS });
  t.same(args("update_doc_by_pk"), { pk_columns: "doc_pk_columns_input!", _set: "doc_set_input", _inc: "doc_inc_input", ...JSONB_OPS });
  t.same(args("update_doc_many"), { updates: "[doc_updates!]!" });
  t.equal(typeText(fields.get("update_doc_many")!.type), "[doc_mutation_response]");
  const inputs = (type: { inputFields: { name: string; type: TypeRef }[] }) =>
    Object.fromEntries(type.inputFields.map((f) => [f.name, typeText(f.type)]));
  t.same(inputs(body.data.updates), { _set: "doc_set_input", _inc: "doc_inc_input", ...JSONB_OPS, where: "doc_bool_exp!" });
  t.same(inputs(body.data.append), { data: "jsonb" }, "only the jsonb column the role may update and read (not meta, not notes)");
  t.same(inputs(body.data.deleteAtPath), { data: "[String!]" });
  t.notOk("_append" in args("update_article"), "no jsonb column, no jsonb operators");
});

t.test("each jsonb operator", async (t) => {
  const append = await gql(`mutation { update_doc_by_pk(pk_columns: {id: 1}, _append: {data: {e: 5}}) { data } }`);
  t.same(append, { data: { update_doc_by_pk: { data: { a: 1, b: { c: 2, d: 3 }, e: 5 } } } });
  const deleteKey = await gql(
    `mutation { update_doc(where: {id: {_eq: 1}}, _delete_key: {data: "a"}) { affected_rows returning { data } } }`,
  );
  t.same(deleteKey, { data: { update_doc: { affected_rows: 1, returning: [{ data: { b: { c: 2, d: 3 }, e: 5 } }] } } });
  const deletePath = await gql(`mutation($p: [String!]) { update_doc_by_pk(pk_columns: {id: 1}, _delete_at_path: {data: $p}) { data } }`, {
    p: ["b", "c"],
  });
  t.same(deletePath, { data: { update_doc_by_pk: { data: { b: { d: 3 }, e: 5 } } } });

  const prepend = await gql(`mutation { update_doc_by_pk(pk_columns: {id: 2}, _prepend: {data: [0]}) { data } }`);
  t.same(prepend, { data: { update_doc_by_pk: { data: [0, 1, 2, 3] } } });
  const deleteElem = await gql(`mutation { update_doc_by_pk(pk_columns: {id: 2}, _delete_elem: {data: -1}) { data } }`);
  t.same(deleteElem, { data: { update_doc_by_pk: { data: [0, 1, 2] } } });
  t.same(await docData(2), [0, 1, 2], "stored");

  const other = await gql(`mutation { update_doc(where: {id: {_eq: 3}}, _append: {data: {x: 1}}) { affected_rows } }`);
  t.same(other, { data: { update_doc: { affected_rows: 0 } } }, "RLS: another user's doc is not updated");
  t.same(await docData(3), { a: 1 });
});

t.test("a column in two operators", async (t) => {
  const body = await gql(`mutation { update_doc(where: {}, _set: {data: {}}, _append: {data: {z: 1}}) { affected_rows } }`);
  t.same(body, {
    errors: [
      {
        message: "Column found in multiple operators: ['data'].",
        extensions: { path: "$.selectionSet.update_doc.args", code: "validation-failed" },
      },
    ],
  });
  const notMeta = await gql(`mutation { update_doc(where: {}, _append: {meta: {z: 1}}) { affected_rows } }`);
  t.equal(notMeta.errors?.[0]?.extensions?.code, "validation-failed", "meta is not updatable: not in doc_append_input");
});

t.test("update_many: in order, one response each", async (t) => {
  await db.asRoot(`update public.doc set counter = 0, title = ''`);
  const body = await gql(`mutation {
    update_doc_many(updates: [
      {where: {id: {_eq: 1}}, _inc: {counter: 1}},
      {where: {counter: {_eq: 1}}, _set: {title: "second saw the first"}, _append: {data: {many: true}}},
      {where: {owner_id: {_eq: 2}}, _set: {title: "not mine"}}
    ]) { affected_rows returning { id counter title } }
  }`);
  t.same(body, {
    data: {
      update_doc_many: [
        { affected_rows: 1, returning: [{ id: 1, counter: 1, title: "" }] },
        { affected_rows: 1, returning: [{ id: 1, counter: 1, title: "second saw the first" }] },
        { affected_rows: 0, returning: [] },
      ],
    },
  });
  t.same(await db.asRoot(`select id, title from public.doc order by id`), [
    { id: 1, title: "second saw the first" },
    { id: 2, title: "" },
    { id: 3, title: "" },
  ]);
  t.match(await docData(1), { many: true });
});

t.test("update_many: a failing entry rolls back the earlier ones", async (t) => {
  const before = await db.asRoot(`select id, counter, data from public.doc order by id`);
  // Postgres refuses `-` with an integer on an object (data-exception).
  const body = await gql(`mutation {
    update_doc_many(updates: [
      {where: {id: {_eq: 2}}, _inc: {counter: 10}},
      {where: {id: {_eq: 1}}, _delete_elem: {data: 0}}
    ]) { affected_rows }
  }`);
  t.equal(body.errors?.[0]?.extensions?.code, "data-exception");
  t.same(await db.asRoot(`select id, counter, data from public.doc order by id`), before, "nothing changed");
});
