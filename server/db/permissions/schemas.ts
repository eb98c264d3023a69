/**
 * Several schemas at once, for `--compare-hasura`, policies.expected.md and
 * the importer: real Hasura projects track tables in more than `public`.
 * The catalog, matrix and comparison stay one schema each (catalog.ts,
 * hasura-compare.ts); this runs them per schema and joins the results.
 */
import type pg from "pg";
import type { HasuraMetadata } from "../../import/metadata.ts";
import { loadCatalog, type PermissionCatalog } from "./catalog.ts";
import { compareWithHasura, loadTableColumns } from "./hasura-compare.ts";
import { GENERATED_NOTE, renderDocument } from "./markdown.ts";

/** The schemas the metadata tracks tables in, `public` first, then by name; `public` when it tracks none. */
export function trackedSchemas(md: HasuraMetadata): string[] {
  const schemas = [...new Set(md.tables.map((t) => t.table.schema))].sort();
  if (schemas.length === 0) return ["public"];
  return schemas.includes("public") ? ["public", ...schemas.filter((s) => s !== "public")] : schemas;
}

/** `--schema a,b`: the list, in the order given. */
export function parseSchemaList(value: string): string[] {
  const schemas = [...new Set(value.split(",").map((s) => s.trim()))];
  if (schemas.some((s) => s === "")) throw new Error(`--schema ${value}: an empty schema name`);
  return schemas;
}

export async function loadCatalogs(
  client: pg.ClientBase,
  opts: { schemas: string[]; authenticator: string },
): Promise<PermissionCatalog[]> {
  const out: PermissionCatalog[] = [];
  for (const schema of opts.schemas) out.push(await loadCatalog(client, { schema, authenticator: opts.authenticator }));
  return out;
}

/**
 * One document for several schemas: each schema's rendering (matrix, then
 * its tables) in turn, the generated-file note once. One schema renders
 * exactly as renderDocument.
 */
export function renderDocuments(cats: PermissionCatalog[]): string {
  return cats
    .map((cat, i) => {
      const doc = renderDocument(cat);
      return i === 0 ? doc : doc.replace(`${GENERATED_NOTE}\n\n`, "");
    })
    .join("\n");
}

/**
 * compareWithHasura per schema, the differences joined. A role missing from
 * the database is said once, not once per schema (every schema's comparison
 * checks the roles its tables and the inherited roles name).
 */
export async function compareSchemasWithHasura(client: pg.ClientBase, cats: PermissionCatalog[], md: HasuraMetadata): Promise<string[]> {
  const out: string[] = [];
  for (const cat of cats) {
    for (const d of compareWithHasura(cat, await loadTableColumns(client, cat.schema), md)) if (!out.includes(d)) out.push(d);
  }
  return out;
}
