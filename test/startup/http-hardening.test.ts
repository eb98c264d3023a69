/**
 * What the HTTP layer sends besides GraphQL (issue 11, "Hardening that
 * users expect"): security headers on every answer, CORS as Hasura
 * (HASURA_GRAPHQL_CORS_DOMAIN, HASURA_GRAPHQL_DISABLE_CORS) but never
 * credentials with a wildcard origin, and GraphiQL / the console only when
 * HASURA_GRAPHQL_ENABLE_CONSOLE (off by default in production).
 */
import { expectConfigError } from "../helpers/config-errors.ts";
import t, { type Test } from "tap";
import { loadConfig } from "../../server/config.ts";
import { errorLines, startMain } from "../helpers/process.ts";
import { ADMIN, ADMIN_SECRET_ENV, PRODUCTION as NODE_ENV_PRODUCTION } from "../helpers/secured.ts";
import { startServer, type TestServer } from "../helpers/server.ts";

const PRODUCTION = { ...NODE_ENV_PRODUCTION, ...ADMIN_SECRET_ENV };
const QUERY = JSON.stringify({ query: "{ user(limit: 1) { id } }" });

function expectSecurityHeaders(t: Test, res: Response, label: string) {
  t.equal(res.headers.get("x-content-type-options"), "nosniff", `${label}: nosniff`);
  t.equal(res.headers.get("x-frame-options"), "DENY", `${label}: X-Frame-Options`);
  t.match(res.headers.get("content-security-policy"), /frame-ancestors 'none'/, `${label}: frame-ancestors`);
  t.equal(res.headers.get("referrer-policy"), "no-referrer", `${label}: Referrer-Policy`);
}

const post = (srv: TestServer, path: string, headers: Record<string, string> = {}, body = QUERY) =>
  fetch(srv.url + path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

const preflight = (srv: TestServer, origin: string, path = "/v1/graphql") =>
  fetch(srv.url + path, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization,content-type,x-hasura-role,x-hasura-admin-secret",
    },
  });

