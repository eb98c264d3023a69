/**
 * Blog (seed 002), user (X-Hasura-User-Id is an author id): reads the
 * published articles and its own drafts; creates, updates and deletes its
 * own articles only; creates tags (a duplicate name is an error: the name is
 * the key); tags its own articles.
 */
import t from "tap";
import { BLOG_PROJECTS } from "../../helpers/projects.ts";
import { startServer } from "../../helpers/server.ts";
import { as, mutationTypeOf, refusedWrite, sameRows, snapshot } from "../helpers.ts";

for (const project of BLOG_PROJECTS) {
  t.test(project, async (t) => {
    const srv = await startServer(t, { project });
    const ada = as("user", { userId: 1 });
    const CHECK = /check constraint|row-level security/i;

    t.test("published articles and own drafts", async (t) => {
      for (const userId of [1, 2, 3]) {
        await sameRows(t, srv, {
          headers: as("user", { userId }),
          field: "allArticles",
          columns: ["id", "title", "authorId", "isPublished"],
          sqlColumns: ["id", "title", "author_id", "is_published"],
          orderBy: "ID_ASC",
          table: "article",
          where: "is_published or author_id = $1",
          params: [userId],
          order: "id",
        });
        await sameRows(t, srv, {
          headers: as("user", { userId }),
          field: "allArticleTags",
          columns: ["articleId", "tagName"],
          sqlColumns: ["article_id", "tag_name"],
          orderBy: "[ARTICLE_ID_ASC, TAG_NAME_ASC]",
          table: "article_tag",
          where: "article_id in (select id from public.article where is_published or author_id = $1)",
          params: [userId],
          order: "article_id, tag_name",
        });
      }
      const [other] = await srv.db.asRoot("select id from public.article where not is_published and author_id <> 1 order by id limit 1");
      const res = await srv.gql(`{ articleById(id: ${other!.id}) { id } }`, { headers: ada });
      t.same(res.body, { data: { articleById: null } }, "another author's draft is null");
    });

    t.test("inserts a tag", async (t) => {
      t.equal(await mutationTypeOf(srv, ada), "Mutation");
      const before = (await snapshot(srv, "tag")).length;
      const res = await srv.gql('mutation { createTag(input: { tag: { name: "row-level-security" } }) { tag { name } } }', {
        headers: ada,
      });
      t.equal(res.status, 200);
      t.same(res.body, { data: { createTag: { tag: { name: "row-level-security" } } } });
      t.same(await srv.db.asRoot("select name from public.tag where name = 'row-level-security'"), [{ name: "row-level-security" }]);
      t.equal((await snapshot(srv, "tag")).length, before + 1);
    });

    t.test("a duplicate tag is an error", async (t) => {
      const [existing] = await srv.db.asRoot("select name from public.tag order by name limit 1");
      await refusedWrite(t, srv, {
        headers: ada,
        query: `mutation { createTag(input: { tag: { name: ${JSON.stringify(existing!.name)} } }) { tag { name } } }`,
        table: "tag",
        message: /uniqueness|duplicate|unique/i,
      });
    });

    t.test("tags are not renamed or deleted by users", async (t) => {
      await refusedWrite(t, srv, {
        headers: ada,
        query: 'mutation { deleteTagByName(input: { name: "graphql" }) { tag { name } } }',
        table: "tag",
        status: 400,
      });
    });

    t.test("creates an article as itself (author preset from the session), not for another author", async (t) => {
      const res = await srv.gql(
        'mutation { createArticle(input: { article: { title: "Mine", content: "…" } }) { article { id authorId isPublished } } }',
        {
          headers: ada,
        },
      );
      t.equal(res.status, 200);
      const created = res.body.data?.createArticle?.article;
      t.same(
        await srv.db.asRoot('select id, author_id as "authorId", is_published as "isPublished" from public.article where id = $1', [
          created?.id,
        ]),
        [created],
        "written as returned",
      );
      t.same(created && { authorId: created.authorId, isPublished: created.isPublished }, { authorId: 1, isPublished: false });
      // author_id is a preset: not in the create input at all.
      await refusedWrite(t, srv, {
        headers: ada,
        query:
          'mutation { createArticle(input: { article: { title: "Forged", content: "…", authorId: 2, isPublished: true } }) { article { id } } }',
        table: "article",
        status: 400,
        message: /"authorId" is not defined by type "ArticleInput"/,
      });
    });

    t.test("updates and deletes own articles only", async (t) => {
      const upd = await srv.gql(
        "mutation { updateArticleById(input: { id: 3, articlePatch: { isPublished: true } }) { article { id isPublished } } }",
        {
          headers: ada,
        },
      );
      t.equal(upd.status, 200);
      t.same(upd.body, { data: { updateArticleById: { article: { id: 3, isPublished: true } } } });
      t.same(await srv.db.asRoot("select is_published from public.article where id = 3"), [{ is_published: true }]);

      // Grace's published article 2: readable, but not Ada's to change.
      const before = await snapshot(srv, "article");
      for (const m of [
        'updateArticleById(input: { id: 2, articlePatch: { title: "pwned" } }) { article { id } }',
        "deleteArticleById(input: { id: 2 }) { article { id } }",
      ]) {
        const res = await srv.gql(`mutation { ${m} }`, { headers: ada });
        t.equal(res.status, 200, m);
        const payload = Object.values(res.body.data ?? {})[0] as Record<string, unknown> | null;
        t.ok(res.body.errors?.length || (payload && payload.article === null), `${m}: nothing done`);
      }
      t.same(await snapshot(srv, "article"), before, "article unchanged");
      // author_id is not updatable at all.
      await refusedWrite(t, srv, {
        headers: ada,
        query: "mutation { updateArticleById(input: { id: 1, articlePatch: { authorId: 2 } }) { article { id } } }",
        table: "article",
        status: 400,
      });

      const [{ id }] = await srv.db.asRoot("insert into public.article (title, content, author_id) values ('tmp', 'tmp', 1) returning id");
      const del = await srv.gql(`mutation { deleteArticleById(input: { id: ${id} }) { article { id } } }`, { headers: ada });
      t.same(del.body, { data: { deleteArticleById: { article: { id } } } });
      t.same(await srv.db.asRoot("select id from public.article where id = $1", [id]), []);
    });

    t.test("tags own articles, not others'", async (t) => {
      const res = await srv.gql(
        'mutation { createArticleTag(input: { articleTag: { articleId: 1, tagName: "jwt" } }) { articleTag { articleId tagName } } }',
        {
          headers: ada,
        },
      );
      t.equal(res.status, 200);
      t.same(res.body, { data: { createArticleTag: { articleTag: { articleId: 1, tagName: "jwt" } } } });
      t.same(await srv.db.asRoot("select 1 as x from public.article_tag where article_id = 1 and tag_name = 'jwt'"), [{ x: 1 }]);
      await refusedWrite(t, srv, {
        headers: ada,
        query: 'mutation { createArticleTag(input: { articleTag: { articleId: 2, tagName: "graphql" } }) { articleTag { articleId } } }',
        table: "article_tag",
        message: CHECK,
      });
    });

    t.test("without X-Hasura-User-Id, writes fail and nothing is written", async (t) => {
      await refusedWrite(t, srv, {
        headers: as("user"),
        query: 'mutation { createArticle(input: { article: { title: "x", content: "x" } }) { article { id } } }',
        table: "article",
        message: /missing session variables/,
      });
    });
  });
}
