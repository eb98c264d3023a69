/**
 * `npm run bench [-- --quick]`: what the server's security costs, against
 * the peers a PostGraphile user would compare it with, on loopback, in
 * bounded time.
 *
 * A throwaway embedded PostgreSQL (temp folder, free port), the school model
 * migrated as `npm start` does and seeded at scale (server/db/seed.sql), then
 * the same workloads on every peer, interleaved (round r runs the peers
 * rotated by r: P B C L H, B C L H P, …), several rounds, medians:
 *
 *   P  this server, full path: JWT in Authorization, verified; role and
 *      session variables with set_config; RLS and column grants (in process)
 *   B  bare PostGraphile V5, pgSettings from trusted X-Hasura-* headers,
 *      same authenticator role, same RLS (bench/peers/postgraphile.ts)
 *   C  bare PostGraphile V5 as the table owner with BYPASSRLS, no
 *      per-request settings: no security at all (same file)
 *   L  pgbench running the SQL transaction P runs for W1 (captured from P),
 *      prepared mode, same client count (bench/peers/pgbench.ts)
 *   H  Fastify + pg + jose by hand, W1 only (bench/peers/hand-rolled.ts)
 *   Pn this server as `npm start` runs it: server/main.ts in its own process,
 *      a supervisor and N node:cluster workers sharing the port (N: the
 *      default of HASURA_GRAPHQL_SERVER_WORKERS, or --workers), against the
 *      same database (DATABASE_URL); its CPU is the supervisor's and workers'
 *   Pf the fleet recipe (bench/lib/fleet.ts): 2 single-worker instances on 2
 *      ports through one PgBouncer (transaction mode) to the primary, reads
 *      on a streaming replica of it, the load spread over both instances;
 *      skipped, with the reason, when PgBouncer cannot be installed
 *
 *   W1 role user: own latest 10 results with the object's name (RLS row rule, index)
 *   W2 role campus-admin, x-hasura-campus {c}: the campus's first 50 events with
 *      object and parent event (relationships; campus = any(array) policies)
 *   W3 anonymous (no credentials: the unauthorized role): 50 users, id and login
 *      (column grants)
 *   W4 role campus-admin: insert an object of its campus (WITH CHECK), returning
 *      name, type, campus. The identity key makes every insert a new row, so
 *      the same body never collides and the answer is the same every time.
 *
 * P, B, C answer the same GraphQL text with the same bodies (checked before
 * measuring: same rows, same JSON); Pn and Pf byte-identical bodies to P's
 * (from several requests at once, so every worker and instance answers); H
 * the same ids. During the run any
 * response that differs from the one captured in preflight counts as an
 * error. Load: autocannon in its own process (bench/lib/load.ts), fixed
 * concurrency and duration. For every run, the CPU (in cores) of the load
 * generator, of the peer's node processes (Pn, Pf: supervisors and workers)
 * and of all of PostgreSQL's processes (Pf: primary, replica and PgBouncer)
 * (/proc; on 2 cores they compete), and per request (µs: cores ÷ req/s). W4's inserted rows are deleted and the
 * table re-analyzed after every W4 run, so every run meets the same database.
 * Then a fixed-rate run of P on W1 at half of its measured peak (evenly
 * paced, latency counted from each request's scheduled time, µs resolution;
 * bench/lib/load-worker.ts): the p99 that matters when the server is not
 * saturated. And, in parallel with the set-up (so it does
 * not disturb a measurement), bench/schema-build.ts: per-role schema build
 * time and memory for 6 and 50 roles.
 *
 *   --quick            scale 1, 2 rounds × 2 s, 8 connections (< 5 min with set-up)
 *   --scale N          seed scale (default 10)
 *   --rounds N         rounds (default 3)
 *   --duration S       seconds per run (default 8)
 *   --connections L    comma-separated concurrencies (default 8,32)
 *   --pool N           pool size of P, B, C, H (default 10, the server's default)
 *   --half-peak S      seconds of the fixed-rate run at half of P's W1 peak (default 10, quick 3)
 *   --peers P,C        measure only these peers (default all: P,Pn,Pf,B,C,L,H)
 *   --workers N        Pn's HASURA_GRAPHQL_SERVER_WORKERS (default: unset, the server's own default)
 *   --workloads W3     measure only these workloads (default all)
 *   --no-schemas       skip bench/schema-build.ts
 *   --max-seconds S    watchdog (default 300 quick, 1800 full)
 *
 * Output: a table, bench/results/<date>[-quick][-partial].json and .svg (req/s and p99
 * per peer per workload), then lines `ratio <A>/<B> <workload> <value>`
 * (throughput; per concurrency the median over rounds of the paired ratio,
 * then the median over concurrencies), last. Exit 1 if a peer could not run
 * a workload it should, 2 if the watchdog fired.
 */
import "../server/env.ts";
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { REPO_ROOT } from "../server/config.ts";
import { renderChart, type ChartGroup } from "./lib/chart.ts";
import { BENCH_ROLES, startBenchCluster } from "./lib/cluster.ts";
import { childPids, clusterCpuS, cpuWindow, processCpuS, processTreeCpuS } from "./lib/cpu.ts";
import { fleetUnavailable, postmasterOf, startFleet, type Fleet } from "./lib/fleet.ts";
import { startMainProcess } from "./lib/main-process.ts";
import { loadGenerator, runLoad, type LoadResult, type LoadSpec } from "./lib/load.ts";
import { startPeerProcess } from "./lib/peers.ts";
import { environment, median, pairedRatio, summarize, type Cell, type Summary } from "./lib/report.ts";
import { rootQuery, seedSchoolAt, withRoot } from "./lib/seed.ts";
import { startBenchServer, type BenchServer } from "./lib/server.ts";
import { decodeJwt } from "jose";
import { toPgSettings, type HasuraSession } from "../server/auth/pg-settings.ts";
import { findPgbench, pgbenchScript, runPgbench, type CapturedStatement } from "./peers/pgbench.ts";
import { settingsStatement } from "../server/graphile/pipelined-adaptor.ts";

