/**
 * A test database's application roles, read from the catalog as the
 * permission matrix reads them (server/db/permissions/catalog.ts): the roles
 * granted to the authenticator that have USAGE on the schema. Roles are
 * cluster-wide, so this is the project's own list (the blog's three, the
 * school's six), never a copy of it.
 */
import pg from "pg";
import { appRolesOf } from "../../server/db/permissions/catalog.ts";
import type { TestDatabase } from "./pg.ts";
import { TEST_ROLES } from "./projects.ts";

/** In byte order, as the catalog query sorts them. */
export async function appRoles(db: TestDatabase, schema = "public"): Promise<string[]> {
  const client = new pg.Client({ connectionString: db.rootUrl });
  await client.connect();
  try {
    return await appRolesOf(client, TEST_ROLES.authenticator.name, schema);
  } finally {
    await client.end();
  }
}

/** Roles as the role list of a GRANT or a policy's `to`. */
export function granteeList(roles: readonly string[]): string {
  return roles.map((r) => `"${r.replaceAll('"', '""')}"`).join(", ");
}
