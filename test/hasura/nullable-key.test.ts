/**
 * Issue 13's bug: a role whose only readable key is nullable could not read
 * the table at all. PostGraphile tells a selected row from the all-null row
 * of an unmatched left join by a NOT NULL column; with none readable it fell
 * back to "some readable column is not null", so a stored row whose readable
 * columns were all null counted as missing: null in a /graphql list and an
 * error for the whole /v1/graphql answer (its list items are non-null).
 * server/graphile/ColumnGrantsPlugin.ts now takes such a row as present
 * wherever it is selected from its table, and fetches a relationship into
 * such a table with its own select instead of a left join, so a missing
 * related row is still null.
 *
 *  1. Hasura's tests-py `books` (PK (id, book_name), `user` granted
 *     author_name, book_name, published_on): the rows are readable and
 *     `books_by_pk` is absent (user_should_not_be_able_to_access_books_by_pk).
 *  2. `writer` read only through its nullable unique `name`: every visible
 *     row, the one whose name is null included, in both dialects; a
 *     relationship into it (`novel.writer`) is the row where the writer is
 *     visible, null where RLS hides it or the key is null.
 */
import t, { type Test } from "tap";
import { createTestDatabase } from "../helpers/pg.ts";
import { ADMIN, SECURED } from "../helpers/secured.ts";
import { startServer, type TestServer } from "../helpers/server.ts";

const USER = { ...ADMIN, "x-hasura-role": "user", "x-hasura-user-id": "1" };

async function serve(t: Test): Promise<TestServer> {
  const db = await createTestDatabase(t);
  await db.asOwner(`
    create table public.books (
      id int,
      author_name text,
      book_name text,
      published_on timestamptz,
      primary key (id, book_name)
    );
    insert into public.books values (1, 'J.K. Rowling', 'Harry Porter', '1997-06-26'), (2, null, 'Anonymous', null);
    alter table public.books enable row level security, force row level security;
    grant select (author_name, book_name, published_on) on public.books to "user";
    create policy user_select on public.books for select to "user" using (true);
    grant select on public.books to admin;
    create policy admin_select on public.books for select to admin using (true);

    create table public.writer (id int generated always as identity primary key, name text unique, remarks text);
    insert into public.writer (name, remarks) values ('Ann', 'r'), ('Bob', 'hidden'), (null, 'no name');
    alter table public.writer enable row level security, force row level security;
    grant select (name) on public.writer to "user";
    create policy user_select on public.writer for select to "user" using (remarks <> 'hidden');

    create table public.novel (id int primary key, title text not null, writer_name text references public.writer (name));
    insert into public.novel values (1, 'By Ann', 'Ann'), (2, 'By Bob', 'Bob'), (3, 'By nobody', null);
    alter table public.novel enable row level security, force row level security;
    grant select (id, title, writer_name) on public.novel to "user";
    create policy user_select on public.novel for select to "user" using (true);`);
  return startServer(t, { db, env: SECURED });
}

t.test("Hasura's books: readable without its key, no books_by_pk", async (t) => {
  const srv = await serve(t);
  const v1 = await srv.gql(`{ books(order_by: {book_name: asc}) { author_name book_name } }`, { path: "/v1/graphql", headers: USER });
  t.same(
    v1.body,
    {
      data: {
        books: [
          { author_name: null, book_name: "Anonymous" },
          { author_name: "J.K. Rowling", book_name: "Harry Porter" },
        ],
      },
    },
    "/v1/graphql: every book",
  );
  const byPk = await srv.gql(`query { books_by_pk(id: 1, book_name: "Harry Porter") { author_name book_name published_on } }`, {
    path: "/v1/graphql",
    headers: USER,
  });
  t.same(
    byPk.body,
    {
      errors: [
        {
          message: "field 'books_by_pk' not found in type: 'query_root'",
          extensions: { path: "$.selectionSet.books_by_pk", code: "validation-failed" },
        },
      ],
    },
    "/v1/graphql: books_by_pk is not in the role's schema (Hasura's answer)",
  );
  const admin = await srv.gql(`{ books_by_pk(id: 1, book_name: "Harry Porter") { author_name } }`, { path: "/v1/graphql", headers: ADMIN });
  t.same(admin.body, { data: { books_by_pk: { author_name: "J.K. Rowling" } } }, "admin, who reads the key, has books_by_pk");

  const pg = await srv.gql(`{ allBooks { nodes { authorName bookName } } }`, { headers: USER });
  t.equal(pg.body.errors, undefined, "/graphql: no errors");
  t.equal(pg.body.data?.allBooks?.nodes?.length, 2, "/graphql: every book");
  const pgByPk = await srv.gql(`{ bookByIdAndBookName(id: 1, bookName: "Harry Porter") { authorName } }`, { headers: USER });
  t.match(pgByPk.body.errors?.[0]?.message, /Cannot query field "bookByIdAndBookName"/, "/graphql: no lookup by the unreadable key");
});

t.test("a table read only through a nullable unique key, and a relationship into it", async (t) => {
  const srv = await serve(t);
  const writers = await srv.gql(`{ writer(order_by: {name: asc_nulls_last}) { name } }`, { path: "/v1/graphql", headers: USER });
  t.same(writers.body, { data: { writer: [{ name: "Ann" }, { name: null }] } }, "/v1/graphql: the visible writers, the nameless one too");

  const novels = await srv.gql(`{ novel(order_by: {id: asc}) { title writer { name } } }`, { path: "/v1/graphql", headers: USER });
  t.same(
    novels.body,
    {
      data: {
        novel: [
          { title: "By Ann", writer: { name: "Ann" } },
          { title: "By Bob", writer: null },
          { title: "By nobody", writer: null },
        ],
      },
    },
    "/v1/graphql: the related writer, null where RLS hides it or there is none",
  );
  const one = await srv.gql(`{ novel_by_pk(id: 2) { title writer { name } } }`, { path: "/v1/graphql", headers: USER });
  t.same(one.body, { data: { novel_by_pk: { title: "By Bob", writer: null } } }, "/v1/graphql: a hidden writer under a _by_pk is null");

  const pg = await srv.gql(`{ allWriters { nodes { name } } allNovels(orderBy: ID_ASC) { nodes { title writerByWriterName { name } } } }`, {
    headers: USER,
  });
  t.equal(pg.body.errors, undefined, "/graphql: no errors");
  t.same(
    [...(pg.body.data?.allWriters?.nodes ?? [])].sort((a, b) => String(a?.name).localeCompare(String(b?.name))),
    [{ name: "Ann" }, { name: null }],
    "/graphql: the nameless writer is a row, not null",
  );
  t.same(
    pg.body.data?.allNovels?.nodes,
    [
      { title: "By Ann", writerByWriterName: { name: "Ann" } },
      { title: "By Bob", writerByWriterName: null },
      { title: "By nobody", writerByWriterName: null },
    ],
    "/graphql: the related writer or null",
  );
});
