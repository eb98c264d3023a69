/**
 * The one definition of "application role": the NOLOGIN roles granted to the
 * authenticator (never a superuser, a BYPASSRLS role or a pg_* role), read
 * from the catalog. The server's allow-list (plugins/app-roles.ts), the
 * permission matrix (db/permissions/catalog.ts) and the policy lints
 * (db/lint-policies.ts) all read it here.
 */
import type pg from "pg";

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

/**
 * Each role's own settings (`alter role R [in database D] set …`) among
 * ROLE_SETTINGS: SET ROLE does not apply them, so the server does, per
 * transaction.
 */
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
