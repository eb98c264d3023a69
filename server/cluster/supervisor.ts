/**
 * `npm start` with HASURA_GRAPHQL_SERVER_WORKERS > 1: this process prepares
 * the database once (the embedded PostgreSQL, migrations, policies), then
 * forks that many workers (server/cluster/worker.ts) that share the port
 * through node:cluster. It serves nothing itself. It
 * - replaces a worker that dies (more than MAX_DEATHS within DEATH_WINDOW_MS:
 *   something is broken, so it stops everything and exits 1);
 * - tracks the fleet's readiness for /readyz (./fleet-readiness.ts);
 * - on SIGINT/SIGTERM drains every worker, then stops PostgreSQL; a second
 *   signal a moment later exits at once.
 * It owns the embedded PostgreSQL, so the watchdog (server/db/watchdog.ts)
 * polls this pid: if it is killed, PostgreSQL is stopped, and the workers,
 * whose IPC channel closes, exit on their own.
 */
import cluster, { type Worker } from "node:cluster";
import Fastify, { type FastifyBaseLogger } from "fastify";
import type { Config } from "../config.ts";
import { prepareDatabase, type PreparedDatabase } from "../db/setup.ts";
import { loggerOptions } from "../logger.ts";
import { describeStartupError } from "../startup-errors.ts";
import { FleetReadiness } from "./fleet-readiness.ts";
import { workerExecArgv } from "./gc-flags.ts";
import type { ToSupervisor, ToWorker } from "./messages.ts";

const MAX_DEATHS = 5;
const DEATH_WINDOW_MS = 30_000;
// A worker's drain is bounded by 10 s (server/cluster/worker.ts); beyond this it is killed.
const STOP_WORKERS_MS = 15_000;
// See server/main.ts: one Ctrl-C arrives two or three times within milliseconds.
const SAME_SIGNAL_MS = 1_000;

/**
 * HASURA_GRAPHQL_PG_CONNECTIONS is the whole server's budget: each worker
 * gets its share, at least 2 (one request and /readyz's check at once).
 */
export function workerPoolSize(budget: number, workers: number): number {
  return Math.max(2, Math.floor(budget / workers));
}

export interface SupervisorHooks {
  /** Called once, when every worker first listens: the start-up lines (server/main.ts). */
  onListening(log: FastifyBaseLogger, db: PreparedDatabase, port: number, ms: number): void;
}

