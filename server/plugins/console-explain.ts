/**
 * POST /console/api/explain: the console's "Why not?" (server/db/permissions/explain.ts).
 * Body {role, session, table, pk?, where?, values?, command?}; admins only,
 * behind the same admin-secret gate as /console/permissions.json (no secret
 * configured: development mode, everyone is admin). Served only when the
 * console is (HASURA_GRAPHQL_ENABLE_CONSOLE; console.ts answers 404 otherwise).
 */
import fp from "fastify-plugin";
import { type FailureLimiter, makeConsoleAdminCheck } from "../auth/admin-secret.ts";
import { explain, ExplainInputError, ExplainUnavailableError, parseExplainRequest } from "../db/permissions/explain.ts";
import { HasuraError } from "../errors.ts";

export interface ConsoleExplainOptions {
  enabled: boolean;
  adminSecret?: string;
  adminFailures: FailureLimiter;
  schemas: string[];
  authenticator: string;
}

export default fp<ConsoleExplainOptions>(
  async (app, opts) => {
    if (!opts.enabled) return;
    const requireAdmin = makeConsoleAdminCheck(opts.adminSecret, opts.adminFailures);
    app.post("/console/api/explain", async (request) => {
      requireAdmin(request);
      try {
        const req = parseExplainRequest(request.body);
        const client = await app.pgPool.connect();
        let failed: Error | undefined;
        try {
          return await explain(client, { schemas: opts.schemas, authenticator: opts.authenticator }, req);
        } catch (e) {
          // Anything but bad input may have left the connection unusable: the pool discards it.
          if (!(e instanceof ExplainInputError)) failed = e as Error;
          throw e;
        } finally {
          client.release(failed);
        }
      } catch (e) {
        if (e instanceof ExplainInputError)
          throw new HasuraError("validation-failed", e.message, 400, e.field === "body" ? "$" : `$.${e.field}`);
        if (e instanceof ExplainUnavailableError) throw new HasuraError("not-supported", e.message, 400);
        throw e;
      }
    });
  },
  { name: "console-explain", dependencies: ["database"], fastify: "5.x" },
);
