/**
 * Hasura's subscription root (server/hasura/subscription-plugin.ts), read by
 * introspection over /v1/graphql for every role of both example models:
 * the query root's table and function fields, plus `t_stream` for each
 * table the role may select, with Hasura's stream input types; the
 * select declaration's `subscription_root_fields` switches the
 * subscription root's fields as `query_root_fields` switches the query
 * root's; anonymous of the blog has a query and a subscription root and no
 * mutation root (seed 002's walkthrough).
 */
import t, { type Test } from "tap";
import { createTestDatabase } from "../helpers/pg.ts";
import { appRoles } from "../helpers/roles.ts";
import { startServer, type TestServer } from "../helpers/server.ts";
import { dataOf, expectHasuraError, V1 } from "./helpers-walkthrough.ts";

interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}
interface Field {
  name: string;
  type: TypeRef;
  args: { name: string; type: TypeRef }[];
}

const TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name } } }";
const ROOTS = `{ __schema {
  queryType { name fields { name type { ${TYPE_REF} } args { name type { ${TYPE_REF} } } } }
  mutationType { name }
  subscriptionType { name fields { name type { ${TYPE_REF} } args { name type { ${TYPE_REF} } } } }
} }`;

const named = (ref: TypeRef): string => (ref.name ?? named(ref.ofType!)) as string;
const show = (ref: TypeRef): string =>
  ref.kind === "NON_NULL" ? `${show(ref.ofType!)}!` : ref.kind === "LIST" ? `[${show(ref.ofType!)}]` : ref.name!;

async function roots(t: Test, srv: TestServer, role: string) {
  const data = dataOf(t, await srv.gql(ROOTS, { headers: { "x-hasura-role": role }, path: V1 }), `introspection as ${role}`);
  return data.__schema as {
    queryType: { name: string; fields: Field[] };
    mutationType: { name: string } | null;
    subscriptionType: { name: string; fields: Field[] } | null;
  };
}

/** The query root's fields, and `t_stream` for each of its list fields named after their table type. */
function expectedSubscriptionFields(query: Field[]): string[] {
  const names = query.map((f) => f.name).filter((n) => n !== "no_queries_available");
  const streams = query.filter((f) => show(f.type).startsWith("[") && named(f.type) === f.name).map((f) => `${f.name}_stream`);
  return [...names, ...streams].sort();
}

for (const project of ["app", "blog"] as const) {
  t.test(`${project}: every role's subscription root mirrors its query root, with _stream fields`, async (t) => {
    const db = await createTestDatabase(t, project);
    const srv = await startServer(t, { db });
    const roles = await appRoles(db);
    t.ok(roles.length >= 3, `${project} has its roles (${roles.join(", ")})`);
    for (const role of roles) {
      const s = await roots(t, srv, role);
      t.equal(s.queryType.name, "query_root", `${role}: query_root`);
      const tables = s.queryType.fields.filter((f) => f.name !== "no_queries_available");
      if (!tables.length) {
        t.equal(s.subscriptionType, null, `${role}: no query fields, no subscription root (Hasura)`);
        continue;
      }
      t.equal(s.subscriptionType?.name, "subscription_root", `${role}: subscription_root`);
      const sub = s.subscriptionType!.fields;
      t.same(
        sub.map((f) => f.name).sort(),
        expectedSubscriptionFields(s.queryType.fields),
        `${role}: the query root's fields plus _stream`,
      );
      // Same arguments and types as the query root's field.
      for (const q of tables) {
        const f = sub.find((x) => x.name === q.name)!;
        t.equal(show(f.type), show(q.type), `${role}: ${q.name} type`);
        t.same(
          f.args.map((a) => `${a.name}: ${show(a.type)}`),
          q.args.map((a) => `${a.name}: ${show(a.type)}`),
          `${role}: ${q.name} arguments`,
        );
      }
      for (const f of sub.filter((x) => x.name.endsWith("_stream") && !tables.some((q) => q.name === x.name))) {
        const table = f.name.slice(0, -"_stream".length);
        t.equal(show(f.type), `[${table}!]!`, `${role}: ${f.name} type`);
        t.same(
          f.args.map((a) => `${a.name}: ${show(a.type)}`),
          [`batch_size: Int!`, `cursor: [${table}_stream_cursor_input]!`, `where: ${table}_bool_exp`],
          `${role}: ${f.name} arguments`,
        );
      }
    }
  });
}