export async function runSupervisor(config: Config, hooks: SupervisorHooks): Promise<void> {
  const t0 = Date.now();
  // The workers' logger, for the supervisor's own lines (same format, same destination).
  const log = Fastify({ logger: await loggerOptions(config) }).log;
  let db: PreparedDatabase | undefined;
  let stopping = false;
  const fail = (message: string) => {
    if (stopping) return;
    console.error(`error: ${message}`);
    void stop(1);
  };
  // An error nothing caught: one line, as every start-up failure, then everything stops.
  const earlyFailure = (e: unknown) => {
    if (!db) {
      console.error(`error: ${describeStartupError(e, config)}`);
      process.exit(1);
    } else if (!stopping) fail(describeStartupError(e, config));
    else log.error({ err: e }, "error while stopping");
  };
  process.on("uncaughtException", earlyFailure);
  process.on("unhandledRejection", earlyFailure);
  try {
    db = await prepareDatabase(config);
  } catch (e) {
    // prepareDatabase stops the embedded cluster it started before it throws.
    console.error(`error: ${describeStartupError(e, config)}`);
    process.exit(1);
  }
  const prepared = db;

  cluster.setupPrimary({ exec: new URL("./worker.ts", import.meta.url).pathname, execArgv: workerExecArgv() });
  const poolSize = workerPoolSize(config.database.poolSize, config.workers);
  const listenUrl = config.database.listenUrl ?? prepared.runtimeUrl;
  const fleet = new FleetReadiness(config.workers);
  const listening = new Set<number>();
  let started = false;
  const deaths: number[] = [];
  const pendingForks = new Set<NodeJS.Timeout>();
  log.info({ workers: config.workers, poolSizePerWorker: poolSize }, `starting ${config.workers} workers`);

  const broadcast = () => {
    const m: ToWorker = { type: "fleet", fleet: fleet.state() };
    for (const w of Object.values(cluster.workers ?? {})) if (w?.isConnected()) w.send(m);
  };

  const fork = () => {
    const worker = cluster.fork();
    worker.on("message", (m: ToSupervisor) => {
      if (m.type === "listening") {
        listening.add(worker.id);
        if (!started && listening.size === config.workers) {
          started = true;
          hooks.onListening(log, prepared, m.port, Date.now() - t0);
        }
      } else if (m.type === "ready") {
        if (fleet.set(worker.id, m.ready)) broadcast();
      } else if (m.type === "failed") {
        if (!started) fail(m.message);
        else log.error({ workerPid: worker.process.pid, err: m.message }, "a new worker failed to start");
      }
    });
    // Never logged: it carries the runtime password.
    worker.send({ type: "start", runtimeUrl: prepared.runtimeUrl, listenUrl, poolSize, fleet: fleet.state() } satisfies ToWorker);
  };

  cluster.on("exit", (worker: Worker, code, signal) => {
    listening.delete(worker.id);
    if (fleet.remove(worker.id)) broadcast();
    if (stopping) return;
    if (!started) {
      // Its "failed" message, if any, comes first; else this is the news.
      setTimeout(() => fail(`a worker exited during start-up (${signal ?? `code ${code}`})`), 100);
      return;
    }
    const now = Date.now();
    deaths.push(now);
    while (deaths.length && now - deaths[0]! > DEATH_WINDOW_MS) deaths.shift();
    if (deaths.length > MAX_DEATHS) {
      fail(
        `workers keep dying (${deaths.length} exits within ${DEATH_WINDOW_MS / 1000} s, the last ${signal ?? `code ${code}`}); stopping`,
      );
      return;
    }
    // The first replacement at once; then longer and longer waits while they keep dying.
    const delay = deaths.length <= 1 ? 0 : Math.min(5_000, 250 * 2 ** (deaths.length - 2));
    log.error({ workerPid: worker.process.pid, code, signal, restartInMs: delay }, "worker died; starting another");
    const timer = setTimeout(() => {
      pendingForks.delete(timer);
      if (!stopping) fork();
    }, delay);
    pendingForks.add(timer);
  });

  /** Drains every worker (killing those that take too long), then stops PostgreSQL and exits. */
  async function stop(code: number): Promise<void> {
    stopping = true;
    for (const t of pendingForks) clearTimeout(t);
    // Some release steps wait on unref'd timers: keep the process up until the end.
    const holdOpen = setInterval(() => {}, 1_000);
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => Boolean(w));
    const exited = workers.map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once("exit", () => resolve()))));
    for (const w of workers) if (w.isConnected()) w.send({ type: "drain" } satisfies ToWorker);
    const kill = setTimeout(() => {
      for (const w of workers) if (!w.isDead()) w.process.kill("SIGKILL");
    }, STOP_WORKERS_MS);
    await Promise.all(exited);
    clearTimeout(kill);
    await prepared.stop().catch((err: Error) => log.error({ err: err.message }, "stopping PostgreSQL failed"));
    clearInterval(holdOpen);
    process.exit(code);
  }

  let signalled: { signal: NodeJS.Signals; at: number } | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!signalled) {
      signalled = { signal, at: Date.now() };
      if (stopping) return;
      log.info({ signal }, "shutting down");
      void stop(0);
    } else if (Date.now() - signalled.at > SAME_SIGNAL_MS) {
      log.warn({ signal }, "second signal: exiting without draining");
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGKILL");
      process.exit(1);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  for (let i = 0; i < config.workers; i++) fork();
}
