/**
 * Schemas rebuilt when the database changes, in every process that serves
 * (`npm start`'s workers, each instance of a fleet, `npm run dev`): one
 * LISTEN connection per process for all roles, on PostGraphile's channel,
 * which policies.sql notifies at its end, so a migration applied by any
 * process reaches them all without a restart.
 *
 * A dedicated client, not a pool connection held forever (the pool's size
 * stays the requests'), reconnected when lost. Its URL is DATABASE_LISTEN_URL
 * when set: LISTEN needs a session, which PgBouncer in transaction mode
 * does not keep.
 */
import type { FastifyInstance } from "fastify";
import pg from "pg";
import type { SchemaRegistry } from "../graphile/schema-registry.ts";

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

export async function rebuildOnDatabaseChange(
  app: FastifyInstance,
  registries: SchemaRegistry[],
  url: string,
  setting?: string,
): Promise<void> {
  let closing = false;
  let client: pg.Client | undefined;
  let retryMs = RETRY_MIN_MS;
  let retryTimer: NodeJS.Timeout | undefined;

  const rebuild = (why: string) => {
    app.log.info(`${why}: rebuilding GraphQL schemas`);
    for (const registry of registries) registry.invalidate();
    void app.appRoles.refresh();
  };

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, application_name: "hasura-auth-pg listen" });
    c.on("notification", () => rebuild("database changed"));
    const lost = (err?: Error) => {
      if (client !== c) return;
      client = undefined;
      c.removeAllListeners("notification");
      void c.end().catch(() => {});
      if (closing) return;
      app.log.warn({ err: err?.message, retryMs }, "schema-change LISTEN connection lost; reconnecting");
      retryTimer = setTimeout(reconnect, retryMs);
      retryTimer.unref();
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    };
    c.on("error", lost);
    c.on("end", () => lost());
    try {
      await c.connect();
      await c.query("listen postgraphile_watch");
      if (closing) {
        await c.end().catch(() => {});
        return;
      }
      client = c;
    } catch (e) {
      c.removeAllListeners();
      c.on("error", () => {});
      await c.end().catch(() => {});
      throw e;
    }
  };

  const reconnect = () => {
    if (closing) return;
    connect().then(
      () => {
        retryMs = RETRY_MIN_MS;
        // Notifications sent while we were not listening are lost: rebuild as if one came.
        rebuild("schema-change LISTEN connection back");
      },
      (err: Error) => {
        app.log.warn({ err: err.message, retryMs }, "schema-change LISTEN connection failed; retrying");
        retryTimer = setTimeout(reconnect, retryMs);
        retryTimer.unref();
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      },
    );
  };

  // The first connection is part of start-up: a wrong URL stops the server,
  // with an error naming the setting (server/startup-errors.ts).
  await connect().catch((e: Error) => {
    throw setting ? Object.assign(e, { setting }) : e;
  });
  app.addHook("onClose", async () => {
    closing = true;
    clearTimeout(retryTimer);
    const c = client;
    client = undefined;
    if (c) {
      c.removeAllListeners("notification");
      await c.end().catch(() => {});
    }
  });
}
