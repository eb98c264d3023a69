/**
 * /healthz: the process is alive. /readyz: the database answers and the
 * unauthenticated role's GraphQL schema is built; 503 otherwise, so a load
 * balancer stops sending traffic while the database is down.
 */
import fp from "fastify-plugin";

declare module "fastify" {
  interface FastifyInstance {
    /** This process's own readiness (database and readiness schema), without the fleet's (server/cluster/worker.ts reports it). */
    localReadiness(): Promise<boolean>;
  }
}

export interface HealthOptions {
  readinessRole: string;
  /** With several workers (server/cluster/): how many are ready; /readyz is 503 unless all are. */
  fleet?: () => { ready: number; total: number };
}

export default fp<HealthOptions>(
  async (app, opts) => {
    app.get("/healthz", async () => ({ status: "ok" }));
    const localChecks = async () => {
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
      return checks;
    };
    app.decorate("localReadiness", async () => {
      const checks = await localChecks();
      return checks.database && checks.schema;
    });
    app.get("/readyz", async (_request, reply) => {
      const checks = await localChecks();
      const workers = opts.fleet?.();
      const ok = checks.database && checks.schema && (!workers || workers.ready === workers.total);
      reply.code(ok ? 200 : 503);
      if (!ok) reply.header("retry-after", "1");
      // Replicas are reported, never required: without them the primary serves reads.
      const replicas = app.readReplicas.size ? { replicas: app.readReplicas.status() } : {};
      return { status: ok ? "ok" : "unavailable", ...checks, ...(workers ? { workers } : {}), ...replicas };
    });
  },
  { name: "health", dependencies: ["database", "graphql-schemas"], fastify: "5.x" },
);
