/**
 * Applies a project's database: the `sql/` helper library, the committed
 * graphile-migrate migrations, then `policies.sql`, exactly as `.gmrc` says
 * (`beforeAllMigrations` / `afterAllMigrations`). `npm start`, `npm run dev`,
 * the CLIs and the tests all come through here, so they cannot drift.
 *
 * `forceActions` re-applies the library and the policies on every start even
 * when no migration is pending: both are idempotent, and a changed
 * `policies.sql` must take effect without a new migration.
 *
 * With `seed`, a database no migration has run on yet also gets the
 * project's demo rows (`seeds/*.sql`): after the migrations, before
 * `policies.sql`, as the owner, so row-level security is not yet in the way.
 * Development and tests ask for it; a production database never does.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { Logger, migrate, type Settings } from "graphile-migrate";
// Not re-exported from the package root; the CLI's own .gmrc (JSON5) reader.
import { clearAllPools, getSettings } from "../lib-internals.ts";
import pg from "pg";

export interface MigrateOptions {
  projectDir: string;
  ownerUrl: string;
  rootUrl?: string;
  /** Role names reach SQL only as :PLACEHOLDERS. */
  authenticator: string;
  /** Print graphile-migrate's own progress lines. */
  verbose?: boolean;
  /** Where its lines go (default: stderr, `[migrate] …`); the dev server sends them to its log, one event each. */
  log?: (level: string, message: string) => void;
  /** Insert `seeds/*.sql` if no migration had run on the database yet (development and tests only). */
  seed?: boolean;
}

export async function loadMigrateSettings(opts: MigrateOptions): Promise<Settings> {
  const fromFile = await getSettings({ configFile: path.join(opts.projectDir, ".gmrc") });
  const ownerName = decodeURIComponent(new URL(opts.ownerUrl).username);
  return {
    ...fromFile,
    connectionString: opts.ownerUrl,
    // Only `reset` and root ("!") actions use it; without one those fail clearly.
    ...(opts.rootUrl ? { rootConnectionString: opts.rootUrl } : {}),
    migrationsFolder: path.join(opts.projectDir, "migrations"),
    placeholders: {
      ...fromFile.placeholders,
      ":DATABASE_OWNER": ownerName,
      ":DATABASE_AUTHENTICATOR": opts.authenticator,
    },
    logger: new Logger(() => (level, message) => {
      if (level !== "error" && !opts.verbose) return;
      if (opts.log) opts.log(level, message);
      else console.error(`[migrate] ${message}`);
    }),
  };
}

export async function migrateProject(opts: MigrateOptions): Promise<void> {
  try {
    const settings = await loadMigrateSettings(opts);
    if (opts.seed && (await isUnmigrated(opts.ownerUrl))) {
      await migrate({ ...settings, afterAllMigrations: [] }, false, false);
      await applySeeds(opts.projectDir, opts.ownerUrl);
    }
    await migrate(settings, false, true);
  } finally {
    // graphile-migrate keeps its pools for a while and exits the process if
    // one of their idle connections drops (a database restart): close them.
    clearAllPools();
  }
}

/** No committed migration has run on the database (graphile-migrate's own table says so). */
async function isUnmigrated(ownerUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ found: boolean }>(`select to_regclass('graphile_migrate.migrations') is not null as found`);
    if (!rows[0]!.found) return true;
    return (await client.query("select 1 from graphile_migrate.migrations limit 1")).rowCount === 0;
  } finally {
    await client.end();
  }
}

/** Every `seeds/*.sql` of the project, in name order, in one transaction. */
async function applySeeds(projectDir: string, ownerUrl: string): Promise<void> {
  const dir = path.join(projectDir, "seeds");
  const files = (await readdir(dir).catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? [] : Promise.reject(e))))
    .filter((f) => f.endsWith(".sql"))
    .sort();
  if (files.length === 0) return;
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await client.query("begin");
    for (const file of files) await client.query(await readFile(path.join(dir, file), "utf8"));
    await client.query("commit");
  } catch (e) {
    await client.query("rollback").catch(() => {});
    throw e;
  } finally {
    await client.end();
  }
}
