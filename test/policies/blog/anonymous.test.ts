/**
 * Blog (seed 002), anonymous: reads what is published (articles with
 * is_published, their tags, authors, tags) and has no Mutation type: the
 * walkthrough's insert_tag "does not exist" for it.
 */
import t from "tap";
import { BLOG_PROJECTS } from "../../helpers/projects.ts";
import { startServer } from "../../helpers/server.ts";
import { as, mutationTypeOf, refusedWrite, sameRows } from "../helpers.ts";

for (const project of BLOG_PROJECTS) {
  t.test(project, async (t) => {
    const srv = await startServer(t, { project });
    const anon = as("anonymous");

    t.test("published articles only", async (t) => {
      const rows = await sameRows(t, srv, {
        headers: anon,
        field: "allArticles",
        columns: ["id", "title", "content", "authorId", "isPublished"],
        sqlColumns: ["id", "title", "content", "author_id", "is_published"],
        orderBy: "ID_ASC",
        table: "article",
        where: "is_published",
        order: "id",
      });
      t.ok(rows.length >= 2, "the fixture has published articles");
      const [{ drafts }] = await srv.db.asRoot("select count(*)::int as drafts from public.article where not is_published");
      t.ok(drafts > 0, "and drafts");
    });

    t.test("a draft by id is null", async (t) => {
      const [draft] = await srv.db.asRoot("select id from public.article where not is_published order by id limit 1");
      const res = await srv.gql(`{ articleById(id: ${draft!.id}) { id title } }`, { headers: anon });
      t.equal(res.status, 200);
      t.same(res.body, { data: { articleById: null } });
    });

    t.test("the tags of published articles only", async (t) => {
      await sameRows(t, srv, {
        headers: anon,
        field: "allArticleTags",
        columns: ["articleId", "tagName"],
        sqlColumns: ["article_id", "tag_name"],
        orderBy: "[ARTICLE_ID_ASC, TAG_NAME_ASC]",
        table: "article_tag",
        where: "article_id in (select id from public.article where is_published)",
        order: "article_id, tag_name",
      });
    });

    t.test("every author and every tag", async (t) => {
      await sameRows(t, srv, {
        headers: anon,
        field: "allAuthors",
        columns: ["id", "name"],
        orderBy: "ID_ASC",
        table: "author",
        order: "id",
      });
      await sameRows(t, srv, { headers: anon, field: "allTags", columns: ["name"], orderBy: "NAME_ASC", table: "tag", order: "name" });
    });

    t.test("nested: an author's articles are the published ones", async (t) => {
      const res = await srv.gql("{ authorById(id: 1) { name articlesByAuthorId(orderBy: ID_ASC) { nodes { id } } } }", { headers: anon });
      t.equal(res.status, 200);
      const expected = await srv.db.asRoot("select id from public.article where author_id = 1 and is_published order by id");
      t.same(res.body.data?.authorById?.articlesByAuthorId?.nodes, expected);
    });

    t.test("no Mutation type: insert_tag does not exist, nothing is written", async (t) => {
      t.equal(await mutationTypeOf(srv, anon), null);
      await refusedWrite(t, srv, {
        headers: anon,
        query: 'mutation { createTag(input: { tag: { name: "anonymous-tag" } }) { tag { name } } }',
        table: "tag",
        status: 400,
      });
      await refusedWrite(t, srv, {
        headers: anon,
        query: 'mutation { updateArticleById(input: { id: 1, articlePatch: { title: "pwned" } }) { article { id } } }',
        table: "article",
        status: 400,
      });
    });
  });
}
