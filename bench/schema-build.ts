/**
 * `npm run bench:schemas`: per-role GraphQL schema build time and memory,
 * for the six roles of the school model and for 50 roles (44 extra roles
 * with the `user` role's privileges), on a throwaway embedded cluster.
 * Also the longest event-loop stall while building (what other roles'
 * requests would wait). Both dialects (PostGraphile's /graphql and Hasura's
 * /v1/graphql each keep a schema per role), and what that costs a fleet:
 * every worker pays it (`-- --workers N`, default the machine's cores).
 */
import "../server/env.ts";
import { mkdtemp } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import pg from "pg";
import { REPO_ROOT } from "../server/config.ts";
import { bootstrapDatabase } from "../server/db/bootstrap.ts";
import { startEmbeddedPostgres } from "../server/db/embedded.ts";
import { migrateProject } from "../server/db/migrate.ts";
import { makeRolePreset } from "../server/graphile/preset.ts";
import { makeHasuraPreset } from "../server/hasura/preset.ts";
import { SchemaRegistry } from "../server/graphile/schema-registry.ts";
import { freePort } from "../test/helpers/net.ts";

const workersArg = process.argv.indexOf("--workers");
const workers = workersArg > 0 ? Number(process.argv[workersArg + 1]) : availableParallelism();
const owner = { name: "app_owner", password: "bench-owner" };
const authenticator = { name: "authenticator", password: "bench-auth" };
const dir = await mkdtemp(path.join(tmpdir(), "bench-schemas-"));
const cluster = await startEmbeddedPostgres({ dir, port: await freePort(), ephemeral: true });
try {
  const root = cluster.url("postgres", cluster.superuserPassword, "app");
  await bootstrapDatabase({
    rootUrl: cluster.url("postgres", cluster.superuserPassword, "postgres"),
    database: "app",
    owner,
    authenticator,
  });
  await migrateProject({
    projectDir: REPO_ROOT,
    ownerUrl: cluster.url(owner.name, owner.password, "app"),
    rootUrl: root,
    authenticator: authenticator.name,
  });
  const admin = new pg.Client({ connectionString: root });
  await admin.connect();
  const extra = Array.from({ length: 44 }, (_, i) => `bench_role_${i + 1}`);
  for (const r of extra) {
    await admin.query(`create role ${r} nologin; grant "user" to ${r}; grant ${r} to authenticator`);
  }
  await admin.end();

  const pool = new pg.Pool({ connectionString: cluster.url(authenticator.name, authenticator.password, "app"), max: 4 });
  const six = ["anonymous", "user", "campus-admin", "admin-campus-read-only", "admin", "admin-read-only"];
  const dialects = {
    "/graphql": makeRolePreset,
    "/v1/graphql": makeHasuraPreset,
  };
  const perRoleMB: Record<string, number> = {};
  for (const [dialect, makePreset] of Object.entries(dialects)) {
    for (const roles of [six, [...six, ...extra]]) {
      const registry = new SchemaRegistry((role) => makePreset({ pool, role, schemas: ["public"], maxRequestLength: 1e6 }));
      globalThis.gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      const stall = monitorEventLoopDelay({ resolution: 5 });
      stall.enable();
      const t0 = performance.now();
      for (const role of roles) await registry.get(role);
      const total = performance.now() - t0;
      stall.disable();
      globalThis.gc?.();
      const heapAfter = process.memoryUsage().heapUsed;
      const stats = registry.stats();
      const ms = stats.map((s) => s.buildMs).sort((a, b) => a - b);
      perRoleMB[`${dialect} ${roles.length}`] = (heapAfter - heapBefore) / 1048576 / roles.length;
      console.log(
        JSON.stringify({
          dialect,
          roles: roles.length,
          totalMs: Math.round(total),
          perRoleMsMedian: ms[Math.floor(ms.length / 2)],
          perRoleMsMax: ms.at(-1),
          retainedHeapMB: +((heapAfter - heapBefore) / 1048576).toFixed(1),
          retainedHeapPerRoleMB: +((heapAfter - heapBefore) / 1048576 / roles.length).toFixed(2),
          longestEventLoopStallMs: Math.round(stall.max / 1e6),
        }),
      );
      if (roles.length === 6) for (const s of stats) console.log(`  ${s.role}: ${s.buildMs} ms`);
      await registry.release();
    }
  }
  // Every worker builds its own schemas (nothing mutable is shared between processes).
  for (const roles of [6, 50]) {
    const both = (perRoleMB[`/graphql ${roles}`] ?? 0) + (perRoleMB[`/v1/graphql ${roles}`] ?? 0);
    console.log(
      JSON.stringify({
        workers,
        roles,
        everyRoleBothDialectsPerWorkerMB: Math.round(both * roles),
        fleetMB: Math.round(both * roles * workers),
      }),
    );
  }
  await pool.end();
} finally {
  await cluster.stop();
}
