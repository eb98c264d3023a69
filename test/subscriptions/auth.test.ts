/**
 * A WebSocket's authentication at connection_init through the HTTP
 * authenticator: admin secret, JWT, webhook, the unauthorized role; a bad
 * credential closes 4403 on graphql-transport-ws and is connection_error
 * (then start-failed) on the legacy protocol; the credential's expiry
 * closes the socket; a fresh token sent in-band keeps the subscriptions.
 */
import t from "tap";
import WebSocket from "ws";
import { ADMIN, ADMIN_SECRET_ENV, SECURED_JWT } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";
import { HS_JWT_SECRET, hasuraClaims, sign, webhookServer } from "../helpers/tokens.ts";
import { rawSocket, wsUrl } from "../helpers/ws.ts";

const ARTICLES = "subscription { article(order_by: {id: asc}) { id } }";
const userToken = (exp?: number) => sign({ ...hasuraClaims("user", { "x-hasura-user-id": "1" }), ...(exp ? { exp } : {}) });
const now = () => Math.floor(Date.now() / 1000);

t.test("JWT mode", async (t) => {
  const server = await startServer(t, { project: "blog", env: { ...SECURED_JWT } });
  const url = wsUrl(server);

  await t.test("a valid JWT, the unauthorized role without one, admin secret: acknowledged with their role", async (t) => {
    for (const headers of [{ authorization: `Bearer ${await userToken()}` }, {}, ADMIN]) {
      const s = await rawSocket(url, "graphql-transport-ws");
      s.send({ type: "connection_init", payload: { headers } });
      await s.next("connection_ack");
      s.send({ type: "subscribe", id: "1", payload: { query: "{ article_aggregate { aggregate { count } } }" } });
      const next = await s.next("next");
      t.type(next.payload.data?.article_aggregate?.aggregate?.count, "number", JSON.stringify(Object.keys(headers)));
      s.ws.close();
    }
  });

  await t.test("the upgrade request's own headers count too (payload headers win)", async (t) => {
    const token = await userToken();
    const ws = new WebSocket(url, "graphql-ws", { headers: { authorization: `Bearer ${token}` } });
    const messages: any[] = [];
    ws.on("message", (d) => messages.push(JSON.parse(String(d))));
    await new Promise((r) => ws.once("open", r));
    ws.send(JSON.stringify({ type: "connection_init", payload: {} }));
    for (let i = 0; i < 200 && !messages.some((m) => m.type === "connection_ack"); i++) await new Promise((r) => setTimeout(r, 20));
    t.ok(
      messages.some((m) => m.type === "connection_ack"),
      "acknowledged",
    );
    ws.close();
  });

  await t.test("a bad token: 4403 on graphql-transport-ws, connection_error then close on the legacy protocol", async (t) => {
    const s = await rawSocket(url, "graphql-transport-ws");
    s.send({ type: "connection_init", payload: { headers: { authorization: "Bearer not.a.jwt" } } });
    const closed = await s.closed;
    t.equal(closed.code, 4403);
    t.match(closed.reason, /Could not verify JWT/);
    t.notOk(
      s.messages.some((m) => m.type === "connection_ack"),
      "no ack",
    );

    const legacy = await rawSocket(url, "graphql-ws");
    legacy.send({ type: "connection_init", payload: { headers: { authorization: "Bearer not.a.jwt" } } });
    legacy.send({ type: "start", id: "1", payload: { query: ARTICLES } });
    const err = await legacy.next("connection_error");
    t.match(err.payload, /Could not verify JWT/);
    const startFailed = await legacy.next("error");
    t.match(startFailed, {
      id: "1",
      payload: {
        errors: [{ extensions: { code: "start-failed" }, message: /cannot start as connection_init failed with : Could not verify JWT/ }],
      },
    });
    t.equal((await legacy.closed).code, 4403);
    t.notOk(
      legacy.messages.some((m) => m.type === "data"),
      "no data",
    );
  });

  await t.test("a role that is not an application role is refused", async (t) => {
    const s = await rawSocket(url, "graphql-transport-ws");
    s.send({ type: "connection_init", payload: { headers: { ...ADMIN, "x-hasura-role": "postgres" } } });
    const closed = await s.closed;
    t.equal(closed.code, 4403);
    t.match(closed.reason, /not an application role/);
  });

  await t.test("the socket closes when the JWT expires (4403), on both protocols", async (t) => {
    for (const protocol of ["graphql-transport-ws", "graphql-ws"]) {
      const s = await rawSocket(url, protocol);
      s.send({ type: "connection_init", payload: { headers: { authorization: `Bearer ${await userToken(now() + 3)}` } } });
      await s.next("connection_ack");
      s.send({ type: protocol === "graphql-ws" ? "start" : "subscribe", id: "1", payload: { query: ARTICLES } });
      await s.next(protocol === "graphql-ws" ? "data" : "next");
      const opened = Date.now();
      const closed = await s.closed;
      t.equal(closed.code, 4403, protocol);
      t.match(closed.reason, /JWTExpired/);
      t.ok(Date.now() - opened > 1000, `${protocol}: at the expiry, not before`);
      if (protocol === "graphql-ws") t.ok(s.messages.some((m) => m.type === "connection_error"));
    }
  });

  await t.test("a fresh token in-band keeps the subscription past the old expiry", async (t) => {
    for (const protocol of ["graphql-transport-ws", "graphql-ws"]) {
      const s = await rawSocket(url, protocol);
      s.send({ type: "connection_init", payload: { headers: { authorization: `Bearer ${await userToken(now() + 2)}` } } });
      await s.next("connection_ack");
      const legacy = protocol === "graphql-ws";
      s.send({ type: legacy ? "start" : "subscribe", id: "1", payload: { query: ARTICLES } });
      await s.next(legacy ? "data" : "next");
      const fresh = { headers: { authorization: `Bearer ${await userToken(now() + 3600)}` } };
      s.send(legacy ? { type: "connection_init", payload: fresh } : { type: "ping", payload: fresh });
      await new Promise((r) => setTimeout(r, 3500));
      t.equal(s.ws.readyState, s.ws.OPEN, `${protocol}: still open past the first token's exp`);
      await server.gql(
        'mutation { insert_article_one(object: {title: "refresh", content: "c", author_id: 1, is_published: true}) { id } }',
        {
          headers: ADMIN,
          path: "/v1/graphql",
        },
      );
      await s.next(legacy ? "data" : "next");
      t.pass(`${protocol}: the subscription delivers after the refresh`);

      const other = { headers: { authorization: `Bearer ${await sign(hasuraClaims("user", { "x-hasura-user-id": "2" }))}` } };
      s.send(legacy ? { type: "connection_init", payload: other } : { type: "ping", payload: other });
      const closed = await s.closed;
      t.equal(closed.code, 4403, `${protocol}: another session in-band closes the socket`);
    }
  });
});

