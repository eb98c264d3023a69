/**
 * The whole `npm start` path as a child process on its own embedded
 * cluster, /readyz through a database outage, and graceful shutdown.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { startEmbeddedPostgres } from "../../server/db/embedded.ts";
import { freePort } from "../helpers/net.ts";
import { startServer } from "../helpers/server.ts";
import { startMain, waitFor } from "../helpers/process.ts";
import { bootstrapDatabase } from "../../server/db/bootstrap.ts";
import { migrateProject } from "../../server/db/migrate.ts";
import { REPO_ROOT } from "../../server/config.ts";
import { TEST_ROLES } from "../helpers/projects.ts";

function postgresRunningIn(dir: string): boolean {
  const ps = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
  return ps.split("\n").some((l) => l.includes("postgres -D") && l.includes(dir));
}

t.test("npm start: embedded Postgres, migrations, policies, serves; SIGINT stops everything", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "hasura-auth-pg-start-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const proc = startMain({ PORT: String(port), EMBEDDED_PG_DIR: dir, EMBEDDED_PG_PORT: String(await freePort()) });
  t.teardown(() => proc.child.kill("SIGKILL"));
  t.ok(await waitFor(`http://127.0.0.1:${port}/readyz`, 200, 60_000), "ready within 60s");
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: "{ allUsers { nodes { login } } }" }),
  });
  const body = (await res.json()) as { data: { allUsers: { nodes: unknown[] } } };
  t.ok(body.data.allUsers.nodes.length > 0, "anonymous query returns rows");
  t.ok(postgresRunningIn(dir), "embedded postgres is running");

  proc.child.kill("SIGINT");
  const { code } = await proc.exited;
  t.equal(code, 0, "exits cleanly");
  t.notOk(postgresRunningIn(dir), "no orphaned postgres");
});

t.test("/readyz is 503 while the database is down and 200 once it is back", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "hasura-auth-pg-ready-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pgPort = await freePort();
  let cluster = await startEmbeddedPostgres({ dir, port: pgPort });
  t.teardown(() => cluster.stop());
  const rootUrl = cluster.url("postgres", cluster.superuserPassword, "postgres");
  await bootstrapDatabase({ rootUrl, database: "app", owner: TEST_ROLES.owner, authenticator: TEST_ROLES.authenticator });
  await migrateProject({
    projectDir: REPO_ROOT,
    ownerUrl: cluster.url(TEST_ROLES.owner.name, TEST_ROLES.owner.password, "app"),
    authenticator: TEST_ROLES.authenticator.name,
    seed: true,
  });
  const runtimeUrl = cluster.url(TEST_ROLES.authenticator.name, TEST_ROLES.authenticator.password, "app");
  const asDb = { name: "app", runtimeUrl, ownerUrl: "", rootUrl, asOwner: async () => [], asRoot: async () => [] };
  const srv = await startServer(t, { db: asDb });

  t.equal((await fetch(`${srv.url}/readyz`)).status, 200, "ready");
  await cluster.stop();
  const down = await fetch(`${srv.url}/readyz`);
  t.equal(down.status, 503, "503 while down");
  t.equal(down.headers.get("retry-after"), "1");
  t.equal((await fetch(`${srv.url}/healthz`)).status, 200, "process still alive");

  cluster = await startEmbeddedPostgres({ dir, port: pgPort });
  t.ok(await waitFor(`${srv.url}/readyz`, 200, 15_000), "ready again without a restart");
  const res = await srv.gql("{ allUsers { nodes { login } } }");
  t.equal(res.status, 200);
  t.ok(res.body.data.allUsers.nodes.length > 0);
});

t.test("graceful shutdown lets an in-flight request finish", async (t) => {
  const srv = await startServer(t, {
    db: await (async () => {
      const { createTestDatabase } = await import("../helpers/pg.ts");
      const db = await createTestDatabase(t);
      // A deliberately slow, anonymous-callable query for this test database only.
      await db.asOwner(
        "create function public.slow_hello(seconds float) returns text language sql stable as $$ select 'hello' from pg_sleep(seconds) $$",
      );
      await db.asOwner("grant execute on function public.slow_hello(float) to anonymous");
      return db;
    })(),
  });
  const inFlight = srv.gql("{ slowHello(seconds: 0.5) }");
  await new Promise((r) => setTimeout(r, 100));
  const closing = srv.app.close();
  const res = await inFlight;
  await closing;
  t.equal(res.status, 200);
  t.equal(res.body.data?.slowHello, "hello", JSON.stringify(res.body));
});

t.test("a server that dies without shutting down (SIGKILL, heap exhaustion) still stops its embedded PostgreSQL", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "hasura-auth-pg-kill-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const proc = startMain({ PORT: String(port), EMBEDDED_PG_DIR: dir, EMBEDDED_PG_PORT: String(await freePort()) });
  t.teardown(() => proc.child.kill("SIGKILL"));
  t.ok(await waitFor(`http://127.0.0.1:${port}/readyz`, 200, 60_000), "ready within 60s");
  t.ok(postgresRunningIn(dir), "embedded postgres is running");
  // No exit handler runs on SIGKILL, as with V8's "heap out of memory" abort.
  proc.child.kill("SIGKILL");
  await proc.exited;
  const deadline = Date.now() + 15_000;
  while (postgresRunningIn(dir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  t.notOk(postgresRunningIn(dir), "postgres stopped after its server died");
});
