/**
 * `npm test`: one throwaway PostgreSQL for the whole run (embedded, free
 * port, temp dir), the projects migrated into template databases exactly as
 * `npm start` migrates them, then tap. Every test file clones a template
 * into its own database. The cluster is stopped and its folder removed on
 * every exit path.
 */
import "../server/env.ts";
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { REPO_ROOT } from "../server/config.ts";
import { bootstrapDatabase } from "../server/db/bootstrap.ts";
import { startEmbeddedPostgres } from "../server/db/embedded.ts";
import { migrateProject } from "../server/db/migrate.ts";
import { withClient } from "../server/db/with-client.ts";
import { importHasuraProject } from "../server/import/index.ts";
import { freePort } from "./helpers/net.ts";
import { startPgBouncer, type PgBouncer } from "./helpers/pgbouncer.ts";
import { PROJECTS, TEST_ROLES } from "./helpers/projects.ts";

// The browser test drives Debian's Chromium; install it when we can (CI runs as root).
if (!existsSync("/usr/bin/chromium") && process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
  console.error("test set-up: installing Debian's chromium for the browser test…");
  try {
    execFileSync("apt-get", ["update", "-qq"], { stdio: "ignore" });
    execFileSync("apt-get", ["install", "-y", "-qq", "chromium"], {
      stdio: "ignore",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  } catch (e) {
    console.error(`test set-up: could not install chromium (${(e as Error).message}); the browser test will be skipped`);
  }
}

const dir = await mkdtemp(path.join(tmpdir(), "hasura-auth-pg-test-"));
const cluster = await startEmbeddedPostgres({ dir, port: await freePort(), ephemeral: true });
let bouncer: PgBouncer | undefined;
let exiting = false;
const cleanup = async (code: number) => {
  if (exiting) return;
  exiting = true;
  await bouncer?.stop();
  await cluster.stop();
  process.exit(code);
};
process.on("SIGINT", () => void cleanup(130));
process.on("SIGTERM", () => void cleanup(143));

/**
 * A Hasura project imported as `npm run import:hasura` does (into a scratch
 * database, dropped after), with the demo rows of the project it stands for:
 * the folder the template is then migrated from, as `npm start` would.
 */
async function importProject(project: { name: string; dir: string; seeds: string }): Promise<string> {
  const scratch = `${project.name.replaceAll("-", "_")}_scratch`;
  const rootUrl = cluster.url(cluster.superuser, cluster.superuserPassword, "postgres");
  await bootstrapDatabase({ rootUrl, database: scratch, owner: TEST_ROLES.owner, authenticator: TEST_ROLES.authenticator });
  const out = path.join(dir, "imported", project.name);
  try {
    await importHasuraProject(path.join(REPO_ROOT, project.dir), out, {
      scratch: {
        ownerUrl: cluster.url(TEST_ROLES.owner.name, TEST_ROLES.owner.password, scratch),
        authenticator: TEST_ROLES.authenticator.name,
      },
    });
  } finally {
    // The name is generated above, never input.
    await withClient(rootUrl, (client) => client.query(`drop database ${scratch} with (force)`));
  }
  await cp(path.join(REPO_ROOT, project.seeds), path.join(out, "seeds"), { recursive: true });
  return out;
}

try {
  for (const project of PROJECTS) {
    const projectDir = "imported" in project ? await importProject(project) : path.join(REPO_ROOT, project.dir);
    await bootstrapDatabase({
      rootUrl: cluster.url(cluster.superuser, cluster.superuserPassword, "postgres"),
      database: project.template,
      owner: TEST_ROLES.owner,
      authenticator: TEST_ROLES.authenticator,
    });
    await migrateProject({
      projectDir,
      ownerUrl: cluster.url(TEST_ROLES.owner.name, TEST_ROLES.owner.password, project.template),
      rootUrl: cluster.url(cluster.superuser, cluster.superuserPassword, project.template),
      authenticator: TEST_ROLES.authenticator.name,
      seed: true, // the tests name the demo rows (seeds/)
    });
  }
  // `npm run test:pgbouncer`: servers started by the tests reach the cluster
  // through PgBouncer in transaction pooling mode (test/helpers/pgbouncer.ts).
  if (process.env.TEST_PGBOUNCER === "1") {
    bouncer = await startPgBouncer({
      pgPort: cluster.port,
      users: [TEST_ROLES.authenticator, TEST_ROLES.owner],
      // One server connection per test database by default: every request of
      // every role of a test shares it, the harshest case for leaks.
      poolSize: Number(process.env.TEST_PGBOUNCER_POOL_SIZE ?? 1),
    });
    console.error(
      `test set-up: PgBouncer ${bouncer.version.join(".")} (transaction pooling) on port ${bouncer.port}` +
        (bouncer.preparedStatements ? "" : "; named prepared statements off (PgBouncer < 1.21)"),
    );
  }
} catch (e) {
  console.error(`test set-up failed: ${(e as Error).message}`);
  await cleanup(1);
}

const tap = spawn(path.join(REPO_ROOT, "node_modules/.bin/tap"), process.argv.slice(2), {
  stdio: "inherit",
  env: {
    ...process.env,
    TEST_PG_PORT: String(cluster.port),
    TEST_PG_SUPERUSER_PASSWORD: cluster.superuserPassword,
    ...(bouncer
      ? {
          TEST_PGBOUNCER_PORT: String(bouncer.port),
          // PgBouncer < 1.21 cannot carry named prepared statements: startServer
          // then sets HASURA_GRAPHQL_USE_PREPARED_STATEMENTS=false, and
          // @dataplan/pg's own adaptor is told the same.
          TEST_PGBOUNCER_PREPARED_STATEMENTS: bouncer.preparedStatements ? "1" : "0",
          ...(bouncer.preparedStatements ? {} : { DATAPLAN_PG_PREPARED_STATEMENT_CACHE_SIZE: "0" }),
        }
      : {}),
    LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
    GRAPHILE_ENV: process.env.GRAPHILE_ENV ?? "production",
  },
});
tap.on("exit", (code) => void cleanup(code ?? 1));