const PEERS = ["P", "Pn", "Pf", "B", "C", "L", "H"] as const;
type Peer = (typeof PEERS)[number];

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    scale: { type: "string" },
    rounds: { type: "string" },
    duration: { type: "string" },
    connections: { type: "string" },
    pool: { type: "string" },
    peers: { type: "string" },
    workers: { type: "string" },
    workloads: { type: "string" },
    "half-peak": { type: "string" },
    "no-schemas": { type: "boolean", default: false },
    "max-seconds": { type: "string" },
  },
});
const quick = args.quick!;
const settings = {
  quick,
  scale: Number(args.scale ?? (quick ? 1 : 10)),
  rounds: Number(args.rounds ?? (quick ? 2 : 3)),
  durationS: Number(args.duration ?? (quick ? 2 : 8)),
  warmupS: quick ? 1 : 3,
  halfPeakS: Number(args["half-peak"] ?? (quick ? 3 : 10)),
  connections: (args.connections ?? (quick ? "8" : "8,32")).split(",").map(Number),
  pool: Number(args.pool ?? 10),
  maxSeconds: Number(args["max-seconds"] ?? (quick ? 300 : 1800)),
  peers: (args.peers ?? "P,Pn,Pf,B,C,L,H").split(","),
  /** Pn's HASURA_GRAPHQL_SERVER_WORKERS; undefined: the server's default. */
  workers: args.workers === undefined ? undefined : Number(args.workers),
  workloads: (args.workloads ?? "W1,W2,W3,W4").split(","),
  schemas: !args["no-schemas"],
  loadGenerator: loadGenerator(),
};
for (const [k, v] of Object.entries(settings)) {
  if (typeof v === "number" && !(Number.isInteger(v) && v > 0)) throw new Error(`--${k}: expected a positive integer, got ${v}`);
}
if (settings.connections.some((c) => !(Number.isInteger(c) && c > 0))) throw new Error("--connections: expected e.g. 8,32");
if (!settings.peers.every((p) => (PEERS as readonly string[]).includes(p))) throw new Error(`--peers: expected some of ${PEERS.join(",")}`);
if (!settings.workloads.every((w) => /^W[1-4]$/.test(w))) throw new Error("--workloads: expected some of W1,W2,W3,W4");

const log = (msg: string) => console.error(`[bench] ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s ${msg}`);
const t0 = Date.now();

const PEER_LABELS: Record<Peer, string> = {
  P: "P this server: JWT, role + session, RLS",
  Pn: `Pn npm start, ${settings.workers ?? availableParallelism()} workers (node:cluster)`,
  Pf: "Pf fleet: 2 × npm start (1 worker), PgBouncer, replica",
  B: "B bare PostGraphile: trusted headers, RLS",
  C: "C bare PostGraphile: owner, no RLS",
  L: "L pgbench: P's W1 SQL transaction",
  H: "H Fastify + pg by hand (W1)",
};

// The watchdog bounds the whole run, whatever hangs.
let cleanup: () => Promise<void> = async () => {};
const watchdog = setTimeout(() => {
  log(`exceeded the ${settings.maxSeconds}s bound; stopping`);
  void cleanup().finally(() => process.exit(2));
}, settings.maxSeconds * 1000);
watchdog.unref();

log(`settings ${JSON.stringify(settings)}`);

// bench/schema-build.ts in parallel with the set-up: it has its own cluster, and nothing is measured yet.
/** bench/schema-build.ts's memory line: every role's schemas in both dialects, per worker and for the fleet. */
interface SchemaMemory {
  workers: number;
  roles: number;
  everyRoleBothDialectsPerWorkerMB: number;
  fleetMB: number;
}
interface SchemaBuild {
  dialect: string;
  roles: number;
  totalMs: number;
  perRoleMsMedian: number;
  perRoleMsMax: number;
  retainedHeapMB: number;
  retainedHeapPerRoleMB: number;
  longestEventLoopStallMs: number;
}
let schemaChild: ReturnType<typeof spawn> | undefined;
const schemaBuild: Promise<{
  results: SchemaBuild[];
  memory: SchemaMemory[];
  perRole: string[];
  error?: string;
  warning?: string;
}> = settings.schemas
  ? new Promise((resolve) => {
      const child = spawn(process.execPath, ["--expose-gc", fileURLToPath(new URL("./schema-build.ts", import.meta.url))], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      schemaChild = child;
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (err = (err + d).slice(0, 4000)));
      const killer = setTimeout(() => child.kill("SIGKILL"), 150_000);
      child.on("exit", (code) => {
        clearTimeout(killer);
        const lines = out.split("\n");
        const json = lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as SchemaBuild | SchemaMemory);
        resolve({
          results: json.filter((j): j is SchemaBuild => "dialect" in j),
          memory: json.filter((j): j is SchemaMemory => "fleetMB" in j),
          perRole: lines.filter((l) => /^\s+\S+: \d+ ms$/.test(l)).map((l) => l.trim()),
          // Both result lines printed: the numbers stand even if it failed while tearing down.
          ...(code === 0
            ? {}
            : {
                [json.length >= 2 ? "warning" : "error"]: `exit ${code}: ${err.trim().split("\n").slice(0, 8).join(" | ").slice(0, 800)}`,
              }),
        });
      });
    })
  : Promise.resolve({ results: [], memory: [], perRole: [], error: "skipped (--no-schemas)" });

