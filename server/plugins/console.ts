/**
 * The permission matrix in the browser, for admins: GET /console/permissions
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
import fp from "fastify-plugin";
import { makeAdminSecretGate, type FailureLimiter } from "../auth/admin-secret.ts";
import { errors, HasuraError } from "../errors.ts";
import { COMMANDS, loadCatalog } from "../db/permissions/catalog.ts";
import { matrixOf } from "../db/permissions/matrix.ts";

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
    const adminGate = opts.adminSecret ? makeAdminSecretGate(opts.adminSecret, opts.adminFailures) : null;
    app.get("/console/permissions", async (_request, reply) => {
      reply
        .type("text/html; charset=utf-8")
        .header(
          "content-security-policy",
          "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        );
      return PAGE;
    });
    app.get("/console/permissions.json", async (request) => {
      const sent = request.headers["x-hasura-admin-secret"];
      if (adminGate) {
        if (typeof sent !== "string") throw new HasuraError("access-denied", "You have to be an admin to access this endpoint", 401);
        adminGate(sent, request.ip);
      }
      // The owner's view is not needed: the catalog tables read here are public.
      const client = await app.pgPool.connect();
      try {
        const catalog = await loadCatalog(client, { schema: opts.schema, authenticator: opts.authenticator });
        return { commands: COMMANDS, ...matrixOf(catalog), memberOf: catalog.memberOf, policies: catalog.policies };
      } finally {
        client.release();
      }
    });
  },
  { name: "console", dependencies: ["database"], fastify: "5.x" },
);
