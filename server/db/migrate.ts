/**
 * Applies a project's database: the `sql/` helper library, the committed
 * graphile-migrate migrations, then `policies.sql`, exactly as `.gmrc` says
 * (`beforeAllMigrations` / `afterAllMigrations`). `npm start`, `npm run dev`,
 * the CLIs and the tests all come through here, so they cannot drift.
 *
 * `forceActions` re-applies the library and the policies on every start even
 * when no migration is pending: both are idempotent, and a changed
 * `policies.sql` must take effect without a new migration.
 */
import path from "node:path";
import { Logger, migrate, type Settings } from "graphile-migrate";
// Not re-exported from the package root; the CLI's own .gmrc (JSON5) reader.
import { getSettings } from "graphile-migrate/dist/commands/_common.js";
import { clearAllPools } from "graphile-migrate/dist/pgReal.js";

export interface MigrateOptions {
  projectDir: string;
  ownerUrl: string;
  rootUrl?: string;
  /** Role names reach SQL only as :PLACEHOLDERS. */
  authenticator: string;
  /** Print graphile-migrate's own progress lines. */
  verbose?: boolean;
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
      if (level === "error" || opts.verbose) console.error(`[migrate] ${message}`);
    }),
  };
}

export async function migrateProject(opts: MigrateOptions): Promise<void> {
  try {
    await migrate(await loadMigrateSettings(opts), false, true);
  } finally {
    // graphile-migrate keeps its pools for a while and exits the process if
    // one of their idle connections drops (a database restart): close them.
    clearAllPools();
  }
}
