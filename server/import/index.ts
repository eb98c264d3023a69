/**
 * importHasuraProject: a Hasura project directory → a project folder that
 * `PROJECT_DIR=<out> npm start` serves (issue 14):
 *
 *   <out>/.gmrc                    the sql/ helper library, migrations, then policies.sql
 *   <out>/migrations/committed/*   the Hasura migrations (migrations.ts), roles first
 *   <out>/migrations/current.sql   empty
 *   <out>/policies.sql             emit-policies.ts, from the metadata and the live catalog
 *   <out>/policies.expected.md     the permissions document of the applied result
 *   <out>/IMPORT.md                counts, every untranslated item with its place, --compare-hasura
 *
 * The policies need the live catalog (column types, foreign keys), so the
 * migrations run first into `scratch`, an empty database the caller
 * provides; policies.sql is then applied there too, and what the catalog says
 * is written as policies.expected.md and compared with the metadata.
 *
 * The source is a Hasura project directory or a metadata export file (JSON
 * or YAML, `hasura metadata export` / `export_metadata`). A file brings no
 * schema: it comes from `migrations` (Hasura migrations, as a project's) or
 * from `existingUrl`, the user's database that already has it. That database
 * is only read: the helpers, roles and policies are tried in a transaction
 * that is rolled back (rolled-back.ts), and the project's migrations hold
 * only the roles.
 *
 * Every schema the metadata tracks is compared and documented
 * (permissions/schemas.ts).
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import type pg from "pg";
import { REPO_ROOT } from "../config.ts";
import { createSuperuserExtensions, explainExtensionError } from "../db/bootstrap.ts";
import { migrateProject } from "../db/migrate.ts";
import { withClient } from "../db/with-client.ts";
import { compareSchemasWithHasura, loadCatalogs, renderDocuments, trackedSchemas } from "../db/permissions/schemas.ts";
import { loadPolicyFacts } from "../hasura/metadata-export.ts";
import { auditFunctions, type FunctionFinding } from "./audit-functions.ts";
import { loadCatalog } from "./catalog.ts";
import { DEFAULT_READER, emitPolicies, rolesOf } from "./emit-policies.ts";
import { loadFunctionCatalog } from "./function-permissions.ts";
import { loadHasuraMetadata } from "./metadata.ts";
import { importHasuraMigrations } from "./migrations.ts";
import { renderImportReport } from "./report.ts";
import { ruleCommentsSql } from "./rule-comments.ts";
import { inRolledBackTransaction } from "./rolled-back.ts";
import { quoteIdent } from "./sql-quote.ts";

export interface ImportOptions {
  /**
   * An empty database to run the result in, as its owner (dropped or discarded by the caller); not with existingUrl.
   * rootUrl (a superuser's, to that database): the root step creates the extensions only a superuser may create.
   */
  scratch?: { ownerUrl: string; authenticator: string; rootUrl?: string };
  /** An export file's schema: Hasura migrations (their folder, or a Hasura project directory holding them). */
  migrations?: string;
  /** An export file's schema: the database that already has it (its owner's URL); only read, never changed. */
  existingUrl?: string;
  /** Config v3: the metadata source (database) to import; default: the only one, else `default`. */
  database?: string;
  /** The helpers' owner role (default hasura_rules_reader). */
  reader?: string;
}

export interface ImportResult {
  files: string[];
  /** The schemas compared and documented in policies.expected.md. */
  schemas: string[];
  differences: string[];
  untranslated: number;
}

const HELPERS = ["session.sql", "permissions.sql", "privileges.sql"];

function gmrc(outDir: string, withPolicies: boolean): string {
  const rel = (f: string) => JSON.stringify(path.relative(path.join(outDir, "migrations"), path.join(REPO_ROOT, "sql", f)));
  const helpers = `[${HELPERS.map(rel).join(", ")}]`;
  const policies = withPolicies
    ? `  "afterAllMigrations": [{ "_": "sql", "file": "../policies.sql", "shadow": false }],\n  "afterCurrent": ["../policies.sql"],\n`
    : "";
  return [
    "/*",
    " * graphile-migrate configuration (JSON5) of a project imported from Hasura by",
    " * `npm run import:hasura`: the repository's sql/ helper library, the",
    " * committed migrations, then policies.sql (see the repository's .gmrc).",
    " */",
    "{",
    '  "placeholders": { ":DATABASE_OWNER": "!ENV", ":DATABASE_AUTHENTICATOR": "!ENV" },',
    `  "beforeAllMigrations": ${helpers},`,
    `  "beforeCurrent": ${helpers},`,
    `${policies}}`,
    "",
  ].join("\n");
}

