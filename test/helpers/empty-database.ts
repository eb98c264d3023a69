/**
 * A database no project has been migrated into (createTestDatabase clones a
 * migrated template): for tests that run migrations of their own, such as an
 * imported project's. Owned by the test owner, as `npm start` would find it
 * after the root step; dropped in teardown.
 */
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { clusterUrl, query, superuserUrl } from "./pg.ts";
import { TEST_ROLES } from "./projects.ts";

export interface EmptyDatabase {
  name: string;
  ownerUrl: string;
  rootUrl: string;
  asRoot<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<R[]>;
}

export async function createEmptyDatabase(t: { teardown(fn: () => unknown): void }): Promise<EmptyDatabase> {
  // Identifiers here are generated, never input.
  const name = `t_empty_${randomBytes(5).toString("hex")}`;
  await query(superuserUrl(), `create database ${name} template template0 owner ${TEST_ROLES.owner.name}`);
  t.teardown(() => query(superuserUrl(), `drop database if exists ${name} with (force)`));
  const rootUrl = superuserUrl(name);
  await query(rootUrl, `revoke all on database ${name} from public`);
  await query(rootUrl, `grant connect, temporary on database ${name} to ${TEST_ROLES.authenticator.name}`);
  await query(rootUrl, `alter schema public owner to ${TEST_ROLES.owner.name}`);
  return {
    name,
    ownerUrl: clusterUrl(TEST_ROLES.owner.name, TEST_ROLES.owner.password, name),
    rootUrl,
    asRoot: (sql, values) => query(rootUrl, sql, values),
  };
}