t.test("blog: stream input types as Hasura's; anonymous has no mutation root", async (t) => {
  const db = await createTestDatabase(t, "blog");
  const srv = await startServer(t, { db });
  const anon = await roots(t, srv, "anonymous");
  t.equal(anon.mutationType, null, "anonymous: no mutation_root");
  t.equal(anon.subscriptionType?.name, "subscription_root", "anonymous: a subscription_root");
  t.ok(
    anon.subscriptionType?.fields.some((f) => f.name === "article_stream"),
    "anonymous: article_stream",
  );

  const types = dataOf(
    t,
    await srv.gql(
      `{ cursorInput: __type(name: "article_stream_cursor_input") { description inputFields { name description type { ${TYPE_REF} } } }
         valueInput: __type(name: "article_stream_cursor_value_input") { description inputFields { name type { ${TYPE_REF} } } }
         ordering: __type(name: "cursor_ordering") { description enumValues { name description } }
         authorValue: __type(name: "author_stream_cursor_value_input") { inputFields { name } } }`,
      { headers: { "x-hasura-role": "anonymous" }, path: V1 },
    ),
    "stream types",
  );
  t.equal(types.cursorInput.description, 'Streaming cursor of the table "article"');
  t.same(
    types.cursorInput.inputFields.map((f: { name: string; description: string; type: TypeRef }) => [f.name, f.description, show(f.type)]),
    [
      ["initial_value", "Stream column input with initial value", "article_stream_cursor_value_input!"],
      ["ordering", "cursor ordering", "cursor_ordering"],
    ],
  );
  t.equal(types.valueInput.description, "Initial value of the column from where the streaming should start");
  const article = await db.asRoot<{ column_name: string }>(
    `select column_name from information_schema.column_privileges
      where table_schema = 'public' and table_name = 'article' and grantee = 'anonymous' and privilege_type = 'SELECT'
      order by column_name`,
  );
  t.same(
    types.valueInput.inputFields.map((f: { name: string; type: TypeRef }) => f.name).sort(),
    article.map((r) => r.column_name),
    "the cursor value input: anonymous's selectable columns of article, all nullable",
  );
  t.ok(
    types.valueInput.inputFields.every((f: { type: TypeRef }) => f.type.kind !== "NON_NULL"),
    "every cursor column is optional",
  );
  t.same(types.ordering, {
    description: "ordering argument of a cursor",
    enumValues: [
      { name: "ASC", description: "ascending ordering of the cursor" },
      { name: "DESC", description: "descending ordering of the cursor" },
    ],
  });
  t.same(types.authorValue.inputFields.map((f: { name: string }) => f.name).sort(), ["id", "name"], "author: the bylines only");

  // Over HTTP the subscription root validates, then the request is refused as Hasura refuses it.
  expectHasuraError(
    t,
    await srv.gql("subscription { article_stream(batch_size: 1, cursor: {initial_value: {id: 0}}) { id } }", {
      headers: { "x-hasura-role": "anonymous" },
      path: V1,
    }),
    "subscription over HTTP",
    { status: 200, code: "unexpected-payload", message: "subscriptions are not supported over HTTP, use websockets instead" },
  );
});

