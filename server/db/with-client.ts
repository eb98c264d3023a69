/**
 * One short-lived connection for a piece of work, always closed: for the
 * catalog reads and one-off statements of the CLIs, the importer and the
 * tests (request work goes through the pool, never through this).
 */
import pg from "pg";

export async function withClient<R>(url: string, fn: (client: pg.Client) => Promise<R>): Promise<R> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
