/**
 * A private PgBouncer in transaction pooling mode in front of a test cluster:
 * Debian's package (installed when we are root and it is missing), its own
 * ini and userlist in a temp folder, a free loopback port, stopped on
 * teardown. `npm run test:pgbouncer` (TEST_PGBOUNCER=1, read by test/run.ts)
 * sends the runtime connection of every server `startServer` starts through
 * one; test/reliability/pgbouncer.test.ts starts its own with two server
 * connections.
 *
 * PgBouncer before 1.21 cannot carry named prepared statements across its
 * server connections in transaction mode, and @dataplan/pg names its
 * statements: with such a PgBouncer the server must run with
 * DATAPLAN_PG_PREPARED_STATEMENT_CACHE_SIZE=0 (read when @dataplan/pg loads).
 * From 1.21 on, `max_prepared_statements` makes PgBouncer track them.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "./net.ts";

const run = promisify(execFile);
const CANDIDATES = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer"];

/** The pgbouncer binary, installing Debian's package when root and missing; null when unavailable. */
export function pgbouncerBinary(install = true): string | null {
  const found = () => CANDIDATES.find((c) => existsSync(c)) ?? null;
  if (found() || !install) return found();
  if (process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
    console.error("test set-up: installing Debian's pgbouncer…");
    try {
      execFileSync("apt-get", ["update", "-qq"], { stdio: "ignore" });
      execFileSync("apt-get", ["install", "-y", "-qq", "pgbouncer"], {
        stdio: "ignore",
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      });
    } catch (e) {
      console.error(`test set-up: could not install pgbouncer (${(e as Error).message})`);
    }
  }
  return found();
}

/** [major, minor] of the binary, e.g. [1, 18]. */
export function pgbouncerVersion(binary: string): [number, number] {
  const out = execFileSync(binary, ["--version"], { encoding: "utf8" });
  const m = /PgBouncer (\d+)\.(\d+)/.exec(out);
  if (!m) throw new Error(`unexpected \`pgbouncer --version\` output: ${out}`);
  return [Number(m[1]), Number(m[2])];
}

/** Whether this PgBouncer can carry named (protocol-level) prepared statements in transaction mode. */
export const supportsPreparedStatements = ([major, minor]: [number, number]) => major > 1 || (major === 1 && minor >= 21);

export interface PgBouncerOptions {
  /** The PostgreSQL port behind it (on 127.0.0.1); every database name is forwarded (`* =`). */
  pgPort: number;
  /** Users clients log in as; PgBouncer uses the same password towards PostgreSQL (SCRAM). */
  users: ReadonlyArray<{ name: string; password: string }>;
  /** Server connections per (database, user) pair. */
  poolSize?: number;
  maxClientConn?: number;
  /** More [pgbouncer] settings, written as given. */
  settings?: Record<string, string | number>;
}

export interface PgBouncer {
  readonly port: number;
  readonly version: [number, number];
  /** Named prepared statements work through it (PgBouncer ≥ 1.21, with max_prepared_statements). */
  readonly preparedStatements: boolean;
  url(user: string, password: string, database: string): string;
  /** Rewrites a connection string to the cluster's port so it goes through PgBouncer. */
  route(url: string): string;
  /** A command of the admin console (SHOW POOLS, SHOW SERVERS, …). */
  admin<R extends pg.QueryResultRow = pg.QueryResultRow>(command: string): Promise<R[]>;
  output(): string;
  stop(): Promise<void>;
}

const ADMIN = { name: "pgbouncer_admin", password: "test-pgbouncer-admin-password" };
const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;

