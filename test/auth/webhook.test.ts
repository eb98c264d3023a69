/**
 * Webhook mode (HASURA_GRAPHQL_AUTH_HOOK), GET and POST: the hook's
 * decision becomes the session; denials and failures are errors, never the
 * anonymous role; decisions are cached for as long as the hook says.
 */
import { connect } from "node:net";
import t, { type Test } from "tap";
import { expectRejected, whoami } from "../helpers/auth-cases.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { installProbe } from "../helpers/probe.ts";
import { ADMIN, ADMIN_SECRET_ENV } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";
import { webhookServer } from "../helpers/tokens.ts";

async function hookServer(t: Tap, url: string, env: Record<string, string> = {}) {
  const db = await createTestDatabase(t);
  await installProbe(db);
  return startServer(t, { db, env: { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_AUTH_HOOK: url, ...env } });
}
type Tap = Test;

/**
 * `{ whoami }` written on a raw socket: neither fetch nor node:http lets a
 * test send every connection-level header a real client or proxy may send.
 */
function rawWhoami(url: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  const { port } = new URL(url);
  const body = JSON.stringify({ query: "{ whoami }" });
  const names = Object.keys(headers).map((h) => h.toLowerCase());
  const chunked = names.includes("transfer-encoding");
  const head = [
    "POST /graphql HTTP/1.1",
    ...(names.includes("host") ? [] : [`Host: 127.0.0.1:${port}`]),
    "Content-Type: application/json",
    chunked ? "" : `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ].filter(Boolean);
  const payload = chunked ? `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n` : body;
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1");
    let raw = Buffer.alloc(0);
    socket.on("data", (d) => {
      raw = Buffer.concat([raw, d]);
      for (;;) {
        const text = raw.toString("latin1");
        const end = text.indexOf("\r\n\r\n");
        if (end < 0) return;
        const header = text.slice(0, end);
        if (/^HTTP\/1\.1 100/.test(header)) {
          raw = raw.subarray(end + 4); // the interim 100 Continue
          continue;
        }
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(header)?.[1]);
        if (raw.length - (end + 4) < length) return;
        socket.destroy();
        resolve({ status: Number(header.slice(9, 12)), body: JSON.parse(raw.subarray(end + 4, end + 4 + length).toString("utf8")) });
        return;
      }
    });
    socket.on("error", reject);
    socket.setTimeout(5_000, () => {
      socket.destroy();
      reject(new Error(`no complete answer within 5 s: ${raw.toString("latin1")}`));
    });
    socket.write(`${head.join("\r\n")}\r\n\r\n${payload}`);
  });
}

// Connection-level headers a client may send, none of which may reach the hook
// or make its call fail (Hasura's HTTP client does not forward them either).
const HOP_BY_HOP: Array<[string, string]> = [
  ["Keep-Alive", "timeout=5, max=100"],
  ["Expect", "100-continue"],
  ["Upgrade", "h2c"],
  ["Connection", "close"],
  ["TE", "trailers"],
  ["Trailer", "x-checksum"],
  ["Transfer-Encoding", "chunked"],
  ["Proxy-Authorization", "Basic cHJveHk6cHc="],
  ["Proxy-Connection", "keep-alive"],
  ["Host", "attacker.example"],
  ["Content-Length", ""], // rawWhoami always sends it (or Transfer-Encoding)
];

t.test("GET mode", async (t) => {
  const hook = await webhookServer((req, _body, res) => {
    const auth = req.headers.authorization;
    if (auth === "Bearer good") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ "X-Hasura-Role": "user", "X-Hasura-User-Id": "25", "Cache-Control": "max-age=60" }));
    } else if (auth?.startsWith("Bearer fresh-")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ "x-hasura-role": "user", "x-hasura-user-id": auth.slice("Bearer fresh-".length) }));
    } else if (auth === "Bearer nocache") {
      res.writeHead(200, { "content-type": "application/json", "set-cookie": "session=abc; HttpOnly" });
      res.end(JSON.stringify({ "x-hasura-role": "user", "x-hasura-user-id": "26" }));
    } else if (auth === "Bearer boom") {
      res.writeHead(500).end("oops");
    } else if (auth === "Bearer badjson") {
      res.writeHead(200, { "content-type": "application/json" }).end("{not json");
    } else if (auth === "Bearer nonstring") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ "x-hasura-role": "user", "x-hasura-user-id": 25 }));
    } else if (auth === "Bearer norole") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ "x-hasura-user-id": "25" }));
    } else if (auth === "Bearer postgres") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ "x-hasura-role": "postgres" }));
    } else if (auth === "Bearer slow") {
      setTimeout(() => res.writeHead(200).end(JSON.stringify({ "x-hasura-role": "admin" })), 2_000);
    } else {
      res.writeHead(401).end();
    }
  });
  t.teardown(() => hook.close());
  const srv = await hookServer(t, hook.url, { HASURA_GRAPHQL_AUTH_HOOK_TIMEOUT_MS: "500" });

  t.test("200: the hook's variables are the session; client headers are forwarded", async (t) => {
    const seen = await whoami(srv, { authorization: "Bearer good", "x-hasura-role": "admin" });
    t.equal(seen.role, "user", "the client's X-Hasura-Role does not override the hook");
    t.same(seen.hasura_user, { "x-hasura-user-id": "25", "x-hasura-role": "user" });
    const call = hook.calls.at(-1)!;
    t.equal(call.method, "GET");
    t.equal(call.headers.authorization, "Bearer good");
    t.notOk(call.headers["content-type"], "ignored headers are not forwarded");
  });

  t.test("the decision is cached for the hook's max-age", async (t) => {
    await whoami(srv, { authorization: "Bearer good" });
    const before = hook.calls.length;
    await whoami(srv, { authorization: "Bearer good" });
    await whoami(srv, { authorization: "Bearer good" });
    t.equal(hook.calls.length, before, "no new hook calls for identical credentials");
    await whoami(srv, { authorization: "Bearer nocache" });
    await whoami(srv, { authorization: "Bearer nocache" });
    t.equal(hook.calls.length, before + 2, "no expiry given: called every time");
  });

  t.test("Set-Cookie from the hook reaches the client", async (t) => {
    const res = await srv.gql("{ whoami }", { headers: { authorization: "Bearer nocache" } });
    t.equal(res.headers.get("set-cookie"), "session=abc; HttpOnly");
  });

  t.test("rejects: hook says 401", (t) =>
    expectRejected(t, srv, { authorization: "Bearer nope" }, 401, "access-denied", /^Authentication hook unauthorized this request$/),
  );
  t.test("rejects: no credentials at all (hook says 401)", (t) =>
    expectRejected(t, srv, {}, 401, "access-denied", /unauthorized this request/),
  );
  t.test("rejects: hook fails with 500", (t) =>
    expectRejected(t, srv, { authorization: "Bearer boom" }, 500, "unexpected", /^Invalid response from authorization hook$/),
  );
  t.test("rejects: hook answers bad JSON", (t) =>
    expectRejected(t, srv, { authorization: "Bearer badjson" }, 500, "unexpected", /Invalid response from authorization hook/),
  );
  t.test("rejects: hook answers a non-string value", (t) =>
    expectRejected(t, srv, { authorization: "Bearer nonstring" }, 500, "unexpected", /Invalid response/),
  );
  t.test("rejects: hook answers without a role", (t) =>
    expectRejected(t, srv, { authorization: "Bearer norole" }, 400, "invalid-params", /^x-hasura-role not found in session variables$/),
  );
  t.test("rejects: hook names a non-application role", (t) =>
    expectRejected(t, srv, { authorization: "Bearer postgres" }, 400, "access-denied", /not an application role/),
  );
  t.test("rejects: hook times out", (t) =>
    expectRejected(t, srv, { authorization: "Bearer slow" }, 500, "unexpected", /^webhook authentication request failed$/),
  );
  t.test("hop-by-hop headers: the normal answer, and the hook never sees them", async (t) => {
    for (const [i, [name, value]] of HOP_BY_HOP.entries()) {
      const headers: Record<string, string> = { authorization: `Bearer fresh-${i}` };
      if (name !== "Content-Length") headers[name] = value;
      const before = hook.calls.length;
      const res = await rawWhoami(srv.url, headers);
      t.equal(res.status, 200, `${name}: ${JSON.stringify(res.body)}`);
      t.equal(res.body.data?.whoami?.hasura_user?.["x-hasura-user-id"], String(i), `${name}: the hook's session`);
      t.equal(hook.calls.length, before + 1, `${name}: the hook was called`);
      const seen = hook.calls.at(-1)!.headers[name.toLowerCase()];
      // fetch sets its own Host and Connection; the client's values must not replace them.
      if (name === "Host" || name === "Connection") t.not(seen, value, `${name}: the client's value is not forwarded`);
      else t.equal(seen, undefined, `${name}: not forwarded`);
    }
    // A header the client's Connection names is connection-level too.
    const res = await rawWhoami(srv.url, {
      authorization: "Bearer fresh-99",
      connection: "keep-alive, x-hop-secret",
      "x-hop-secret": "s3cret",
      "x-kept": "yes",
    });
    t.equal(res.status, 200);
    const seen = hook.calls.at(-1)!.headers;
    t.notOk("x-hop-secret" in seen, "a header named in Connection is not forwarded");
    t.equal(seen["x-kept"], "yes", "other headers are");
  });

  t.test("admin secret bypasses the hook", async (t) => {
    const before = hook.calls.length;
    t.equal((await whoami(srv, ADMIN)).role, "admin");
    t.equal(hook.calls.length, before);
  });
});