/** Refuses a source without a schema, or with two, before any database work: "project", "migrations" or "existing". */
export function checkSchemaSource(
  source: string,
  opts: Pick<ImportOptions, "migrations" | "existingUrl">,
): "project" | "migrations" | "existing" {
  if (statSync(source).isDirectory()) {
    if (opts.migrations || opts.existingUrl)
      throw new Error(
        `${source}: a Hasura project directory brings its own migrations; --migrations and --database-url are for an export file`,
      );
    return "project";
  }
  if (opts.migrations && opts.existingUrl) throw new Error("give --migrations or --database-url, not both");
  if (opts.migrations) return "migrations";
  if (opts.existingUrl) return "existing";
  throw new Error(
    `${source}: a metadata export file has no schema; give --migrations <hasura-migrations-dir> (the schema from those ` +
      "migrations) or --database-url <url> (the database that already has the schema; only read)",
  );
}

/** Where an import's schema comes from, with the migrations to write. */
async function schemaSource(source: string, opts: ImportOptions, roles: string[]) {
  const kind = checkSchemaSource(source, opts);
  if (kind === "project") return { existing: false, migrations: await importHasuraMigrations(source, { roles, database: opts.database }) };
  if (kind === "migrations") {
    const dir = path.resolve(opts.migrations!);
    if (!statSync(dir).isDirectory()) throw new Error(`--migrations ${opts.migrations}: not a directory`);
    // A Hasura project directory (config.yaml) names its own migrations folder; otherwise the folder itself.
    const migrations = existsSync(path.join(dir, "config.yaml"))
      ? await importHasuraMigrations(dir, { roles, database: opts.database })
      : await importHasuraMigrations(path.dirname(dir), { roles, database: opts.database, migrationsRel: path.basename(dir) });
    return { existing: false, migrations };
  }
  if (kind === "existing") {
    // The tables are the database's own: the migrations only create the roles (IMPORT.md says how to start it).
    return { existing: true, migrations: await importHasuraMigrations(path.dirname(source), { roles, migrationsRel: null }) };
  }
  throw new Error("internal: no schema source");
}

export async function importHasuraProject(hasuraDir: string, outDir: string, opts: ImportOptions): Promise<ImportResult> {
  const existing = await readdir(outDir).catch(() => []);
  if (existing.length) throw new Error(`${outDir}: not empty; give a new directory`);
  const md = loadHasuraMetadata(hasuraDir);
  const roles = rolesOf(md);
  const { existing: onExisting, migrations } = await schemaSource(hasuraDir, opts, roles);
  if (!onExisting && !opts.scratch) throw new Error("internal: the import needs a scratch database");
  const schemas = trackedSchemas(md);

  const written: string[] = [];
  const write = async (rel: string, content: string) => {
    await mkdir(path.dirname(path.join(outDir, rel)), { recursive: true });
    await writeFile(path.join(outDir, rel), content);
    if (!written.includes(rel)) written.push(rel);
  };
  for (const f of migrations.files) await write(f.path, f.content);
  await write("migrations/current.sql", "");

  let document: string;
  let differences: string[];
  let policies: ReturnType<typeof emitPolicies>;
  let functions: FunctionFinding[] | undefined;
  if (onExisting) {
    ({ policies, document, differences, functions } = await tryOnExisting(opts.existingUrl!, outDir, migrations.files[0]?.content ?? "", {
      md,
      schemas,
      reader: opts.reader,
      source: hasuraDir,
      write,
    }));
  } else {
    const scratch = opts.scratch!;
    // The schema first (no policies.sql yet), for the catalog the policies are written against.
    await write(".gmrc", gmrc(outDir, false));
    await runHasuraMigrations(outDir, scratch, migrations.files);
    const catalog = await withClient(scratch.ownerUrl, loadCatalog);
    const fnCatalog = await withClient(scratch.ownerUrl, loadFunctionCatalog);
    policies = emitPolicies(md, { catalog, functions: fnCatalog, reader: opts.reader, source: path.basename(path.resolve(hasuraDir)) });
    await write("policies.sql", policies.sql);
    await write(".gmrc", gmrc(outDir, true));

    // Applied as `npm start` would (.gmrc's afterAllMigrations), then read back.
    await migrateProject({ projectDir: outDir, ownerUrl: scratch.ownerUrl, authenticator: scratch.authenticator });
    // Each policy's Hasura rule with the hash of the policy as applied, for export_metadata; applied with the rest.
    const comments = await withClient(scratch.ownerUrl, (client) => recordedRules(client, policies.resolved, schemas));
    if (comments) {
      await write("policies.sql", policies.sql + comments);
      await migrateProject({ projectDir: outDir, ownerUrl: scratch.ownerUrl, authenticator: scratch.authenticator });
    }
    ({ document, differences } = await withClient(scratch.ownerUrl, async (client) => {
      const cats = await loadCatalogs(client, { schemas, authenticator: scratch.authenticator });
      return { document: renderDocuments(cats), differences: await compareSchemasWithHasura(client, cats, md) };
    }));
    // With the grants and policies in place: which of the migrations' functions and triggers would now be refused.
    functions = await withClient(scratch.ownerUrl, (client) =>
      auditFunctions(client, { roles: policies.roles, excludeOwners: [opts.reader ?? DEFAULT_READER] }),
    );
  }
  await write("policies.expected.md", document);
  const report = renderImportReport({
    source: hasuraDir,
    metadata: md,
    policies,
    migrations: { files: migrations.files.length, notes: migrations.notes },
    differences,
    functions,
  });
  await write("IMPORT.md", report + startSection(onExisting, schemas));
  return { files: written, schemas, differences, untranslated: md.untranslated.length + policies.notes.length + migrations.notes.length };
}

