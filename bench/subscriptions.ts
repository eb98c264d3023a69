/**
 * `npm run bench:subscriptions [-- --subscribers 1000,5000]`: live queries
 * under RLS at scale, on loopback, in bounded time.
 *
 * A throwaway embedded PostgreSQL with pg_stat_statements (preloaded: the
 * bench restarts the cluster once), the blog example migrated as `npm start`
 * does, one author and one draft article per subscriber. For each N:
 *
 *   - the server in its own process (bench/peers/server.ts: buildApp from
 *     the environment, NODE_ENV=production, HS256 JWTs), so its CPU and RSS
 *     are its own (/proc/<pid>); with --workers W > 1, `npm start` itself
 *     (server/main.ts, HASURA_GRAPHQL_SERVER_WORKERS=W: a supervisor and W
 *     node:cluster workers sharing the port, each multiplexing the sockets
 *     it accepted; the pool budget split between them), CPU, RSS and TCP
 *     segments summed over the supervisor and its workers;
 *   - N graphql-transport-ws sockets from this process (raw `ws`, the
 *     protocol's four messages: a cheap load generator), each with its own
 *     JWT (role user, distinct x-hasura-user-id), all on the same
 *     document `subscription { article(where: {is_published: {_eq: false}}) { id content } }`:
 *     RLS alone picks each user's rows (its own draft), so each user is its
 *     own cohort (the policies read x-hasura-user-id). The sockets come from
 *     several loopback source addresses (127.0.0.10, .11, …; ≤ 400 each), so
 *     the server's per-client connection bound
 *     (HASURA_GRAPHQL_MAX_CONNECTIONS_PER_CLIENT, 512) stays at its default;
 *   - a writer: once per second (at a random moment of each one-second slot,
 *     so writes are not phase-locked with the poller) ONE UPDATE sets every
 *     subscriber's draft's content to the current time (ms): all N rows
 *     change every second, the worst case for a live query (every cohort's
 *     result changes every tick);
 *   - latency of a write for a subscriber = the receipt time of the first
 *     result carrying that write's timestamp or a later one, minus the
 *     timestamp (taken just before the UPDATE is sent, so the UPDATE's own
 *     time is included). A write a subscriber never sees (within --grace s
 *     after the last write) counts as undelivered, and as an infinite
 *     latency in the percentiles. Errors: error/complete messages, sockets
 *     closed, subscriptions that never delivered a first result.
 *   - over the measured window (--duration s, after --warmup s of writes):
 *     Postgres statements per second (pg_stat_statements calls of the
 *     server's statements, the bench's own excluded), of which settings
 *     statements (`select set_config(…)`, one per cohort statement);
 *     poll round trips per second, bounded above by the TCP data segments
 *     the server sent to Postgres (ss's tcp_info, sampled every second; the
 *     poller writes each batch of cohort statements as one corked write,
 *     nothing else talks to Postgres during the window, and a write larger
 *     than loopback's MSS takes several segments: B/seg says how close to
 *     that the writes are); the engine's own counters (stats()) are not
 *     exposed outside the process; server CPU (cores, /proc stat) and RSS
 *     (max of 1 s samples), Postgres CPU, this load generator's CPU.
 *
 *   --subscribers L   comma-separated N (default 1000,5000)
 *   --duration S      measured seconds per N (default 30)
 *   --warmup S        seconds of writes before measuring (default 5)
 *   --grace S         seconds to wait for the last writes' deliveries (default 5)
 *   --rotate R        each write touches every R-th subscriber's row, rotating (default 1: all
 *                     rows every second; R=10: each row every 10 s, 9 of 10 cohorts unchanged per tick)
 *   --pool N          HASURA_GRAPHQL_PG_CONNECTIONS (default 10, the server's default; with workers, their total)
 *   --workers L       comma-separated worker counts, each run for every N (default 1; e.g. 1,2: side by side)
 *   --profile         run the server under --cpu-prof; print its self time by package over the window
 *   --max-seconds S   watchdog (default 900)
 *
 * Prints a table, writes bench/results/subscriptions-<date>.json, and ends
 * with `ratio statements/subscribers <value>` (statements per second ÷
 * subscribers, at the largest N, one worker) and `p99-subscription-ms <N> <value>`
 * per N (one worker; `p99-subscription-ms-w<W> <N> <value>` with W workers).
 * Exit 1 if a run failed, 2 if the watchdog fired.
 */
