/**
 * A database connection for the CLIs, configured exactly like `npm start`
 * (DATABASE_OWNER_URL / DATABASE_URL, or the embedded cluster, which is used
 * as it is if the server already runs it).
 */
import "../env.ts";
import pg from "pg";
import { loadConfig, type Config } from "../config.ts";
import { type PreparedDatabase, prepareDatabase } from "../db/setup.ts";

export async function withCliDatabase<T>(
  fn: (client: pg.Client, config: Config, authenticator: string, db: PreparedDatabase) => Promise<T>,
): Promise<T> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: "silent" });
  const db = await prepareDatabase(config, { migrate: !config.database.url, borrow: true });
  const client = new pg.Client({ connectionString: db.ownerUrl ?? db.runtimeUrl });
  await client.connect();
  try {
    return await fn(client, config, decodeURIComponent(new URL(db.runtimeUrl).username), db);
  } finally {
    await client.end();
    await db.stop();
  }
}

export async function runCli(main: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
