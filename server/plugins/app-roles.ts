/**
 * The allow-list of application roles (read by db/app-roles.ts) as a
 * decorator: a role name that is not on it (postgres, pg_*, the owner, the
 * authenticator itself, anything with quotes or NULs) is refused before the
 * database is touched.
 *
 * An inherited role (an application role granted others WITH INHERIT) that
 * Postgres would serve differently from Hasura (db/inherited-roles.ts)
 * stops the server at start-up; when the database changes later (npm run
 * dev), such a role is dropped from the allow-list and logged instead.
 */
import type pg from "pg";
import fp from "fastify-plugin";
import { loadAppRoles, loadRoleSettings } from "../db/app-roles.ts";
import { describeFinding, InheritedRoleError, loadInheritedRoleFindings } from "../db/inherited-roles.ts";

/** `schemas`: those whose tables the inherited roles are checked on (the ones GraphQL exposes). */
async function loadChecked(pool: pg.Pool, schemas: readonly string[]): Promise<{ roles: string[]; findings: InheritedRoleError | null }> {
  const client = await pool.connect();
  try {
    const roles = await loadAppRoles(client);
    const findings = [];
    for (const schema of schemas) findings.push(...(await loadInheritedRoleFindings(client, { schema, appRoles: roles })));
    return { roles, findings: findings.length ? new InheritedRoleError(findings) : null };
  } finally {
    client.release();
  }
}

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
  async (app, opts: { schemas?: readonly string[] }) => {
    const schemas = opts.schemas ?? ["public"];
    const first = await loadChecked(app.pgPool, schemas);
    if (first.findings) throw first.findings;
    let roles = new Set(first.roles);
    let settings = await loadRoleSettings(app.pgPool, roles);
    const appRoles: AppRoles = {
      has: (role) => roles.has(role),
      list: () => [...roles],
      settings: (role) => settings.get(role) ?? {},
      async refresh() {
        const next = await loadChecked(app.pgPool, schemas);
        const refused = new Set(next.findings?.findings.map((f) => f.role));
        for (const f of next.findings?.findings ?? []) app.log.error(`${describeFinding(f)}; the role is refused until this is fixed`);
        roles = new Set(next.roles.filter((r) => !refused.has(r)));
        settings = await loadRoleSettings(app.pgPool, roles);
      },
    };
    app.decorate("appRoles", appRoles);
  },
  { name: "app-roles", dependencies: ["database"], fastify: "5.x" },
);
