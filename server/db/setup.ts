/**
 * From configuration to a migrated database and the URLs to reach it.
 *
 * Without DATABASE_URL we run the embedded cluster: bootstrap the database
 * and LOGIN roles as its superuser, then migrate as the owner. With
 * DATABASE_URL we bootstrap only if ROOT_DATABASE_URL is given and migrate
 * only if DATABASE_OWNER_URL is given (otherwise the database is managed
 * elsewhere and we just connect).
 */
import { createHmac } from "node:crypto";
import type { Config } from "../config.ts";
import { bootstrapDatabase, createSuperuserExtensions, explainExtensionError } from "./bootstrap.ts";
import { startEmbeddedPostgres, type EmbeddedCluster } from "./embedded.ts";
import { type MigrateOptions, migrateProject } from "./migrate.ts";

export interface PreparedDatabase {
  runtimeUrl: string;
  ownerUrl?: string;
  rootUrl?: string;
  embedded?: EmbeddedCluster;
  stop(): Promise<void>;
}

/**
 * The migrations, after the root step has created the extensions they need
 * that only a superuser may create (when there is a root connection); a
 * migration refused such an extension is an error naming it.
 */
async function migrateWithExtensions(opts: MigrateOptions & { databaseRootUrl?: string }): Promise<void> {
  if (opts.databaseRootUrl) await createSuperuserExtensions(opts.databaseRootUrl, opts.projectDir);
  try {
    await migrateProject(opts);
  } catch (e) {
    throw explainExtensionError(e, Boolean(opts.databaseRootUrl)) ?? e;
  }
}

/** The root URL, connected to the application's database. */
function inDatabase(rootUrl: string, database: string): string {
  const url = new URL(rootUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

function credentialsOf(url: string): { name: string; password: string } {
  const u = new URL(url);
  return { name: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
}

export interface PrepareOptions {
  /** Skip migrations (e.g. the permissions CLI against a running server). */
  migrate?: boolean;
  verbose?: boolean;
  /** Use an embedded server that is already running and leave it running (CLIs). */
  borrow?: boolean;
}

export async function prepareDatabase(config: Config, opts: PrepareOptions = {}): Promise<PreparedDatabase> {
  const db = config.database;
  const shouldMigrate = opts.migrate ?? true;
  if (db.url) {
    if (db.rootUrl && db.ownerUrl) {
      await bootstrapDatabase({
        rootUrl: db.rootUrl,
        database: decodeURIComponent(new URL(db.url).pathname.slice(1)),
        owner: credentialsOf(db.ownerUrl),
        authenticator: credentialsOf(db.url),
      });
    }
    if (db.ownerUrl && shouldMigrate) {
      await migrateWithExtensions({
        databaseRootUrl:
          db.rootUrl && db.ownerUrl ? inDatabase(db.rootUrl, decodeURIComponent(new URL(db.url).pathname.slice(1))) : undefined,
        projectDir: config.projectDir,
        ownerUrl: db.ownerUrl,
        rootUrl: db.rootUrl,
        authenticator: credentialsOf(db.url).name,
        verbose: opts.verbose,
      });
    }
    return { runtimeUrl: db.url, ownerUrl: db.ownerUrl, rootUrl: db.rootUrl, stop: async () => {} };
  }

  const cluster = await startEmbeddedPostgres({ dir: db.embeddedDir, port: db.embeddedPort, borrow: opts.borrow });
  try {
    // Role passwords derive from the cluster's random superuser password, so
    // nothing else has to be stored and nothing is guessable.
    const password = (role: string) => createHmac("sha256", cluster.superuserPassword).update(role).digest("base64url");
    const owner = { name: config.ownerRole, password: password(config.ownerRole) };
    const authenticator = { name: config.authenticatorRole, password: password(config.authenticatorRole) };
    const rootUrl = cluster.url(cluster.superuser, cluster.superuserPassword, db.embeddedDatabase);
    await bootstrapDatabase({
      rootUrl: cluster.url(cluster.superuser, cluster.superuserPassword, "postgres"),
      database: db.embeddedDatabase,
      owner,
      authenticator,
    });
    const ownerUrl = cluster.url(owner.name, owner.password, db.embeddedDatabase);
    if (shouldMigrate) {
      await migrateWithExtensions({
        databaseRootUrl: rootUrl,
        projectDir: config.projectDir,
        ownerUrl,
        rootUrl,
        authenticator: authenticator.name,
        verbose: opts.verbose,
        // The embedded cluster is a development database: a new one gets the demo rows.
        seed: true,
      });
    }
    return {
      runtimeUrl: cluster.url(authenticator.name, authenticator.password, db.embeddedDatabase),
      ownerUrl,
      rootUrl,
      embedded: cluster,
      stop: () => cluster.stop(),
    };
  } catch (e) {
    await cluster.stop();
    throw e;
  }
}