t.test("webhook mode: the hook's Cache-Control max-age closes the socket", async (t) => {
  const hook = await webhookServer((_req, _body, res) => {
    res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=2" });
    res.end(JSON.stringify({ "X-Hasura-Role": "user", "X-Hasura-User-Id": "1" }));
  });
  t.teardown(() => hook.close());
  const server = await startServer(t, { project: "blog", env: { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_AUTH_HOOK: hook.url } });
  const s = await rawSocket(wsUrl(server), "graphql-ws");
  s.send({ type: "connection_init", payload: { headers: { authorization: "anything" } } });
  await s.next("connection_ack");
  s.send({ type: "start", id: "1", payload: { query: ARTICLES } });
  const data = await s.next("data");
  t.ok(Array.isArray(data.payload.data.article), "the user's rows");
  const closed = await s.closed;
  t.equal(closed.code, 4403);
  t.ok(s.messages.some((m) => m.type === "connection_error"));
});

t.test("a cookie token authenticates a socket only from no Origin, the server's own, or a listed one", async (t) => {
  const jwt = JSON.stringify({ ...JSON.parse(HS_JWT_SECRET), header: { type: "Cookie", name: "token" } });
  const server = await startServer(t, {
    project: "blog",
    env: { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_JWT_SECRET: jwt, HASURA_GRAPHQL_CORS_DOMAIN: "https://app.example" },
  });
  const cookie = `token=${await userToken()}`;
  const attempt = async (origin?: string) => {
    const ws = new WebSocket(wsUrl(server), "graphql-transport-ws", { headers: { cookie, ...(origin ? { origin } : {}) } });
    const messages: any[] = [];
    ws.on("message", (d) => messages.push(JSON.parse(String(d))));
    const closed = new Promise<number>((r) => ws.on("close", (code) => r(code)));
    await new Promise((r) => ws.once("open", r));
    ws.send(JSON.stringify({ type: "connection_init", payload: {} }));
    for (let i = 0; i < 200 && messages.length === 0 && ws.readyState === ws.OPEN; i++) await new Promise((r) => setTimeout(r, 20));
    const acked = messages.some((m) => m.type === "connection_ack");
    ws.close();
    return { acked, code: acked ? undefined : await closed };
  };
  t.same(await attempt(), { acked: true, code: undefined }, "no Origin (not a browser)");
  t.same(await attempt(server.url), { acked: true, code: undefined }, "the server's own origin");
  t.same(await attempt("https://app.example"), { acked: true, code: undefined }, "a listed origin");
  t.same(await attempt("https://evil.example"), { acked: false, code: 4403 }, "another origin: its cookies are not used");
});
