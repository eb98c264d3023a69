/**
 * `npm run seed -- --scale N`: N × (1,000 users, 10,000 results, 10,000
 * transactions, 10,000 progress rows, …) into the school model. Needs the
 * superuser connection (the embedded cluster's, or ROOT_DATABASE_URL).
 */
import "../env.ts";
import { parseArgs } from "node:util";
import pg from "pg";
import { loadConfig } from "../config.ts";
import { intValue } from "../env-parse.ts";
import { prepareDatabase } from "../db/setup.ts";
import { seedSchool } from "../db/seed.ts";
import { runCli } from "./db-client.ts";

await runCli(async () => {
  const { values } = parseArgs({ options: { scale: { type: "string", default: "1" } } });
  const scale = intValue("--scale", values.scale!, 1, 1000);
  const config = loadConfig({ ...process.env, LOG_LEVEL: "silent" });
  const db = await prepareDatabase(config, { borrow: true });
  try {
    if (!db.rootUrl) throw new Error("seeding needs ROOT_DATABASE_URL (a superuser): row-level security is forced for the owner too");
    const client = new pg.Client({ connectionString: db.rootUrl });
    await client.connect();
    try {
      const started = Date.now();
      await seedSchool(client, scale);
      const { rows } = await client.query(
        `select (select count(*) from public."user") as users, (select count(*) from public.result) as results,
                (select count(*) from public.transaction) as transactions, (select count(*) from public.progress) as progress`,
      );
      console.log(`seeded scale ${scale} in ${((Date.now() - started) / 1000).toFixed(1)}s: ${JSON.stringify(rows[0])}`);
    } finally {
      await client.end();
    }
  } finally {
    await db.stop();
  }
  return 0;
});
