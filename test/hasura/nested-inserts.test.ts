/**
 * Nested inserts in Hasura's dialect (server/hasura/nested-insert.ts), on the
 * blog (examples/blog) plus one test-local table, `author_bio`, a one-to-one
 * back to `author` (its key is the author's id), through real HTTP:
 *
 *  1. Schema: `t_insert_input` offers a relationship only where the role may
 *     insert into its target: `user` gets `tag_insert_input.article_tags`
 *     and `article_tag_insert_input.tag`, but no `article_insert_input.author`
 *     (it may not insert authors; sending one is a validation error); admin
 *     gets `author` (`author_obj_rel_insert_input { data on_conflict }`).
 *  2. Object relationship (admin): the author is inserted first and its key
 *     copied into the article; affected_rows counts every row (Hasura's
 *     articles_with_author); `returning` reaches through relationships.
 *  3. Array relationship (admin): the articles follow their author, with its
 *     key (author_with_articles); `data: []` and `null` insert the parent only.
 *  4. A one-to-one back (author → author_bio) is inserted after the parent.
 *  5. As `user` 1: a tag with article_tags on its own articles (each row
 *     checked by article_tag's own WITH CHECK), an article_tag creating
 *     its tag first, and an article (author_id from the blog's preset) with
 *     its article_tags.
 *  6. As `user` 1: a nested article_tag on another author's article fails
 *     article_tag's WITH CHECK: permission-error at the nested path, and the
 *     whole mutation, the tag and an earlier mutation field included, is
 *     rolled back.
 *  7. Hasura's refusals: a nested row naming the key its parent determines,
 *     an object relationship whose key column is also given, and an upsert
 *     that skips the row a relationship needs (object and array).
 */
import t from "tap";
import { TYPE_REF, typeText, type TypeRef } from "../helpers/graphql-types.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { ADMIN, SECURED } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";

const db = await createTestDatabase(t, "blog");
await db.asOwner(`
  create table public.author_bio (
    author_id integer primary key references public.author (id),
    bio text not null
  );
  grant select, insert on public.author_bio to admin;
`);
const srv = await startServer(t, { db, env: SECURED });

const V1 = "/v1/graphql";
const admin = { ...ADMIN };
const user1 = { ...ADMIN, "x-hasura-role": "user", "x-hasura-user-id": "1" };

async function gql(headers: Record<string, string>, query: string, variables?: Record<string, unknown>) {
  return (await srv.gql(query, { headers, path: V1, variables })).body;
}

const INPUT_FIELDS = `query($name: String!) { __type(name: $name) { inputFields { name type { ...T } } } } ${TYPE_REF}`;

/** The input type's fields as `name: type` (SDL notation). */
async function inputFields(headers: Record<string, string>, name: string): Promise<Record<string, string>> {
  const body = await gql(headers, INPUT_FIELDS, { name });
  const fields: { name: string; type: TypeRef }[] = body.data.__type?.inputFields ?? [];
  return Object.fromEntries(fields.map((f) => [f.name, typeText(f.type)]));
}

t.test("schema: a relationship field only where the role may insert into its target", async (t) => {
  const userArticle = await inputFields(user1, "article_insert_input");
  t.equal(userArticle.article_tags, "article_tag_arr_rel_insert_input", "user: article.article_tags");
  t.notOk("author" in userArticle, "user may not insert authors: no article.author");
  t.ok("title" in userArticle, "columns are still there");
  t.equal((await inputFields(user1, "tag_insert_input")).article_tags, "article_tag_arr_rel_insert_input");
  t.equal((await inputFields(user1, "article_tag_insert_input")).tag, "tag_obj_rel_insert_input");
  t.same(await inputFields(user1, "article_tag_arr_rel_insert_input"), {
    data: "[article_tag_insert_input!]!",
    on_conflict: "article_tag_on_conflict",
  });

  const adminArticle = await inputFields(admin, "article_insert_input");
  t.equal(adminArticle.author, "author_obj_rel_insert_input", "admin: article.author");
  t.same(await inputFields(admin, "author_obj_rel_insert_input"), { data: "author_insert_input!", on_conflict: "author_on_conflict" });
  t.equal((await inputFields(admin, "author_insert_input")).author_bio, "author_bio_obj_rel_insert_input", "one-to-one back");

  const refused = await gql(
    user1,
    `mutation { insert_article(objects: [{title: "x", content: "y", author: {data: {name: "z"}}}]) { affected_rows } }`,
  );
  t.equal(refused.errors?.[0]?.extensions?.code, "validation-failed");
  t.match(refused.errors?.[0]?.message, /field "author" not found in type: 'article_insert_input'/);
});

