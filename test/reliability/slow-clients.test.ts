/**
 * Slow and greedy clients over real sockets (issue 11, hole 4): 1,010
 * connections each sending headers and one byte of a 1,000-byte body used to
 * fill HASURA_GRAPHQL_MAX_CONCURRENT_REQUESTS for 60 s and lock everyone
 * out. Now a request counts as in progress only once its body has arrived,
 * a request that has not fully arrived within
 * HASURA_GRAPHQL_REQUEST_BODY_TIMEOUT_MS gets 408 and its connection
 * closed, and connections beyond HASURA_GRAPHQL_MAX_CONNECTIONS_PER_CLIENT
 * (per remote address) or HASURA_GRAPHQL_MAX_CONNECTIONS (in all) are closed
 * at once.
 *
 * Attackers connect from other loopback addresses (127.0.0.2, …), the
 * legitimate client from 127.0.0.1, so the per-address bound is seen for
 * what it is.
 */
import net from "node:net";
import t, { type Test } from "tap";
import { startServer, type TestServer } from "../helpers/server.ts";

const HASURA_QUERY = "{ user(order_by: {id: asc}, limit: 1) { id login } }";

interface RawClient {
  socket: net.Socket;
  /** Bytes received so far. */
  received(): string;
  /** Resolves with the ms from connect to close. */
  closed: Promise<number>;
  isClosed(): boolean;
}

// Destroyed after each test, so a failing test does not hold the server's close.
const opened: net.Socket[] = [];
t.afterEach(() => {
  for (const s of opened.splice(0)) s.destroy();
});

function connect(port: number, localAddress: string, send?: string): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    opened.push(socket);
    let data = "";
    let done = false;
    let openedAt = Date.now();
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => (data += d));
    // A reset is one way of being cut off; the test looks at the timing.
    socket.on("error", () => {});
    const closed = new Promise<number>((r) =>
      socket.once("close", () => {
        done = true;
        r(Date.now() - openedAt);
      }),
    );
    socket.once("connect", () => {
      openedAt = Date.now();
      if (send) socket.write(send);
      resolve({ socket, received: () => data, closed, isClosed: () => done });
    });
    socket.once("error", reject);
  });
}

/** Headers of a 1,000-byte body, and its first byte. */
const SLOW_BODY = "POST /v1/graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{";
/** Half the headers of a request. */
const SLOW_HEADERS = "POST /v1/graphql HTTP/1.1\r\nHost: x\r\nContent-Type: appl";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function portOf(srv: TestServer) {
  return (srv.app.server.address() as net.AddressInfo).port;
}

function serverConnections(srv: TestServer): Promise<number> {
  return new Promise((resolve, reject) => srv.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

/** Resolves true if `p` settles within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const won = await Promise.race([p.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
  clearTimeout(timer);
  return won;
}

/** `maxMs` Infinity for a first request, which builds the role's schema. */
async function legitimateQuery(t: Test, srv: TestServer, label: string, maxMs = 1_000) {
  const started = Date.now();
  const res = await srv.gql(HASURA_QUERY, { path: "/v1/graphql" });
  const ms = Date.now() - started;
  t.equal(res.status, 200, `${label}: 200`);
  t.notOk(res.body?.errors, `${label}: no errors (${JSON.stringify(res.body)})`);
  t.equal(res.body?.data?.user?.length, 1, `${label}: the row`);
  t.ok(ms < maxMs, `${label}: answered in ${ms} ms`);
}

t.test("1,010 slow bodies: nobody is locked out, and each is cut after the timeout with 408", async (t) => {
  const TIMEOUT = 3_000;
  const srv = await startServer(t, { env: { HASURA_GRAPHQL_REQUEST_BODY_TIMEOUT_MS: String(TIMEOUT) } });
  const port = portOf(srv);
  await legitimateQuery(t, srv, "before", Infinity);

  // The attack, spread over four addresses so that each stays under
  // the default per-address bound: what is tested here is the counting.
  const ADDRESSES = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"];
  const slow: RawClient[] = [];
  for (let i = 0; i < 1_010; i += 10) {
    slow.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) => connect(port, ADDRESSES[(i + j) % 4]!, SLOW_BODY)))));
  }
  // Slowloris: headers that never end.
  const slowHeaders = await Promise.all(Array.from({ length: 10 }, () => connect(port, "127.0.0.6", SLOW_HEADERS)));
  for (let i = 0; i < 50 && (await serverConnections(srv)) < 1_020; i++) await sleep(20);
  await sleep(200);
  t.ok((await serverConnections(srv)) >= 1_020, "the server holds all the slow connections");
  t.equal(slow.filter((c) => c.isClosed()).length, 0, "none was refused: each address is under its bound");

  t.equal(srv.app.requestsInProgress(), 0, "a request whose body has not arrived is not in progress");
  await legitimateQuery(t, srv, "during the attack");
  await Promise.all(Array.from({ length: 20 }, (_, i) => legitimateQuery(t, srv, `during the attack, concurrent #${i}`)));

  // Node checks once a second: each is cut between TIMEOUT and TIMEOUT + 1 s.
  const all = [...slow, ...slowHeaders];
  const cut = await within(Promise.all(all.map((c) => c.closed)), TIMEOUT + 3_000);
  t.ok(cut, `every slow connection closed within ${TIMEOUT + 3_000} ms`);
  if (!cut) return;
  const times = await Promise.all(all.map((c) => c.closed));
  t.ok(Math.min(...times) >= TIMEOUT - 100, `not before the timeout (earliest ${Math.min(...times)} ms)`);
  t.ok(Math.max(...times) < TIMEOUT + 2_000, `soon after it (latest ${Math.max(...times)} ms)`);
  const answers = new Set(all.map((c) => c.received().split("\r\n")[0]));
  t.same([...answers], ["HTTP/1.1 408 Request Timeout"], "each got 408 before the close");
  const sample = slow[0]!.received();
  t.match(sample, /\r\nconnection: close\r\n/i, "connection: close");
  t.match(sample, /\r\nx-content-type-options: nosniff\r\n/i, "security headers on Node's own answer too");
  t.same(JSON.parse(sample.slice(sample.indexOf("\r\n\r\n") + 4)), {
    error: "the request did not arrive in time",
    path: "$",
    code: "timeout",
  });
  t.equal(srv.app.requestsInProgress(), 0, "nothing left in progress");
  await legitimateQuery(t, srv, "after");
});