/**
 * An export file against the database that already has its schema: the
 * policies are written against its catalog, then tried there as `npm start`
 * would apply them (the sql/ helpers, the roles migration, policies.sql) in
 * a transaction that is rolled back, to read policies.expected.md and the
 * comparison. The authenticator of the attempt is a role created in it, so
 * exactly the imported roles are the application roles read back.
 */
async function tryOnExisting(
  url: string,
  outDir: string,
  rolesMigration: string,
  o: {
    md: ReturnType<typeof loadHasuraMetadata>;
    schemas: string[];
    reader?: string;
    source: string;
    write: (rel: string, content: string) => Promise<void>;
  },
) {
  const catalog = await withClient(url, loadCatalog);
  const fnCatalog = await withClient(url, loadFunctionCatalog);
  const policies = emitPolicies(o.md, { catalog, functions: fnCatalog, reader: o.reader, source: path.basename(path.resolve(o.source)) });
  await o.write("policies.sql", policies.sql);
  await o.write(".gmrc", gmrc(outDir, true));
  const helpers = await Promise.all(HELPERS.map((f) => readFile(path.join(REPO_ROOT, "sql", f), "utf8")));
  try {
    const result = await inRolledBackTransaction(url, async (client) => {
      const authenticator = `hasura_import_${randomBytes(5).toString("hex")}`;
      await client.query(`create role ${quoteIdent(authenticator)} nologin`);
      for (const sql of helpers) await client.query(sql);
      // graphile-migrate's placeholder, as the server would fill it in.
      await client.query(rolesMigration.replace(/:DATABASE_AUTHENTICATOR\b/g, authenticator));
      await client.query(policies.sql);
      // The rules' hashes, of the policies as this database deparses them (written below, with the rest).
      const comments = await recordedRules(client, policies.resolved, o.schemas);
      const cats = await loadCatalogs(client, { schemas: o.schemas, authenticator });
      return {
        document: renderDocuments(cats),
        differences: await compareSchemasWithHasura(client, cats, o.md),
        // With the grants and policies in place, as for a scratch database: the functions and triggers now refused.
        functions: await auditFunctions(client, { roles: policies.roles, excludeOwners: [o.reader ?? DEFAULT_READER] }),
        comments,
      };
    });
    if (result.comments) await o.write("policies.sql", policies.sql + result.comments);
    const { comments: _, ...rest } = result;
    return { policies, ...rest };
  } catch (e) {
    throw new Error(
      `trying the policies on --database-url failed (rolled back: the database is unchanged): ${(e as Error).message}. ` +
        "The URL's user must own the tables and may create roles (CREATEROLE), as the owner that runs the migrations will.",
    );
  }
}

/**
 * The imported migrations into the scratch database, after the root step
 * (when there is a root URL) has created the extensions only a superuser may
 * create, as `npm start` does (server/db/setup.ts). A failing migration is
 * named by its Hasura version and file, with PostgreSQL's error.
 */
