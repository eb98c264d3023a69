/**
 * `npm start`: configuration → database (embedded unless DATABASE_URL) →
 * migrations and policies → server. SIGINT/SIGTERM: stop accepting, finish
 * in-flight requests, close the pool, then stop the embedded database.
 * Any start-up failure is one line naming the problem and exit code 1.
 */
import "./env.ts";
import closeWithGrace from "close-with-grace";
import { buildApp } from "./app.ts";
import type { FastifyInstance } from "fastify";
import { loadConfig, type Config } from "./config.ts";
import { prepareDatabase, type PreparedDatabase } from "./db/setup.ts";
import { describeStartupError } from "./startup-errors.ts";

export interface Running {
  config: Config;
  db: PreparedDatabase;
  app: FastifyInstance;
}

export async function main(opts: { watch?: boolean } = {}): Promise<Running> {
  let db: PreparedDatabase | undefined;
  let config: Config | undefined;
  try {
    config = loadConfig();
    const t0 = Date.now();
    db = await prepareDatabase(config);
    const app = await buildApp({ config, databaseUrl: db.runtimeUrl, watch: opts.watch, warmSchemas: true });
    await app.listen({ port: config.port, host: config.host });
    app.log.info(
      { ms: Date.now() - t0, embedded: Boolean(db.embedded), project: config.projectDir },
      `ready: GraphQL at http://${config.host}:${config.port}/graphql and /v1/graphql` +
        (config.http.enableConsole ? ", GraphiQL at /graphiql" : " (console off: HASURA_GRAPHQL_ENABLE_CONSOLE)"),
    );
    const stopDb = db.stop;
    closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
      if (err) app.log.error({ err }, "shutting down after an error");
      else app.log.info({ signal }, "shutting down");
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
    return { config, db, app };
  } catch (e) {
    console.error(`error: ${describeStartupError(e, config)}`);
    await db?.stop().catch(() => {});
    process.exit(1);
  }
}

if (import.meta.main) await main();