import "../server/env.ts";
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import pg from "pg";
import WebSocket from "ws";
import { mintToken } from "../server/cli/token.ts";
import { startBenchCluster, type BenchDatabase } from "./lib/cluster.ts";
import { clusterCpuS, processTree, processTreeCpuS } from "./lib/cpu.ts";
import { startMainProcess } from "./lib/main-process.ts";
import { startPeerProcess } from "./lib/peers.ts";
import { environment, writeResults } from "./lib/report.ts";
import { withRoot } from "./lib/seed.ts";

const run = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    subscribers: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
    grace: { type: "string" },
    rotate: { type: "string" },
    pool: { type: "string" },
    workers: { type: "string" },
    profile: { type: "boolean", default: false },
    "max-seconds": { type: "string" },
  },
});
const settings = {
  subscribers: (args.subscribers ?? "1000,5000").split(",").map(Number),
  durationS: Number(args.duration ?? 30),
  warmupS: Number(args.warmup ?? 5),
  graceS: Number(args.grace ?? 5),
  rotate: Number(args.rotate ?? 1),
  pool: Number(args.pool ?? 10),
  workers: (args.workers ?? "1").split(",").map(Number),
  profile: args.profile!,
  maxSeconds: Number(args["max-seconds"] ?? 900),
  intervalMs: 1000,
};
for (const [k, v] of Object.entries(settings)) {
  if (typeof v === "number" && !(Number.isInteger(v) && v > 0)) throw new Error(`--${k}: expected a positive integer, got ${v}`);
}
if (settings.subscribers.some((n) => !(Number.isInteger(n) && n > 0))) throw new Error("--subscribers: expected e.g. 1000,5000");
if (settings.workers.some((n) => !(Number.isInteger(n) && n > 0 && n <= 64))) throw new Error("--workers: expected e.g. 1,2");
if (settings.profile && settings.workers.some((w) => w > 1)) throw new Error("--profile: one worker only (--workers 1)");

const t0 = Date.now();
const log = (msg: string) => console.error(`[bench:subscriptions] ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s ${msg}`);

let cleanup: () => Promise<void> = async () => {};
const watchdog = setTimeout(() => {
  log(`exceeded the ${settings.maxSeconds}s bound; stopping`);
  void cleanup().finally(() => process.exit(2));
}, settings.maxSeconds * 1000);
watchdog.unref();

const QUERY = "subscription Drafts { article(where: {is_published: {_eq: false}}) { id content } }";
/** Authors (= x-hasura-user-id) of the bench, above the demo seed's. */
const FIRST_USER = 100_001;
const PER_SOURCE_ADDRESS = 400;

