/**
 * Creates the database and its two LOGIN roles, as a superuser, the way
 * graphile/starter's setup_db does:
 *
 * - the owner owns the schema and runs migrations; CREATEROLE lets its
 *   migrations create the NOLOGIN application roles and grant them to the
 *   authenticator (PostgreSQL 16+ gives a role's creator ADMIN on it);
 * - the authenticator is what the server connects as: LOGIN, NOINHERIT, no
 *   other attribute, so it can do nothing but switch to a granted role.
 *
 * Identifiers and passwords are quoted by PostgreSQL itself (`format('%I %L')`)
 * because utility statements such as CREATE ROLE take no bind parameters.
 */
import pg from "pg";

export interface BootstrapOptions {
  rootUrl: string;
  database: string;
  owner: { name: string; password: string };
  authenticator: { name: string; password: string };
}

async function execFormatted(client: pg.Client, template: string, args: string[]): Promise<void> {
  const placeholders = args.map((_, i) => `$${i + 2}::text`).join(", ");
  const { rows } = await client.query<{ sql: string }>(`select format($1, ${placeholders}) as sql`, [template, ...args]);
  await client.query(rows[0]!.sql);
}

async function ensureLoginRole(client: pg.Client, role: { name: string; password: string }, attributes: string): Promise<void> {
  const { rowCount } = await client.query("select 1 from pg_roles where rolname = $1", [role.name]);
  const verb = rowCount ? "alter" : "create";
  await execFormatted(client, `${verb} role %I with ${attributes} password %L`, [role.name, role.password]);
}

export async function bootstrapDatabase(opts: BootstrapOptions): Promise<void> {
  const root = new pg.Client({ connectionString: opts.rootUrl });
  await root.connect();
  try {
    // Serialise concurrent bootstraps (parallel test processes) on one cluster.
    await root.query("select pg_advisory_lock(4242001)");
    await ensureLoginRole(root, opts.owner, "login createrole nosuperuser nobypassrls");
    await ensureLoginRole(root, opts.authenticator, "login noinherit nosuperuser nobypassrls nocreatedb nocreaterole noreplication");
    const { rowCount } = await root.query("select 1 from pg_database where datname = $1", [opts.database]);
    if (!rowCount) {
      await execFormatted(root, "create database %I owner %I", [opts.database, opts.owner.name]);
    }
    await execFormatted(root, "revoke all on database %I from public", [opts.database]);
    await execFormatted(root, "grant connect, temporary on database %I to %I", [opts.database, opts.authenticator.name]);
    await root.query("select pg_advisory_unlock(4242001)");
  } finally {
    await root.end();
  }

  // Inside the new database: nobody but the owner creates objects in public.
  const url = new URL(opts.rootUrl);
  url.pathname = `/${encodeURIComponent(opts.database)}`;
  const db = new pg.Client({ connectionString: url.toString() });
  await db.connect();
  try {
    await execFormatted(db, "alter schema public owner to %I", [opts.owner.name]);
    await db.query("revoke all on schema public from public");
  } finally {
    await db.end();
  }
}
