/**
 * The allow-list of application roles (read by db/app-roles.ts) as a
 * decorator: a role name that is not on it (postgres, pg_*, the owner, the
 * authenticator itself, anything with quotes or NULs) is refused before the
 * database is touched.
 */
import fp from "fastify-plugin";
import { loadAppRoles, loadRoleSettings } from "../db/app-roles.ts";

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
