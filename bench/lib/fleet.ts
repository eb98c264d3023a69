/**
 * Peer Pf of `npm run bench`: the README's fleet recipe on one machine.
 * Two `npm start` instances (HASURA_GRAPHQL_SERVER_WORKERS=1) on two ports,
 * sharing nothing but PostgreSQL: their runtime connections go through one
 * PgBouncer in transaction mode in front of the primary (the bench's
 * cluster), their reads to a streaming replica of it (test/helpers/replica.ts),
 * their LISTEN connection straight to the primary (LISTEN cannot live on a
 * transaction-pooled connection). The load generator spreads its
 * connections over both instances, as a load balancer would.
 *
 * PgBouncer before 1.21 cannot carry named prepared statements: the
 * instances then run with HASURA_GRAPHQL_USE_PREPARED_STATEMENTS=false and
 * DATAPLAN_PG_PREPARED_STATEMENT_CACHE_SIZE=0, as the recipe says.
 */
import type { EmbeddedCluster } from "../../server/db/embedded.ts";
import { pgbouncerBinary, startPgBouncer, type PgBouncer } from "../../test/helpers/pgbouncer.ts";
import type { Dedicated } from "../../test/helpers/dedicated-cluster.ts";
import { startReplica } from "../../test/helpers/replica.ts";
import type { BenchDatabase } from "./cluster.ts";
import { BENCH_ROLES } from "./cluster.ts";
import { childPids, clusterCpuS, processCpuS, processTreeCpuS } from "./cpu.ts";
import { startMainProcess, type MainProcess } from "./main-process.ts";
import { withRoot } from "./seed.ts";

export interface Fleet {
  /** One URL per instance. */
  urls: string[];
  instances: MainProcess[];
  bouncer: PgBouncer;
  /** Every instance's supervisor and workers. */
  nodeCpuS(): number;
  /** Primary + replica (each postmaster and its backends) + PgBouncer. */
  postgresCpuS(): number;
  /** What the instances were started with, for the results file. */
  describe: Record<string, unknown>;
  stop(): Promise<void>;
}

/** Why Pf cannot run here at all (no PgBouncer to install), or null. */
export function fleetUnavailable(): string | null {
  return pgbouncerBinary() ? null : "pgbouncer is not installed and could not be (apt-get install pgbouncer, as root)";
}

/** The postmaster of the cluster `rootUrl` reaches: the parent of a backend. */
export async function postmasterOf(rootUrl: string): Promise<number> {
  const { readFileSync } = await import("node:fs");
  return withRoot(rootUrl, async (client) => {
    const { rows } = await client.query<{ pid: number }>("select pg_backend_pid() as pid");
    const stat = readFileSync(`/proc/${rows[0]!.pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  });
}

export async function startFleet(opts: {
  cluster: EmbeddedCluster;
  db: BenchDatabase;
  primaryPostmaster: number;
  /** The server's environment (secrets, PROJECT_DIR, pool size…), as P's. */
  env: Record<string, string>;
  instances?: number;
  /** PgBouncer's server connections to the primary (per database and user). */
  poolSize: number;
}): Promise<Fleet> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    // startReplica takes a test's teardown hook and reads only the primary's `cluster`.
    const teardowns: Array<() => unknown> = [];
    stops.push(async () => {
      for (const f of teardowns.reverse()) await f();
    });
    const replica = await startReplica({ teardown: (f) => teardowns.push(f) }, { cluster: opts.cluster } as Dedicated);
    const bouncer = await startPgBouncer({ pgPort: opts.cluster.port, users: [BENCH_ROLES.authenticator], poolSize: opts.poolSize });
    stops.push(() => bouncer.stop());
    const database = opts.db.database;
    const auth = BENCH_ROLES.authenticator;
    const replicaUrl = replica.url(auth.name, auth.password, database);
    const replicaRoot = replica.url(opts.cluster.superuser, opts.cluster.superuserPassword, database);
    await replica.waitCaughtUp();
    const replicaPostmaster = await postmasterOf(replicaRoot);
    const env: Record<string, string> = {
      ...opts.env,
      HASURA_GRAPHQL_SERVER_WORKERS: "1",
      DATABASE_URL: bouncer.url(auth.name, auth.password, database),
      DATABASE_LISTEN_URL: opts.db.runtimeUrl,
      HASURA_GRAPHQL_READ_REPLICA_URLS: replicaUrl,
      ...(bouncer.preparedStatements
        ? {}
        : { HASURA_GRAPHQL_USE_PREPARED_STATEMENTS: "false", DATAPLAN_PG_PREPARED_STATEMENT_CACHE_SIZE: "0" }),
    };
    const n = opts.instances ?? 2;
    const instances = await Promise.all(Array.from({ length: n }, (_, i) => startMainProcess(`Pf instance ${i + 1}`, env)));
    stops.push(async () => {
      await Promise.all(instances.map((i) => i.stop()));
    });
    const bouncerPid = childPids(process.pid, "pgbouncer").find((pid) => pid > 0);
    const redact = (u: string) => u.replace(/:[^:@/]*@/, ":…@");
    return {
      urls: instances.map((i) => i.url),
      instances,
      bouncer,
      nodeCpuS: () => instances.reduce((s, i) => s + processTreeCpuS(i.pid), 0),
      postgresCpuS: () => clusterCpuS(opts.primaryPostmaster) + clusterCpuS(replicaPostmaster) + (bouncerPid ? processCpuS(bouncerPid) : 0),
      describe: {
        instances: n,
        workersPerInstance: 1,
        pgbouncer: { version: bouncer.version.join("."), poolMode: "transaction", poolSize: opts.poolSize, pid: bouncerPid ?? null },
        preparedStatements: bouncer.preparedStatements,
        replica: { port: replica.port, postmaster: replicaPostmaster },
        env: Object.fromEntries(
          ["HASURA_GRAPHQL_SERVER_WORKERS", "DATABASE_URL", "DATABASE_LISTEN_URL", "HASURA_GRAPHQL_READ_REPLICA_URLS"].map((k) => [
            k,
            redact(env[k]!),
          ]),
        ),
      },
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