interface Target {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Row ids (or the inserted row), to compare peers. */
  ids(json: any): unknown;
}
interface Workload {
  name: string;
  description: string;
  targets: Partial<Record<Peer, Target>>;
}
interface Run extends LoadResult {
  cpu: { loadgen: number; node: number; postgres: number };
  /** pgbench's output, when it failed. */
  output?: string;
}

const bench = await startBenchCluster([{ database: "app", dir: "." }]);
let server: BenchServer | undefined;
const peerProcs: Array<{ stop(): Promise<void> }> = [];
cleanup = async () => {
  await Promise.allSettled(peerProcs.map((p) => p.stop()));
  // schema-build.ts stops its own cluster when it ends (a signal would leave it running): let it finish.
  if (schemaChild && schemaChild.exitCode === null) await Promise.race([schemaBuild, new Promise((r) => setTimeout(r, 60_000))]);
  await server?.close().catch(() => {});
  await bench.stop();
};
let exitCode = 0;
try {
  const db = bench.databases.app!;
  log(`cluster up and migrated; seeding scale ${settings.scale}…`);
  const seeded = await seedSchoolAt(db.rootUrl, settings.scale);
  log(`seeded in ${seeded.seconds}s: ${JSON.stringify(seeded.counts)}`);

  const [user] = await rootQuery<{ id: number }>(
    db.rootUrl,
    `select "userId" as id from public.result where path like '/seed/%' group by 1 having count(*) >= 10 order by 1 limit 1`,
  );
  const [campusRow] = await rootQuery<{ campus: string }>(
    db.rootUrl,
    `select campus from public.event where "parentId" is not null and campus is not null group by 1 order by count(*) desc, 1 limit 1`,
  );
  if (!user || !campusRow) throw new Error("seeding produced no fixtures (a user with ≥ 10 results, a campus with child events)");
  const campus = campusRow.campus;
  const otherCampus = (
    await rootQuery<{ campus: string }>(db.rootUrl, `select distinct campus from public.event where campus <> $1 limit 1`, [campus])
  )[0]?.campus;
  // C: policies.sql FORCEs RLS on every table, so even the owner is filtered (to nothing: no policy names it).
  // Giving the owner BYPASSRLS is what "no security" means here. The server never connects as the owner.
  await rootQuery(db.rootUrl, `alter role ${BENCH_ROLES.owner.name} bypassrls`);
  const postmasterPid = await postmasterOf(db.rootUrl);

  server = await startBenchServer({
    runtimeUrl: db.runtimeUrl,
    projectDir: db.projectDir,
    env: { HASURA_GRAPHQL_PG_CONNECTIONS: String(settings.pool), HASURA_GRAPHQL_UNAUTHORIZED_ROLE: "anonymous", LOG_LEVEL: "error" },
  });
  const P = server;
  const poolEnv = { BENCH_POOL: String(settings.pool) };
  const [B, C, H] = await Promise.all([
    startPeerProcess("B", "postgraphile.ts", { ...poolEnv, BENCH_PEER: "B", DATABASE_URL: db.runtimeUrl }),
    startPeerProcess("C", "postgraphile.ts", { ...poolEnv, BENCH_PEER: "C", DATABASE_URL: db.ownerUrl }),
    startPeerProcess("H", "hand-rolled.ts", {
      ...poolEnv,
      DATABASE_URL: db.runtimeUrl,
      BENCH_JWT_SECRET: P.env.HASURA_GRAPHQL_JWT_SECRET!,
    }),
  ]);
  peerProcs.push(B, C, H);
  // Pn and Pf: what a user deploys, started only when measured (Pf clones the cluster).
  const want = (p: Peer) => settings.peers.includes(p);
  const serverEnv: Record<string, string> = Object.fromEntries(
    Object.entries(P.env).filter((e): e is [string, string] => typeof e[1] === "string"),
  );
  const skipped: Partial<Record<Peer, string>> = {};
  const [Pn, Pf] = await Promise.all([
    want("Pn")
      ? startMainProcess("Pn", {
          ...serverEnv,
          ...(settings.workers ? { HASURA_GRAPHQL_SERVER_WORKERS: String(settings.workers) } : {}),
        }).catch((e: Error) => {
          log(`Pn could not start: ${e.message}`);
          skipped.Pn = e.message.slice(0, 600);
          exitCode = 1;
          return undefined;
        })
      : undefined,
    want("Pf")
      ? (async (): Promise<Fleet | undefined> => {
          const unavailable = fleetUnavailable();
          if (unavailable) {
            log(`Pf skipped: ${unavailable}`);
            skipped.Pf = unavailable;
            return undefined;
          }
          return startFleet({
            cluster: bench.cluster,
            db,
            primaryPostmaster: postmasterPid,
            env: serverEnv,
            poolSize: settings.pool,
          }).catch((e: Error) => {
            log(`Pf skipped: could not start: ${e.message}`);
            skipped.Pf = `could not start: ${e.message.slice(0, 600)}`;
            exitCode = 1;
            return undefined;
          });
        })()
      : undefined,
  ]);
  if (Pn) peerProcs.push(Pn);
  if (Pf) peerProcs.push(Pf);
  const pnWorkers = Pn ? childPids(Pn.pid).length : 0;
  if (Pn) {
    log(`Pn: npm start at ${Pn.url}, supervisor pid ${Pn.pid}, ${pnWorkers} worker processes`);
    PEER_LABELS.Pn = pnWorkers
      ? `Pn npm start: ${pnWorkers} workers (node:cluster)`
      : "Pn npm start: one process (no worker processes seen)";
  }
  if (Pf) log(`Pf: instances ${Pf.urls.join(", ")}; ${JSON.stringify(Pf.describe)}`);
  // Every role's schema, in both dialects, before anything is measured (the server warms them in the background).
  for (const role of P.app.appRoles.list()) {
    await P.app.schemas.get(role);
    await P.app.hasuraSchemas.get(role);
  }
  log(
    `peers up: P ${P.url} (pid ${process.pid}), B ${B.url} (pid ${B.pid}), C ${C.url} (pid ${C.pid}), H ${H.url} (pid ${H.pid}); postmaster pid ${postmasterPid}`,
  );

  const pgbench = findPgbench();
  if (!pgbench) log("pgbench not found (apt-get install postgresql-client, or BENCH_PGBENCH=…): peer L skipped");

  const json = (o: unknown) => JSON.stringify(o);
  const userToken = await P.token({ role: "user", userId: String(user.id) });
  const adminToken = await P.token({ role: "campus-admin", vars: { campus: `{${campus}}` } });
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  const W1_BODY = json({
    query: `query W1($uid: Int!) { allResults(condition: {userId: $uid}, orderBy: ID_DESC, first: 10) { nodes { id grade createdAt path objectByObjectId { name } } } }`,
    variables: { uid: user.id },
  });
  const W2_FIELDS = "id path campus createdAt objectByObjectId { id name type } eventByParentId { id path }";
  const W2_BODY = json({ query: `query W2 { allEvents(orderBy: ID_ASC, first: 50) { nodes { ${W2_FIELDS} } } }` });
  const W2_BODY_C = json({
    query: `query W2 { allEvents(condition: {campus: ${json(campus)}}, orderBy: ID_ASC, first: 50) { nodes { ${W2_FIELDS} } } }`,
  });
  const W3_BODY = json({ query: `query W3 { allUsers(orderBy: ID_ASC, first: 50) { nodes { id login } } }` });
  const w4Body = (c: string) =>
    json({
      query: `mutation W4($o: ObjectInput!) { createObject(input: {object: $o}) { object { name type campus } } }`,
      variables: { o: { name: "bench-w4", type: "exercise", campus: c } },
    });
  const nodes = (key: string) => (d: any) => d[key].nodes.map((n: { id: number }) => n.id);
  const hdr = (role: string, vars: Record<string, string> = {}) => ({ "x-hasura-role": role, ...vars });

  const workloads: Workload[] = [
    {
      name: "W1",
      description: `role user (x-hasura-user-id ${user.id}): own latest 10 results with the object's name`,
      targets: {
        P: { path: "/graphql", headers: bearer(userToken), body: W1_BODY, ids: nodes("allResults") },
        B: { path: "/graphql", headers: hdr("user", { "x-hasura-user-id": String(user.id) }), body: W1_BODY, ids: nodes("allResults") },
        C: { path: "/graphql", headers: {}, body: W1_BODY, ids: nodes("allResults") },
        H: { path: "/w1", headers: bearer(userToken), body: W1_BODY, ids: nodes("allResults") },
      },
    },
    {
      name: "W2",
      description: `role campus-admin (x-hasura-campus {${campus}}): first 50 events of the campus with object and parent (C: condition campus = '${campus}')`,
      targets: {
        P: { path: "/graphql", headers: bearer(adminToken), body: W2_BODY, ids: nodes("allEvents") },
        B: { path: "/graphql", headers: hdr("campus-admin", { "x-hasura-campus": `{${campus}}` }), body: W2_BODY, ids: nodes("allEvents") },
        C: { path: "/graphql", headers: {}, body: W2_BODY_C, ids: nodes("allEvents") },
      },
    },
    {
      name: "W3",
      description: "anonymous (no credentials; B: x-hasura-role anonymous): 50 users, id and login (column grants)",
      targets: {
        P: { path: "/graphql", headers: {}, body: W3_BODY, ids: nodes("allUsers") },
        B: { path: "/graphql", headers: hdr("anonymous"), body: W3_BODY, ids: nodes("allUsers") },
        C: { path: "/graphql", headers: {}, body: W3_BODY, ids: nodes("allUsers") },
      },
    },
    {
      name: "W4",
      description: `role campus-admin (x-hasura-campus {${campus}}): insert an object of campus ${campus} under WITH CHECK, returning name, type, campus`,
      targets: {
        P: { path: "/graphql", headers: bearer(adminToken), body: w4Body(campus), ids: (d) => d.createObject.object },
        B: {
          path: "/graphql",
          headers: hdr("campus-admin", { "x-hasura-campus": `{${campus}}` }),
          body: w4Body(campus),
          ids: (d) => d.createObject.object,
        },
        C: { path: "/graphql", headers: {}, body: w4Body(campus), ids: (d) => d.createObject.object },
      },
    },
  ];
  // Pn and Pf answer P's requests (same tokens: they run with P's secrets).
  for (const w of workloads) {
    if (Pn) w.targets.Pn = w.targets.P;
    if (Pf) w.targets.Pf = w.targets.P;
  }
  /** Every URL a peer serves on (Pf: one per instance; the load is spread over them). */
  const urlsOf: Partial<Record<Exclude<Peer, "L">, string[]>> = {
    P: [P.url],
    B: [B.url],
    C: [C.url],
    H: [H.url],
    ...(Pn ? { Pn: [Pn.url] } : {}),
    ...(Pf ? { Pf: Pf.urls } : {}),
  };
  /** CPU seconds so far of a peer's node processes (P runs in this process; Pn and Pf: supervisors and workers). */
  const nodeCpu: Record<Peer, () => number> = {
    P: () => processCpuS(process.pid),
    Pn: () => (Pn ? processTreeCpuS(Pn.pid) : NaN),
    Pf: () => (Pf ? Pf.nodeCpuS() : NaN),
    B: () => processCpuS(B.pid),
    C: () => processCpuS(C.pid),
    H: () => processCpuS(H.pid),
    L: () => 0,
  };
  /** PostgreSQL's CPU for a peer's run (Pf: primary, replica and PgBouncer). */
  const postgresCpu = (p: Peer) => (p === "Pf" && Pf ? Pf.postgresCpuS() : clusterCpuS(postmasterPid));

  async function post(url: string, body: string, headers: Record<string, string>) {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
    const text = await res.text();
    let parsed: any;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, text, json: parsed };
  }

  // Preflight: 200, no errors, rows; deterministic (the body becomes the expected one); same rows as P.
  const expected = new Map<string, string>();
  const preflight: Record<string, unknown> = {};
  const key = (w: string, p: Peer) => `${w} ${p}`;
  for (const w of workloads) {
    let pIds: string | undefined;
    let pData: string | undefined;
    for (const p of PEERS) {
      const t = w.targets[p];
      if (!t) continue;
      if (p === "Pn" || p === "Pf") {
        // Byte-identical to P's body, from every instance, several requests at once (so every worker answers one).
        const pText = expected.get(key(w.name, "P"));
        const at = Math.max(4, 2 * pnWorkers);
        const answers = await Promise.all(urlsOf[p]!.flatMap((u) => Array.from({ length: at }, () => post(u + t.path, t.body, t.headers))));
        const bad = answers.find((a) => a.text !== pText);
        const problem =
          pText === undefined
            ? "P could not be measured"
            : bad
              ? `a body differs from P's: HTTP ${bad.status} ${bad.text.slice(0, 400)}`
              : undefined;
        preflight[key(w.name, p)] = problem ? { ok: false, problem } : { ok: true, requests: answers.length, sameBodyAsP: true };
        if (problem) {
          log(`${w.name} on ${p} cannot be measured: ${problem}`);
          exitCode = 1;
        } else expected.set(key(w.name, p), pText!);
        continue;
      }
      const url = urlsOf[p as Exclude<Peer, "L">]![0]! + t.path;
      const first = await post(url, t.body, t.headers);
      const second = await post(url, t.body, t.headers);
      let problem: string | undefined;
      let ids: string | undefined;
      if (first.status !== 200) problem = `HTTP ${first.status}: ${first.text.slice(0, 400)}`;
      else if (!first.json || first.json.errors) problem = `errors: ${first.text.slice(0, 400)}`;
      else {
        try {
          const v = t.ids(first.json.data);
          ids = json(v);
          if (Array.isArray(v) && !v.length) problem = "no rows";
        } catch (e) {
          problem = `unexpected data shape (${(e as Error).message}): ${first.text.slice(0, 400)}`;
        }
      }
      if (!problem && second.text !== first.text) problem = "two identical requests gave different bodies";
      if (!problem && p === "P") {
        pIds = ids;
        pData = json(first.json.data);
      } else if (!problem && pIds !== undefined && ids !== pIds) problem = `different rows from P's: ${ids} vs ${pIds}`;
      const sameBody = !problem && p !== "P" && p !== "H" ? json(first.json.data) === pData : undefined;
      preflight[key(w.name, p)] = problem
        ? { ok: false, problem }
        : { ok: true, rows: ids, bytes: first.text.length, ...(sameBody !== undefined ? { sameJsonAsP: sameBody } : {}) };
      if (problem) {
        log(`${w.name} on ${p} cannot be measured: ${problem}`);
        exitCode = 1;
      } else {
        expected.set(key(w.name, p), first.text);
        if (sameBody === false) log(`${w.name} on ${p}: same rows as P, but a different JSON body`);
      }
    }
  }
  // W4's WITH CHECK is real: the same insert for another campus is refused by P and B (C has no policy to refuse it).
  if (otherCampus) {
    const t = workloads[3]!.targets;
    const pOther = await post(`${P.url}/graphql`, w4Body(otherCampus), t.P!.headers);
    const bOther = await post(`${B.url}/graphql`, w4Body(otherCampus), t.B!.headers);
    preflight["W4 other campus refused"] = {
      P: pOther.json?.errors?.[0]?.message ?? pOther.text.slice(0, 200),
      B: bOther.json?.errors?.[0]?.message ?? bOther.text.slice(0, 200),
    };
    if (!pOther.json?.errors || !bOther.json?.errors) {
      log(`W4: an insert for campus ${otherCampus} was not refused: ${json(preflight["W4 other campus refused"])}`);
      exitCode = 1;
    }
  }

  // L: capture the transaction P runs for W1, as @dataplan/pg sends it to the pg driver.
  let lScript: { script: string; defines: Record<string, string> } | undefined;
  let lCapture: { settings: Array<[string, string]>; statement: CapturedStatement } | undefined;
  if (pgbench && expected.has(key("W1", "P"))) {
    const seen: CapturedStatement[] = [];
    const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
    const original = proto.query;
    proto.query = function (this: unknown, ...a: unknown[]) {
      const q = a[0];
      if (q && typeof q === "object" && "text" in q)
        seen.push({ text: String((q as { text: string }).text), values: ((q as { values?: unknown[] }).values ?? []) as unknown[] });
      else if (typeof q === "string") seen.push({ text: q, values: (Array.isArray(a[1]) ? a[1] : []) as unknown[] });
      return original.apply(this, a);
    };
    try {
      await post(`${P.url}/graphql`, W1_BODY, workloads[0]!.targets.P!.headers);
    } finally {
      proto.query = original;
    }
    const framing = /^\s*(begin|commit|rollback|deallocate|set jit_optimize_above_cost|select set_config\(\$1, \$2, true\))/i;
    // The settings the adaptor sends ahead of the statement in the same pipeline (so the patched
    // driver does not see them), derived as the server derives them for this token.
    const lSettings = Object.entries(toPgSettings(sessionOf(userToken)));
    const settingsStmt = { settings: lSettings, text: settingsStatement(lSettings.length).text, values: lSettings.flat() };
    const data = seen.filter((s) => !framing.test(s.text));
    if (data.length !== 1) {
      log(`L: could not capture W1's transaction (${seen.length} queries, ${data.length} data statements): peer L skipped`);
      preflight["W1 L"] = { ok: false, problem: "capture failed", seen: seen.map((s) => s.text.slice(0, 200)) };
      exitCode = 1;
    } else {
      lCapture = { settings: settingsStmt.settings, statement: data[0]! };
      lScript = pgbenchScript(lCapture.settings, lCapture.statement);
      // The same transaction through the driver, as the authenticator: it must return P's rows.
      const client = new pg.Client({ connectionString: db.runtimeUrl });
      await client.connect();
      try {
        await client.query("begin");
        await client.query(settingsStmt.text, settingsStmt.values);
        const r = await client.query(lCapture.statement.text, lCapture.statement.values);
        await client.query("commit");
        preflight["W1 L"] = {
          ok: r.rowCount! > 0,
          rows: r.rowCount,
          statement: lCapture.statement.text,
          values: lCapture.statement.values,
          settings: lCapture.settings.map(([k]) => k),
        };
        if (!(r.rowCount! > 0)) {
          log("L: the captured statement returned no rows: peer L skipped");
          lScript = undefined;
          exitCode = 1;
        }
      } finally {
        await client.end();
      }
    }
  }

  const selected = (w: Workload, p: Peer) => settings.peers.includes(p) && settings.workloads.includes(w.name);
  const runnable = (w: Workload, p: Peer) =>
    selected(w, p) && (p === "L" ? w.name === "W1" && lScript !== undefined : expected.has(key(w.name, p)));
  const spec = (w: Workload, p: Exclude<Peer, "L">, connections: number, durationS: number, overallRate?: number): LoadSpec => {
    const t = w.targets[p]!;
    return {
      url: urlsOf[p]![0]! + t.path,
      ...(urlsOf[p]!.length > 1 ? { urls: urlsOf[p]!.map((u) => u + t.path) } : {}),
      method: "POST",
      headers: { "content-type": "application/json", ...t.headers },
      body: t.body,
      connections,
      durationS,
      expectBody: expected.get(key(w.name, p)),
      ...(overallRate ? { overallRate } : {}),
    };
  };
  const u = new URL(db.runtimeUrl);

  async function measure(w: Workload, p: Peer, connections: number, durationS: number, overallRate?: number): Promise<Run> {
    try {
      return await measureOnce(w, p, connections, durationS, overallRate);
    } finally {
      // Every run starts from the same database: W4's inserted objects are
      // removed and the table re-analyzed, else W1 and W2 (which join object)
      // would run later rounds on a bigger table with plans cached when it was
      // small (a hash join over a sequential scan of every inserted row).
      if (w.name === "W4") {
        await withRoot(db.rootUrl, async (c) => {
          await c.query(`delete from public.object where name = 'bench-w4'`);
          await c.query("vacuum analyze public.object");
        });
      }
    }
  }
  async function measureOnce(w: Workload, p: Peer, connections: number, durationS: number, overallRate?: number): Promise<Run> {
    const end = cpuWindow({ node: nodeCpu[p], postgres: () => postgresCpu(p) });
    const res: LoadResult =
      p === "L"
        ? await runPgbench({
            pgbench: pgbench!,
            host: u.hostname,
            port: Number(u.port),
            user: decodeURIComponent(u.username),
            password: decodeURIComponent(u.password),
            database: u.pathname.slice(1),
            ...lScript!,
            clients: connections,
            durationS,
          })
        : await runLoad(spec(w, p, connections, durationS, overallRate));
    const window = end();
    const { output, ...rest } = res as LoadResult & { output?: string };
    return {
      ...rest,
      ...(output !== undefined && (res.errors > 0 || res.requests === 0) ? { output } : {}),
      cpu: { loadgen: +((res.loadgenCpuS ?? NaN) / window.wallS).toFixed(3), node: window.cores.node!, postgres: window.cores.postgres! },
    };
  }

  const schemas = await schemaBuild;
  log(`schema build: ${schemas.error ?? schemas.results.map((r) => `${r.dialect} ${r.roles} roles ${r.totalMs} ms`).join(", ")}`);

  // Warm-up (discarded): JIT, pools, prepared statements, at the highest concurrency.
  const maxConns = Math.max(...settings.connections);
  for (const w of workloads) {
    for (const p of PEERS) {
      if (!runnable(w, p)) continue;
      const r = await measure(w, p, maxConns, settings.warmupS);
      if (p === "L" && (r.errors > 0 || r.requests === 0)) {
        log(`L: pgbench failed in warm-up (${r.errors} errors, ${r.requests} transactions): peer L skipped\n${r.output ?? ""}`);
        preflight["W1 L warm-up"] = { ok: false, errors: r.errors, output: r.output };
        lScript = undefined;
        exitCode = 1;
      }
    }
  }
  log("warm-up done; measuring");

  const cells = new Map<string, Cell>();
  for (let round = 0; round < settings.rounds; round++) {
    const order = PEERS.map((_, i) => PEERS[(i + round) % PEERS.length]!);
    for (const w of workloads) {
      for (const c of settings.connections) {
        for (const p of order) {
          if (!runnable(w, p)) continue;
          const res = await measure(w, p, c, settings.durationS);
          const k = `${w.name} ${c} ${p}`;
          if (!cells.has(k)) cells.set(k, { peer: p, workload: w.name, connections: c, rounds: [] });
          cells.get(k)!.rounds.push(res);
          log(
            `round ${round + 1}/${settings.rounds} ${w.name} c=${c} ${p}: ${res.rps.toFixed(0)} req/s, p50 ${res.p50Ms.toFixed(2)} ms, p99 ${res.p99Ms.toFixed(2)} ms, errors ${res.errors}, cpu gen ${res.cpu.loadgen} node ${res.cpu.node} pg ${res.cpu.postgres}`,
          );
        }
      }
    }
  }

  interface Row extends Summary {
    peer: Peer;
    cpu: { loadgen: number; node: number; postgres: number };
  }
  const rows: Row[] = [...cells.values()]
    .map((cell) => {
      const rs = cell.rounds as Run[];
      return {
        ...summarize(cell),
        peer: cell.peer as Peer,
        cpu: {
          loadgen: median(rs.map((r) => r.cpu.loadgen)),
          node: median(rs.map((r) => r.cpu.node)),
          postgres: median(rs.map((r) => r.cpu.postgres)),
        },
      };
    })
    .sort((a, b) => a.workload.localeCompare(b.workload) || a.connections - b.connections || PEERS.indexOf(a.peer) - PEERS.indexOf(b.peer));

  // p99 at half of P's peak on W1: an open-loop run at a fixed rate.
  let halfPeak: (Run & { targetRate: number; peakRps: number; connections: number }) | undefined;
  const pW1 = rows.filter((r) => r.workload === "W1" && r.peer === "P" && Number.isFinite(r.rps));
  if (pW1.length) {
    const peak = Math.max(...pW1.map((r) => r.rps));
    const rate = Math.max(1, Math.round(peak / 2));
    const r = await measure(workloads[0]!, "P", maxConns, settings.halfPeakS, rate);
    halfPeak = { ...r, targetRate: rate, peakRps: +peak.toFixed(1), connections: maxConns };
    log(
      `half-peak: P W1 at ${rate} req/s (peak ${peak.toFixed(0)}): ${r.rps.toFixed(0)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, errors ${r.errors}`,
    );
  }

  // Ratios of throughput, P against every peer, per workload where both ran.
  const cellList = [...cells.values()];
  const ratioLines: Array<{ name: string; workload: string; value: number }> = [];
  for (const base of ["B", "C", "L", "H"] as const) {
    for (const w of workloads) {
      if (!cellList.some((c) => c.workload === w.name && c.peer === base)) continue;
      ratioLines.push({ name: `P/${base}`, workload: w.name, value: pairedRatio(cellList, w.name, "P", base) });
    }
  }
  ratioLines.push(
    ...workloads
      .filter((w) => cellList.some((c) => c.workload === w.name && c.peer === "C"))
      .map((w) => ({ name: "B/C", workload: w.name, value: pairedRatio(cellList, w.name, "B", "C") })),
  );
  // Scaling out: N workers and the fleet against one process (P), the workers against pgbench (L).
  const ran = (p: Peer, w: string) => cellList.some((c) => c.workload === w && c.peer === p);
  for (const [a, b] of [
    ["Pn", "P"],
    ["Pn", "L"],
    ["Pf", "P"],
    ["Pf", "Pn"],
  ] as const) {
    for (const w of workloads) {
      if (ran(a, w.name) && ran(b, w.name))
        ratioLines.push({ name: `${a}/${b}`, workload: w.name, value: pairedRatio(cellList, w.name, a, b) });
    }
  }
  const ratioOf = (name: string, w: string) => ratioLines.find((r) => r.name === name && r.workload === w)?.value ?? NaN;
  const targets = {
    "P/B W1 >= 0.95": ratioOf("P/B", "W1") >= 0.95,
    "P/C W1 >= 0.8": ratioOf("P/C", "W1") >= 0.8,
    "p99 at half of P's W1 peak < 10 ms": halfPeak ? halfPeak.p99Ms < 10 && halfPeak.errors === 0 : false,
    [`Pn/P W1 >= 1.3 (${pnWorkers} workers)`]: ratioOf("Pn/P", "W1") >= 1.3,
  };

  // Chart.
  const groups: ChartGroup[] = workloads.flatMap((w) =>
    settings.connections.map((c) => ({ label: `${w.name} c${c}`, workload: w.name, connections: c })),
  );
  const cellRow = (p: string, g: ChartGroup) =>
    rows.find((r) => r.peer === p && r.workload === g.workload && r.connections === g.connections);
  const partial = settings.peers.length < PEERS.length || settings.workloads.length < workloads.length;
  const stamp = new Date().toISOString().slice(0, 10) + (quick ? "-quick" : "") + (partial ? "-partial" : "");
  const svg = renderChart({
    title: "npm run bench: req/s and p99 per peer per workload (medians over rounds)",
    subtitle: `loopback, ${settings.loadGenerator} (L: pgbench), scale ${settings.scale}, ${settings.rounds} rounds × ${settings.durationS}s, pool ${settings.pool}, ${environment().cpus} cores, ${new Date().toISOString()}`,
    peers: [...PEERS],
    peerLabels: PEER_LABELS,
    groups,
    panels: [
      { title: "Throughput", unit: "req/s", value: (p, g) => cellRow(p, g)?.rps },
      { title: "p99 latency", unit: "ms", value: (p, g) => cellRow(p, g)?.p99Ms, reference: { value: 10, label: "10 ms" } },
    ],
  });
  const svgFile = path.join(REPO_ROOT, "bench", "results", `${stamp}.svg`);

  const resultsFile = await writeResultsAs(stamp, {
    benchmark: "bench",
    date: new Date().toISOString(),
    environment: environment(),
    settings,
    seeded,
    peers: PEER_LABELS,
    workloads: workloads.map((w) => ({
      name: w.name,
      description: w.description,
      requests: Object.fromEntries(
        Object.entries(w.targets).map(([p, t]) => [p, { path: t.path, headers: Object.keys(t.headers), body: JSON.parse(t.body) }]),
      ),
    })),
    pgbench: lCapture
      ? { path: pgbench, script: lScript?.script, statement: lCapture.statement, settings: lCapture.settings.map(([k]) => k) }
      : null,
    preflight,
    summaries: rows,
    halfPeak,
    schemaBuild: schemas,
    scaleOut: { pnWorkers, fleet: Pf?.describe ?? null, skipped },
    ratioDefinition:
      "throughput of A ÷ throughput of B: per concurrency, the median over rounds of the ratio of the two runs of the same round; then the median over concurrencies",
    ratios: ratioLines.map((r) => ({ ...r, value: Number.isFinite(r.value) ? +r.value.toFixed(3) : null })),
    targets,
    rounds: cellList,
    elapsedS: (Date.now() - t0) / 1000,
  });
  await writeFile(svgFile, svg);

  // The terminal report.
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
  const head = [
    "workload",
    "conns",
    "peer",
    "req/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "requests",
    "spread",
    "cpu gen",
    "cpu node",
    "cpu pg",
    "node µs/req",
    "pg µs/req",
  ];
  const body = rows.map((r) => [
    r.workload,
    String(r.connections),
    r.peer,
    f(r.rps, 0),
    f(r.p50Ms, 2),
    f(r.p99Ms, 2),
    String(r.errors),
    String(r.requests),
    `${f(r.rpsSpread * 100, 0)}%`,
    f(r.cpu.loadgen, 2),
    f(r.cpu.node, 2),
    f(r.cpu.postgres, 2),
    // CPU per request: cores ÷ req/s (what the README's scaling estimate is built from).
    f((r.cpu.node / r.rps) * 1e6, 0),
    f((r.cpu.postgres / r.rps) * 1e6, 0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cs: string[]) => cs.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(
    `\nloopback, ${settings.loadGenerator} (L: pgbench -M prepared -j 1), scale ${settings.scale}, ${settings.rounds} rounds × ${settings.durationS}s, pool ${settings.pool}; medians over rounds; errors: total; cpu: cores used (load generator; the peer's node processes, Pn's and Pf's supervisors and workers included; all of PostgreSQL, for Pf the primary, the replica and PgBouncer), and per request`,
  );
  for (const p of PEERS) console.log(`  ${PEER_LABELS[p]}${skipped[p] ? ` (skipped: ${skipped[p]})` : ""}`);
  for (const w of workloads) console.log(`  ${w.name}: ${w.description}`);
  console.log(`\n${[line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n")}\n`);
  if (halfPeak) {
    console.log(
      `half peak: P W1 at ${halfPeak.targetRate} req/s (half of ${f(halfPeak.peakRps, 0)}), ${halfPeak.connections} connections, ${settings.halfPeakS}s: ${f(halfPeak.rps, 0)} req/s, p50 ${f(halfPeak.p50Ms, 2)} ms, p99 ${f(halfPeak.p99Ms, 2)} ms, errors ${halfPeak.errors}`,
    );
  }
  for (const r of schemas.results) {
    console.log(
      `schema build, ${r.dialect}, ${r.roles} roles: ${r.totalMs} ms total, per role median ${r.perRoleMsMedian} ms (max ${r.perRoleMsMax}), retained heap ${r.retainedHeapMB} MB (${r.retainedHeapPerRoleMB} MB/role), longest event-loop stall ${r.longestEventLoopStallMs} ms`,
    );
  }
  for (const m of schemas.memory) {
    console.log(
      `schema memory, ${m.roles} roles, every role in both dialects: ${m.everyRoleBothDialectsPerWorkerMB} MB per worker, ${m.fleetMB} MB for ${m.workers} workers`,
    );
  }
  if (schemas.error) console.log(`schema build: ${schemas.error}`);
  if (schemas.warning) console.log(`schema build (results kept): ${schemas.warning}`);
  for (const [t, ok] of Object.entries(targets)) console.log(`target ${t}: ${ok ? "met" : "NOT met"}`);
  console.log(`results: ${resultsFile}, chart: ${svgFile} (${((Date.now() - t0) / 1000).toFixed(0)}s)`);
  if (halfPeak) console.log(`p99-at-half-peak P W1 ${f(halfPeak.p99Ms, 2)}`);
  for (const r of ratioLines) console.log(`ratio ${r.name} ${r.workload} ${Number.isFinite(r.value) ? r.value.toFixed(3) : "n/a"}`);
} catch (e) {
  log(`failed: ${(e as Error).stack ?? e}`);
  exitCode = 1;
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
process.exit(exitCode);

/** bench/results/<stamp>.json (writeResults would prefix a benchmark name). */
async function writeResultsAs(stamp: string, data: unknown): Promise<string> {
  const dir = path.join(REPO_ROOT, "bench", "results");
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${stamp}.json`);
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

/** The session the server derives from one of the bench's own tokens (claims in Hasura's default namespace). */
function sessionOf(token: string): HasuraSession {
  const claims = decodeJwt(token);
  const hasura = (claims["https://hasura.io/jwt/claims"] ?? {}) as Record<string, unknown>;
  const variables: Record<string, string> = {};
  for (const [k, v] of Object.entries(hasura)) {
    if (k !== "x-hasura-default-role" && k !== "x-hasura-allowed-roles" && k !== "x-hasura-role" && typeof v === "string") variables[k] = v;
  }
  return { role: String(hasura["x-hasura-default-role"]), variables, claims };
}