t.test("object relationship: the author first, its key into the article", async (t) => {
  const body = await gql(
    admin,
    `mutation {
      insert_article(objects: [
        {title: "A by New One", content: "c1", author: {data: {name: "New One"}}},
        {title: "A by New Two", content: "c2", author: {data: {name: "New Two"}}}
      ]) { affected_rows returning { title author { name } } }
    }`,
  );
  t.same(body, {
    data: {
      insert_article: {
        affected_rows: 4,
        returning: [
          { title: "A by New One", author: { name: "New One" } },
          { title: "A by New Two", author: { name: "New Two" } },
        ],
      },
    },
  });
  const rows = await db.asRoot(
    `select a.title, au.name from public.article a join public.author au on au.id = a.author_id where a.title like 'A by New%' order by a.title`,
  );
  t.same(rows, [
    { title: "A by New One", name: "New One" },
    { title: "A by New Two", name: "New Two" },
  ]);
});

t.test("array relationship: the articles after their author, with its key", async (t) => {
  const body = await gql(
    admin,
    `mutation {
      insert_author(objects: [{name: "Many", articles: {data: [{title: "M1", content: "x"}, {title: "M2", content: "y"}]}}]) {
        affected_rows returning { name articles(order_by: {title: asc}) { title author { name } } }
      }
    }`,
  );
  t.same(body, {
    data: {
      insert_author: {
        affected_rows: 3,
        returning: [
          {
            name: "Many",
            articles: [
              { title: "M1", author: { name: "Many" } },
              { title: "M2", author: { name: "Many" } },
            ],
          },
        ],
      },
    },
  });

  const empty = await gql(
    admin,
    `mutation {
      a: insert_author(objects: [{name: "Empty", articles: {data: []}}]) { affected_rows returning { articles { id } } }
      b: insert_author(objects: [{name: "Null", articles: null}]) { affected_rows returning { articles { id } } }
    }`,
  );
  t.same(empty, {
    data: { a: { affected_rows: 1, returning: [{ articles: [] }] }, b: { affected_rows: 1, returning: [{ articles: [] }] } },
  });
});

t.test("a one-to-one back is inserted after its parent", async (t) => {
  const body = await gql(
    admin,
    `mutation { insert_author_one(object: {name: "With Bio", author_bio: {data: {bio: "writes"}}}) { name author_bio { bio } } }`,
  );
  t.same(body, { data: { insert_author_one: { name: "With Bio", author_bio: { bio: "writes" } } } });
  const rows = await db.asRoot(
    `select b.bio from public.author_bio b join public.author a on a.id = b.author_id where a.name = 'With Bio'`,
  );
  t.same(rows, [{ bio: "writes" }]);
});

