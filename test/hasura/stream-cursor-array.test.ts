/**
 * A table with an array column (UWFlow's view course_search_index has `terms int[]`):
 * every role's schema builds, and the array column is a stream cursor
 * column typed as a list of its element, as in the query root. Before,
 * the stream cursor types asked PostGraphile for an array codec's type
 * name, which throws, so no role's /v1/graphql schema built.
 */
import t from "tap";
import { createTestDatabase } from "../helpers/pg.ts";
import { startServer } from "../helpers/server.ts";
import { dataOf, V1 } from "./helpers-walkthrough.ts";

interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}

const show = (ref: TypeRef): string =>
  ref.kind === "NON_NULL" ? `${show(ref.ofType!)}!` : ref.kind === "LIST" ? `[${show(ref.ofType!)}]` : ref.name!;
const TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name } } }";

t.test("an array column: the schema builds and the column is a stream cursor column", async (t) => {
  const db = await createTestDatabase(t, "blog");
  await db.asOwner(`
    create table public.course (id int primary key, terms int[] not null default '{}', tags text[]);
    insert into public.course values (1, '{1201,1205}', '{a}'), (2, '{1209}', null);
    alter table public.course enable row level security, force row level security;
    grant select on public.course to "user";
    create policy user_select on public.course for select to "user" using (true);
    call hasura.select_permission('public.course', 'user');
  `);
  const srv = await startServer(t, { db });
  const query = `{
    cursor: __type(name: "course_stream_cursor_value_input") { inputFields { name type { ${TYPE_REF} } } }
    row: __type(name: "course") { fields { name type { ${TYPE_REF} } } }
    subscription: __schema { subscriptionType { fields { name } } }
  }`;
  for (const role of ["user"]) {
    const headers = { "x-hasura-role": role };
    const data = dataOf(t, await srv.gql(query, { headers, path: V1 }), `introspection as ${role}`) as {
      cursor: { inputFields: { name: string; type: TypeRef }[] } | null;
      row: { fields: { name: string; type: TypeRef }[] } | null;
      subscription: { subscriptionType: { fields: { name: string }[] } | null };
    };
    const cursor = Object.fromEntries((data.cursor?.inputFields ?? []).map((f) => [f.name, show(f.type)]));
    t.same(cursor, { id: "Int", tags: "[String]", terms: "[Int]" }, `${role}: the array columns are cursor columns, as lists`);
    const row = Object.fromEntries((data.row?.fields ?? []).map((f) => [f.name, show(f.type)]));
    t.match(row.terms, /^\[Int!?\]!$/, `${role}: the row's array column is a list of its element`);
    t.ok(
      data.subscription.subscriptionType?.fields.some((f) => f.name === "course_stream"),
      `${role}: course_stream on the subscription root`,
    );
  }
  const rows = dataOf(
    t,
    await srv.gql("{ course(order_by: {id: asc}) { id terms } }", { headers: { "x-hasura-role": "user" }, path: V1 }),
    "query",
  );
  t.same(
    rows.course,
    [
      { id: 1, terms: [1201, 1205] },
      { id: 2, terms: [1209] },
    ],
    "the query root reads the array column",
  );
});
