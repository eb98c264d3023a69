/**
 * `npm run permissions`, from the live catalog (server/db/permissions/):
 *
 *   (no flag)       the matrix: tables × roles, S U I D per cell
 *   --table T       one table's RLS flags, privileges per role, policies
 *   --check FILE    compare the whole rendering (matrix and every table)
 *                   with FILE: exit 0 and one line when equal, else a
 *                   diff (- expected, + live) per table and exit 1
 *   --write FILE    regenerate FILE
 *   --compare-hasura DIR
 *                   compare with a Hasura project's metadata (DIR: the
 *                   project, its metadata/ or an export file; relative to
 *                   the working directory) per table × role × command: none /
 *                   all rows / some rows, columns, declarations; each
 *                   difference on a line, exit 1 on any; every schema the
 *                   metadata tracks, unless --schema names them
 *   --explain --role R --table T [--session JSON] [--claims JSON] [--pk JSON | --where JSON]
 *                   [--values JSON] [--command select|insert|update|delete]
 *                   why a row is (not) visible to a role: each policy's
 *                   result per row, the columns granted (permissions-explain.ts)
 *   --schema S[,S…]   the schemas (default DATABASE_SCHEMAS, public unless
 *                   set; with --compare-hasura the metadata's); several are
 *                   rendered one after another
 *
 * FILE is relative to PROJECT_DIR (the repository root by default), e.g.
 * `PROJECT_DIR=examples/blog npm run permissions -- --check policies.expected.md`.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadCatalog } from "../db/permissions/catalog.ts";
import { diffDocuments } from "../db/permissions/check.ts";
import { otherSchemas } from "../db/permissions/hasura-compare.ts";
import { renderMatrix, renderTable } from "../db/permissions/markdown.ts";
import { compareSchemasWithHasura, loadCatalogs, parseSchemaList, renderDocuments, trackedSchemas } from "../db/permissions/schemas.ts";
import { loadHasuraMetadata } from "../import/metadata.ts";
import { matrixOf } from "../db/permissions/matrix.ts";
import { runCli, withCliDatabase } from "./db-client.ts";
import { EXPLAIN_USAGE, explainRequestOf, runExplain } from "./permissions-explain.ts";

const USAGE = "usage: npm run permissions [-- --table T | --check FILE | --write FILE | --compare-hasura DIR] [--schema S[,S…]]";

await runCli(async () => {
  const { values } = parseArgs({
    options: {
      table: { type: "string" },
      check: { type: "string" },
      write: { type: "string" },
      "compare-hasura": { type: "string" },
      schema: { type: "string" },
      explain: { type: "boolean" },
      role: { type: "string" },
      session: { type: "string" },
      claims: { type: "string" },
      pk: { type: "string" },
      where: { type: "string" },
      values: { type: "string" },
      command: { type: "string" },
    },
  });
  if (values.explain) {
    // Checked before connecting: a bad option needs no database.
    explainRequestOf(values);
    return withCliDatabase((_client, config, authenticator, db) =>
      runExplain(values, db, values.schema !== undefined ? parseSchemaList(values.schema) : config.database.schemas, authenticator),
    );
  }
  if (["role", "session", "claims", "pk", "where", "values", "command"].some((o) => values[o as keyof typeof values] !== undefined)) {
    console.error(EXPLAIN_USAGE);
    return 2;
  }
  const compare = values["compare-hasura"];
  if ([values.table, values.check, values.write, compare].filter((v) => v !== undefined).length > 1) {
    console.error(USAGE);
    return 2;
  }
  // Read first: a metadata error (file and JSON path) needs no database.
  const metadata = compare === undefined ? undefined : loadHasuraMetadata(compare);
  return withCliDatabase(async (client, config, authenticator) => {
    const schemas =
      values.schema !== undefined
        ? parseSchemaList(values.schema)
        : metadata !== undefined
          ? trackedSchemas(metadata)
          : config.database.schemas;
    const schema = schemas[0]!;
    if (metadata !== undefined) {
      const differences = await compareSchemasWithHasura(client, await loadCatalogs(client, { schemas, authenticator }), metadata);
      const others = otherSchemas(metadata, schema).filter((s) => !schemas.includes(s));
      if (others.length > 0) console.error(`not compared: the metadata's tables in ${others.join(", ")} (not in --schema)`);
      const named = `schema${schemas.length === 1 ? "" : "s"} ${schemas.join(", ")}`;
      if (differences.length === 0) {
        console.log(`permissions match the Hasura metadata of ${compare} (${named})`);
        return 0;
      }
      console.log(`permissions differ from the Hasura metadata of ${compare} (${named}):`);
      for (const d of differences) console.log(`  ${d}`);
      console.log(`${differences.length} difference${differences.length === 1 ? "" : "s"}`);
      return 1;
    }
    const catalog = await loadCatalog(client, { schema, authenticator });
    if (values.table !== undefined) {
      process.stdout.write(renderTable(catalog, values.table));
      return 0;
    }
    if (values.check === undefined && values.write === undefined) {
      process.stdout.write(renderMatrix(matrixOf(catalog), schema));
      return 0;
    }
    const live = renderDocuments(schemas.length === 1 ? [catalog] : await loadCatalogs(client, { schemas, authenticator }));
    const file = path.resolve(config.projectDir, (values.check ?? values.write)!);
    const relative = path.relative(process.cwd(), file);
    const shown = relative && !relative.startsWith("..") ? relative : file;
    if (values.write !== undefined) {
      await writeFile(file, live);
      console.log(`wrote ${shown}`);
      return 0;
    }
    let expected: string;
    try {
      expected = await readFile(file, "utf8");
    } catch (e) {
      throw new Error(`cannot read ${shown} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); create it with --write`);
    }
    const diff = diffDocuments(expected, live);
    if (!diff.text) {
      console.log(`permissions match ${shown}`);
      return 0;
    }
    console.log(`permissions differ from ${shown} (- expected, + live):\n\n${diff.text}\n`);
    console.log(diff.tables.length ? `tables that differ: ${diff.tables.join(", ")}` : "only the header differs");
    console.log(
      `if the change is intended: npm run permissions -- --write ${values.check!} (with the same PROJECT_DIR), review and commit the file`,
    );
    return 1;
  });
});
