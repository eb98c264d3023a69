/**
 * Hostile WebSocket clients (issue 15, "Hostile input"): each is bounded
 * with the close code or error the README's Configuration table names, and
 * meanwhile the server keeps serving others: a bystander's live query still
 * follows writes and an HTTP query answers quickly.
 * - subscription floods beyond the per-socket bound (an error per extra
 *   subscription, `bad-request`) and the server-wide one (`unexpected`),
 *   on both protocols; slots come back when subscriptions stop;
 * - one huge cohort (1,000 subscribers of one query and session);
 * - a reader that never reads (paused socket) while large results keep
 *   coming: closed with 1013 "slow consumer", on both protocols;
 * - oversized messages (1009), garbage and binary frames, operations
 *   before connection_init, message floods (1008).
 */
import t, { type Test } from "tap";
import { createTestDatabase } from "../helpers/pg.ts";
import { ADMIN, SECURED_JWT } from "../helpers/secured.ts";
import { startServer, type TestServer } from "../helpers/server.ts";
import { collect, rawSocket, transportClient, wsUrl } from "../helpers/ws.ts";

t.setTimeout(120_000);

const INTERVAL_MS = 100;
const USER1 = { ...ADMIN, "x-hasura-role": "user", "x-hasura-user-id": "1" };
const MINE = "subscription { transaction(order_by: {id: asc}) { id amount } }";

const db = await createTestDatabase(t);

/** How long an HTTP query takes now (ms), and that it answered right. */
async function httpProbe(t: Test, srv: TestServer, label: string): Promise<number> {
  const started = Date.now();
  const res = await srv.gql("{ transaction_aggregate { aggregate { count } } }", { path: "/v1/graphql", headers: USER1 });
  const ms = Date.now() - started;
  t.type(res.body?.data?.transaction_aggregate?.aggregate?.count, "number", `${label}: an HTTP query answers (${ms} ms)`);
  t.ok(ms < 1_000, `${label}: within a second (${ms} ms)`);
  return ms;
}

/** A bystander subscriber: its live query must still follow a write. */
async function bystanderFollows(t: Test, srv: TestServer, label: string) {
  const client = transportClient(t, wsUrl(srv), USER1);
  const live = collect(client, MINE);
  await live.atLeast(1);
  await db.asRoot(`update public.transaction set amount = amount + 1 where "userId" = 1`);
  await live.atLeast(2);
  t.not(JSON.stringify(live.results[1]), JSON.stringify(live.results[0]), `${label}: a bystander's live query follows a write`);
  live.stop();
  await client.dispose();
}

const env = (extra: Record<string, string> = {}) => ({
  ...SECURED_JWT,
  HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL: String(INTERVAL_MS),
  HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL: String(INTERVAL_MS),
  ...extra,
});

