/**
 * /console over plain HTTP: served or Hasura's 404 by
 * HASURA_GRAPHQL_ENABLE_CONSOLE, asks for the admin secret only when one is
 * configured, its data endpoints refuse requests without it, its scripts
 * are files (repository and node_modules) with JavaScript's content type
 * under a CSP that allows no inline script.
 */
import { readFile } from "node:fs/promises";
import { getIntrospectionQuery } from "graphql";
import t from "tap";
import { ADMIN, ADMIN_SECRET_ENV, PRODUCTION } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";

t.test("disabled: /console and its assets are Hasura's 404", async (t) => {
  const srv = await startServer(t, { env: { ...PRODUCTION, ...ADMIN_SECRET_ENV } });
  for (const path of ["/console", "/console/", "/console/assets/console.js", "/console/lint.json", "/console/permissions.json"]) {
    const res = await fetch(srv.url + path, { headers: ADMIN });
    t.equal(res.status, 404, `${path}: 404`);
    t.same(await res.json(), { error: "resource does not exist", path: "$", code: "not-found" }, `${path}: Hasura's not-found`);
  }
});

t.test("enabled with an admin secret: the page asks for it, the data needs it", async (t) => {
  const srv = await startServer(t, { env: { ...PRODUCTION, ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_ENABLE_CONSOLE: "true" } });
  for (const path of ["/console", "/console/"]) {
    const res = await fetch(srv.url + path);
    t.equal(res.status, 200, `${path}: served`);
    t.match(res.headers.get("content-type"), /^text\/html/);
    const html = await res.text();
    t.match(html, /data-admin-secret="required"/, `${path}: the login form is shown`);
    t.match(html, /id="login-form"/);
    t.notMatch(html, /https?:\/\//, "nothing from another origin");
    t.notMatch(html, /<script>/, "no inline script");
    const csp = res.headers.get("content-security-policy") ?? "";
    t.match(csp, /script-src 'self'(;|$)/, "scripts from this origin only");
    t.notMatch(csp, /script-src[^;]*unsafe/, "no unsafe-inline or unsafe-eval for scripts");
    t.match(csp, /frame-ancestors 'none'/);
    t.equal(res.headers.get("x-frame-options"), "DENY");
  }
  // The one-page matrix too: its script is a file.
  const matrixPage = await fetch(`${srv.url}/console/permissions`);
  t.equal(matrixPage.status, 200);
  t.notMatch(await matrixPage.text(), /<script>/, "/console/permissions: no inline script");
  t.notMatch(matrixPage.headers.get("content-security-policy"), /script-src[^;]*unsafe/, "/console/permissions: none allowed");
  for (const path of ["/console/permissions.json", "/console/lint.json"]) {
    const denied = await fetch(srv.url + path);
    t.equal(denied.status, 401, `${path}: refused without the secret`);
    t.equal(((await denied.json()) as { code: string }).code, "access-denied");
    const wrong = await fetch(srv.url + path, { headers: { "x-hasura-admin-secret": "not-the-secret" } });
    t.equal(wrong.status, 401, `${path}: refused with a wrong one`);
    const ok = await fetch(srv.url + path, { headers: ADMIN });
    t.equal(ok.status, 200, `${path}: with the secret`);
  }
});

t.test("permissions.json and lint.json say what the Permissions tab shows", async (t) => {
  const srv = await startServer(t, { project: "blog", env: ADMIN_SECRET_ENV });
  const perms = (await (await fetch(`${srv.url}/console/permissions.json`, { headers: ADMIN })).json()) as {
    cells: Record<string, Record<string, Record<string, string>>>;
    columns: Record<string, Record<string, Record<string, string[]>>>;
    allColumns: Record<string, string[]>;
    rls: Record<string, { enabled: boolean; forced: boolean }>;
  };
  t.equal(perms.cells.tag!.anonymous!.S !== "❌", true, "anonymous reads tags");
  t.equal(perms.cells.tag!.anonymous!.I, "❌", "but inserts none");
  // The column lists are the database's own answer, restated here.
  const [expected] = await srv.db.asRoot<{ columns: string[] }>(
    `select array_agg(attname::text order by attnum) as columns from pg_attribute
      where attrelid = 'public.article'::regclass and attnum > 0 and not attisdropped
        and has_column_privilege('anonymous', attrelid, attnum, 'SELECT')`,
  );
  t.same(perms.columns.article!.anonymous!.SELECT, expected!.columns, "anonymous's readable article columns");
  t.same(perms.columns.article!.anonymous!.INSERT, [], "and none to insert");
  t.ok(perms.allColumns.article!.length >= expected!.columns.length);
  const [rls] = await srv.db.asRoot<{ enabled: boolean; forced: boolean }>(
    "select relrowsecurity as enabled, relforcerowsecurity as forced from pg_class where oid = 'public.article'::regclass",
  );
  t.same(perms.rls.article, rls);

  // A finding, made here, is filed under its table.
  await srv.db.asRoot("alter table public.tag no force row level security");
  const lint = (await (await fetch(`${srv.url}/console/lint.json`, { headers: ADMIN })).json()) as {
    findings: Array<{ lint: string; object: string; table: string | null }>;
  };
  t.ok(
    lint.findings.some((f) => f.lint === "rls_not_forced" && f.table === "tag"),
    "rls_not_forced on tag, under tag",
  );
  t.notOk(
    lint.findings.some((f) => f.table === "tag" && f.lint !== "rls_not_forced" && !f.object.includes("tag")),
    "nothing else filed under tag by mistake",
  );
});

t.test("development mode (no admin secret): no login, data open", async (t) => {
  const srv = await startServer(t, {});
  const html = await (await fetch(`${srv.url}/console`)).text();
  t.match(html, /data-admin-secret="none"/);
  t.equal((await fetch(`${srv.url}/console/permissions.json`)).status, 200);
  t.equal((await fetch(`${srv.url}/console/lint.json`)).status, 200);
});

t.test("assets: files from the repository and node_modules, with their content types", async (t) => {
  const srv = await startServer(t, { env: ADMIN_SECRET_ENV });
  const cases: Array<[string, RegExp, URL | null]> = [
    ["/console/assets/console.js", /^text\/javascript/, new URL("../../server/console/console.js", import.meta.url)],
    ["/console/assets/api-tab.js", /^text\/javascript/, new URL("../../server/console/api-tab.js", import.meta.url)],
    ["/console/assets/console.css", /^text\/css/, new URL("../../server/console/console.css", import.meta.url)],
    ["/console/assets/permissions-page.js", /^text\/javascript/, new URL("../../server/console/permissions-page.js", import.meta.url)],
    ["/console/assets/graphql-ws.js", /^text\/javascript/, new URL("../umd/graphql-ws.min.js", import.meta.resolve("graphql-ws"))],
    ["/ruru-static/ruru.js", /^(text|application)\/javascript/, null],
    ["/ruru-static/ruru.css", /^text\/css/, null],
  ];
  for (const [path, type, file] of cases) {
    const res = await fetch(srv.url + path);
    t.equal(res.status, 200, `${path}: served without credentials (it is the same for everyone)`);
    t.match(res.headers.get("content-type"), type, `${path}: content type`);
    t.equal(res.headers.get("x-content-type-options"), "nosniff");
    const body = Buffer.from(await res.arrayBuffer());
    if (file) t.ok(body.equals(await readFile(file)), `${path}: the file itself`);
    else t.ok(body.length > 1000, `${path}: Ruru's bundle`);
  }
  for (const path of [
    "/console/assets/../plugins/console.ts",
    "/console/assets/index.html",
    "/console/assets/constructor",
    "/console/assets/x.js",
  ]) {
    t.equal((await fetch(srv.url + path)).status, 404, `${path}: not an asset`);
  }
});

t.test("GraphiQL's introspection query is within the default limits; data queries still are bounded", async (t) => {
  const srv = await startServer(t, { project: "blog", env: ADMIN_SECRET_ENV });
  // What the API tab's docs send (Ruru: descriptions and deprecated arguments), as admin and as a role.
  const query = getIntrospectionQuery({ schemaDescription: true, inputValueDeprecation: true });
  for (const path of ["/v1/graphql", "/graphql"]) {
    for (const headers of [ADMIN, { ...ADMIN, "x-hasura-role": "anonymous" }]) {
      const res = await srv.gql(query, { headers, path });
      t.notOk(res.body.errors, `${path} ${headers["x-hasura-role"] ?? "admin"}: no errors`);
      t.ok(res.body.data?.__schema?.types?.length > 10, `${path}: the schema`);
    }
  }
  // 51 relationships (object fields) in one data query: still over the limit of 50.
  const wide = `{ ${Array.from({ length: 51 }, (_, i) => `a${i}: article { author { name } }`).join(" ")} }`;
  const res = await srv.gql(wide, { headers: ADMIN, path: "/v1/graphql" });
  t.match(res.body.errors?.[0]?.message, /object and list fields/, "a data query with 102 object fields is refused");
});
