/**
 * GraphQL over WebSockets through a real server and database: both of
 * Hasura's protocols on /v1/graphql (graphql-ws's client for
 * graphql-transport-ws, subscriptions-transport-ws's SubscriptionClient for
 * the legacy one), queries, mutations and live results; the bounds
 * (message size, init timeout); a plain GET keeps its 404.
 */
import { SubscriptionClient } from "subscriptions-transport-ws";
import t from "tap";
import WebSocket from "ws";
import { ADMIN, SECURED_JWT } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";
import { collect, rawSocket, transportClient, wsUrl } from "../helpers/ws.ts";

const ARTICLES = "subscription { article(order_by: {id: asc}) { id title } }";

t.test("WebSockets on /v1/graphql", async (t) => {
  const server = await startServer(t, { project: "blog", env: { ...SECURED_JWT } });

  await t.test("a plain GET (no upgrade) still answers 404", async (t) => {
    const res = await fetch(`${server.url}/v1/graphql`);
    t.equal(res.status, 404);
    t.match(await res.json(), { code: "not-found" });
  });

  await t.test("an upgrade to another path gets that path's HTTP answer, and its connection ends (shutdown is not held)", async (t) => {
    for (const [path, status] of [
      ["/healthz", 200],
      ["/nope", 404],
    ] as const) {
      const ws = new WebSocket(wsUrl(server, path));
      const got = await new Promise((resolve) => {
        ws.on("unexpected-response", (_req, res) => resolve(res.statusCode));
        ws.on("error", (e) => resolve(e.message));
      });
      t.equal(got, status, path);
      // Not closed by the client: a connection the server left open would hold app.close() at teardown.
    }
  });

  await t.test("graphql-transport-ws: query, mutation and a live result that follows a write", async (t) => {
    const client = transportClient(t, wsUrl(server), ADMIN);
    const query = await new Promise<any>((resolve, reject) => {
      let result: unknown;
      client.subscribe(
        { query: "{ article_aggregate { aggregate { count } } }" },
        { next: (r) => (result = r), error: reject, complete: () => resolve(result) },
      );
    });
    t.type(query.data.article_aggregate.aggregate.count, "number", "a query answers as over HTTP");

    const live = collect(client, ARTICLES);
    await live.atLeast(1);
    t.ok(Array.isArray(live.results[0].data.article), "the initial result");
    const before = live.results[0].data.article.length;

    const mutation = await new Promise<any>((resolve, reject) => {
      let result: unknown;
      client.subscribe(
        { query: 'mutation { insert_article_one(object: {title: "over the socket", content: "c", author_id: 1}) { id } }' },
        { next: (r) => (result = r), error: reject, complete: () => resolve(result) },
      );
    });
    t.type(mutation.data.insert_article_one.id, "number", "a mutation answers as over HTTP");

    await live.atLeast(2);
    t.equal(live.results[1].data.article.length, before + 1, "a new result after the write");
    t.ok(live.results[1].data.article.some((a: any) => a.title === "over the socket"));
    live.stop();
  });

  await t.test("a streaming subscription delivers the rows after its cursor, batch by batch", async (t) => {
    const client = transportClient(t, wsUrl(server), ADMIN);
    const stream = collect(
      client,
      "subscription { article_stream(batch_size: 2, cursor: {initial_value: {id: 0}, ordering: ASC}) { id } }",
    );
    await stream.atLeast(2);
    const ids = stream.results.flatMap((r) => r.data.article_stream.map((a: { id: number }) => a.id));
    t.same(ids.slice(0, 4), [1, 2, 3, 4], "in cursor order, no repeats");
    t.equal(stream.results[0].data.article_stream.length, 2, "batch_size rows per result");
    stream.stop();
  });

  await t.test("legacy graphql-ws (subscriptions-transport-ws): live result, then a new one after a write", async (t) => {
    const client = new SubscriptionClient(wsUrl(server), { connectionParams: { headers: ADMIN }, reconnect: false }, WebSocket);
    t.teardown(() => client.close());
    const results: any[] = [];
    const sub = client.request({ query: ARTICLES }).subscribe({ next: (r) => results.push(r), error: (e) => results.push({ error: e }) });
    const until = async (n: number) => {
      for (let i = 0; i < 400 && results.length < n; i++) await new Promise((r) => setTimeout(r, 20));
    };
    await until(1);
    t.ok(Array.isArray(results[0]?.data?.article), "the initial result");
    const before = results[0].data.article.length;
    const res = await server.gql('mutation { insert_article_one(object: {title: "legacy", content: "c", author_id: 1}) { id } }', {
      headers: ADMIN,
      path: "/v1/graphql",
    });
    t.ok(res.body.data, "the write over HTTP");
    await until(2);
    t.equal(results[1]?.data?.article.length, before + 1, "a new result after the write");
    sub.unsubscribe();
  });

  await t.test("legacy protocol is the default without a subprotocol; ka after connection_ack", async (t) => {
    const s = await rawSocket(wsUrl(server), undefined);
    s.send({ type: "connection_init", payload: { headers: ADMIN } });
    await s.next("connection_ack");
    await s.next("ka");
    s.send({ type: "start", id: "1", payload: { query: "{ article_aggregate { aggregate { count } } }" } });
    const data = await s.next("data");
    t.equal(data.id, "1");
    t.type(data.payload.data.article_aggregate.aggregate.count, "number");
    await s.next("complete");
    s.ws.close();
  });

  await t.test("a validation error is the protocol's error message, in Hasura's words", async (t) => {
    const s = await rawSocket(wsUrl(server), "graphql-ws");
    s.send({ type: "connection_init", payload: { headers: ADMIN } });
    await s.next("connection_ack");
    s.send({ type: "start", id: "1", payload: { query: "subscription { nope { id } }" } });
    const err = await s.next("error");
    t.match(err, { id: "1", payload: { errors: [{ extensions: { code: "validation-failed" } }] } });
    s.ws.close();
  });

  await t.test("an oversized message closes the socket (1009)", async (t) => {
    const small = await startServer(t, { project: "blog", env: { ...SECURED_JWT, HASURA_GRAPHQL_WEBSOCKET_MAX_MESSAGE_BYTES: "2048" } });
    const s = await rawSocket(wsUrl(small), "graphql-transport-ws");
    s.send({ type: "connection_init", payload: { headers: ADMIN } });
    await s.next("connection_ack");
    s.send({ type: "subscribe", id: "1", payload: { query: `{ article { id } } # ${"x".repeat(4096)}` } });
    const { code } = await s.closed;
    t.equal(code, 1009);
  });

  await t.test("no connection_init in time closes the socket (4408), on both protocols", async (t) => {
    const quick = await startServer(t, { project: "blog", env: { ...SECURED_JWT, HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT: "1" } });
    for (const protocol of ["graphql-transport-ws", "graphql-ws"]) {
      const s = await rawSocket(wsUrl(quick), protocol);
      const started = Date.now();
      const { code } = await s.closed;
      t.equal(code, 4408, protocol);
      t.ok(Date.now() - started >= 900, `${protocol}: after the timeout`);
    }
  });

  await t.test("bounds: subscriptions per socket (an error for the extra one), messages per second (1008)", async (t) => {
    const bounded = await startServer(t, {
      project: "blog",
      env: { ...SECURED_JWT, HASURA_GRAPHQL_WEBSOCKET_MAX_SUBSCRIPTIONS: "1", HASURA_GRAPHQL_WEBSOCKET_MAX_MESSAGES_PER_SECOND: "5" },
    });
    const s = await rawSocket(wsUrl(bounded), "graphql-transport-ws");
    s.send({ type: "connection_init", payload: { headers: ADMIN } });
    await s.next("connection_ack");
    s.send({ type: "subscribe", id: "1", payload: { query: ARTICLES } });
    await s.next("next");
    s.send({ type: "subscribe", id: "2", payload: { query: ARTICLES } });
    const err = await s.next("error");
    t.match(err, { id: "2", payload: [{ message: /too many subscriptions on this socket \(at most 1\)/ }] });
    for (let i = 0; i < 6; i++) s.send({ type: "ping" });
    const closed = await s.closed;
    t.equal(closed.code, 1008);
    t.match(closed.reason, /too many messages/);
  });

  await t.test("shutdown closes open sockets with 1001", async (t) => {
    const closing = await startServer(t, { project: "blog", env: { ...SECURED_JWT } });
    const s = await rawSocket(wsUrl(closing), "graphql-transport-ws");
    s.send({ type: "connection_init", payload: { headers: ADMIN } });
    await s.next("connection_ack");
    s.send({ type: "subscribe", id: "1", payload: { query: ARTICLES } });
    await s.next("next");
    await closing.app.close();
    const closed = await s.closed;
    t.equal(closed.code, 1001);
    t.equal(closed.reason, "server shutting down");
  });

  await t.test("/graphql speaks graphql-transport-ws in PostGraphile's dialect; the legacy protocol is refused there (4406)", async (t) => {
    const client = transportClient(t, wsUrl(server, "/graphql"), ADMIN);
    const result = await new Promise<any>((resolve, reject) => {
      let r: unknown;
      client.subscribe({ query: "{ allArticles { totalCount } }" }, { next: (x) => (r = x), error: reject, complete: () => resolve(r) });
    });
    t.type(result.data.allArticles.totalCount, "number");
    const s = await rawSocket(wsUrl(server, "/graphql"), "graphql-ws");
    const { code } = await s.closed;
    t.equal(code, 4406);
  });
});
