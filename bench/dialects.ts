/**
 * `npm run bench:dialects [-- --quick]`: the same workloads through the
 * PostGraphile dialect (POST /graphql) and the Hasura dialect
 * (POST /v1/graphql) of one server, on loopback, in bounded time.
 *
 * A throwaway embedded PostgreSQL (temp folder, free port), the school model
 * migrated as `npm start` does and seeded at scale; the real server
 * (buildApp) with a production-like configuration, every request carrying a
 * JWT. The load generator (autocannon, else a built-in fallback) runs in a
 * child process: fixed concurrency, fixed duration, the two dialects
 * interleaved within every round (A B, then B A in the next round, so
 * neither always runs first), several rounds; medians over rounds.
 *
 * Every response must be byte-identical to the one captured before the run
 * (GraphQL errors come with HTTP 200, so status alone would not catch them):
 * anything else is counted as an error. Both dialects must return the same
 * rows (ids) for a workload, checked once before measuring.
 *
 *   --quick            scale 1, 3 rounds × 3 s, connections 8,32 (< 2 min)
 *   --scale N          seed scale (default 10; quick 1)
 *   --rounds N         rounds (default 5; quick 3)
 *   --duration S       seconds per run (default 10; quick 3)
 *   --connections L    comma-separated concurrencies (default 8,32)
 *   --pool N           server pool size, HASURA_GRAPHQL_PG_CONNECTIONS (default 10, the server's default)
 *   BENCH_LOADGEN=builtin|autocannon   force the load generator
 *
 * Prints a table and ends with `ratio v1/graphql W1 <x>` and
 * `ratio v1/graphql W2 <x>` (Hasura-dialect throughput / PostGraphile-dialect
 * throughput, median over concurrencies of the ratio of medians). Writes
 * bench/results/dialects-<date>.json. Exit code 1 if a dialect could not run
 * a workload.
 */
import "../server/env.ts";
import { parseArgs } from "node:util";
import { startBenchCluster } from "./lib/cluster.ts";
import { loadGenerator, runLoad, type LoadResult } from "./lib/load.ts";
import { environment, ratio, summarize, table, writeResults, type Cell } from "./lib/report.ts";
import { rootQuery, seedSchoolAt } from "./lib/seed.ts";
import { startBenchServer, type BenchServer } from "./lib/server.ts";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    scale: { type: "string" },
    rounds: { type: "string" },
    duration: { type: "string" },
    connections: { type: "string" },
    pool: { type: "string" },
  },
});
const quick = args.quick!;
const settings = {
  quick,
  scale: Number(args.scale ?? (quick ? 1 : 10)),
  rounds: Number(args.rounds ?? (quick ? 3 : 5)),
  durationS: Number(args.duration ?? (quick ? 3 : 10)),
  warmupS: quick ? 1 : 3,
  connections: (args.connections ?? "8,32").split(",").map(Number),
  pool: Number(args.pool ?? 10),
  loadGenerator: loadGenerator(),
};
for (const [k, v] of Object.entries(settings)) {
  if (typeof v === "number" && !(Number.isInteger(v) && v > 0)) throw new Error(`--${k}: expected a positive integer, got ${v}`);
}
if (settings.connections.some((c) => !(Number.isInteger(c) && c > 0))) throw new Error(`--connections: expected e.g. 8,32`);

const A = "graphql";
const B = "v1/graphql";
const PEERS = [A, B] as const;
type Peer = (typeof PEERS)[number];

interface DialectRequest {
  path: string;
  query: string;
  variables?: Record<string, unknown>;
  /** The rows' ids, to check both dialects return the same rows. */
  ids(data: any): unknown[];
}

interface Workload {
  name: string;
  description: string;
  token: string;
  requests: Record<Peer, DialectRequest>;
}

const log = (msg: string) => console.error(`[bench:dialects] ${msg}`);

// A hard bound on the whole run (set-up, preflight, warm-up, rounds, slack).
const plannedS =
  settings.rounds * 2 * PEERS.length * settings.connections.length * settings.durationS + 2 * PEERS.length * settings.warmupS;
const boundS = Math.ceil(plannedS * 1.5 + 120 + settings.scale * 15);
let cleanup: () => Promise<void> = async () => {};
const watchdog = setTimeout(() => {
  log(`exceeded the ${boundS}s bound; stopping`);
  void cleanup().finally(() => process.exit(2));
}, boundS * 1000);
watchdog.unref();

const t0 = Date.now();
log(`settings ${JSON.stringify(settings)}; planned measuring ${plannedS}s, bound ${boundS}s`);
if (settings.loadGenerator === "builtin") {
  log("autocannon is not installed: using the built-in load generator (npm install --save-dev autocannon to use autocannon)");
}

