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
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { statSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../config.ts";
import { migrateProject } from "../db/migrate.ts";
import { withClient } from "../db/with-client.ts";
import { loadCatalog as loadPermissionCatalog } from "../db/permissions/catalog.ts";
import { compareWithHasura, loadTableColumns } from "../db/permissions/hasura-compare.ts";
import { renderDocument } from "../db/permissions/markdown.ts";
import { auditFunctions } from "./audit-functions.ts";
import { loadCatalog } from "./catalog.ts";
import { DEFAULT_READER, emitPolicies, rolesOf } from "./emit-policies.ts";
import { loadHasuraMetadata } from "./metadata.ts";
import { importHasuraMigrations } from "./migrations.ts";
import { renderImportReport } from "./report.ts";

export interface ImportOptions {
  /** An empty database to run the result in, as its owner (dropped or discarded by the caller). */
  scratch: { ownerUrl: string; authenticator: string };
  /** Config v3: the metadata source (database) to import; default: the only one, else `default`. */
  database?: string;
  /** The helpers' owner role (default hasura_rules_reader). */
  reader?: string;
}

export interface ImportResult {
  files: string[];
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

export async function importHasuraProject(hasuraDir: string, outDir: string, opts: ImportOptions): Promise<ImportResult> {
  if (!statSync(hasuraDir).isDirectory()) {
    throw new Error(
      `${hasuraDir}: a Hasura project directory is needed (its migrations build the schema); an export file alone is not imported yet`,
    );
  }
  const existing = await readdir(outDir).catch(() => []);
  if (existing.length) throw new Error(`${outDir}: not empty; give a new directory`);
  const md = loadHasuraMetadata(hasuraDir);
  const roles = rolesOf(md);
  const migrations = await importHasuraMigrations(hasuraDir, { roles, database: opts.database });

  const written: string[] = [];
  const write = async (rel: string, content: string) => {
    await mkdir(path.dirname(path.join(outDir, rel)), { recursive: true });
    await writeFile(path.join(outDir, rel), content);
    if (!written.includes(rel)) written.push(rel);
  };
  for (const f of migrations.files) await write(f.path, f.content);
  await write("migrations/current.sql", "");

  // The schema first (no policies.sql yet), for the catalog the policies are written against.
  await write(".gmrc", gmrc(outDir, false));
  await migrateProject({ projectDir: outDir, ownerUrl: opts.scratch.ownerUrl, authenticator: opts.scratch.authenticator });
  const catalog = await withClient(opts.scratch.ownerUrl, loadCatalog);
  const policies = emitPolicies(md, { catalog, reader: opts.reader, source: path.basename(path.resolve(hasuraDir)) });
  await write("policies.sql", policies.sql);
  await write(".gmrc", gmrc(outDir, true));

  // Applied as `npm start` would (.gmrc's afterAllMigrations), then read back.
  await migrateProject({ projectDir: outDir, ownerUrl: opts.scratch.ownerUrl, authenticator: opts.scratch.authenticator });
  const { document, differences } = await withClient(opts.scratch.ownerUrl, async (client) => {
    const cat = await loadPermissionCatalog(client, { schema: "public", authenticator: opts.scratch.authenticator });
    return { document: renderDocument(cat), differences: compareWithHasura(cat, await loadTableColumns(client, "public"), md) };
  });
  await write("policies.expected.md", document);
  // With the grants and policies in place: which of the migrations' functions and triggers would now be refused.
  const functions = await withClient(opts.scratch.ownerUrl, (client) =>
    auditFunctions(client, { roles: policies.roles, excludeOwners: [opts.reader ?? DEFAULT_READER] }),
  );
  const report = renderImportReport({
    source: hasuraDir,
    metadata: md,
    policies,
    migrations: { files: migrations.files.length, notes: migrations.notes },
    differences,
    functions,
  });
  await write("IMPORT.md", report);
  return { files: written, differences, untranslated: md.untranslated.length + policies.notes.length + migrations.notes.length };
}
