/**
 * A test database's application roles, read from the catalog as the
 * permission matrix reads them (server/db/permissions/catalog.ts): the roles
 * granted to the authenticator that have USAGE on the schema. Roles are
 * cluster-wide, so this is the project's own list (the blog's three, the
 * school's six), never a copy of it.
 */
import { randomBytes } from "node:crypto";
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

/**
 * Application roles made for one test: roles are cluster-wide, so each gets
 * a unique name (`fx_<random>_<key>`), NOLOGIN, granted to the
 * authenticator, with USAGE on `public` of the test's database; `inherits`
 * grants a role its parents WITH INHERIT (an inherited role). Dropped at
 * teardown. Returns the real names by key.
 */
export async function createFixtureRoles<K extends string>(
  t: { teardown(fn: () => unknown): void },
  db: TestDatabase,
  keys: readonly K[],
  inherits: Partial<Record<K, K[]>> = {},
): Promise<Record<K, string>> {
  const suffix = randomBytes(4).toString("hex");
  const names = Object.fromEntries(keys.map((k) => [k, `fx_${suffix}_${k}`])) as Record<K, string>;
  const all = granteeList(Object.values(names));
  t.teardown(async () => {
    await db.asRoot(`drop owned by ${all}`).catch(() => {}); // the database may be gone already
    for (const name of Object.values<string>(names)) await db.asRoot(`drop role if exists "${name}"`);
  });
  for (const name of Object.values<string>(names)) {
    await db.asRoot(`create role "${name}" nologin; grant "${name}" to ${TEST_ROLES.authenticator.name}`);
  }
  for (const [child, parents] of Object.entries(inherits) as [K, K[]][]) {
    await db.asRoot(`grant ${granteeList(parents.map((p) => names[p]))} to "${names[child]}" with inherit true`);
  }
  await db.asOwner(`grant usage on schema public to ${all}`);
  return names;
}