t.test("subscription floods: per-socket and server-wide bounds, on both protocols; slots return", async (t) => {
  const srv = await startServer(t, {
    db,
    env: env({ HASURA_GRAPHQL_WEBSOCKET_MAX_SUBSCRIPTIONS: "5", HASURA_GRAPHQL_MAX_SUBSCRIPTIONS: "12" }),
  });
  const sockets = [];
  for (const protocol of ["graphql-ws", "graphql-transport-ws"] as const) {
    const s = await rawSocket(wsUrl(srv), protocol);
    sockets.push(s);
    const start = protocol === "graphql-ws" ? "start" : "subscribe";
    const data = protocol === "graphql-ws" ? "data" : "next";
    s.send({ type: "connection_init", payload: { headers: USER1 } });
    await s.next("connection_ack");
    if (protocol === "graphql-ws") {
      // All at once.
      for (let i = 1; i <= 8; i++) s.send({ type: start, id: String(i), payload: { query: MINE } });
      for (let i = 0; i < 5; i++) await s.next(data);
    } else {
      // One after the other (all at once: see the next test).
      for (let i = 1; i <= 5; i++) {
        s.send({ type: start, id: String(i), payload: { query: MINE } });
        await s.next(data);
      }
      for (let i = 6; i <= 8; i++) s.send({ type: start, id: String(i), payload: { query: MINE } });
    }
    const errors = [await s.next("error"), await s.next("error"), await s.next("error")];
    t.same(errors.map((e) => e.id).sort(), ["6", "7", "8"], `${protocol}: the 6th to 8th subscriptions are refused`);
    const text = JSON.stringify(errors[0].payload);
    t.match(text, /too many subscriptions on this socket \(at most 5\)/, `${protocol}: in words`);
    t.match(text, /bad-request/, `${protocol}: bad-request`);
    t.equal(s.ws.readyState, s.ws.OPEN, `${protocol}: the socket stays open`);
  }
  // 10 of 12 taken: a third socket gets 2, then the server-wide refusal.
  const third = await rawSocket(wsUrl(srv), "graphql-transport-ws");
  third.send({ type: "connection_init", payload: { headers: USER1 } });
  await third.next("connection_ack");
  for (let i = 1; i <= 2; i++) {
    third.send({ type: "subscribe", id: String(i), payload: { query: MINE } });
    await third.next("next");
  }
  third.send({ type: "subscribe", id: "3", payload: { query: MINE } });
  const refused = await third.next("error");
  t.equal(refused.id, "3");
  t.match(JSON.stringify(refused.payload), /too many subscriptions on this server \(at most 12\).*unexpected/, "the server-wide bound");

  // Stopping subscriptions (and closing a socket) gives their slots back.
  sockets[0]!.send({ type: "stop", id: "1" });
  sockets[1]!.ws.close();
  await sockets[1]!.closed;
  await new Promise((r) => setTimeout(r, 200));
  third.send({ type: "subscribe", id: "4", payload: { query: MINE } });
  const next = await third.next("next");
  t.equal(next.id, "4", "a slot freed by stop/close is usable again");
  await httpProbe(t, srv, "after the flood");
  for (const s of [sockets[0]!, third]) s.ws.close();
});

t.test("graphql-transport-ws: subscriptions sent all at once are held to the per-socket bound", async (t) => {
  const srv = await startServer(t, { db, env: env({ HASURA_GRAPHQL_WEBSOCKET_MAX_SUBSCRIPTIONS: "5" }) });
  const s = await rawSocket(wsUrl(srv), "graphql-transport-ws");
  s.send({ type: "connection_init", payload: { headers: USER1 } });
  await s.next("connection_ack");
  for (let i = 1; i <= 40; i++) s.send({ type: "subscribe", id: String(i), payload: { query: MINE } });
  await new Promise((r) => setTimeout(r, 1_500));
  const live = new Set(s.messages.filter((m) => m.type === "next" && m.payload?.data).map((m) => m.id));
  const refused = s.messages.filter((m) => m.type === "error").length;
  // The bound is checked in onSubscribe and the library registers in subscribe(), a promise step later:
  // the slot must be taken in onSubscribe or a burst passes it.
  t.equal(live.size, 5, `5 subscriptions live (got ${live.size})`);
  t.equal(refused, 35, "the other 35 refused");
  s.ws.close();
});

t.test("a huge cohort: 1,000 subscribers of one query and session all get the result and each write", async (t) => {
  const srv = await startServer(t, { db, env: env({ HASURA_GRAPHQL_PG_CONNECTIONS: "2" }) });
  const subs: Array<ReturnType<typeof collect>> = [];
  for (let c = 0; c < 10; c++) {
    const client = transportClient(t, wsUrl(srv), USER1);
    for (let i = 0; i < 100; i++) subs.push(collect(client, MINE));
  }
  const started = Date.now();
  await Promise.all(subs.map((s) => s.atLeast(1, 20_000)));
  t.comment(`1,000 first results in ${Date.now() - started} ms`);
  const first = JSON.stringify(subs[0]!.results[0]);
  t.ok(
    subs.every((s) => JSON.stringify(s.results[0]) === first),
    "every subscriber got the same result",
  );
  t.ok(first.includes('"transaction":['), "a result with rows");
  await httpProbe(t, srv, "with 1,000 subscribers");
  const writeAt = Date.now();
  await db.asRoot(`update public.transaction set amount = amount + 1 where "userId" = 1`);
  await Promise.all(subs.map((s) => s.atLeast(2, 20_000)));
  t.comment(`the write reached 1,000 subscribers in ${Date.now() - writeAt} ms`);
  const second = JSON.stringify(subs[0]!.results[1]);
  t.not(second, first);
  t.ok(
    subs.every((s) => JSON.stringify(s.results[1]) === second && s.results.length === 2),
    "each got the new result once",
  );
  for (const s of subs) s.stop();
});

