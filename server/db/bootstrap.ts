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
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
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

/**
 * Extensions only a superuser may create (issue 14: imported schemas bring
 * PostGIS and friends): the root step creates them, before the migrations,
 * when a migration says `create extension if not exists <name>` and the
 * extension is neither installed nor trusted (PostgreSQL 13+ lets the
 * database owner create trusted ones, such as pgcrypto or citext, itself).
 * The migration's own statement then finds it. A plain `create extension`
 * is left alone: created here, it would make that migration fail.
 */
export async function createSuperuserExtensions(databaseRootUrl: string, projectDir: string): Promise<string[]> {
  const wanted = await extensionsOfMigrations(projectDir);
  if (wanted.length === 0) return [];
  const db = new pg.Client({ connectionString: databaseRootUrl });
  await db.connect();
  const created: string[] = [];
  try {
    for (const { name, schema } of wanted) {
      const { rows } = await db.query<{ installed: boolean; needsSuperuser: boolean; schemaExists: boolean }>(
        `select exists (select 1 from pg_catalog.pg_extension where extname = $1) as installed,
                coalesce((select v.superuser and not v.trusted from pg_catalog.pg_available_extension_versions v
                           join pg_catalog.pg_available_extensions a on a.name = v.name and a.default_version = v.version
                          where v.name = $1), false) as "needsSuperuser",
                $2::text is null or exists (select 1 from pg_catalog.pg_namespace where nspname = $2) as "schemaExists"`,
        [name, schema],
      );
      const r = rows[0]!;
      // Unknown to the server, trusted, there already, or into a schema a migration creates later: the migration decides.
      if (r.installed || !r.needsSuperuser || !r.schemaExists) continue;
      if (schema) await execFormatted(db, "create extension if not exists %I schema %I", [name, schema]);
      else await execFormatted(db, "create extension if not exists %I", [name]);
      created.push(name);
    }
  } finally {
    await db.end();
  }
  return created;
}

/** `create extension if not exists <name> [with] [schema <s>]` in the project's migrations (comments skipped). */
async function extensionsOfMigrations(projectDir: string): Promise<{ name: string; schema: string | null }[]> {
  const dir = path.join(projectDir, "migrations");
  const files = [
    ...(await readdir(path.join(dir, "committed")).catch(() => [] as string[])).map((f) => path.join(dir, "committed", f)),
    path.join(dir, "current.sql"),
    ...(await readdir(path.join(dir, "current")).catch(() => [] as string[])).map((f) => path.join(dir, "current", f)),
  ].filter((f) => f.endsWith(".sql"));
  const ident = '("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$-]*)';
  const statement = new RegExp(String.raw`create\s+extension\s+if\s+not\s+exists\s+${ident}(?:\s+(?:with\s+)?schema\s+${ident})?`, "gi");
  const unquote = (id: string) => (id.startsWith('"') ? id.slice(1, -1).replaceAll('""', '"') : id.toLowerCase());
  const found = new Map<string, { name: string; schema: string | null }>();
  for (const file of files) {
    const text = await readFile(file, "utf8").catch(() => "");
    const code = text.replace(/--[^\n]*/g, " ").replace(/\/\*[\s\S]*?\*\//g, " ");
    for (const m of code.matchAll(statement)) {
      const name = unquote(m[1]!);
      if (!found.has(name)) found.set(name, { name, schema: m[2] ? unquote(m[2]) : null });
    }
  }
  return [...found.values()];
}

/** A migration refused an extension only a superuser may create: name it and say what to do. */
export function explainExtensionError(e: unknown, rootStep: boolean): Error | null {
  const err = e as { code?: string; message?: string };
  const m = err.code === "42501" ? /permission denied to create extension "([^"]+)"/.exec(err.message ?? "") : null;
  if (!m) return null;
  const name = m[1]!;
  return new Error(
    rootStep
      ? `a migration creates the extension "${name}", which only a superuser may create: the root step (ROOT_DATABASE_URL) creates it first ` +
          `only for \`create extension if not exists ${name}\`; write that in the migration, or create it as a superuser: create extension if not exists "${name}";`
      : `a migration creates the extension "${name}", which only a superuser may create: set ROOT_DATABASE_URL (a superuser's URL) so start-up ` +
          `creates it in its root step, or create it as a superuser first: create extension if not exists "${name}";`,
    { cause: e },
  );
}
