/** Seeding at scale (server/db/seed.sql) and small superuser queries for fixtures. */
import type pg from "pg";
import { seedSchool } from "../../server/db/seed.ts";
import { withClient } from "../../server/db/with-client.ts";

/** A superuser connection for fixture work. */
export const withRoot: <T>(rootUrl: string, fn: (client: pg.Client) => Promise<T>) => Promise<T> = withClient;

export async function rootQuery<R extends pg.QueryResultRow>(rootUrl: string, sql: string, values?: unknown[]): Promise<R[]> {
  return withRoot(rootUrl, async (c) => (await c.query<R>(sql, values)).rows);
}

export interface SeedReport {
  scale: number;
  seconds: number;
  counts: Record<string, number>;
}

/** The school model at `scale` (1 = 1,000 users, 10,000 results, …), analyzed. */
export async function seedSchoolAt(rootUrl: string, scale: number): Promise<SeedReport> {
  return withRoot(rootUrl, async (client) => {
    const t0 = Date.now();
    await seedSchool(client, scale);
    const { rows } = await client.query<Record<string, string>>(
      `select (select count(*) from public."user") as users, (select count(*) from public.result) as results,
              (select count(*) from public.event) as events, (select count(*) from public.transaction) as transactions`,
    );
    const counts = Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)]));
    return { scale, seconds: +((Date.now() - t0) / 1000).toFixed(1), counts };
  });
}