const bench = await startBenchCluster([{ database: "app", dir: "." }]);
let server: BenchServer | undefined;
cleanup = async () => {
  await server?.close().catch(() => {});
  await bench.stop();
};
let exitCode = 0;
try {
  const db = bench.databases.app!;
  log(`cluster up and migrated (${((Date.now() - t0) / 1000).toFixed(1)}s); seeding scale ${settings.scale}…`);
  const seeded = await seedSchoolAt(db.rootUrl, settings.scale);
  log(`seeded in ${seeded.seconds}s: ${JSON.stringify(seeded.counts)}`);

  // Fixtures: a seeded user with at least 10 results of their own; a campus with events that have parents.
  const [user] = await rootQuery<{ id: number; n: string }>(
    db.rootUrl,
    `select "userId" as id, count(*) as n from public.result where path like '/seed/%'
     group by 1 having count(*) >= 10 order by 1 limit 1`,
  );
  const [campusRow] = await rootQuery<{ campus: string }>(
    db.rootUrl,
    `select campus from public.event where "parentId" is not null and campus is not null group by 1 order by count(*) desc, 1 limit 1`,
  );
  if (!user || !campusRow) throw new Error("seeding produced no fixtures (a user with ≥ 10 results, a campus with child events)");
  const campus = campusRow.campus;

  server = await startBenchServer({
    runtimeUrl: db.runtimeUrl,
    projectDir: db.projectDir,
    env: { HASURA_GRAPHQL_PG_CONNECTIONS: String(settings.pool) },
  });
  log(`server at ${server.url}`);

  const W1_FIELDS = "id grade createdAt path";
  const W2_FIELDS = "id path campus createdAt";
  const workloads: Workload[] = [
    {
      name: "W1",
      description: `role user (JWT, x-hasura-user-id ${user.id}): own latest 10 results (highest ids: PostGraphile orders only by indexed columns and result."createdAt" has no index), with the object's name`,
      token: await server.token({ role: "user", userId: String(user.id) }),
      requests: {
        [A]: {
          path: "/graphql",
          query: `query W1($uid: Int!) { allResults(condition: {userId: $uid}, orderBy: ID_DESC, first: 10) { nodes { ${W1_FIELDS} objectByObjectId { name } } } }`,
          variables: { uid: user.id },
          ids: (d) => d.allResults.nodes.map((n: { id: number }) => n.id),
        },
        [B]: {
          path: "/v1/graphql",
          query: `query W1($uid: Int!) { result(where: {userId: {_eq: $uid}}, order_by: {id: desc}, limit: 10) { ${W1_FIELDS} object { name } } }`,
          variables: { uid: user.id },
          ids: (d) => d.result.map((n: { id: number }) => n.id),
        },
      },
    },
    {
      name: "W2",
      description: `role campus-admin (JWT, x-hasura-campus {${campus}}): the campus's first 50 events by id, with their object and parent event`,
      token: await server.token({ role: "campus-admin", vars: { campus: `{${campus}}` } }),
      requests: {
        [A]: {
          path: "/graphql",
          query: `query W2 { allEvents(orderBy: ID_ASC, first: 50) { nodes { ${W2_FIELDS} objectByObjectId { id name type } eventByParentId { id path } } } }`,
          ids: (d) => d.allEvents.nodes.map((n: { id: number }) => n.id),
        },
        [B]: {
          path: "/v1/graphql",
          query: `query W2 { event(order_by: {id: asc}, limit: 50) { ${W2_FIELDS} object { id name type } parent { id path } } }`,
          ids: (d) => d.event.map((n: { id: number }) => n.id),
        },
      },
    },
  ];

  // Preflight: each (workload, dialect) answers 200 without errors, with rows,
  // deterministically (the body becomes the expected body); both dialects agree on the rows.
  const expected = new Map<string, string>();
  const preflight: Record<string, unknown> = {};
  const key = (w: string, p: string) => `${w} ${p}`;
  for (const w of workloads) {
    const idsBy: Partial<Record<Peer, unknown[]>> = {};
    for (const p of PEERS) {
      const r = w.requests[p];
      const body = JSON.stringify({ query: r.query, variables: r.variables });
      const headers = { authorization: `Bearer ${w.token}` };
      const first = await server.post(r.path, body, headers);
      const second = await server.post(r.path, body, headers);
      let problem: string | undefined;
      if (first.status !== 200) problem = `HTTP ${first.status}: ${first.text.slice(0, 400)}`;
      else if (!first.json || first.json.errors) problem = `errors: ${first.text.slice(0, 400)}`;
      else {
        try {
          idsBy[p] = r.ids(first.json.data);
          if (!idsBy[p]!.length) problem = "no rows";
        } catch (e) {
          problem = `unexpected data shape (${(e as Error).message}): ${first.text.slice(0, 400)}`;
        }
      }
      if (!problem && second.text !== first.text) problem = "two identical requests gave different bodies";
      preflight[key(w.name, p)] = problem ? { ok: false, problem } : { ok: true, rows: idsBy[p]!.length, bytes: first.text.length };
      if (problem) {
        log(`${w.name} via /${p} cannot be measured: ${problem}`);
        exitCode = 1;
      } else expected.set(key(w.name, p), first.text);
    }
    if (idsBy[A] && idsBy[B]) {
      const same = JSON.stringify(idsBy[A]) === JSON.stringify(idsBy[B]);
      preflight[`${w.name} same rows`] = same;
      if (!same) log(`${w.name}: the dialects return different rows: ${JSON.stringify(idsBy[A])} vs ${JSON.stringify(idsBy[B])}`);
    }
  }

  const specFor = (w: Workload, p: Peer, connections: number, durationS: number) => {
    const r = w.requests[p];
    return {
      url: server!.url + r.path,
      method: "POST" as const,
      headers: { "content-type": "application/json", authorization: `Bearer ${w.token}` },
      body: JSON.stringify({ query: r.query, variables: r.variables }),
      connections,
      durationS,
      expectBody: expected.get(key(w.name, p)),
    };
  };
  const runnable = (w: Workload, p: Peer) => expected.has(key(w.name, p));

  // Warm-up (discarded): JIT, pools, prepared statements, at the highest concurrency.
  const maxConns = Math.max(...settings.connections);
  for (const w of workloads) {
    for (const p of PEERS) {
      if (runnable(w, p)) await runLoad(specFor(w, p, maxConns, settings.warmupS));
    }
  }

  const cells = new Map<string, Cell>();
  for (let round = 0; round < settings.rounds; round++) {
    const order: Peer[] = round % 2 === 0 ? [A, B] : [B, A];
    for (const w of workloads) {
      for (const c of settings.connections) {
        for (const p of order) {
          if (!runnable(w, p)) continue;
          const res: LoadResult = await runLoad(specFor(w, p, c, settings.durationS));
          const k = `${w.name} ${c} ${p}`;
          if (!cells.has(k)) cells.set(k, { peer: p, workload: w.name, connections: c, rounds: [] });
          cells.get(k)!.rounds.push(res);
          log(
            `round ${round + 1}/${settings.rounds} ${w.name} c=${c} /${p}: ${res.rps.toFixed(0)} req/s, p50 ${res.p50Ms.toFixed(2)} ms, p99 ${res.p99Ms.toFixed(2)} ms, errors ${res.errors}`,
          );
        }
      }
    }
  }

  const summaries = [...cells.values()]
    .map(summarize)
    .sort((a, b) => a.workload.localeCompare(b.workload) || a.connections - b.connections || a.peer.localeCompare(b.peer));
  const ratios = Object.fromEntries(workloads.map((w) => [w.name, ratio(summaries, w.name, B, A)]));
  const file = await writeResults("dialects", {
    benchmark: "dialects",
    date: new Date().toISOString(),
    environment: environment(),
    settings,
    seeded,
    workloads: workloads.map((w) => ({
      name: w.name,
      description: w.description,
      requests: Object.fromEntries(
        PEERS.map((p) => [p, { path: w.requests[p].path, query: w.requests[p].query, variables: w.requests[p].variables }]),
      ),
    })),
    preflight,
    summaries,
    ratioDefinition: `throughput of /${B} ÷ throughput of /${A}: median over concurrencies of the ratio of per-cell medians`,
    ratios: Object.fromEntries(Object.entries(ratios).map(([w, r]) => [w, Number.isFinite(r) ? r : null])),
    rounds: [...cells.values()],
    elapsedS: (Date.now() - t0) / 1000,
  });

  console.log(
    `\nloopback, ${settings.loadGenerator}, scale ${settings.scale}, ${settings.rounds} rounds × ${settings.durationS}s, server pool ${settings.pool}; medians over rounds (errors: total)`,
  );
  for (const w of workloads) console.log(`  ${w.name}: ${w.description}`);
  console.log(`\n${table(summaries)}\n`);
  console.log(`results: ${file} (${((Date.now() - t0) / 1000).toFixed(0)}s)`);
  for (const w of workloads) {
    const r = ratios[w.name]!;
    console.log(`ratio ${B} ${w.name} ${Number.isFinite(r) ? r.toFixed(3) : "n/a"}`);
  }
} catch (e) {
  log(`failed: ${(e as Error).stack ?? e}`);
  exitCode = 1;
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
process.exit(exitCode);
