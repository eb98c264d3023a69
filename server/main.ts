/**
 * `npm start`: configuration → database (embedded unless DATABASE_URL) →
 * migrations and policies → server. SIGINT/SIGTERM: stop accepting, finish
 * in-flight requests, close the pool, then stop the embedded database.
 * Any start-up failure is one line naming the problem and exit code 1.
 * Ctrl-C once drains (the copies of it npm and `node --watch` forward are
 * the same request); a second one a moment later exits at once.
 * With HASURA_GRAPHQL_SERVER_WORKERS > 1 the same, as a supervisor and its
 * workers (server/cluster/); `npm run dev` always runs main(), one process.
 */
import "./env.ts";
import closeWithGrace from "close-with-grace";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { runSupervisor } from "./cluster/supervisor.ts";
import { loadConfig, type Config } from "./config.ts";
import { prepareDatabase, type PreparedDatabase } from "./db/setup.ts";
import { describeStartupError } from "./startup-errors.ts";

export interface Running {
  config: Config;
  db: PreparedDatabase;
  app: FastifyInstance;
}

/** How a browser on this machine reaches the server (a wildcard address is not one). */
export function baseUrl(host: string, port: number): string {
  const shown = host === "0.0.0.0" || host === "::" || host === "" ? "localhost" : host.includes(":") ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}

/**
 * Development mode as a block on stderr, after the last start-up line: a
 * log line among others is easy to miss, and this server then trusts every
 * X-Hasura-* header.
 */
export function developmentBanner(base: string, consoleOn: boolean): string {
  const lines = [
    "DEVELOPMENT MODE: HASURA_GRAPHQL_ADMIN_SECRET is not set.",
    "Every request runs as admin unless it sends X-Hasura-Role, and every",
    "X-Hasura-* header is trusted: never expose this server to a network.",
    "Set HASURA_GRAPHQL_ADMIN_SECRET to secure it (NODE_ENV=production requires it).",
    "",
    consoleOn ? `Console:  ${base}/console` : "Console:  off (HASURA_GRAPHQL_ENABLE_CONSOLE=false)",
    consoleOn ? `GraphiQL: ${base}/graphiql` : "GraphiQL: off",
    `GraphQL:  ${base}/v1/graphql (Hasura)  ${base}/graphql (PostGraphile)`,
  ];
  const width = Math.max(...lines.map((l) => l.length));
  const bar = `+${"-".repeat(width + 2)}+`;
  const box = [bar, ...lines.map((l) => `| ${l.padEnd(width)} |`), bar].join("\n");
  return process.stderr.isTTY ? `\x1b[1;31m${box}\x1b[0m\n` : `${box}\n`;
}

/** The start-up line with the URLs, then the development banner: once, by the process that started the server. */
function announceReady(log: FastifyBaseLogger, config: Config, db: PreparedDatabase, port: number, ms: number, workers = 1): void {
  const base = baseUrl(config.host, port);
  const consoleOn = config.http.enableConsole;
  log.info(
    {
      ms,
      embedded: Boolean(db.embedded),
      project: config.projectDir,
      ...(workers > 1 ? { workers } : {}),
      urls: {
        graphql: `${base}/graphql`,
        hasura: `${base}/v1/graphql`,
        ...(consoleOn ? { console: `${base}/console`, graphiql: `${base}/graphiql` } : {}),
      },
    },
    `ready: GraphQL at ${base}/v1/graphql (Hasura) and ${base}/graphql (PostGraphile)` +
      (consoleOn ? `, console at ${base}/console, GraphiQL at ${base}/graphiql` : " (console off: HASURA_GRAPHQL_ENABLE_CONSOLE)"),
  );
  if (!config.auth.adminSecret) process.stderr.write(developmentBanner(base, consoleOn));
}

// The terminal sends Ctrl-C's SIGINT to the whole process group, and npm and
// `node --watch` forward it to us again: one Ctrl-C arrives two or three times
// within milliseconds. Only a signal after this long is a second request.
const SAME_SIGNAL_MS = 1_000;

export async function main(opts: { watch?: boolean } = {}): Promise<Running> {
  let db: PreparedDatabase | undefined;
  let config: Config | undefined;
  // Until the graceful shutdown below takes over, an error nothing caught is
  // one line, as every start-up failure (not Node's raw stack trace).
  const earlyFailure = (e: unknown) => {
    console.error(`error: ${describeStartupError(e, config)}`);
    void (db?.stop() ?? Promise.resolve()).finally(() => process.exit(1));
  };
  process.on("uncaughtException", earlyFailure);
  process.on("unhandledRejection", earlyFailure);
  try {
    config = loadConfig();
    const t0 = Date.now();
    db = await prepareDatabase(config);
    // The LISTEN rebuild runs in npm start too: a migration applied by another
    // process (or instance) reaches this one without a restart.
    // Imported here: a supervisor (server/cluster/) never builds an app, and GraphQL's modules weigh ~100 MB.
    const { buildApp } = await import("./app.ts");
    const app = await buildApp({
      config,
      databaseUrl: db.runtimeUrl,
      listenUrl: config.database.listenUrl,
      watch: opts.watch ?? true,
      warmSchemas: true,
    });
    await app.listen({ port: config.port, host: config.host });
    const port = (app.server.address() as { port: number } | null)?.port ?? config.port;
    announceReady(app.log, config, db, port, Date.now() - t0);
    const stopDb = db.stop;
    let signalled: { signal: NodeJS.Signals; at: number } | undefined;
    const grace = closeWithGrace({ delay: 10_000, skip: ["SIGINT", "SIGTERM"], logger: app.log }, async ({ err }) => {
      if (err) app.log.error({ err }, "shutting down after an error");
      else app.log.info({ signal: signalled?.signal }, "shutting down");
      // Some release steps wait on unref'd timers; without a ref'd handle the
      // process could exit mid-shutdown and leave the embedded database running.
      const holdOpen = setInterval(() => {}, 1_000);
      try {
        await app.close();
      } finally {
        await stopDb();
        clearInterval(holdOpen);
      }
    });
    process.off("uncaughtException", earlyFailure);
    process.off("unhandledRejection", earlyFailure);
    const onSignal = (signal: NodeJS.Signals) => {
      if (!signalled) {
        signalled = { signal, at: Date.now() };
        void grace.close();
      } else if (Date.now() - signalled.at > SAME_SIGNAL_MS) {
        app.log.warn({ signal }, "second signal: exiting without draining");
        process.exit(1);
      }
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    return { config, db, app };
  } catch (e) {
    console.error(`error: ${describeStartupError(e, config)}`);
    await db?.stop().catch(() => {});
    process.exit(1);
  }
}

/** `npm start`: one process with HASURA_GRAPHQL_SERVER_WORKERS=1, else a supervisor and its workers. */
export async function start(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    console.error(`error: ${describeStartupError(e)}`);
    process.exit(1);
  }
  if (config.workers === 1) await main();
  else await runSupervisor(config, { onListening: (log, db, port, ms) => announceReady(log, config, db, port, ms, config.workers) });
}

if (import.meta.main) await start();