t.test("user: each nested row passes its own table's policies", async (t) => {
  const tagged = await gql(
    user1,
    `mutation {
      insert_tag(objects: [{name: "nested-ok", article_tags: {data: [{article_id: 1}, {article_id: 3}]}}]) {
        affected_rows returning { name article_tags(order_by: {article_id: asc}) { article_id } }
      }
    }`,
  );
  t.same(tagged, {
    data: { insert_tag: { affected_rows: 3, returning: [{ name: "nested-ok", article_tags: [{ article_id: 1 }, { article_id: 3 }] }] } },
  });

  const viaTag = await gql(
    user1,
    `mutation { insert_article_tag_one(object: {article_id: 1, tag: {data: {name: "made-first"}}}) { article_id tag_name tag { name } } }`,
  );
  t.same(viaTag, { data: { insert_article_tag_one: { article_id: 1, tag_name: "made-first", tag: { name: "made-first" } } } });
  t.same(await db.asRoot(`select article_id from public.article_tag where tag_name = 'made-first'`), [{ article_id: 1 }]);

  // The blog presets article.author_id from X-Hasura-User-Id: the article's key
  // reaches its article_tags, whose WITH CHECK wants the user's own article.
  const article = await gql(
    user1,
    `mutation {
      insert_article_one(object: {title: "Nested draft", content: "c", article_tags: {data: [{tag_name: "graphql"}]}}) {
        author_id article_tags { tag_name }
      }
    }`,
  );
  t.same(article, { data: { insert_article_one: { author_id: 1, article_tags: [{ tag_name: "graphql" }] } } });
});

t.test("user: a nested row failing its table's WITH CHECK rolls back the whole mutation", async (t) => {
  const body = await gql(
    user1,
    `mutation {
      first: insert_tag(objects: [{name: "before-the-failure"}]) { affected_rows }
      insert_tag(objects: [{name: "nested-bad", article_tags: {data: [{article_id: 1}, {article_id: 2}]}}]) { affected_rows }
    }`,
  );
  t.same(body, {
    errors: [
      {
        message: "check constraint of an insert/update permission has failed",
        extensions: { path: "$.selectionSet.insert_tag.args.objects[0].article_tags.data", code: "permission-error" },
      },
    ],
  });
  const left = await db.asRoot(
    `select name from public.tag where name in ('before-the-failure', 'nested-bad')
     union all select tag_name from public.article_tag where tag_name = 'nested-bad'`,
  );
  t.same(left, [], "no tag, no article_tag: the whole request rolled back");
});

t.test("Hasura's refusals", async (t) => {
  const parentKey = await gql(
    admin,
    `mutation { insert_author(objects: [{name: "P", articles: {data: [{title: "t", content: "c", author_id: 3}]}}]) { affected_rows } }`,
  );
  t.same(parentKey.errors, [
    {
      message: `cannot insert "author_id" columns as their values are already being determined by parent insert`,
      extensions: { path: "$.selectionSet.insert_author.args.objects[0].articles.data[0]", code: "validation-failed" },
    },
  ]);

  const both = await gql(
    admin,
    `mutation { insert_article(objects: [{title: "t", content: "c", author_id: 1, author: {data: {name: "Q"}}}]) { affected_rows } }`,
  );
  t.same(both.errors, [
    {
      message: `cannot insert object relationship "author" as "author_id" column values are already determined`,
      extensions: { path: "$.selectionSet.insert_article.args.objects[0].author", code: "validation-failed" },
    },
  ]);

  const skippedAuthor = await gql(
    admin,
    `mutation {
      insert_article(objects: [{title: "t", content: "c",
        author: {data: {id: 1, name: "Ada Lovelace"}, on_conflict: {constraint: author_pkey, update_columns: []}}}]) { affected_rows }
    }`,
  );
  t.same(skippedAuthor.errors, [
    {
      message: `cannot proceed to insert object relation "author" since insert to table "author" affects zero rows`,
      extensions: { path: "$.selectionSet.insert_article.args.objects[0].author", code: "not-supported" },
    },
  ]);

  const skippedParent = await gql(
    admin,
    `mutation {
      insert_author(objects: [{id: 1, name: "Ada", articles: {data: [{title: "t", content: "c"}]}}],
        on_conflict: {constraint: author_pkey, update_columns: []}) { affected_rows }
    }`,
  );
  t.same(skippedParent.errors, [
    {
      message: `cannot proceed to insert array relations since insert to table "author" affects zero rows`,
      extensions: { path: "$.selectionSet.insert_author.args.objects[0]", code: "not-supported" },
    },
  ]);
  t.same(await db.asRoot(`select count(*)::int as n from public.article where title = 't'`), [{ n: 0 }], "nothing inserted");
});
