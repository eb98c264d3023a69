/**
 * npm run dev: schemas rebuilt when the database changes. One LISTEN
 * connection for all roles (PostGraphile's own channel); policies.sql and
 * the dev loop notify it after every change.
 */
import type { FastifyInstance } from "fastify";
import type { SchemaRegistry } from "../graphile/schema-registry.ts";

export async function rebuildOnDatabaseChange(app: FastifyInstance, registries: SchemaRegistry[]): Promise<void> {
  const client = await app.pgPool.connect();
  client.on("notification", () => {
    app.log.info("database changed: rebuilding GraphQL schemas");
    for (const registry of registries) registry.invalidate();
    void app.appRoles.refresh();
  });
  await client.query("listen postgraphile_watch");
  app.addHook("onClose", async () => {
    client.removeAllListeners("notification");
    client.release(true);
  });
}