/** pg_stat_statements needs to be preloaded: set it and restart the cluster with the options it was started with. */
async function enableStatStatements(db: BenchDatabase, dataDir: string): Promise<number> {
  await withRoot(db.rootUrl, (c) => c.query("alter system set shared_preload_libraries = 'pg_stat_statements'"));
  const pid = Number((await readFile(path.join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
  const bin = path.dirname(await readlink(`/proc/${pid}/exe`));
  const { stdout: uid } = await run("stat", ["-c", "%u", dataDir]);
  const { stdout: gid } = await run("stat", ["-c", "%g", dataDir]);
  const ids = process.getuid?.() === 0 ? { uid: Number(uid), gid: Number(gid) } : {};
  // Stopped, then started again with the command line it had (postmaster.opts), its output to the log file.
  const opts = [...(await readFile(path.join(dataDir, "postmaster.opts"), "utf8")).matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
  const pgOpts = opts.slice(opts.indexOf("-D") + 2).join(" ");
  const pgCtl = (argv: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(path.join(bin, "pg_ctl"), argv, { ...ids, stdio: "ignore", env: { ...process.env, LC_MESSAGES: "C" } });
      child.once("error", reject);
      child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`pg_ctl ${argv[0]} exited with ${code}`))));
    });
  await pgCtl(["stop", "-D", dataDir, "-w", "-m", "fast"]);
  await pgCtl(["start", "-D", dataDir, "-w", "-t", "30", "-l", path.join(path.dirname(dataDir), "postgres.log"), "-o", pgOpts]);
  await withRoot(db.rootUrl, async (c) => {
    await c.query("create extension if not exists pg_stat_statements");
    await c.query("alter system set pg_stat_statements.track = 'top'");
    await c.query("select pg_reload_conf()");
  });
  return Number((await readFile(path.join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
}

/** Resident memory of a process and its descendants (a supervisor and its workers), MB. */
function rssMB(rootPid: number): number {
  let total = 0;
  for (const pid of processTree(rootPid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) total += Number(m[1]) / 1024;
    } catch {
      if (pid === rootPid) return NaN;
    }
  }
  return total;
}

/** TCP data segments sent so far by `pid` (and its workers) on each of its connections to `port` (by local port; ss's tcp_info); null without ss. */
async function segmentsToPostgres(rootPid: number, port: number): Promise<Map<string, number> | null> {
  const pids = processTree(rootPid);
  try {
    const { stdout } = await run("ss", ["-tinpH", "state", "established", `( dport = :${port} )`]);
    const bySocket = new Map<string, number>();
    // Each socket: a line with its addresses and processes, then a line of tcp_info.
    const lines = stdout.split("\n");
    for (let i = 0; i < lines.length; i++) {
      if (!pids.some((pid) => lines[i]!.includes(`pid=${pid},`))) continue;
      const local = lines[i]!.trim().split(/\s+/)[2] ?? String(i);
      const info = lines[i]!.includes("data_segs_out") ? lines[i]! : (lines[i + 1] ?? "");
      const m = /data_segs_out:(\d+)/.exec(info);
      bySocket.set(local, m ? Number(m[1]) : 0);
      bySocket.set(`${local} bytes`, Number(/bytes_sent:(\d+)/.exec(info)?.[1] ?? 0));
    }
    return bySocket;
  } catch {
    return null;
  }
}

/**
 * Segments sent over a window, sampled every second: a pooled connection
 * closed during the window loses at most its last second, one opened counts
 * from its start.
 */
function segmentCounter(pid: number, port: number) {
  let last: Map<string, number> | null | undefined;
  let total = 0;
  let bytes = 0;
  const sample = async () => {
    const now = await segmentsToPostgres(pid, port);
    if (now && last) {
      for (const [k, v] of now) {
        if (k.endsWith(" bytes")) bytes += v - (last.get(k) ?? 0);
        else total += v - (last.get(k) ?? 0);
      }
    }
    if (last !== null) last = now;
  };
  let timer: NodeJS.Timeout | undefined;
  return {
    async start() {
      await sample();
      timer = setInterval(() => void sample(), 1000);
    },
    async stop(): Promise<{ segments: number; bytes: number }> {
      clearInterval(timer);
      await sample();
      return last === null ? { segments: NaN, bytes: NaN } : { segments: total, bytes };
    },
  };
}

interface Subscriber {
  ws: WebSocket;
  userId: number;
  /** Index into `writes` of the first write not yet seen. */
  next: number;
  firstAt?: number;
  closed: boolean;
  errors: number;
}

interface StatementRow {
  query: string;
  calls: number;
}

interface RunResult {
  subscribers: number;
  /** Server processes: 1 = bench/peers/server.ts; more = npm start's workers. */
  workers: number;
  connectedS: number;
  firstResultsS: number;
  writes: number;
  expectedDeliveries: number;
  delivered: number;
  undelivered: number;
  errors: number;
  errorSamples: string[];
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  statementsPerS: number;
  settingsStatementsPerS: number;
  statementsPerCohortTick: number;
  /** Mean size of those segments (loopback's MSS here: 32 KB; a larger write takes several segments). */
  bytesPerSegment: number;
  /** Median time of the writer's UPDATE of all N rows. */
  writeMsP50: number;
  /** TCP data segments the server sent to Postgres per second: an upper bound on its round trips (one corked write per batch). */
  roundTripsPerS: number;
  serverCpuCores: number;
  serverRssMB: number;
  serverRssEndMB: number;
  postgresCpuCores: number;
  loadgenCpuCores: number;
  topStatements: StatementRow[];
  profile?: Array<{ owner: string; percent: number }>;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN;

async function openSubscribers(
  url: string,
  tokens: string[],
  onResult: (s: Subscriber, data: any) => void,
  errorSamples: string[],
): Promise<Subscriber[]> {
  const subs: Subscriber[] = [];
  const open = (i: number) =>
    new Promise<void>((resolve) => {
      const ws = new WebSocket(url, "graphql-transport-ws", {
        localAddress: `127.0.0.${10 + Math.floor(i / PER_SOURCE_ADDRESS)}`,
        perMessageDeflate: false,
      });
      const s: Subscriber = { ws, userId: FIRST_USER + i, next: 0, closed: false, errors: 0 };
      subs.push(s);
      const fail = (why: string) => {
        s.errors++;
        if (errorSamples.length < 10) errorSamples.push(`user ${s.userId}: ${why}`);
      };
      ws.on("open", () => {
        ws.send(JSON.stringify({ type: "connection_init", payload: { headers: { Authorization: `Bearer ${tokens[i]}` } } }));
      });
      ws.on("message", (raw) => {
        const m = JSON.parse(String(raw));
        if (m.type === "next") {
          if (m.payload?.errors) fail(JSON.stringify(m.payload.errors).slice(0, 300));
          else onResult(s, m.payload?.data);
        } else if (m.type === "connection_ack") {
          ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: QUERY } }));
          resolve();
        } else if (m.type === "ping") ws.send(JSON.stringify({ type: "pong" }));
        else if (m.type === "error" || m.type === "complete") fail(JSON.stringify(m).slice(0, 300));
      });
      ws.on("error", (e) => {
        fail(`socket error ${e.message}`);
        resolve();
      });
      ws.on("close", (code, reason) => {
        if (!s.closed) fail(`closed ${code} ${String(reason)}`);
        s.closed = true;
        resolve();
      });
    });
  // A few hundred handshakes at a time.
  let i = 0;
  await Promise.all(
    Array.from({ length: 200 }, async () => {
      while (i < tokens.length) await open(i++);
    }),
  );
  return subs;
}

