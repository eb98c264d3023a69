/**
 * Per-test-file databases on the run's throwaway cluster (see test/run.ts):
 * a clone of a migrated template, dropped in teardown.
 */
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { withClient } from "../../server/db/with-client.ts";
import { PROJECTS, TEST_ROLES, type ProjectName } from "./projects.ts";

export interface TestDatabase {
  name: string;
  /** As the authenticator: what the server connects with. */
  runtimeUrl: string;
  /** As the owner: migrations, and checking what changed behind the API. */
  ownerUrl: string;
  /** As the superuser. */
  rootUrl: string;
  /** Run SQL as the owner (subject to FORCE RLS like everyone but the superuser). */
  asOwner<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<R[]>;
  /** Run SQL as the superuser: sees every row, for checking what a request changed. */
  asRoot<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<R[]>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export function clusterUrl(user: string, password: string, database: string): string {
  const port = process.env.TEST_PG_PORT;
  if (!port) throw new Error("run the tests with `npm test` (test/run.ts starts PostgreSQL)");
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

export const superuserUrl = (database = "postgres") => clusterUrl("postgres", process.env.TEST_PG_SUPERUSER_PASSWORD ?? "", database);

/** One statement (or a script without values) on its own connection. */
export function query<R extends pg.QueryResultRow>(url: string, sql: string, values?: unknown[]): Promise<R[]> {
  return withClient(url, async (client) => (await client.query<R>(sql, values)).rows);
}

export async function createTestDatabase(t: Teardown, project: ProjectName = "app"): Promise<TestDatabase> {
  const template = PROJECTS.find((p) => p.name === project)!.template;
  const name = `t_${project.replaceAll("-", "_")}_${randomBytes(5).toString("hex")}`;
  // Identifiers here are generated above, never input.
  await query(superuserUrl(), `create database ${name} template ${template} owner ${TEST_ROLES.owner.name}`);
  t.teardown(() => query(superuserUrl(), `drop database if exists ${name} with (force)`));
  const ownerUrl = clusterUrl(TEST_ROLES.owner.name, TEST_ROLES.owner.password, name);
  const rootUrl = superuserUrl(name);
  await query(rootUrl, `grant connect, temporary on database ${name} to ${TEST_ROLES.authenticator.name}`);
  return {
    name,
    runtimeUrl: clusterUrl(TEST_ROLES.authenticator.name, TEST_ROLES.authenticator.password, name),
    ownerUrl,
    rootUrl,
    asOwner: (sql, values) => query(ownerUrl, sql, values),
    asRoot: (sql, values) => query(rootUrl, sql, values),
  };
}
