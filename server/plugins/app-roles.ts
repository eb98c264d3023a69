/**
 * The allow-list of application roles: the NOLOGIN roles granted to the
 * authenticator, read from the catalog. A role name that is not on it
 * (postgres, pg_*, the owner, the authenticator itself, anything with
 * quotes or NULs) is refused before the database is touched.
 */
import fp from "fastify-plugin";
import type pg from "pg";

declare module "fastify" {
  interface FastifyInstance {
    appRoles: AppRoles;
  }
}

export interface AppRoles {
  has(role: string): boolean;
  list(): readonly string[];
  refresh(): Promise<void>;
}

// The one definition of "application role", also used by the permission
// matrix and the policy lints (server/db/permissions.ts, lint-policies.ts).
const APP_ROLES_SQL = `
  select r.rolname
  from pg_catalog.pg_auth_members m
  join pg_catalog.pg_roles r on r.oid = m.roleid
  where m.member = (select oid from pg_catalog.pg_roles where rolname = coalesce($1::text, current_user))
    and not r.rolcanlogin and not r.rolsuper and not r.rolbypassrls
    and r.rolname !~ '^pg_'
  order by r.rolname collate "C"`;

/** The roles granted to `authenticator` (default: the connected role), in byte order. */
export async function loadAppRoles(db: pg.Pool | pg.ClientBase, authenticator?: string): Promise<string[]> {
  const { rows } = await db.query<{ rolname: string }>(APP_ROLES_SQL, [authenticator ?? null]);
  return rows.map((r) => r.rolname);
}

export default fp(
  async (app) => {
    let roles = new Set(await loadAppRoles(app.pgPool));
    const appRoles: AppRoles = {
      has: (role) => roles.has(role),
      list: () => [...roles],
      async refresh() {
        roles = new Set(await loadAppRoles(app.pgPool));
      },
    };
    app.decorate("appRoles", appRoles);
  },
  { name: "app-roles", dependencies: ["database"], fastify: "5.x" },
);
