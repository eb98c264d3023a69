/**
 * Every role's schema built in the background once the server is ready,
 * one at a time, so a request rarely meets a cold build (whose final,
 * synchronous step stalls the event loop for ~100-300 ms; see README
 * "Per-role schemas"). Stops when the server starts closing.
 */
import type { FastifyInstance } from "fastify";
import type { SchemaRegistry } from "../graphile/schema-registry.ts";

export function warmSchemas(app: FastifyInstance, registries: SchemaRegistry[]): void {
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onReady", async () => {
    void (async () => {
      for (const registry of registries) {
        for (const role of app.appRoles.list()) {
          if (closing) return;
          await registry.get(role).catch(() => {});
          await new Promise((r) => setImmediate(r));
        }
      }
    })();
  });
}
