/**
 * `npm run lint:policies`: the SQL lints of lint-policies.sql, one row
 * shape for all (splinter style), run against the live catalog, and
 * `inherited_role_differs`: an inherited role Postgres would serve
 * differently from Hasura (inherited-roles.ts; the server refuses to start
 * with one).
 */
import { readFile } from "node:fs/promises";
import type pg from "pg";
import { loadAppRoles } from "./app-roles.ts";
import { checkInheritedRoles } from "./inherited-roles.ts";

export interface LintRow {
  lint: string;
  object: string;
  detail: string;
}

const SQL = readFile(new URL("./lint-policies.sql", import.meta.url), "utf8");

export async function lintPolicies(client: pg.ClientBase, opts: { schema: string; authenticator: string }): Promise<LintRow[]> {
  // Policy expressions deparse relative to the search_path: with only
  // pg_catalog on it, a helper is always spelled `hasura.f(…)`, whatever the
  // role's or the database's own search_path.
  await client.query("begin read only");
  let rows: LintRow[];
  try {
    await client.query("set local search_path = pg_catalog");
    const appRoles = await loadAppRoles(client, opts.authenticator);
    rows = (await client.query<LintRow>(await SQL, [opts.schema, appRoles])).rows;
    const inherited = await checkInheritedRoles(client, { schema: opts.schema, appRoles });
    rows.push(
      ...inherited.map((f) => ({
        lint: "inherited_role_differs",
        object: `"${f.role.replaceAll('"', '""')}" on ${f.table}`,
        detail: `parents ${f.parents.join(", ")}: ${f.reason}`,
      })),
    );
    // In lint order (the SQL's rows keep theirs: the sort is stable).
    rows.sort((a, b) => (a.lint < b.lint ? -1 : a.lint > b.lint ? 1 : 0));
    await client.query("commit");
  } catch (e) {
    await client.query("rollback").catch(() => {});
    throw e;
  }
  // One row per (lint, object, detail): a helper called twice is one finding.
  return [...new Map(rows.map((r) => [`${r.lint}|${r.object}|${r.detail}`, r])).values()];
}
