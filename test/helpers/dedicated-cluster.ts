/**
 * A migrated `app` database on a PostgreSQL cluster of the test's own, which
 * the test may kill (SIGKILL to the postmaster and every process it forked,
 * as when its host dies) and restart on the same port and data folder. The
 * run's shared cluster is never touched. (The same as
 * test/reliability/faults.test.ts's, for the subscription fault tests.)
 */
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { REPO_ROOT } from "../../server/config.ts";
import { bootstrapDatabase } from "../../server/db/bootstrap.ts";
import { startEmbeddedPostgres, type EmbeddedCluster } from "../../server/db/embedded.ts";
import { migrateProject } from "../../server/db/migrate.ts";
import { freePort } from "./net.ts";
import type { TestDatabase } from "./pg.ts";
import { TEST_ROLES } from "./projects.ts";
import { alive } from "./process.ts";

export interface Dedicated {
  cluster: EmbeddedCluster;
  db: TestDatabase;
  /** SIGKILL the postmaster and every process it forked. */
  kill(): Promise<void>;
  restart(): Promise<void>;
}

export async function dedicatedCluster(t: { teardown(fn: () => unknown): void }): Promise<Dedicated> {
  const dir = await mkdtemp(path.join(tmpdir(), "hasura-auth-pg-subfaults-"));
  const port = await freePort();
  let cluster = await startEmbeddedPostgres({ dir, port, ephemeral: true });
  // If the process dies (an uncaught exception skips teardowns), stop the postmaster anyway and remove its folder.
  const stopOnExit = () => {
    try {
      process.kill(Number(readFileSync(path.join(cluster.dataDir, "postmaster.pid"), "utf8").split("\n")[0]), "SIGQUIT");
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", stopOnExit);
  t.teardown(async () => {
    process.off("exit", stopOnExit);
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const rootUrl = cluster.url(cluster.superuser, cluster.superuserPassword, "postgres");
  await bootstrapDatabase({ rootUrl, database: "app", owner: TEST_ROLES.owner, authenticator: TEST_ROLES.authenticator });
  const ownerUrl = cluster.url(TEST_ROLES.owner.name, TEST_ROLES.owner.password, "app");
  await migrateProject({ projectDir: REPO_ROOT, ownerUrl, authenticator: TEST_ROLES.authenticator.name, seed: true });
  const appRootUrl = cluster.url(cluster.superuser, cluster.superuserPassword, "app");
  const query = async (url: string, sql: string, values?: unknown[]) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(sql, values)).rows;
    } finally {
      await client.end();
    }
  };
  const db: TestDatabase = {
    name: "app",
    runtimeUrl: cluster.url(TEST_ROLES.authenticator.name, TEST_ROLES.authenticator.password, "app"),
    ownerUrl,
    rootUrl: appRootUrl,
    asOwner: (sql, values) => query(ownerUrl, sql, values) as never,
    asRoot: (sql, values) => query(appRootUrl, sql, values) as never,
  };
  return {
    get cluster() {
      return cluster;
    },
    db,
    async kill() {
      const postmaster = Number((await readFile(path.join(cluster.dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
      // Its children each lead a process group of their own: list them by parent.
      const children = execFileSync("ps", ["-o", "pid=", "--ppid", String(postmaster)], { encoding: "utf8" })
        .split("\n")
        .map(Number)
        .filter((pid) => pid > 0);
      for (const pid of [postmaster, ...children]) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      while ([postmaster, ...children].some(alive)) await new Promise((r) => setTimeout(r, 10));
    },
    async restart() {
      cluster = await startEmbeddedPostgres({ dir, port, ephemeral: true });
    },
  };
}