export async function startPgBouncer(opts: PgBouncerOptions): Promise<PgBouncer> {
  const binary = pgbouncerBinary();
  if (!binary) throw new Error("pgbouncer is not installed (apt-get install pgbouncer)");
  const version = pgbouncerVersion(binary);
  const preparedStatements = supportsPreparedStatements(version);
  const dir = await mkdtemp(path.join(tmpdir(), "hasura-auth-pg-pgbouncer-"));
  const port = await freePort();
  const settings: Record<string, string | number> = {
    listen_addr: "127.0.0.1",
    listen_port: port,
    unix_socket_dir: "",
    pool_mode: "transaction",
    auth_type: "scram-sha-256",
    auth_file: path.join(dir, "userlist.txt"),
    admin_users: ADMIN.name,
    max_client_conn: opts.maxClientConn ?? 2000,
    default_pool_size: opts.poolSize ?? 5,
    min_pool_size: 0,
    reserve_pool_size: 0,
    max_db_connections: 0,
    // node-pg sends none of these today; other drivers do.
    ignore_startup_parameters: "extra_float_digits,options",
    // Fail fast rather than queue clients forever when PostgreSQL is gone.
    query_wait_timeout: 30,
    server_connect_timeout: 5,
    server_login_retry: 1,
    log_connections: 0,
    log_disconnections: 0,
    ...(preparedStatements ? { max_prepared_statements: 200 } : {}),
    ...opts.settings,
  };
  const ini = [
    "[databases]",
    `* = host=127.0.0.1 port=${opts.pgPort}`,
    "",
    "[pgbouncer]",
    ...Object.entries(settings).map(([k, v]) => `${k} = ${v}`),
    "",
  ].join("\n");
  await writeFile(path.join(dir, "pgbouncer.ini"), ini, { mode: 0o600 });
  await writeFile(
    path.join(dir, "userlist.txt"),
    `${[...opts.users, ADMIN].map((u) => `${quote(u.name)} ${quote(u.password)}`).join("\n")}\n`,
    { mode: 0o600 },
  );
  // PgBouncer refuses to run as root: as root it drops to the postgres OS
  // user (server/db/embedded.ts creates it), which must read its files.
  const args = [path.join(dir, "pgbouncer.ini")];
  if (userInfo().uid === 0) {
    const { stdout: uid } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    for (const f of ["", "pgbouncer.ini", "userlist.txt"]) await chown(path.join(dir, f), Number(uid), Number(gid));
    args.unshift("-u", "postgres");
  }
  const child: ChildProcess = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // A test process that dies (an uncaught exception) skips its teardowns:
  // never leave an orphaned pgbouncer behind.
  const killOnExit = () => {
    if (child.exitCode === null) child.kill("SIGTERM");
  };
  process.once("exit", killOnExit);

  const url = (user: string, password: string, database: string) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  const admin = async <R extends pg.QueryResultRow>(command: string): Promise<R[]> => {
    const client = new pg.Client({ connectionString: url(ADMIN.name, ADMIN.password, "pgbouncer") });
    await client.connect();
    try {
      // The admin console speaks the simple query protocol only (no parameters).
      return (await client.query<R>(command)).rows;
    } finally {
      await client.end();
    }
  };

  // Ready when the admin console answers.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited at start:\n${out}`);
    try {
      await admin("SHOW VERSION");
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`pgbouncer did not start on port ${port}: ${(e as Error).message}\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  let stopped = false;
  return {
    port,
    version,
    preparedStatements,
    url,
    route(connectionString) {
      const u = new URL(connectionString);
      if (u.hostname === "127.0.0.1" && u.port === String(opts.pgPort)) u.port = String(port);
      return u.toString();
    },
    admin,
    output: () => out,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off("exit", killOnExit);
      if (child.exitCode === null) {
        // SIGINT: safe shutdown, SIGTERM: immediate; the latter is fine for tests.
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Under `npm run test:pgbouncer`, the run's PgBouncer address for a runtime
 * connection string of the run's cluster (other clusters, e.g. a test's own,
 * are left alone); the string unchanged otherwise.
 */
export function viaTestPgBouncer(connectionString: string): string {
  const bouncerPort = process.env.TEST_PGBOUNCER_PORT;
  const pgPort = process.env.TEST_PG_PORT;
  if (!bouncerPort || !pgPort) return connectionString;
  const u = new URL(connectionString);
  if (u.hostname !== "127.0.0.1" || u.port !== pgPort) return connectionString;
  u.port = bouncerPort;
  return u.toString();
}