t.test("POST mode sends headers and the GraphQL request", async (t) => {
  const hook = await webhookServer((_req, body, res) => {
    const parsed = JSON.parse(body) as { headers: Record<string, string>; request: { query: string } };
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ "x-hasura-role": "user", "x-hasura-user-id": parsed.headers["auth-user-id"] ?? "0" }));
  });
  t.teardown(() => hook.close());
  const srv = await hookServer(t, hook.url, { HASURA_GRAPHQL_AUTH_HOOK_MODE: "POST" });
  const seen = await whoami(srv, { "auth-user-id": "7" });
  t.equal(seen.hasura_user["x-hasura-user-id"], "7");
  const call = JSON.parse(hook.calls.at(-1)!.body);
  t.equal(call.headers["auth-user-id"], "7");
  t.equal(call.request.query, "{ whoami }");

  const hop = Object.fromEntries(HOP_BY_HOP.filter(([n]) => n !== "Content-Length" && n !== "Transfer-Encoding" && n !== "Connection"));
  const res = await rawWhoami(srv.url, { ...hop, connection: "keep-alive, x-hop-secret", "x-hop-secret": "s3cret", "auth-user-id": "8" });
  t.equal(res.status, 200, JSON.stringify(res.body));
  t.equal(res.body.data.whoami.hasura_user["x-hasura-user-id"], "8");
  const sent = JSON.parse(hook.calls.at(-1)!.body).headers as Record<string, string>;
  for (const name of [...Object.keys(hop), "connection", "content-length", "x-hop-secret"]) {
    t.notOk(name.toLowerCase() in sent, `${name} is not in the hook's headers object`);
  }
  t.equal(sent["auth-user-id"], "8", "end-to-end headers are");
});

t.test("unreachable hook is an error, not anonymous", async (t) => {
  const { freePort } = await import("../helpers/net.ts");
  const srv = await hookServer(t, `http://127.0.0.1:${await freePort()}/auth`);
  await expectRejected(t, srv, { authorization: "Bearer x" }, 500, "unexpected", /webhook authentication request failed/);
});
