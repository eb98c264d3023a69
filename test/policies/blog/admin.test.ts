/** Blog (seed 002), admin: every article, drafts included; every write. */
import t from "tap";
import { BLOG_PROJECTS } from "../../helpers/projects.ts";
import { startServer } from "../../helpers/server.ts";
import { as, sameRows } from "../helpers.ts";

for (const project of BLOG_PROJECTS) {
  t.test(project, async (t) => {
    const srv = await startServer(t, { project });
    const admin = as("admin");

    t.test("reads every article", async (t) => {
      await sameRows(t, srv, {
        headers: admin,
        field: "allArticles",
        columns: ["id", "authorId", "isPublished"],
        sqlColumns: ["id", "author_id", "is_published"],
        orderBy: "ID_ASC",
        table: "article",
        order: "id",
      });
    });

    t.test("writes for any author, and manages tags", async (t) => {
      const res = await srv.gql(
        "mutation { updateArticleById(input: { id: 4, articlePatch: { authorId: 2, isPublished: true } }) { article { id authorId isPublished } } }",
        {
          headers: admin,
        },
      );
      t.equal(res.status, 200);
      t.same(res.body, { data: { updateArticleById: { article: { id: 4, authorId: 2, isPublished: true } } } });
      t.same(await srv.db.asRoot("select author_id, is_published from public.article where id = 4"), [
        { author_id: 2, is_published: true },
      ]);
      const del = await srv.gql('mutation { deleteTagByName(input: { name: "auth0" }) { tag { name } } }', { headers: admin });
      t.same(del.body, { data: { deleteTagByName: { tag: { name: "auth0" } } } });
      t.same(await srv.db.asRoot("select name from public.tag where name = 'auth0'"), []);
      t.same(await srv.db.asRoot("select 1 from public.article_tag where tag_name = 'auth0'"), [], "its article tags went with it");
    });
  });
}
