/**
 * A throwaway embedded PostgreSQL for benchmarks: temp folder, free
 * loopback port, durability off (like test/run.ts), the given projects
 * bootstrapped and migrated exactly as `npm start` does. stop() removes it;
 * SIGINT/SIGTERM stop it too.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { REPO_ROOT } from "../../server/config.ts";
import { bootstrapDatabase } from "../../server/db/bootstrap.ts";
import { startEmbeddedPostgres, type EmbeddedCluster } from "../../server/db/embedded.ts";
import { migrateProject } from "../../server/db/migrate.ts";
import { freePort } from "../../test/helpers/net.ts";

export const BENCH_ROLES = {
  owner: { name: "app_owner", password: "bench-owner-password" },
  authenticator: { name: "authenticator", password: "bench-authenticator-password" },
} as const;

export interface BenchProject {
  /** Database name. */
  database: string;
  /** Project folder relative to the repository root ("." = the school model). */
  dir: string;
}

export interface BenchDatabase {
  database: string;
  projectDir: string;
  rootUrl: string;
  ownerUrl: string;
  runtimeUrl: string;
}

export interface BenchCluster {
  cluster: EmbeddedCluster;
  databases: Record<string, BenchDatabase>;
  /** Idempotent. */
  stop(): Promise<void>;
}

const cleanups = new Set<() => Promise<void>>();
let signalsHooked = false;
function onSignalStop(fn: () => Promise<void>) {
  cleanups.add(fn);
  if (signalsHooked) return;
  signalsHooked = true;
  for (const [sig, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.on(sig, () => {
      void Promise.allSettled([...cleanups].map((f) => f())).then(() => process.exit(code));
    });
  }
}

export async function startBenchCluster(projects: BenchProject[]): Promise<BenchCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), "hasura-auth-pg-bench-"));
  const cluster = await startEmbeddedPostgres({ dir, port: await freePort(), ephemeral: true });
  const stop = async () => {
    cleanups.delete(stop);
    await cluster.stop();
  };
  onSignalStop(stop);
  try {
    const databases: Record<string, BenchDatabase> = {};
    for (const p of projects) {
      const rootUrl = cluster.url(cluster.superuser, cluster.superuserPassword, p.database);
      await bootstrapDatabase({
        rootUrl: cluster.url(cluster.superuser, cluster.superuserPassword, "postgres"),
        database: p.database,
        owner: BENCH_ROLES.owner,
        authenticator: BENCH_ROLES.authenticator,
      });
      const ownerUrl = cluster.url(BENCH_ROLES.owner.name, BENCH_ROLES.owner.password, p.database);
      const projectDir = path.resolve(REPO_ROOT, p.dir);
      await migrateProject({ projectDir, ownerUrl, rootUrl, authenticator: BENCH_ROLES.authenticator.name, seed: true });
      databases[p.database] = {
        database: p.database,
        projectDir,
        rootUrl,
        ownerUrl,
        runtimeUrl: cluster.url(BENCH_ROLES.authenticator.name, BENCH_ROLES.authenticator.password, p.database),
      };
    }
    return { cluster, databases, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
