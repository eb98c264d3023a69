/**
 * `npm run lint:policies`: the SQL lints of lint-policies.sql, one row
 * shape for all (splinter style), run against the live catalog.
 */
import { readFile } from "node:fs/promises";
import type pg from "pg";

export interface LintRow {
  lint: string;
  object: string;
  detail: string;
}

const SQL = readFile(new URL("./lint-policies.sql", import.meta.url), "utf8");

export async function lintPolicies(client: pg.ClientBase, opts: { schema: string; authenticator: string }): Promise<LintRow[]> {
  const { rows } = await client.query<LintRow>(await SQL, [opts.schema, opts.authenticator]);
  // One row per (lint, object, detail): a helper called twice is one finding.
  return [...new Map(rows.map((r) => [`${r.lint}|${r.object}|${r.detail}`, r])).values()];
}
