/**
 * A select declaration that offers a field on subscription_root but not on
 * query_root (Hasura's `query_root_fields: []` with subscriptions left on):
 * the role subscribes to it and gets live results and stream batches, while
 * a query of the same field, over HTTP or the socket, is still refused.
 * Live queries run as queries; such a role's live queries use its `live`
 * schema, whose query root never answers a request.
 */
import t from "tap";
import { V1 } from "../hasura/helpers-walkthrough.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { ADMIN, SECURED_JWT } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";
import { collect, transportClient, wsUrl } from "../helpers/ws.ts";

const db = await createTestDatabase(t, "blog");
// anonymous: articles on the subscription root only.
await db.asOwner(
  `call hasura.select_permission('public.article', 'anonymous', allow_aggregations => true, query_root_fields => array[]::text[])`,
);
const srv = await startServer(t, { db, env: { ...SECURED_JWT } });

t.test("a subscription-only field: live results and streams, no query", async (t) => {
  const anonymous = transportClient(t, wsUrl(srv), {});
  const live = collect(anonymous, "subscription { article(order_by: {id: asc}) { id title is_published } }");
  await live.atLeast(1);
  t.notOk(live.failure, "the live query is served");
  const published = await db.asRoot<{ id: number }>("select id from public.article where is_published order by id");
  t.same(
    live.results[0].data.article.map((a: { id: number }) => a.id),
    published.map((r) => r.id),
    "the published articles, as the role's policy allows",
  );

  const stream = collect(anonymous, "subscription { article_stream(batch_size: 10, cursor: {initial_value: {id: 0}}) { id } }");
  await stream.atLeast(1);
  t.same(
    stream.results[0].data.article_stream.map((a: { id: number }) => a.id),
    published.map((r) => r.id),
    "a stream from the start: the published articles",
  );

  const inserted = await srv.gql(
    'mutation { insert_article_one(object: {title: "live only", content: "c", is_published: true, author_id: 1}) { id } }',
    { headers: ADMIN, path: V1 },
  );
  const id = (inserted.body as { data: { insert_article_one: { id: number } } }).data.insert_article_one.id;
  await live.atLeast(2);
  t.ok(
    live.results[1].data.article.some((a: { id: number }) => a.id === id),
    "a new result after a write",
  );
  await stream.atLeast(2);
  t.same(stream.results[1].data.article_stream, [{ id }], "the stream's next batch");
  live.stop();
  stream.stop();

  const overHttp = await srv.gql("{ article { id } }", { path: V1 });
  t.match(
    overHttp.body,
    { errors: [{ extensions: { code: "validation-failed" }, message: "field 'article' not found in type: 'query_root'" }] },
    "a query of it over HTTP is refused as Hasura refuses an unknown field",
  );
  const query = collect(anonymous, "{ article { id } }");
  await query.atLeast(1).catch(() => {});
  t.match(JSON.stringify(query.failure ?? query.results), /field 'article' not found in type: 'query_root'/, "and over the socket");
});
