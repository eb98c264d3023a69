/**
 * The runtime connection pool (as the authenticator) and the start-up check
 * that it is safe: the server refuses to run as a superuser or with
 * BYPASSRLS, because then no policy would hold.
 */
import fp from "fastify-plugin";
import pg from "pg";
import { ReadReplicas, replicaLabel } from "../db/read-replicas.ts";

declare module "fastify" {
  interface FastifyInstance {
    pgPool: pg.Pool;
    /** HASURA_GRAPHQL_READ_REPLICA_URLS' pools, health and routing (none: size 0). */
    readReplicas: ReadReplicas;
  }
}

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  /** Longest wait for a connection (a free one, or a new one opening); default 5 s. */
  connectionTimeoutMillis?: number;
  /** Streaming replicas for queries and live queries (server/db/read-replicas.ts). */
  readReplicas?: { urls: string[]; maxLagMs: number };
}

export class UnsafeConnectionError extends Error {}

/** Throws UnsafeConnectionError when the runtime role could bypass policies. */
export async function assertSafeRuntimeRole(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query<{ rolname: string; rolsuper: boolean; rolbypassrls: boolean }>(
    "select rolname, rolsuper, rolbypassrls from pg_catalog.pg_roles where rolname = current_user",
  );
  const me = rows[0]!;
  if (me.rolsuper) {
    throw new UnsafeConnectionError(
      `DATABASE_URL connects as "${me.rolname}", a superuser: row-level security would not apply. Connect as the authenticator role instead.`,
    );
  }
  if (me.rolbypassrls) {
    throw new UnsafeConnectionError(
      `DATABASE_URL connects as "${me.rolname}", which has BYPASSRLS: row-level security would not apply. Connect as the authenticator role instead.`,
    );
  }
  return me.rolname;
}

export default fp<DatabaseOptions>(
  async (app, opts) => {
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize,
      // Fail fast when the database is down instead of queueing forever.
      connectionTimeoutMillis: opts.connectionTimeoutMillis ?? 5_000,
      application_name: "hasura-auth-pg",
    });
    // An idle client losing its connection (database restart) must not crash us.
    pool.on("error", (err) => app.log.warn({ err: err.message }, "idle database connection lost"));
    // A connection lost while checked out (between two statements of a
    // transaction) emits 'error' on its client, which pg-pool only listens to
    // while the client is idle: unhandled, it kills the process. The client's
    // next query fails and the pool discards it on release.
    pool.on("connect", (client) => {
      client.on("error", (err) => app.log.warn({ err: err.message }, "database connection lost"));
    });
    try {
      const role = await assertSafeRuntimeRole(pool);
      app.log.info({ role }, "database connection checked");
    } catch (e) {
      await pool.end();
      throw e;
    }
    // Each replica is its own server with its own connection limit: it gets
    // a pool as large as the primary's (the reads it takes off the primary
    // leave the primary's pool to writes and everything else).
    const replicas = new ReadReplicas({
      urls: opts.readReplicas?.urls ?? [],
      maxLagMs: opts.readReplicas?.maxLagMs ?? 10_000,
      poolSize: opts.poolSize,
      connectionTimeoutMillis: opts.connectionTimeoutMillis ?? 5_000,
      log: app.log,
    });
    try {
      // The primary's refusal, for each replica reachable now; one that is
      // down is checked by the health loop before it is ever used.
      for (const [i, replicaPool] of replicas.pools.entries()) {
        await assertSafeRuntimeRole(replicaPool).catch((e) => {
          if (!(e instanceof UnsafeConnectionError)) return;
          const label = replicaLabel(opts.readReplicas!.urls[i]!);
          throw new UnsafeConnectionError(e.message.replace("DATABASE_URL", `HASURA_GRAPHQL_READ_REPLICA_URLS (${label})`));
        });
      }
      await replicas.start();
    } catch (e) {
      await replicas.close();
      await pool.end();
      throw e;
    }
    app.decorate("pgPool", pool);
    app.decorate("readReplicas", replicas);
    app.addHook("onClose", async () => {
      await replicas.close();
      await pool.end();
    });
  },
  { name: "database", fastify: "5.x" },
);
