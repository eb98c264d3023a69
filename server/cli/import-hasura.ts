/**
 * `npm run import:hasura -- <hasura-project-dir> --out <dir>`: a Hasura
 * project (metadata/ and migrations/) as a project folder that
 * `PROJECT_DIR=<dir> npm start` serves (server/import/index.ts): .gmrc,
 * migrations/, policies.sql, policies.expected.md, IMPORT.md.
 *
 * The policies are written against the live catalog of the imported schema,
 * so the migrations run first into a scratch database, created (and dropped
 * after) on the embedded cluster, or with ROOT_DATABASE_URL and
 * DATABASE_OWNER_URL on the configured server. Exit 0 when the result
 * matches the metadata (`--compare-hasura`), 1 when it differs (IMPORT.md
 * lists each difference and every untranslated item).
 *
 * A metadata export file (JSON or YAML) brings no schema:
 *   --migrations DIR    the schema from those Hasura migrations (as a project's)
 *   --database-url URL  the database that already has it (its owner's URL):
 *                       only read; the policies are tried in a rolled-back
 *                       transaction, the project's migrations only create
 *                       the roles, and no scratch database is needed
 */
import "../env.ts";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { loadConfig } from "../config.ts";
import { bootstrapDatabase } from "../db/bootstrap.ts";
import { prepareDatabase } from "../db/setup.ts";
import { checkSchemaSource, importHasuraProject } from "../import/index.ts";
import { runCli } from "./db-client.ts";

const USAGE =
  "usage: npm run import:hasura -- <hasura-project-dir> --out <dir> [--database <metadata source>]\n" +
  "       npm run import:hasura -- <metadata-export.json|yaml> --out <dir> (--migrations <hasura-migrations-dir> | --database-url <url>)";

const credentials = (url: string) => {
  const u = new URL(url);
  return { name: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
};
const withDatabase = (url: string, database: string) => {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
};

await runCli(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: "string" },
      database: { type: "string" },
      migrations: { type: "string" },
      "database-url": { type: "string" },
    },
  });
  if (positionals.length !== 1 || !values.out) {
    console.error(USAGE);
    return 2;
  }
  const source = path.resolve(positionals[0]!);
  const out = path.resolve(values.out);
  const existingUrl = values["database-url"];
  const migrations = values.migrations === undefined ? undefined : path.resolve(values.migrations);
  const report = (result: { files: string[]; untranslated: number; differences: string[]; schemas: string[] }) => {
    for (const f of result.files) console.log(`wrote ${path.join(values.out!, f)}`);
    console.log(`${result.untranslated} item${result.untranslated === 1 ? "" : "s"} not translated: see IMPORT.md`);
    if (result.differences.length) {
      console.log(`the result differs from the Hasura metadata (${result.differences.length}):`);
      for (const d of result.differences) console.log(`  ${d}`);
      return 1;
    }
    const schemas = result.schemas.join(",") === "public" ? "" : `DATABASE_SCHEMAS=${result.schemas.join(",")} `;
    const start = existingUrl
      ? `PROJECT_DIR=${values.out} ${schemas}DATABASE_URL=<authenticator URL> DATABASE_OWNER_URL=<owner URL> npm start (on that database)`
      : `PROJECT_DIR=${values.out} ${schemas}npm start`;
    console.log(`permissions match the Hasura metadata; start it with ${start}`);
    return 0;
  };
  // A source without a schema (or with two) is refused before any database is started.
  checkSchemaSource(source, { migrations, existingUrl });
  if (existingUrl !== undefined) {
    // The user's database holds the schema and is only read: no scratch database.
    return report(await importHasuraProject(source, out, { existingUrl, migrations, database: values.database }));
  }
  const config = loadConfig({ ...process.env, LOG_LEVEL: "silent" });
  const db = await prepareDatabase(config, { migrate: false, borrow: true });
  try {
    if (!db.rootUrl || !db.ownerUrl) {
      throw new Error(
        "the import runs the migrations in a scratch database: set ROOT_DATABASE_URL and DATABASE_OWNER_URL, or use the embedded cluster",
      );
    }
    const scratch = `hasura_import_${randomBytes(5).toString("hex")}`;
    const owner = credentials(db.ownerUrl);
    const authenticator = credentials(db.runtimeUrl);
    await bootstrapDatabase({ rootUrl: db.rootUrl, database: scratch, owner, authenticator });
    try {
      const result = await importHasuraProject(source, out, {
        scratch: {
          ownerUrl: withDatabase(db.ownerUrl, scratch),
          authenticator: authenticator.name,
          // The root step: extensions only a superuser may create, before the migrations.
          rootUrl: withDatabase(db.rootUrl, scratch),
        },
        database: values.database,
        migrations,
      });
      return report(result);
    } finally {
      const root = new pg.Client({ connectionString: db.rootUrl });
      await root.connect();
      try {
        // The name is generated above, never input.
        await root.query(`drop database if exists ${scratch} with (force)`);
      } finally {
        await root.end();
      }
    }
  } finally {
    await db.stop();
  }
});