t.test("the in-progress count: only complete requests, each released once", async (t) => {
  const srv = await startServer(t, { env: { HASURA_GRAPHQL_MAX_CONCURRENT_REQUESTS: "2" } });
  const port = portOf(srv);
  await legitimateQuery(t, srv, "warm-up", Infinity);
  // More slow bodies than the cap: the cap is untouched.
  const slow = await Promise.all(Array.from({ length: 5 }, () => connect(port, "127.0.0.2", SLOW_BODY)));
  await sleep(200);
  await legitimateQuery(t, srv, "with five slow bodies and a cap of 2");
  // A client that leaves once its body is in: counted, then released.
  const body = JSON.stringify({ query: "{ user { id } }" });
  const quitter = await connect(
    port,
    "127.0.0.3",
    `POST /v1/graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
  quitter.socket.destroy();
  await quitter.closed;
  // Finishing one slow body makes it a real request.
  const last = slow[0]!;
  last.socket.write(`"query": "{ user(limit: 1) { id } }"}`.padEnd(999, " "));
  await within(new Promise((r) => last.socket.once("data", r)), 2_000);
  t.match(last.received(), /^HTTP\/1.1 200 OK\r\n/, "a slow body that arrives is answered");
  t.match(last.received(), /"user":\[\{"id":1\}\]/);
  for (let i = 0; i < 50 && srv.app.requestsInProgress() > 0; i++) await sleep(20);
  t.equal(srv.app.requestsInProgress(), 0, "every counted request was released");
  await legitimateQuery(t, srv, "afterwards");
  for (const c of slow) c.socket.destroy();
});

t.test("connections beyond the per-address bound are closed at once; other addresses are served", async (t) => {
  const CAP = 8;
  const srv = await startServer(t, { env: { HASURA_GRAPHQL_MAX_CONNECTIONS_PER_CLIENT: String(CAP) } });
  const port = portOf(srv);
  await legitimateQuery(t, srv, "before", Infinity);

  const held = await Promise.all(Array.from({ length: CAP }, () => connect(port, "127.0.0.2")));
  const extra = await Promise.all(Array.from({ length: 5 }, () => connect(port, "127.0.0.2")));
  t.ok(await within(Promise.all(extra.map((c) => c.closed)), 1_000), "the connections over the bound were closed within 1 s");
  t.ok(
    extra.every((c) => c.received() === ""),
    "without a byte read or written",
  );
  await sleep(100);
  t.equal(held.filter((c) => c.isClosed()).length, 0, `the first ${CAP} stay open`);
  t.equal(srv.app.connectionsFrom("127.0.0.2"), CAP);
  await legitimateQuery(t, srv, "another address, meanwhile");

  // Room again once some leave.
  held[0]!.socket.destroy();
  held[1]!.socket.destroy();
  for (let i = 0; i < 50 && srv.app.connectionsFrom("127.0.0.2") > CAP - 2; i++) await sleep(10);
  t.equal(srv.app.connectionsFrom("127.0.0.2"), CAP - 2, "closed connections are no longer counted");
  const again = await connect(port, "127.0.0.2", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  await within(new Promise((r) => again.socket.once("data", r)), 2_000);
  t.match(again.received(), /^HTTP\/1.1 200 OK\r\n/, "a new connection from that address is served");
  for (const c of [...held, again]) c.socket.destroy();
  await Promise.all([...held, again].map((c) => c.closed));
  for (let i = 0; i < 50 && srv.app.connectionsFrom("127.0.0.2") > 0; i++) await sleep(10);
  t.equal(srv.app.connectionsFrom("127.0.0.2"), 0, "nothing counted once all have left");
});

t.test("connections beyond HASURA_GRAPHQL_MAX_CONNECTIONS are closed at once", async (t) => {
  const srv = await startServer(t, { env: { HASURA_GRAPHQL_MAX_CONNECTIONS: "6", HASURA_GRAPHQL_MAX_CONNECTIONS_PER_CLIENT: "0" } });
  const port = portOf(srv);
  const held = await Promise.all(Array.from({ length: 6 }, (_, i) => connect(port, `127.0.0.${2 + i}`)));
  for (let i = 0; i < 50 && (await serverConnections(srv)) < 6; i++) await sleep(10);
  const extra = await connect(port, "127.0.0.9");
  t.ok(await within(extra.closed, 1_000), "the 7th connection was closed within 1 s");
  held[0]!.socket.destroy();
  await held[0]!.closed;
  for (let i = 0; i < 50 && (await serverConnections(srv)) > 5; i++) await sleep(10);
  await legitimateQuery(t, srv, "once one has left", Infinity);
  for (const c of held) c.socket.destroy();
});
