/**
 * `npm run bench:import [-- --tables N]`: the importer on a synthetic Hasura
 * project of 200 tables and 500 permissions (test/helpers/synthetic-hasura.ts)
 * on a throwaway embedded cluster. Issue 14's bound: under 10 s.
 *
 * Two runs, each into a fresh empty database:
 *   1. importHasuraProject end to end, as `npm run import:hasura` runs it
 *      (the figure the bound is about);
 *   2. the same steps one by one, for the split: load (metadata), migrate
 *      (convert the Hasura migrations and run them), emit (read the catalog,
 *      write policies.sql), apply (policies.sql through graphile-migrate) and
 *      compare (--compare-hasura on the result).
 * The cluster's start and the databases' creation are not counted.
 */
import "../server/env.ts";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "../server/config.ts";
import { bootstrapDatabase } from "../server/db/bootstrap.ts";
import { startEmbeddedPostgres } from "../server/db/embedded.ts";
import { migrateProject } from "../server/db/migrate.ts";
import { loadCatalog as loadPermissionCatalog } from "../server/db/permissions/catalog.ts";
import { compareWithHasura, loadTableColumns } from "../server/db/permissions/hasura-compare.ts";
import { withClient } from "../server/db/with-client.ts";
import { loadCatalog } from "../server/import/catalog.ts";
import { emitPolicies, rolesOf } from "../server/import/emit-policies.ts";
import { importHasuraProject } from "../server/import/index.ts";
import { loadHasuraMetadata } from "../server/import/metadata.ts";
import { importHasuraMigrations } from "../server/import/migrations.ts";
import { freePort } from "../test/helpers/net.ts";
import { writeSyntheticHasuraProject } from "../test/helpers/synthetic-hasura.ts";

const BOUND_MS = 10_000;
const { values } = parseArgs({ options: { tables: { type: "string", default: "200" } } });
const n = Number(values.tables);
const owner = { name: "app_owner", password: "bench-owner" };
const authenticator = { name: "authenticator", password: "bench-auth" };
const work = await mkdtemp(path.join(tmpdir(), "bench-import-"));
const hasura = path.join(work, "hasura");
const counts = writeSyntheticHasuraProject(hasura, n);
// Its own folder, as bench/schema-build.ts: the cluster's owner must reach it.
const cluster = await startEmbeddedPostgres({
  dir: await mkdtemp(path.join(tmpdir(), "bench-import-pg-")),
  port: await freePort(),
  ephemeral: true,
});

async function emptyDatabase(name: string): Promise<string> {
  await bootstrapDatabase({
    rootUrl: cluster.url("postgres", cluster.superuserPassword, "postgres"),
    database: name,
    owner,
    authenticator,
  });
  return cluster.url(owner.name, owner.password, name);
}

/** graphile-migrate's configuration for the split run: the sql/ helpers, the migrations, then policies.sql once written. */
function gmrc(out: string, withPolicies: boolean): string {
  const helpers = ["session.sql", "permissions.sql", "privileges.sql"].map((f) =>
    JSON.stringify(path.relative(path.join(out, "migrations"), path.join(REPO_ROOT, "sql", f))),
  );
  const policies = withPolicies ? `, "afterAllMigrations": [{ "_": "sql", "file": "../policies.sql", "shadow": false }]` : "";
  return `{ "placeholders": { ":DATABASE_OWNER": "!ENV", ":DATABASE_AUTHENTICATOR": "!ENV" }, "beforeAllMigrations": [${helpers.join(", ")}]${policies} }\n`;
}

try {
  // 1. End to end.
  const e2eUrl = await emptyDatabase("bench_e2e");
  const t0 = performance.now();
  const result = await importHasuraProject(hasura, path.join(work, "out-e2e"), {
    scratch: { ownerUrl: e2eUrl, authenticator: authenticator.name },
  });
  const total = performance.now() - t0;

  // 2. Step by step.
  const url = await emptyDatabase("bench_split");
  const out = path.join(work, "out-split");
  const split: Record<string, number> = {};
  const time = async <T>(phase: string, f: () => Promise<T> | T): Promise<T> => {
    const s = performance.now();
    const r = await f();
    split[phase] = Math.round(performance.now() - s);
    return r;
  };
  const md = await time("load", () => loadHasuraMetadata(hasura));
  await time("migrate", async () => {
    const migrations = await importHasuraMigrations(hasura, { roles: rolesOf(md) });
    for (const f of migrations.files) {
      await mkdir(path.dirname(path.join(out, f.path)), { recursive: true });
      await writeFile(path.join(out, f.path), f.content);
    }
    await writeFile(path.join(out, "migrations/current.sql"), "");
    await writeFile(path.join(out, ".gmrc"), gmrc(out, false));
    await migrateProject({ projectDir: out, ownerUrl: url, authenticator: authenticator.name });
  });
  await time("emit", async () => {
    const catalog = await withClient(url, loadCatalog);
    await writeFile(path.join(out, "policies.sql"), emitPolicies(md, { catalog, source: "synthetic" }).sql);
  });
  await time("apply", async () => {
    await writeFile(path.join(out, ".gmrc"), gmrc(out, true));
    await migrateProject({ projectDir: out, ownerUrl: url, authenticator: authenticator.name });
  });
  const differences = await time("compare", () =>
    withClient(url, async (client) => {
      const cat = await loadPermissionCatalog(client, { schema: "public", authenticator: authenticator.name });
      return compareWithHasura(cat, await loadTableColumns(client, "public"), md);
    }),
  );

  const ms = Math.round(total);
  console.log(
    `import of ${counts.tables} tables, ${counts.permissions} permissions, ${counts.roles.length} roles ` +
      `(${counts.inheritedRoles} inherited): ${(ms / 1000).toFixed(2)} s end to end ` +
      `(bound ${BOUND_MS / 1000} s: ${ms < BOUND_MS ? "within" : "EXCEEDED"})`,
  );
  console.log(
    `  step by step: ${Object.entries(split)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`)
      .join(", ")}`,
  );
  console.log(`  --compare-hasura: ${result.differences.length} differences end to end, ${differences.length} step by step`);
  for (const d of result.differences.slice(0, 10)) console.log(`    ${d}`);
  console.log(
    JSON.stringify({ tables: counts.tables, permissions: counts.permissions, totalMs: ms, split, differences: result.differences.length }),
  );
  process.exitCode = ms < BOUND_MS ? 0 : 1;
} finally {
  await cluster.stop();
  await rm(work, { recursive: true, force: true });
}