async function runHasuraMigrations(
  outDir: string,
  scratch: NonNullable<ImportOptions["scratch"]>,
  files: { path: string; content: string }[],
): Promise<void> {
  if (scratch.rootUrl) await createSuperuserExtensions(scratch.rootUrl, outDir);
  try {
    await migrateProject({ projectDir: outDir, ownerUrl: scratch.ownerUrl, authenticator: scratch.authenticator });
  } catch (e) {
    const explained = explainExtensionError(e, Boolean(scratch.rootUrl));
    const err = e as { message?: string; position?: string; _gmMessageOverride?: string };
    // graphile-migrate names the file it was running (`… of "000003.sql"`); else the first one it has not recorded.
    const named = /of "(\d+\.sql)"/.exec(err._gmMessageOverride ?? "")?.[1];
    const failed = named
      ? files.find((f) => recordedName(f) === named)
      : await failedMigration(scratch.ownerUrl, files).catch(() => undefined);
    if (!failed) throw explained ?? e;
    const body = failed.content;
    // graphile-migrate runs the body after its header; PostgreSQL's position (1-based) points into it when it has one.
    const sources = [...body.matchAll(/^-- Hasura migration (.+?): (.+)$/gm)];
    const at = err.position ? body.indexOf("\n\n") + 2 + Number(err.position) - 1 : -1;
    const before = at >= 0 ? sources.filter((m) => m.index! <= at).at(-1) : undefined;
    const where = before
      ? `Hasura migration ${before[1]} (${before[2]})`
      : sources.length
        ? `Hasura migration ${sources[0]![1]} (${[...new Set(sources.map((m) => m[2]))].join(", ")})`
        : path.basename(failed.path);
    throw new Error(`${where} failed, as ${failed.path}: ${(explained ?? (e as Error)).message ?? String(e)}`, { cause: e });
  }
}

/** The first committed migration graphile-migrate has not recorded as run: the one that failed (its transaction rolled back). */
async function failedMigration(ownerUrl: string, files: { path: string; content: string }[]) {
  const done = await withClient(ownerUrl, async (client) => {
    const { rows } = await client.query<{ found: boolean }>("select to_regclass('graphile_migrate.migrations') is not null as found");
    if (!rows[0]!.found) return new Set<string>();
    return new Set(
      (await client.query<{ filename: string }>("select filename from graphile_migrate.migrations")).rows.map((r) => r.filename),
    );
  });
  return files.filter((f) => f.path.startsWith("migrations/committed/")).find((f) => !done.has(recordedName(f)));
}

/** graphile-migrate records and names a committed migration by its number: `000002.sql` for `000002-<message>.sql`. */
const recordedName = (f: { path: string }) => `${/^\d+/.exec(path.basename(f.path))?.[0]}.sql`;

/** `comment on policy` statements recording each imported policy's Hasura rule (rule-comments.ts), for every schema. */
async function recordedRules(client: pg.ClientBase, md: ReturnType<typeof loadHasuraMetadata>, schemas: string[]): Promise<string> {
  let sql = "";
  for (const schema of schemas) sql += ruleCommentsSql(md, schema, await loadPolicyFacts(client, schema));
  return sql;
}

/** IMPORT.md's last section: how to start the result. */
function startSection(onExisting: boolean, schemas: string[]): string {
  const env = schemas.length === 1 && schemas[0] === "public" ? "" : `DATABASE_SCHEMAS=${schemas.join(",")} `;
  const lines = ["## Starting it", ""];
  if (onExisting)
    lines.push(
      `On the database that already has the schema: \`PROJECT_DIR=<this folder> ${env}DATABASE_URL=<the authenticator's URL> ` +
        "DATABASE_OWNER_URL=<the owner's URL> npm start`. The owner's connection migrates it: graphile-migrate's own schema " +
        "(graphile_migrate), the sql/ helpers (schema hasura), the roles migration, then policies.sql, which replaces the " +
        "application roles' grants and policies on the tables; the tables and their rows are left as they are. " +
        "RLS is then enabled and forced on the tracked tables, and on the tables of those schemas the metadata does not track " +
        "(with no policy, as Hasura exposes them to no role): a connection as their owner (not a superuser or BYPASSRLS " +
        "role), such as a Hasura still connected as the owner, sees and writes only what the policies allow it.",
    );
  else lines.push(`\`PROJECT_DIR=<this folder> ${env}npm start\` (the embedded cluster, or DATABASE_URL and DATABASE_OWNER_URL).`);
  if (env)
    lines.push(
      "",
      `The metadata tracks tables in ${schemas.join(", ")}: DATABASE_SCHEMAS names the schemas GraphQL exposes (default public).`,
    );
  return `${lines.join("\n")}\n`;
}