t.test("subscription_root_fields switches the subscription root's fields, query_root_fields the query root's", async (t) => {
  const db = await createTestDatabase(t, "blog");
  await db.asOwner(`
    call hasura.select_permission('public.article', 'user', allow_aggregations => true,
      query_root_fields => array['select_by_pk', 'select', 'select_aggregate'],
      subscription_root_fields => array['select', 'select_stream']);
    call hasura.select_permission('public.author', 'user', subscription_root_fields => array[]::text[]);
    call hasura.select_permission('public.article', 'anonymous', allow_aggregations => true,
      subscription_root_fields => array['select_aggregate', 'select_by_pk']);
  `);
  const srv = await startServer(t, { db });
  const fieldsOf = (list: Field[] | undefined, table: string) =>
    (list ?? [])
      .map((f) => f.name)
      .filter((n) => ["", "_aggregate", "_by_pk", "_stream"].some((suffix) => n === table + suffix))
      .sort();

  const user = await roots(t, srv, "user");
  t.same(fieldsOf(user.queryType.fields, "article"), ["article", "article_aggregate", "article_by_pk"], "user: query root unchanged");
  t.same(fieldsOf(user.subscriptionType?.fields, "article"), ["article", "article_stream"], "user: select and select_stream only");
  t.same(fieldsOf(user.queryType.fields, "author"), ["author", "author_by_pk"], "user: author on the query root");
  t.same(fieldsOf(user.subscriptionType?.fields, "author"), [], "user: no author field on the subscription root");

  const anon = await roots(t, srv, "anonymous");
  t.same(fieldsOf(anon.subscriptionType?.fields, "article"), ["article_aggregate", "article_by_pk"], "anonymous: aggregate and by_pk only");
  t.same(fieldsOf(anon.queryType.fields, "article"), ["article", "article_aggregate", "article_by_pk"], "anonymous: query root unchanged");

  // A relationship still reaches the hidden table, as Hasura keeps relationship access.
  const rel = dataOf(
    t,
    await srv.gql('{ __type(name: "article") { fields { name } } }', { headers: { "x-hasura-role": "user" }, path: V1 }),
    "article type",
  );
  t.ok(
    rel.__type.fields.some((f: { name: string }) => f.name === "author"),
    "user: article.author still there",
  );
});

t.test("tracked functions: the stable ones on the subscription root as on the query root, the volatile ones on neither", async (t) => {
  const db = await createTestDatabase(t, "blog");
  await db.asOwner(`
    create table public.track (id int primary key, name text not null);
    create function public.search_tracks(search text) returns setof public.track
      language sql stable as $$ select * from public.track where name ilike ('%' || search || '%') $$;
    create function public.first_track() returns public.track
      language sql stable as $$ select * from public.track order by id limit 1 $$;
    create function public.rename_track(track_id int, new_name text) returns setof public.track
      language sql volatile as $$ update public.track set name = new_name where id = track_id returning * $$;
    alter table public.track enable row level security, force row level security;
    grant select on public.track to "user";
    grant update (name) on public.track to "user";
    create policy user_select on public.track for select to "user" using (true);
    create policy user_update on public.track for update to "user" using (true);
    call hasura.select_permission('public.track', 'user', allow_aggregations => true);
  `);
  const srv = await startServer(t, { db });
  const user = await roots(t, srv, "user");
  const functions = (list: Field[] | undefined) =>
    (list ?? [])
      .filter((f) => /track/.test(f.name) && !f.name.startsWith("track"))
      .map((f) => `${f.name}(${f.args.map((a) => `${a.name}: ${show(a.type)}`).join(", ")}): ${show(f.type)}`)
      .sort();
  const onQuery = functions(user.queryType.fields);
  t.same(
    onQuery.map((s) => s.split("(")[0]),
    ["first_track", "search_tracks", "search_tracks_aggregate"],
    "the query root's tracked functions",
  );
  t.same(functions(user.subscriptionType?.fields), onQuery, "the same on the subscription root, same arguments and types");
  t.notOk(
    user.subscriptionType?.fields.some((f) => f.name === "rename_track"),
    "no volatile function",
  );
});
