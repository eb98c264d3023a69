/**
 * One worker of `npm start` (forked by server/cluster/supervisor.ts): the
 * app on the shared port, with the database the supervisor prepared. It
 * drains (in-flight requests answered, sockets closed) on the supervisor's
 * word or its own SIGINT/SIGTERM, and exits when the supervisor is gone
 * (the IPC channel closes: nothing would stop the database or replace it).
 */
import "../env.ts";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../app.ts";
import { type Config, loadConfig } from "../config.ts";
import { describeStartupError } from "../startup-errors.ts";
import { reportReadiness } from "./fleet-readiness.ts";
import type { FleetState, ToSupervisor, ToWorker } from "./messages.ts";

// As closeWithGrace's delay in server/main.ts: a request that needs longer is cut.
const DRAIN_MS = 10_000;
// Without a supervisor there is no one to answer to: a short drain, then out.
const ORPHAN_DRAIN_MS = 3_000;

function send(m: ToSupervisor): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(m, undefined, {}, () => resolve());
  });
}

let app: FastifyInstance | undefined;
let config: Config | undefined;
let fleet: FleetState = { ready: 0, total: 1 };
let draining = false;
let stopReporting = () => {};

async function drain(code: number, why: string, ms = DRAIN_MS): Promise<never> {
  if (draining) return new Promise(() => {});
  draining = true;
  // Some release steps wait on unref'd timers: keep the process up until the end.
  const holdOpen = setInterval(() => {}, 1_000);
  setTimeout(() => process.exit(code), ms).unref();
  app?.log.info({ why }, "worker draining");
  stopReporting();
  try {
    await app?.close();
  } catch (err) {
    app?.log.error({ err }, "closing the worker failed");
  }
  clearInterval(holdOpen);
  process.exit(code);
}

async function start(m: Extract<ToWorker, { type: "start" }>): Promise<void> {
  try {
    const loaded = loadConfig();
    // The supervisor splits HASURA_GRAPHQL_PG_CONNECTIONS among the workers.
    config = { ...loaded, database: { ...loaded.database, poolSize: m.poolSize } };
    fleet = m.fleet;
    app = await buildApp({
      config,
      databaseUrl: m.runtimeUrl,
      listenUrl: m.listenUrl,
      // Every worker LISTENs for schema changes itself.
      watch: true,
      // Per-role schemas are paid per worker: only the readiness role's is built
      // at once (server/graphql/schemas.ts), the others on their first request.
      warmSchemas: false,
      fleet: () => fleet,
    });
    if (draining) return;
    await app.listen({ port: config.port, host: config.host });
    const port = (app.server.address() as { port: number } | null)?.port ?? config.port;
    await send({ type: "listening", port });
    stopReporting = reportReadiness(app, (r) => void send(r));
  } catch (e) {
    // node:cluster reports the supervisor's failed bind as syscall "bind": the same failure as listen's.
    const err = e as NodeJS.ErrnoException & { port?: number };
    if (err.syscall === "bind") Object.assign(err, { syscall: "listen", port: config?.port });
    // The supervisor prints it (once for the fleet) and stops.
    await send({ type: "failed", message: describeStartupError(e, config) });
    await app?.close().catch(() => {});
    process.exit(1);
  }
}

process.on("message", (m: ToWorker) => {
  if (m.type === "start") void start(m);
  else if (m.type === "fleet") fleet = m.fleet;
  else if (m.type === "drain") void drain(0, "supervisor");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void drain(0, signal));
process.on("disconnect", () => {
  if (draining) return;
  app?.log.warn("the supervisor is gone: worker exiting");
  void drain(1, "supervisor gone", ORPHAN_DRAIN_MS);
});
// After start-up, a crash is logged and the worker exits 1; the supervisor replaces it.
const crash = (err: unknown) => {
  if (app) app.log.error({ err }, "worker crashed");
  else console.error(`worker ${process.pid} crashed: ${(err as Error)?.message ?? String(err)}`);
  void drain(1, "crash");
};
process.on("uncaughtException", crash);
process.on("unhandledRejection", crash);