async function measure(
  db: BenchDatabase,
  postmasterPid: number,
  pgPort: number,
  serverEnv: Record<string, string>,
  n: number,
  workers: number,
): Promise<RunResult> {
  const profDir = settings.profile ? await mkdtemp(path.join(tmpdir(), "bench-subscriptions-prof-")) : undefined;
  const server: { url: string; pid: number; stop(): Promise<void> } =
    workers === 1
      ? await startPeerProcess(`server N=${n}`, "server.ts", {
          ...serverEnv,
          ...(profDir ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --cpu-prof --cpu-prof-dir=${profDir}`.trim() } : {}),
        })
      : await startMainProcess(`npm start N=${n} workers=${workers}`, { ...serverEnv, HASURA_GRAPHQL_SERVER_WORKERS: String(workers) });
  const writer = new pg.Client({ connectionString: db.rootUrl, application_name: "bench-writer" });
  await writer.connect();
  const subs: Subscriber[] = [];
  try {
    log(`N=${n}: server pid ${server.pid} (${workers} worker${workers > 1 ? "s" : ""}) at ${server.url}; minting ${n} tokens`);
    const tokens = await Promise.all(
      Array.from({ length: n }, (_, i) => mintToken(serverEnv, { role: "user", userId: String(FIRST_USER + i) })),
    );
    /** Each write: its timestamp and its slot (it touched the subscribers i with i % rotate === slot % rotate). */
    const writes: Array<{ ts: number; slot: number }> = [];
    const writeMs: number[] = [];
    let window = { start: Infinity, end: Infinity };
    const latencies: number[] = [];
    let delivered = 0;
    const errorSamples: string[] = [];
    const onResult = (s: Subscriber, data: any) => {
      const now = Date.now();
      s.firstAt ??= now;
      const rows = data?.article;
      if (!Array.isArray(rows) || rows.length !== 1 || Number(rows[0].id) <= 4) {
        s.errors++;
        if (errorSamples.length < 10) errorSamples.push(`user ${s.userId}: unexpected rows ${JSON.stringify(rows).slice(0, 200)}`);
        return;
      }
      const ts = Number(rows[0].content);
      while (s.next < writes.length && writes[s.next]!.ts <= ts) {
        const w = writes[s.next++]!;
        if (w.slot % settings.rotate !== (s.userId - FIRST_USER) % settings.rotate) continue;
        if (w.ts >= window.start && w.ts < window.end) {
          latencies.push(now - w.ts);
          delivered++;
        }
      }
    };
    const connectStart = Date.now();
    const wsUrl = `${server.url.replace(/^http/, "ws")}/v1/graphql`;
    subs.push(...(await openSubscribers(wsUrl, tokens, onResult, errorSamples)));
    const connectedS = (Date.now() - connectStart) / 1000;
    log(`N=${n}: ${subs.filter((s) => !s.closed).length} sockets acknowledged in ${connectedS.toFixed(1)}s; waiting for first results`);
    const firstDeadline = Date.now() + 120_000;
    while (subs.some((s) => s.firstAt === undefined && !s.closed) && Date.now() < firstDeadline) await sleep(200);
    const firstResultsS = (Date.now() - connectStart) / 1000;
    const noFirst = subs.filter((s) => s.firstAt === undefined).length;
    log(`N=${n}: first results in ${firstResultsS.toFixed(1)}s (${noFirst} without)`);

    // Writer: one UPDATE of all N drafts per one-second slot, at a uniformly
    // random moment of the slot (a writer on a fixed schedule would be
    // phase-locked with the poller's timer: every latency the same).
    const first = FIRST_USER;
    const last = FIRST_USER + n - 1;
    let writing = true;
    const writerLoop = (async () => {
      let due = Date.now();
      for (let slot = 0; writing; slot++) {
        await sleep(Math.random() * settings.intervalMs);
        const ts = Date.now();
        writes.push({ ts, slot });
        const started = performance.now();
        await writer.query(
          `update public.article set content = $1
            where author_id between $2 and $3 and not is_published and (author_id - $2) % $4 = $5`,
          [String(ts), first, last, settings.rotate, slot % settings.rotate],
        );
        if (ts >= window.start && ts < window.end) writeMs.push(performance.now() - started);
        due += settings.intervalMs;
        await sleep(Math.max(0, due - Date.now()));
        if (Date.now() > due + settings.intervalMs) due = Date.now(); // an UPDATE that took a whole slot: no catch-up burst
      }
    })();
    await sleep(settings.warmupS * 1000);

    await writer.query("select pg_stat_statements_reset()");
    const superuserOid = Number((await writer.query("select oid from pg_roles where rolname = current_user")).rows[0].oid);
    window = { start: Date.now(), end: Infinity };
    const cpu0 = { server: processTreeCpuS(server.pid), pg: clusterCpuS(postmasterPid), self: process.cpuUsage() };
    const segments = segmentCounter(server.pid, pgPort);
    await segments.start();
    let rssMax = 0;
    const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, rssMB(server.pid) || 0)), 1000);
    await sleep(settings.durationS * 1000);
    const wallS = (Date.now() - window.start) / 1000;
    window.end = Date.now();
    const segs = await segments.stop();
    const cpu1 = { server: processTreeCpuS(server.pid), pg: clusterCpuS(postmasterPid), self: process.cpuUsage(cpu0.self) };
    const stmts = await writer.query<{ query: string; calls: string }>(
      `select query, calls from pg_stat_statements
        where dbid = (select oid from pg_database where datname = current_database()) and userid <> $1
        order by calls desc`,
      [superuserOid],
    );
    clearInterval(rssTimer);
    const windowEndedAt = Date.now();
    writing = false;
    await writerLoop;
    await sleep(settings.graceS * 1000);
    const rssEnd = rssMB(server.pid);
    rssMax = Math.max(rssMax, rssEnd || 0);

    const windowWrites = writes.filter((w) => w.ts >= window.start && w.ts < window.end);
    const inWindow = windowWrites.length;
    // Subscribers i < n with i % rotate === slot % rotate.
    const touched = (slot: number) => Math.ceil((n - (slot % settings.rotate)) / settings.rotate);
    const expected = windowWrites.reduce((a, w) => a + touched(w.slot), 0);
    const undelivered = expected - delivered;
    const sorted = [...latencies, ...Array.from({ length: Math.max(0, undelivered) }, () => Infinity)].sort((a, b) => a - b);
    const calls = stmts.rows.map((r) => ({ query: r.query.replace(/\s+/g, " ").slice(0, 160), calls: Number(r.calls) }));
    const totalCalls = calls.reduce((a, r) => a + r.calls, 0);
    const settingsCalls = calls.filter((r) => /set_config/.test(r.query)).reduce((a, r) => a + r.calls, 0);
    const errors = subs.reduce((a, s) => a + s.errors, 0) + noFirst;
    const result: RunResult = {
      subscribers: n,
      workers,
      connectedS: +connectedS.toFixed(2),
      firstResultsS: +firstResultsS.toFixed(2),
      writes: inWindow,
      expectedDeliveries: expected,
      delivered,
      undelivered,
      errors,
      errorSamples,
      latencyMs: {
        p50: percentile(sorted, 50),
        p90: percentile(sorted, 90),
        p99: percentile(sorted, 99),
        max: sorted[sorted.length - 1] ?? NaN,
      },
      statementsPerS: +(totalCalls / wallS).toFixed(1),
      settingsStatementsPerS: +(settingsCalls / wallS).toFixed(1),
      statementsPerCohortTick: +((totalCalls - settingsCalls) / (n * (wallS / (settings.intervalMs / 1000)))).toFixed(2),
      writeMsP50: +percentile(
        [...writeMs].sort((a, b) => a - b),
        50,
      ).toFixed(1),
      roundTripsPerS: +(segs.segments / wallS).toFixed(1),
      bytesPerSegment: +(segs.bytes / segs.segments).toFixed(0),
      serverCpuCores: +((cpu1.server - cpu0.server) / wallS).toFixed(3),
      serverRssMB: +rssMax.toFixed(0),
      serverRssEndMB: +rssEnd.toFixed(0),
      postgresCpuCores: +((cpu1.pg - cpu0.pg) / wallS).toFixed(3),
      loadgenCpuCores: +((cpu1.self.user + cpu1.self.system) / 1e6 / wallS).toFixed(3),
      topStatements: calls.slice(0, 6),
    };
    log(`N=${n}: ${JSON.stringify({ ...result, topStatements: undefined, errorSamples: undefined })}`);
    if (errorSamples.length) log(`N=${n}: errors, e.g. ${errorSamples.slice(0, 3).join(" | ")}`);
    for (const s of subs) {
      s.closed = true;
      s.ws.terminate();
    }
    await server.stop();
    if (profDir) {
      result.profile = await summarizeProfile(profDir, (Date.now() - window.start) / 1000, (Date.now() - windowEndedAt) / 1000);
      await rm(profDir, { recursive: true, force: true });
    }
    return result;
  } finally {
    for (const s of subs) {
      s.closed = true;
      s.ws.terminate();
    }
    await server.stop();
    await writer.end().catch(() => {});
  }
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The server's self time by package over the measured window (the window ended `afterS` before the profile did). */
async function summarizeProfile(dir: string, sinceStartS: number, afterS: number): Promise<Array<{ owner: string; percent: number }>> {
  const file = (await readdir(dir)).find((f) => f.endsWith(".cpuprofile"));
  if (!file) return [];
  const profile = JSON.parse(await readFile(path.join(dir, file), "utf8")) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const from = profile.endTime - sinceStartS * 1e6;
  const to = profile.endTime - afterS * 1e6;
  const by = new Map<string, number>();
  let total = 0;
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i]!;
    if (t < from || t > to) return;
    const { url, functionName } = nodes.get(id)!;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    const owner = pkg ? pkg[1]! : url.includes("/server/") ? url.replace(/^.*?\/(server\/)/, "$1") : url || functionName || "(anonymous)";
    by.set(owner, (by.get(owner) ?? 0) + profile.timeDeltas[i]!);
    total += profile.timeDeltas[i]!;
  });
  return [...by.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([owner, us]) => ({ owner, percent: +((100 * us) / total).toFixed(1) }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const fmt = (v: number, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : "∞");

let exitCode = 0;
const bench = await startBenchCluster([{ database: "blog", dir: "examples/blog" }]);
cleanup = async () => {
  await bench.stop();
};
try {
  const db = bench.databases.blog!;
  const postmasterPid = await enableStatStatements(db, bench.cluster.dataDir);
  const maxN = Math.max(...settings.subscribers);
  await withRoot(db.rootUrl, async (c) => {
    await c.query(
      `insert into public.author (id, name) overriding system value select i, 'bench ' || i from generate_series($1::int, $2::int) i`,
      [FIRST_USER, FIRST_USER + maxN - 1],
    );
    await c.query(
      `insert into public.article (title, content, author_id, is_published) select 'draft ' || i, '0', i, false from generate_series($1::int, $2::int) i`,
      [FIRST_USER, FIRST_USER + maxN - 1],
    );
    await c.query("analyze public.author, public.article");
  });
  log(`cluster up, pg_stat_statements on, ${maxN} authors with a draft each (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  const serverEnv: Record<string, string> = {
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    HASURA_GRAPHQL_ADMIN_SECRET: randomBytes(24).toString("base64url"),
    HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ type: "HS256", key: randomBytes(32).toString("base64url") }),
    PROJECT_DIR: db.projectDir,
    DATABASE_URL: db.runtimeUrl,
    HASURA_GRAPHQL_PG_CONNECTIONS: String(settings.pool),
    HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL: String(settings.intervalMs),
  };
  const results: RunResult[] = [];
  for (const w of settings.workers) {
    for (const n of settings.subscribers) {
      try {
        results.push(await measure(db, postmasterPid, bench.cluster.port, serverEnv, n, w));
      } catch (e) {
        log(`N=${n} workers=${w} failed: ${(e as Error).stack ?? e}`);
        exitCode = 1;
      }
    }
  }
  const name =
    (settings.rotate === 1 ? "subscriptions" : `subscriptions-rotate${settings.rotate}`) +
    (settings.workers.join() === "1" ? "" : `-workers${settings.workers.join("-")}`);
  const file = await writeResults(name, {
    benchmark: "subscriptions",
    date: new Date().toISOString(),
    environment: environment(),
    settings,
    query: QUERY,
    writer:
      settings.rotate === 1
        ? "one UPDATE per second setting every subscriber's draft's content to the time (ms): all N rows change every second"
        : `one UPDATE per second setting every ${settings.rotate}th subscriber's draft's content to the time (ms), rotating`,
    results,
    elapsedS: (Date.now() - t0) / 1000,
  });

  console.log(
    `\nloopback, blog example, role user, one cohort per subscriber (RLS reads x-hasura-user-id); ${settings.rotate === 1 ? "every subscriber's row written every second" : `every ${settings.rotate}th subscriber's row written every second, rotating`}; ${settings.durationS}s measured after ${settings.warmupS}s; refetch interval ${settings.intervalMs} ms, pool ${settings.pool}`,
  );
  const header = [
    "workers",
    "N",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "delivered",
    "undeliv.",
    "errors",
    "stmts/s",
    "set_config/s",
    "selects/cohort/s",
    "segs to pg/s",
    "B/seg",
    "UPDATE ms",
    "server cpu",
    "server RSS MB",
    "pg cpu",
    "loadgen cpu",
    "subscribed s",
  ];
  const rows = results.map((r) => [
    r.workers,
    r.subscribers,
    fmt(r.latencyMs.p50),
    fmt(r.latencyMs.p90),
    fmt(r.latencyMs.p99),
    fmt(r.latencyMs.max),
    r.delivered,
    r.undelivered,
    r.errors,
    fmt(r.statementsPerS),
    fmt(r.settingsStatementsPerS),
    fmt(r.statementsPerCohortTick, 2),
    fmt(r.roundTripsPerS),
    fmt(r.bytesPerSegment),
    fmt(r.writeMsP50),
    fmt(r.serverCpuCores, 2),
    fmt(r.serverRssMB),
    fmt(r.postgresCpuCores, 2),
    fmt(r.loadgenCpuCores, 2),
    fmt(r.firstResultsS, 1),
  ]);
  console.log(`| ${header.join(" | ")} |\n|${header.map(() => "---").join("|")}|`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  for (const r of results) {
    console.log(`\nN=${r.subscribers}, ${r.workers} worker(s): statements by calls in the window:`);
    for (const s of r.topStatements) console.log(`  ${String(s.calls).padStart(8)}  ${s.query}`);
    if (r.profile?.length) {
      console.log(`N=${r.subscribers} server self time by package over the window:`);
      for (const p of r.profile) console.log(`  ${p.percent.toFixed(1).padStart(5)}%  ${p.owner}`);
    }
  }
  const targets = (r: RunResult) =>
    r.subscribers <= 1000
      ? [
          `p99 ≤ 1500 ms: ${r.latencyMs.p99 <= 1500 ? "met" : "MISSED"}`,
          `0 errors: ${r.errors === 0 && r.undelivered === 0 ? "met" : "MISSED"}`,
        ]
      : [
          `p99 ≤ 2000 ms: ${r.latencyMs.p99 <= 2000 ? "met" : "MISSED"}`,
          `≤ 50 round trips/s: ${r.roundTripsPerS <= 50 ? "met" : Number.isNaN(r.roundTripsPerS) ? "not measured (no ss)" : "MISSED"}`,
          `RSS ≤ 1024 MB: ${r.serverRssMB <= 1024 ? "met" : "MISSED"}`,
        ];
  console.log("");
  for (const r of results)
    console.log(`targets N=${r.subscribers}${r.workers > 1 ? ` (${r.workers} workers)` : ""}: ${targets(r).join("; ")}`);
  console.log(`results: ${file} (${((Date.now() - t0) / 1000).toFixed(0)}s)`);
  const largest = results
    .filter((r) => r.workers === 1)
    .reduce<RunResult | undefined>((a, r) => (!a || r.subscribers > a.subscribers ? r : a), undefined);
  if (largest) console.log(`ratio statements/subscribers ${(largest.statementsPerS / largest.subscribers).toFixed(3)}`);
  for (const r of results)
    console.log(`p99-subscription-ms${r.workers > 1 ? `-w${r.workers}` : ""} ${r.subscribers} ${fmt(r.latencyMs.p99)}`);
} catch (e) {
  log(`failed: ${(e as Error).stack ?? e}`);
  exitCode = 1;
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
process.exit(exitCode);
