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
  /**
   * The role's own settings (`alter role R [in database D] set statement_timeout = …`)
   * that SET ROLE does not apply: the server applies them in each transaction.
   */
  settings(role: string): Readonly<Record<string, string>>;
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

// Settings of the application roles applied with set_config(…, true): limits,
// nothing that changes what a query means or may see.
const ROLE_SETTINGS = ["statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "transaction_timeout", "work_mem"];
const ROLE_SETTINGS_SQL = `
  select r.rolname, s.setconfig
  from pg_catalog.pg_db_role_setting s
  join pg_catalog.pg_roles r on r.oid = s.setrole
  where s.setdatabase in (0, (select oid from pg_catalog.pg_database where datname = current_database()))
  order by s.setdatabase`; // the database-specific settings last, so they win

export async function loadRoleSettings(db: pg.Pool | pg.ClientBase, roles: Set<string>): Promise<Map<string, Record<string, string>>> {
  const { rows } = await db.query<{ rolname: string; setconfig: string[] }>(ROLE_SETTINGS_SQL);
  const out = new Map<string, Record<string, string>>();
  for (const { rolname, setconfig } of rows) {
    if (!roles.has(rolname)) continue;
    const settings = out.get(rolname) ?? {};
    for (const entry of setconfig) {
      const i = entry.indexOf("=");
      if (ROLE_SETTINGS.includes(entry.slice(0, i))) settings[entry.slice(0, i)] = entry.slice(i + 1);
    }
    out.set(rolname, settings);
  }
  return out;
}

export default fp(
  async (app) => {
    let roles = new Set(await loadAppRoles(app.pgPool));
    let settings = await loadRoleSettings(app.pgPool, roles);
    const appRoles: AppRoles = {
      has: (role) => roles.has(role),
      list: () => [...roles],
      settings: (role) => settings.get(role) ?? {},
      async refresh() {
        roles = new Set(await loadAppRoles(app.pgPool));
        settings = await loadRoleSettings(app.pgPool, roles);
      },
    };
    app.decorate("appRoles", appRoles);
  },
  { name: "app-roles", dependencies: ["database"], fastify: "5.x" },
);