t.test("security headers on every answer: success, GraphQL error, bad JSON, 404, shed, console", async (t) => {
  const srv = await startServer(t);
  const answers: [string, Response][] = [
    ["/healthz", await fetch(`${srv.url}/healthz`)],
    ["/v1/graphql", await post(srv, "/v1/graphql")],
    ["/graphql", await post(srv, "/graphql", {}, JSON.stringify({ query: "{ allUsers { nodes { id } } }" }))],
    ["GraphQL error", await post(srv, "/v1alpha1/graphql", {}, JSON.stringify({ query: "{ nope }" }))],
    ["bad JSON", await post(srv, "/v1alpha1/graphql", {}, "{")],
    ["unknown route", await fetch(`${srv.url}/nowhere`)],
    ["/graphiql", await fetch(`${srv.url}/graphiql`)],
  ];
  t.equal(answers[3]![1].status, 400);
  t.equal(answers[4]![1].status, 400);
  t.equal(answers[5]![1].status, 404);
  for (const [label, res] of answers) {
    expectSecurityHeaders(t, res, label);
    await res.arrayBuffer();
  }
  // The console's page keeps its own policy, framing still forbidden.
  const page = await fetch(`${srv.url}/console/permissions`);
  t.equal(page.status, 200);
  t.match(page.headers.get("content-security-policy"), /script-src 'self';.*frame-ancestors 'none'/);
  t.equal(page.headers.get("x-frame-options"), "DENY");
  await page.text();
  // GraphiQL's own assets keep a real content type (nosniff would block them otherwise).
  const html = await (await fetch(`${srv.url}/graphiql`)).text();
  const asset = /\/ruru-static\/[^"'\s]+\.js/.exec(html)?.[0];
  t.ok(asset, "GraphiQL loads a script from /ruru-static/");
  if (asset) {
    const js = await fetch(srv.url + asset);
    t.equal(js.status, 200);
    t.match(js.headers.get("content-type"), /javascript/);
    expectSecurityHeaders(t, js, asset);
    await js.arrayBuffer();
  }
});

t.test("security headers and CORS on load-shedding refusals", async (t) => {
  const srv = await startServer(t, { env: { HASURA_GRAPHQL_MAX_HEAP_USED_BYTES: "1" } });
  await new Promise((r) => setTimeout(r, 1_300)); // under-pressure samples once a second
  const res = await post(srv, "/v1alpha1/graphql", { origin: "https://app.example.com" });
  t.equal(res.status, 503);
  expectSecurityHeaders(t, res, "503");
  t.equal(res.headers.get("access-control-allow-origin"), "*", "a browser can read the refusal");
  await res.text();
});

t.test("CORS default (*): any origin, never with credentials; preflight answered", async (t) => {
  const srv = await startServer(t);
  const res = await post(srv, "/v1/graphql", { origin: "https://evil.example" });
  t.equal(res.status, 200);
  t.equal(res.headers.get("access-control-allow-origin"), "*");
  t.equal(res.headers.get("access-control-allow-credentials"), null, "no credentials with *");
  await res.text();

  const pre = await preflight(srv, "https://evil.example");
  t.equal(pre.status, 204);
  t.equal(pre.headers.get("access-control-allow-origin"), "*");
  t.equal(pre.headers.get("access-control-allow-credentials"), null);
  t.match(pre.headers.get("access-control-allow-methods"), /\bPOST\b/);
  t.match(pre.headers.get("access-control-allow-headers"), /authorization.*content-type.*x-hasura-role/i);
  t.equal(pre.headers.get("access-control-max-age"), "1728000");
  expectSecurityHeaders(t, pre, "preflight");
  for (const path of ["/graphql", "/v1alpha1/graphql"]) {
    t.equal((await preflight(srv, "https://a.example", path)).status, 204, `preflight ${path}`);
  }
});

t.test("CORS list: exact origins and Hasura's one-label wildcards, reflected with credentials", async (t) => {
  const srv = await startServer(t, {
    env: { HASURA_GRAPHQL_CORS_DOMAIN: "https://app.example.com, https://*.example.org, http://localhost:3000, https://*.api.test:8443" },
  });
  const allowed = ["https://app.example.com", "https://x.example.org", "http://localhost:3000", "https://eu.api.test:8443"];
  const refused = [
    "https://example.org", // the wildcard does not cover the domain itself
    "https://a.b.example.org", // nor two labels
    "https://evil-example.org",
    "https://app.example.com.evil.net",
    "http://app.example.com", // another scheme
    "http://localhost:3001", // another port
    "https://eu.api.test", // port missing
    "null",
  ];
  for (const origin of allowed) {
    const res = await post(srv, "/v1/graphql", { origin });
    t.equal(res.headers.get("access-control-allow-origin"), origin, `${origin}: reflected`);
    t.equal(res.headers.get("access-control-allow-credentials"), "true", `${origin}: credentials`);
    t.match(res.headers.get("vary"), /origin/i, `${origin}: Vary: Origin`);
    await res.text();
    const pre = await preflight(srv, origin);
    t.equal(pre.status, 204, `${origin}: preflight`);
    t.equal(pre.headers.get("access-control-allow-origin"), origin);
    t.equal(pre.headers.get("access-control-allow-credentials"), "true");
  }
  for (const origin of refused) {
    const res = await post(srv, "/v1/graphql", { origin });
    t.equal(res.status, 200, `${origin}: still answered (CORS is the browser's rule)`);
    t.equal(res.headers.get("access-control-allow-origin"), null, `${origin}: no Allow-Origin`);
    t.equal(res.headers.get("access-control-allow-credentials"), null, `${origin}: no credentials`);
    await res.text();
    const pre = await preflight(srv, origin);
    t.equal(pre.headers.get("access-control-allow-origin"), null, `${origin}: preflight not allowed`);
    t.equal(pre.status, 404, `${origin}: preflight 404`);
    await pre.text();
  }
  const noOrigin = await post(srv, "/v1/graphql");
  t.equal(noOrigin.headers.get("access-control-allow-origin"), null, "no Origin: no CORS headers");
  t.equal(noOrigin.status, 200);
  await noOrigin.text();
});

t.test("HASURA_GRAPHQL_DISABLE_CORS: no CORS headers at all", async (t) => {
  const srv = await startServer(t, { env: { HASURA_GRAPHQL_DISABLE_CORS: "true", HASURA_GRAPHQL_CORS_DOMAIN: "https://app.example.com" } });
  const res = await post(srv, "/v1/graphql", { origin: "https://app.example.com" });
  t.equal(res.status, 200);
  t.equal(res.headers.get("access-control-allow-origin"), null);
  t.equal(res.headers.get("access-control-allow-credentials"), null);
  await res.text();
  const pre = await preflight(srv, "https://app.example.com");
  t.equal(pre.status, 404);
  t.equal(pre.headers.get("access-control-allow-origin"), null);
  await pre.text();
});

t.test("CORS and console settings: bad values are ConfigErrors naming the variable", async (t) => {
  const bad: [Record<string, string>, string, RegExp][] = [
    [{ HASURA_GRAPHQL_CORS_DOMAIN: "example.com" }, "HASURA_GRAPHQL_CORS_DOMAIN", /invalid domain: "example.com"/],
    [{ HASURA_GRAPHQL_CORS_DOMAIN: "https://example.com/app" }, "HASURA_GRAPHQL_CORS_DOMAIN", /invalid domain/],
    [{ HASURA_GRAPHQL_CORS_DOMAIN: "http://localhost:*" }, "HASURA_GRAPHQL_CORS_DOMAIN", /invalid domain/],
    [{ HASURA_GRAPHQL_CORS_DOMAIN: "https://*.*.example.com" }, "HASURA_GRAPHQL_CORS_DOMAIN", /invalid domain/],
    [{ HASURA_GRAPHQL_CORS_DOMAIN: "https://a.com,,https://b.com" }, "HASURA_GRAPHQL_CORS_DOMAIN", /invalid domain: ""/],
    [{ HASURA_GRAPHQL_CORS_DOMAIN: "" }, "HASURA_GRAPHQL_CORS_DOMAIN", /invalid domain/],
    [{ HASURA_GRAPHQL_DISABLE_CORS: "maybe" }, "HASURA_GRAPHQL_DISABLE_CORS", /expected true or false/],
    [{ HASURA_GRAPHQL_ENABLE_CONSOLE: "sometimes" }, "HASURA_GRAPHQL_ENABLE_CONSOLE", /expected true or false/],
    [{ HASURA_GRAPHQL_REQUEST_BODY_TIMEOUT_MS: "10s" }, "HASURA_GRAPHQL_REQUEST_BODY_TIMEOUT_MS", /expected an integer/],
    [{ HASURA_GRAPHQL_MAX_CONNECTIONS_PER_CLIENT: "-1" }, "HASURA_GRAPHQL_MAX_CONNECTIONS_PER_CLIENT", /expected an integer/],
  ];
  for (const [env, key, message] of bad) expectConfigError(t, env, key, message);
  const ok = loadConfig({ HASURA_GRAPHQL_CORS_DOMAIN: " https://A.example.com , https://*.Example.org:8080 " }).http.corsOrigins;
  t.same(ok, { exact: ["https://a.example.com"], wildcards: [{ scheme: "https://", host: "example.org", port: "8080" }] });
  t.equal(loadConfig({}).http.corsOrigins, "*", "Hasura's default");
  t.equal(loadConfig({}).http.enableConsole, true, "console on in development");
  t.equal(loadConfig(PRODUCTION).http.enableConsole, false, "console off in production");
  t.equal(loadConfig({ ...PRODUCTION, HASURA_GRAPHQL_ENABLE_CONSOLE: "true" }).http.enableConsole, true);

  // And the server says so in one line.
  const proc = startMain({ HASURA_GRAPHQL_CORS_DOMAIN: "example.com", PORT: "0" });
  const { code } = await proc.exited;
  t.equal(code, 1);
  const lines = errorLines(proc.output());
  t.equal(lines.length, 1, proc.output());
  t.match(lines[0], /^error: HASURA_GRAPHQL_CORS_DOMAIN: invalid domain: "example.com"/);
});

async function expectNotFound(t: Test, srv: TestServer, path: string) {
  const res = await fetch(srv.url + path);
  t.equal(res.status, 404, `${path}: 404`);
  t.same(await res.json(), { error: "resource does not exist", path: "$", code: "not-found" }, `${path}: Hasura's not-found`);
}

const CONSOLE_PATHS = [
  "/graphiql",
  "/graphiql?query=%7B__typename%7D",
  "/ruru-static/ruru.min.js",
  "/console/permissions",
  "/console/permissions.json",
  "/console",
];

t.test("production: GraphiQL and the console are not served unless enabled", async (t) => {
  const srv = await startServer(t, { env: PRODUCTION });
  for (const path of CONSOLE_PATHS) await expectNotFound(t, srv, path);
  const res = await post(srv, "/v1/graphql", ADMIN);
  t.same(await res.json(), { data: { user: [{ id: 1 }] } }, "GraphQL itself is served");
  t.equal((await fetch(`${srv.url}/healthz`)).status, 200);
});

t.test("production with HASURA_GRAPHQL_ENABLE_CONSOLE=true: served", async (t) => {
  const srv = await startServer(t, { env: { ...PRODUCTION, HASURA_GRAPHQL_ENABLE_CONSOLE: "true" } });
  const page = await fetch(`${srv.url}/graphiql`);
  t.equal(page.status, 200);
  t.match(await page.text(), /ruru/i);
  const consolePage = await fetch(`${srv.url}/console/permissions`);
  t.equal(consolePage.status, 200);
  await consolePage.text();
  const data = await fetch(`${srv.url}/console/permissions.json`);
  t.equal(data.status, 401, "its data still needs the admin secret");
  await data.text();
});

t.test("development with HASURA_GRAPHQL_ENABLE_CONSOLE=false: not served", async (t) => {
  const srv = await startServer(t, { env: { HASURA_GRAPHQL_ENABLE_CONSOLE: "false" } });
  for (const path of CONSOLE_PATHS) await expectNotFound(t, srv, path);
  t.equal((await post(srv, "/graphql", {}, JSON.stringify({ query: "{ __typename }" }))).status, 200);
});
