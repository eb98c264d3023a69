/**
 * Dev mode (npm run dev): after policies.sql changes a grant, the NOTIFY at
 * its end makes the running server rebuild the role's schema, no restart.
 */
import t from "tap";
import { buildApp } from "../../server/app.ts";
import { loadConfig } from "../../server/config.ts";
import { REPO_ROOT } from "../../server/config.ts";
import { migrateProject } from "../../server/db/migrate.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";

t.test("re-applying policies rebuilds the schemas of a running server", async (t) => {
  const db = await createTestDatabase(t);
  const config = loadConfig({ LOG_LEVEL: "silent", DATABASE_URL: db.runtimeUrl });
  const app = await buildApp({ config, databaseUrl: db.runtimeUrl, watch: true });
  await app.listen({ port: 0, host: "127.0.0.1" });
  t.teardown(() => app.close());
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/graphql`;
  const ask = async () =>
    (
      await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-hasura-role": "anonymous" },
        body: JSON.stringify({ query: "{ allUsers { nodes { login email } } }" }),
      })
    ).status;

  t.equal(await ask(), 400, "email is not in anonymous's schema");
  // What a DBA's edit would do, followed by policies.sql's own NOTIFY.
  await db.asOwner(`grant select (email) on public."user" to anonymous; notify postgraphile_watch, '{"type":"manual"}'`);
  let status = 0;
  for (let i = 0; i < 50 && status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    status = await ask();
  }
  t.equal(status, 200, "email appears without a restart");

  // Re-applying policies.sql (as npm run dev does on save) restores the grants and notifies again.
  await migrateProject({ projectDir: REPO_ROOT, ownerUrl: db.ownerUrl, authenticator: TEST_ROLES.authenticator.name });
  for (let i = 0; i < 50 && status !== 400; i++) {
    await new Promise((r) => setTimeout(r, 100));
    status = await ask();
  }
  t.equal(status, 400, "and disappears again when policies.sql is re-applied");
});
