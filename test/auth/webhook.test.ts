/**
 * Webhook mode (HASURA_GRAPHQL_AUTH_HOOK), GET and POST: the hook's
 * decision becomes the session; denials and failures are errors, never the
 * anonymous role; decisions are cached for as long as the hook says.
 */
import t, { type Test } from "tap";
import { expectRejected, whoami } from "../helpers/auth-cases.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { installProbe } from "../helpers/probe.ts";
import { startServer } from "../helpers/server.ts";
import { webhookServer } from "../helpers/tokens.ts";

const ADMIN_SECRET = "test-admin-secret";

async function hookServer(t: Tap, url: string, env: Record<string, string> = {}) {
  const db = await createTestDatabase(t);
  await installProbe(db);
  return startServer(t, { db, env: { HASURA_GRAPHQL_ADMIN_SECRET: ADMIN_SECRET, HASURA_GRAPHQL_AUTH_HOOK: url, ...env } });
}
type Tap = Test;

t.test("GET mode", async (t) => {
  const hook = await webhookServer((req, _body, res) => {
    const auth = req.headers.authorization;
    if (auth === "Bearer good") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ "X-Hasura-Role": "user", "X-Hasura-User-Id": "25", "Cache-Control": "max-age=60" }));
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

  t.test("rejects: hook says 401", (t) => expectRejected(t, srv, { authorization: "Bearer nope" }, 401, "access-denied", /^Authentication hook unauthorized this request$/));
  t.test("rejects: no credentials at all (hook says 401)", (t) => expectRejected(t, srv, {}, 401, "access-denied", /unauthorized this request/));
  t.test("rejects: hook fails with 500", (t) => expectRejected(t, srv, { authorization: "Bearer boom" }, 500, "unexpected", /^Invalid response from authorization hook$/));
  t.test("rejects: hook answers bad JSON", (t) => expectRejected(t, srv, { authorization: "Bearer badjson" }, 500, "unexpected", /Invalid response from authorization hook/));
  t.test("rejects: hook answers a non-string value", (t) => expectRejected(t, srv, { authorization: "Bearer nonstring" }, 500, "unexpected", /Invalid response/));
  t.test("rejects: hook answers without a role", (t) => expectRejected(t, srv, { authorization: "Bearer norole" }, 400, "invalid-params", /^x-hasura-role not found in session variables$/));
  t.test("rejects: hook names a non-application role", (t) => expectRejected(t, srv, { authorization: "Bearer postgres" }, 400, "access-denied", /not an application role/));
  t.test("rejects: hook times out", (t) => expectRejected(t, srv, { authorization: "Bearer slow" }, 500, "unexpected", /^webhook authentication request failed$/));
  t.test("admin secret bypasses the hook", async (t) => {
    const before = hook.calls.length;
    t.equal((await whoami(srv, { "x-hasura-admin-secret": ADMIN_SECRET })).role, "admin");
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
});

t.test("unreachable hook is an error, not anonymous", async (t) => {
  const { freePort } = await import("../helpers/net.ts");
  const srv = await hookServer(t, `http://127.0.0.1:${await freePort()}/auth`);
  await expectRejected(t, srv, { authorization: "Bearer x" }, 500, "unexpected", /webhook authentication request failed/);
});
