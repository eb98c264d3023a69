/**
 * The admin console at /console (server/console/index.html and its scripts):
 * a login with the admin secret (none in development mode), and tabs API
 * (Ruru, i.e. GraphiQL, against /v1/graphql or /graphql), Permissions (from
 * permissions.json and lint.json) and "Why not?" (POST
 * /console/api/explain). Its scripts are files served from the repository
 * and node_modules (an allow-list, no CDN), so its Content-Security-Policy
 * needs no inline script.
 *
 * The older one-page matrix: GET /console/permissions
 * is a static page; its data (GET /console/permissions.json) needs the
 * admin secret in X-Hasura-Admin-Secret, as Hasura's console does. Each
 * cell shows its Hasura declarations (`S✅[limit 10, agg]`) and expands to
 * the policy SQL behind it (an inherited role's: its parents' too).
 *
 * HASURA_GRAPHQL_ENABLE_CONSOLE (off by default in production, as Hasura)
 * decides whether these and GraphiQL (/graphiql, /ruru-static/*, routed by
 * server/graphql/graphiql.ts) are served: disabled, they answer Hasura's 404.
 * Registered before the GraphQL plugin so its gate covers GraphiQL's routes.
 */
import { readFile } from "node:fs/promises";
import type { FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { makeConsoleAdminCheck, type FailureLimiter } from "../auth/admin-secret.ts";
import { errors } from "../errors.ts";
import { COMMANDS, loadCatalog } from "../db/permissions/catalog.ts";
import { matrixOf } from "../db/permissions/matrix.ts";
import { lintByTable, loadColumnGrants } from "../console/details.ts";

export interface ConsoleOptions {
  /** HASURA_GRAPHQL_ENABLE_CONSOLE. */
  enabled: boolean;
  adminSecret?: string;
  /** Failed admin-secret attempts per address, shared with the GraphQL endpoints. */
  adminFailures: FailureLimiter;
  schema: string;
  authenticator: string;
}

const PAGE = readFile(new URL("../console/permissions.html", import.meta.url), "utf8");
const CONSOLE_HTML = readFile(new URL("../console/index.html", import.meta.url), "utf8");

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";
/**
 * Every file /console/assets/ serves: the console's own, and graphql-ws's
 * browser build (the API tab's subscriptions). GraphiQL itself is Ruru's
 * bundle, served by grafserv at /ruru-static/ (server/graphql/graphiql.ts).
 */
const ASSETS: Record<string, { url: URL; type: string }> = {
  "console.js": { url: new URL("../console/console.js", import.meta.url), type: JS },
  "api-tab.js": { url: new URL("../console/api-tab.js", import.meta.url), type: JS },
  "permissions-tab.js": { url: new URL("../console/permissions-tab.js", import.meta.url), type: JS },
  "why-not-tab.js": { url: new URL("../console/why-not-tab.js", import.meta.url), type: JS },
  "console.css": { url: new URL("../console/console.css", import.meta.url), type: CSS },
  "permissions-page.js": { url: new URL("../console/permissions-page.js", import.meta.url), type: JS },
  "graphql-ws.js": { url: new URL("../umd/graphql-ws.min.js", import.meta.resolve("graphql-ws")), type: JS },
};

/**
 * Scripts only from this origin, no inline script, no eval. Inline styles:
 * GraphiQL's editor (Monaco) and its panes set them. Workers: Monaco's, from
 * /ruru-static/. WebSockets: same origin (CSP 3's 'self' covers ws:/wss:).
 */
const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");
const CONSOLE_PATH = /^\/(?:graphiql|ruru-static|console)(?:[/?#]|$)/;

export default fp<ConsoleOptions>(
  async (app, opts) => {
    if (!opts.enabled) {
      app.addHook("onRequest", (request, _reply, done) => {
        if (CONSOLE_PATH.test(request.url)) return done(errors.notFound());
        done();
      });
      return;
    }
    // No admin secret configured: development mode, everyone is admin.
    const requireAdmin = makeConsoleAdminCheck(opts.adminSecret, opts.adminFailures);
    // The page says whether to ask for the secret (as Hasura's console knows `isAdminSecretSet`).
    const consolePage = CONSOLE_HTML.then((html) => html.replace("{{adminSecret}}", opts.adminSecret ? "required" : "none"));
    const serveConsole = async (_request: FastifyRequest, reply: FastifyReply) => {
      reply.type("text/html; charset=utf-8").header("content-security-policy", CONSOLE_CSP).header("cache-control", "no-store");
      return consolePage;
    };
    app.get("/console", serveConsole);
    app.get("/console/", serveConsole);
    const assetCache = new Map<string, Promise<Buffer>>();
    app.get<{ Params: { name: string } }>("/console/assets/:name", async (request, reply) => {
      const asset = Object.hasOwn(ASSETS, request.params.name) ? ASSETS[request.params.name]! : null;
      if (!asset) throw errors.notFound();
      let body = assetCache.get(request.params.name);
      if (!body) {
        body = readFile(asset.url);
        assetCache.set(request.params.name, body);
      }
      reply.type(asset.type).header("cache-control", "no-cache");
      return body;
    });
    // Admin-gated: a finding names tables, policies and roles.
    app.get("/console/lint.json", async (request) => {
      requireAdmin(request);
      const client = await app.pgPool.connect();
      try {
        const { tables } = await loadCatalog(client, { schema: opts.schema, authenticator: opts.authenticator });
        const names = tables.map((t) => t.name);
        return {
          schema: opts.schema,
          findings: await lintByTable(client, { schema: opts.schema, authenticator: opts.authenticator }, names),
        };
      } finally {
        client.release();
      }
    });
    app.get("/console/permissions", async (_request, reply) => {
      reply
        .type("text/html; charset=utf-8")
        .header("content-security-policy", "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'");
      return PAGE;
    });
    app.get("/console/permissions.json", async (request) => {
      requireAdmin(request);
      // The owner's view is not needed: the catalog tables read here are public.
      const client = await app.pgPool.connect();
      try {
        const catalog = await loadCatalog(client, { schema: opts.schema, authenticator: opts.authenticator });
        const columns = await loadColumnGrants(client, opts.schema, catalog.roles);
        return {
          commands: COMMANDS,
          ...matrixOf(catalog),
          memberOf: catalog.memberOf,
          policies: catalog.policies,
          // The console's per-table view: RLS state, declarations, presets, column lists.
          rls: Object.fromEntries(catalog.tables.map((t) => [t.name, { enabled: t.rls, forced: t.force }])),
          declarations: catalog.declarations,
          presets: catalog.presets,
          columns: columns.granted,
          allColumns: columns.all,
        };
      } finally {
        client.release();
      }
    });
  },
  { name: "console", dependencies: ["database"], fastify: "5.x" },
);