t.test("a reader that never reads is closed with 1013 (slow consumer), on both protocols; others go on", async (t) => {
  // Large rows (~8 kB each, 200 of them: ~1.6 MB per result) that change every tick.
  await db.asRoot(`
    create table public.big (id int primary key, body text not null, n int not null default 0);
    alter table public.big enable row level security;
    create policy admin_all on public.big for all to admin using (true);
    grant select on public.big to admin;
    insert into public.big select g, repeat(md5(g::text), 256), 0 from generate_series(1, 200) g;`);
  const srv = await startServer(t, { db, env: env({ HASURA_GRAPHQL_WEBSOCKET_MAX_BUFFERED_BYTES: String(256 * 1024) }) });
  // The table is new: the admin schema sees it after a reload of the server's schemas.
  await srv.gql("{ __typename }", { path: "/v1/graphql", headers: ADMIN });
  const BIG = "subscription { big(order_by: {id: asc}) { id body n } }";
  const hasBig = await srv.gql("{ big(limit: 1) { id } }", { path: "/v1/graphql", headers: ADMIN });
  t.ok(hasBig.body?.data?.big, `the big table is exposed: ${JSON.stringify(hasBig.body).slice(0, 200)}`);

  let writes = 0;
  const writer = setInterval(() => {
    writes++;
    void db.asRoot("update public.big set n = n + 1").catch(() => {});
  }, INTERVAL_MS);
  t.teardown(() => clearInterval(writer));
  const rssBefore = process.memoryUsage().rss;

  for (const protocol of ["graphql-ws", "graphql-transport-ws"] as const) {
    const s = await rawSocket(wsUrl(srv), protocol);
    s.send({ type: "connection_init", payload: { headers: ADMIN } });
    await s.next("connection_ack");
    s.send({ type: protocol === "graphql-ws" ? "start" : "subscribe", id: "1", payload: { query: BIG } });
    await s.next(protocol === "graphql-ws" ? "data" : "next", 15_000);
    // Stop reading: the socket's data piles up on the server's side.
    (s.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const pausedAt = Date.now();
    await httpProbe(t, srv, `${protocol}: while a reader is paused`);
    // The close frame is only read once we read again: resume after the server has had time to give up.
    await new Promise((r) => setTimeout(r, 5_000));
    (s.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await Promise.race([s.closed, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    const closedAt = Date.now();
    t.ok(closed, `${protocol}: the socket was closed`);
    t.equal(closed?.code, 1013, `${protocol}: 1013`);
    t.match(closed?.reason ?? "", /slow consumer/, `${protocol}: the reason says why: ${closed?.reason}`);
    t.comment(`${protocol}: closed ${closedAt - pausedAt} ms after pausing, ${writes} writes so far`);
  }
  clearInterval(writer);
  const grown = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
  t.ok(grown < 300, `bounded memory: the process grew ${grown.toFixed(0)} MB`);
  await bystanderFollows(t, srv, "after the slow readers");
});

t.test("oversized, garbage and early messages; message floods", async (t) => {
  const srv = await startServer(t, {
    db,
    env: env({ HASURA_GRAPHQL_WEBSOCKET_MAX_MESSAGE_BYTES: "4096", HASURA_GRAPHQL_WEBSOCKET_MAX_MESSAGES_PER_SECOND: "20" }),
  });
  const url = wsUrl(srv);
  const huge = { query: `${MINE} # ${"x".repeat(8192)}` };

  await t.test("an oversized message closes the socket with 1009, on both protocols", async (t) => {
    for (const [protocol, start] of [
      ["graphql-ws", "start"],
      ["graphql-transport-ws", "subscribe"],
    ] as const) {
      const s = await rawSocket(url, protocol);
      s.send({ type: "connection_init", payload: { headers: USER1 } });
      await s.next("connection_ack");
      s.send({ type: start, id: "1", payload: huge });
      t.equal((await s.closed).code, 1009, protocol);
    }
    // Before init too: the bound is on the frame.
    const s = await rawSocket(url, "graphql-ws");
    s.ws.send("x".repeat(10_000));
    t.equal((await s.closed).code, 1009, "an oversized first frame");
  });

  await t.test("garbage and binary frames", async (t) => {
    // graphql-transport-ws: the library's 4400.
    for (const frame of ["not json", "{}", '{"type":"nope"}', Buffer.from([0, 1, 2])]) {
      const s = await rawSocket(url, "graphql-transport-ws");
      s.send({ type: "connection_init", payload: { headers: USER1 } });
      await s.next("connection_ack");
      s.ws.send(frame);
      const closed = await s.closed;
      t.equal(closed.code, 4400, `graphql-transport-ws, ${JSON.stringify(String(frame))}: 4400 (${closed.reason})`);
    }
    // Legacy: connection_error for each, the socket stays usable (as Hasura).
    const s = await rawSocket(url, "graphql-ws");
    s.send({ type: "connection_init", payload: { headers: USER1 } });
    await s.next("connection_ack");
    for (const frame of ["not json", "42", '{"type":"nope"}', '{"type":"start"}', Buffer.from([0, 1, 2])]) {
      s.ws.send(frame);
      const err = await s.next("connection_error");
      t.match(err.payload, /parsing ClientMessage failed/, `legacy, ${JSON.stringify(String(frame))}: connection_error`);
    }
    s.send({ type: "start", id: "1", payload: { query: MINE } });
    const data = await s.next("data");
    t.ok(data.payload.data.transaction, "legacy: then a subscription still works");
    s.ws.close();
  });

  await t.test("operations before connection_init", async (t) => {
    const s = await rawSocket(url, "graphql-transport-ws");
    s.send({ type: "subscribe", id: "1", payload: { query: MINE } });
    const closed = await s.closed;
    t.equal(closed.code, 4401, `graphql-transport-ws: 4401 ${closed.reason}`);
    t.equal(s.messages.filter((m) => m.type === "next").length, 0, "no data");

    const l = await rawSocket(url, "graphql-ws");
    l.send({ type: "start", id: "1", payload: { query: MINE } });
    const err = await l.next("error");
    t.match(JSON.stringify(err.payload), /start-failed/, "legacy: start-failed");
    await new Promise((r) => setTimeout(r, 300));
    t.equal(l.messages.filter((m) => m.type === "data").length, 0, "legacy: no data");
    l.ws.close();
  });

  await t.test("a message flood closes the socket with 1008, on both protocols", async (t) => {
    for (const [protocol, ping] of [
      ["graphql-ws", { type: "stop", id: "x" }],
      ["graphql-transport-ws", { type: "ping" }],
    ] as const) {
      const s = await rawSocket(url, protocol);
      s.send({ type: "connection_init", payload: { headers: USER1 } });
      await s.next("connection_ack");
      for (let i = 0; i < 100; i++) s.send(ping);
      const closed = await s.closed;
      t.equal(closed.code, 1008, protocol);
      t.match(closed.reason, /too many messages/);
    }
  });

  await httpProbe(t, srv, "after the hostile clients");
  await bystanderFollows(t, srv, "after the hostile clients");
});
