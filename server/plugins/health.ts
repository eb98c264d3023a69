/**
 * /healthz: the process is alive. /readyz: the database answers and the
 * unauthenticated role's GraphQL schema is built; 503 otherwise, so a load
 * balancer stops sending traffic while the database is down.
 */
import fp from "fastify-plugin";

export interface HealthOptions {
  readinessRole: string;
}

export default fp<HealthOptions>(
  async (app, opts) => {
    app.get("/healthz", async () => ({ status: "ok" }));
    app.get("/readyz", async (_request, reply) => {
      const checks = { database: false, schema: false };
      try {
        const client = await app.pgPool.connect();
        try {
          await client.query("select 1");
          checks.database = true;
        } finally {
          client.release();
        }
      } catch {
        // reported below
      }
      checks.schema = checks.database && (await app.schemas.isReady(opts.readinessRole));
      const ok = checks.database && checks.schema;
      reply.code(ok ? 200 : 503);
      if (!ok) reply.header("retry-after", "1");
      return { status: ok ? "ok" : "unavailable", ...checks };
    });
  },
  { name: "health", dependencies: ["database", "graphql-schemas"], fastify: "5.x" },
);
