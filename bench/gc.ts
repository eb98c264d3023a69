/**
 * `npm run bench:gc [-- --variants default,16,32,64 --rounds 2 --duration 10]`:
 * what one W1 request costs the server in CPU time, allocation and garbage
 * collection, per V8 flag set, measured in CPU time rather than wall clock
 * (on a shared 2-core machine the wall clock moves with whatever else runs).
 *
 * A throwaway PostgreSQL (school model, scale 1 unless --scale), then per
 * round and variant (variants alternate within a round) the server in its own
 * process (bench/peers/server.ts, as `npm start` builds it) with
 * `--trace-gc-nvp` and the variant's `--max-semi-space-size` (MB; `default`:
 * V8's own), warmed up, then loaded with W1 (bench/run.ts's workload 1: a
 * user's latest 10 results, JWT, RLS) at --connections for --duration. From
 * the GC trace lines in the measured window and /proc: scavenges and
 * mark-compacts per 10k requests, GC pause ms per 10k, bytes allocated and
 * promoted per request (V8's `allocated=`/`promoted=` counters), and the
 * server's CPU µs per request (/proc: user + system of its process).
 *
 * A variant is `<MB>[+sqlcache][+prof][+heap]`: `+sqlcache` sets
 * HASURA_GRAPHQL_EXPERIMENTAL_SQL_CACHE=true, `+prof` prints inclusive
 * sampled µs per request of the SQL-building, hashing and abort functions
 * (`--cpu-prof`, the measured window only), `+heap` the allocation sites
 * still holding memory at exit (`--heap-prof`). --server-env K=V,… for all.
 * `--no-trace` measures CPU without the trace's own cost.
 */
import "../server/env.ts";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { mintToken } from "../server/cli/token.ts";
import { startBenchCluster } from "./lib/cluster.ts";
import { processCpuS } from "./lib/cpu.ts";
import { runLoad } from "./lib/load.ts";
import { rootQuery, seedSchoolAt } from "./lib/seed.ts";

const { values: args } = parseArgs({
  options: {
    variants: { type: "string", default: "default,16,32,64" },
    rounds: { type: "string", default: "2" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "5" },
    connections: { type: "string", default: "8" },
    scale: { type: "string", default: "1" },
    "server-env": { type: "string", default: "" },
    /** CPU per request without the trace's own cost (GC columns then read 0). */
    "no-trace": { type: "boolean", default: false },
  },
});
const variants = args.variants!.split(",");
const rounds = Number(args.rounds);
const durationS = Number(args.duration);
const warmupS = Number(args.warmup);
const connections = Number(args.connections);
const serverEnv = Object.fromEntries(
  args["server-env"]!.split(",")
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
);

interface Gc {
  kind: string;
  pauseMs: number;
  allocated: number;
  promoted: number;
}
/** One `--trace-gc-nvp` line: gc=s (scavenge), ms (minor mark-sweep), mc (mark-compact), … */
function parseNvp(line: string): Gc | undefined {
  const kind = / gc=(\S+)/.exec(line)?.[1];
  if (!kind) return undefined;
  const num = (k: string) => Number(new RegExp(` ${k}=([\\d.]+)`).exec(line)?.[1] ?? 0);
  return { kind, pauseMs: num("pause"), allocated: num("allocated"), promoted: num("promoted") };
}

interface Server {
  url: string;
  pid: number;
  gcs: Gc[];
  stop(): Promise<void>;
}
function startServer(flags: string[], env: Record<string, string>): Promise<Server> {
  const file = fileURLToPath(new URL("./peers/server.ts", import.meta.url));
  const child = spawn(process.execPath, [...flags, ...(args["no-trace"] ? [] : ["--trace-gc-nvp"]), file], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const gcs: Gc[] = [];
  let err = "";
  child.stderr.on("data", (d) => (err = (err + d).slice(-4000)));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(killer);
  };
  return new Promise((resolve, reject) => {
    let buf = "";
    let announced = false;
    child.stdout.on("data", (d) => {
      buf += d;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const gc = parseNvp(line);
        if (gc) gcs.push(gc);
        else if (!announced && line.startsWith("{")) {
          announced = true;
          const { url, pid } = JSON.parse(line) as { url: string; pid: number };
          resolve({ url, pid, gcs, stop });
        }
      }
    });
    child.once("exit", (code, signal) => {
      if (!announced) reject(new Error(`server exited with ${signal ?? code}: ${err.trim()}`));
    });
  });
}

const bench = await startBenchCluster([{ database: "app", dir: "." }]);
try {
  const db = bench.databases.app!;
  await seedSchoolAt(db.rootUrl, Number(args.scale));
  const [user] = await rootQuery<{ id: number }>(
    db.rootUrl,
    `select "userId" as id from public.result where path like '/seed/%' group by 1 having count(*) >= 10 order by 1 limit 1`,
  );
  if (!user) throw new Error("no user with 10 results");
  const env: Record<string, string> = {
    NODE_ENV: "production",
    LOG_LEVEL: "error",
    HASURA_GRAPHQL_ADMIN_SECRET: randomBytes(24).toString("base64url"),
    HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ type: "HS256", key: randomBytes(32).toString("base64url") }),
    HASURA_GRAPHQL_UNAUTHORIZED_ROLE: "anonymous",
    PROJECT_DIR: db.projectDir,
    DATABASE_URL: db.runtimeUrl,
    ...serverEnv,
  };
  const token = await mintToken(env, { role: "user", userId: String(user.id), expiresIn: "12h" });
  const body = JSON.stringify({
    query: `query W1($uid: Int!) { allResults(condition: {userId: $uid}, orderBy: ID_DESC, first: 10) { nodes { id grade createdAt path objectByObjectId { name } } } }`,
    variables: { uid: user.id },
  });
  const results = new Map<string, Array<Record<string, number>>>();
  let expected: string | undefined;
  for (let round = 0; round < rounds; round++) {
    // Alternate the order each round so no variant always runs first.
    const order = round % 2 ? [...variants].reverse() : variants;
    for (const variant of order) {
      const [semi, ...extras] = variant.split("+");
      const flags = semi === "default" ? [] : [`--max-semi-space-size=${semi}`];
      const profDir = extras.includes("prof") ? await mkdtemp(path.join(tmpdir(), "hasura-auth-pg-gc-prof-")) : undefined;
      if (profDir) flags.push("--cpu-prof", `--cpu-prof-dir=${profDir}`);
      // What is still allocated when the server stops, by allocation site: what survives requests.
      const heapDir = extras.includes("heap") ? await mkdtemp(path.join(tmpdir(), "hasura-auth-pg-gc-heap-")) : undefined;
      if (heapDir) flags.push("--heap-prof", `--heap-prof-dir=${heapDir}`);
      const venv = { ...env, ...(extras.includes("sqlcache") ? { HASURA_GRAPHQL_EXPERIMENTAL_SQL_CACHE: "true" } : {}) };
      const server = await startServer(flags, venv);
      try {
        const load = (s: number) =>
          runLoad({
            url: `${server.url}/graphql`,
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
            body,
            connections,
            durationS: s,
            expectBody: expected,
          });
        const first = await fetch(`${server.url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body,
        });
        const text = await first.text();
        if (!text.includes('"allResults"') || text.includes('"errors"')) throw new Error(`W1 answered ${text.slice(0, 300)}`);
        // Every variant must answer byte for byte the same.
        expected ??= text;
        if (text !== expected) throw new Error(`${variant} answered differently:\n${text}\n---\n${expected}`);
        // The server builds every role's schema in the background after it listens: wait for it to go idle.
        for (let i = 0, last = processCpuS(server.pid); i < 120; i++) {
          await new Promise((r) => setTimeout(r, 500));
          const now = processCpuS(server.pid);
          if (now - last < 0.02) break;
          last = now;
        }
        await load(warmupS);
        const gcFrom = server.gcs.length;
        const cpu0 = processCpuS(server.pid);
        const t0 = process.hrtime.bigint() / 1000n;
        const r = await load(durationS);
        const window = [Number(t0), Number(process.hrtime.bigint() / 1000n)] as const;
        const cpuS = processCpuS(server.pid) - cpu0;
        const gcs = server.gcs.slice(gcFrom);
        const per10k = (n: number) => (n * 10_000) / r.requests;
        const row = {
          requests: r.requests,
          rps: r.rps,
          errors: r.errors,
          cpuUsPerReq: (cpuS * 1e6) / r.requests,
          scavengesPer10k: per10k(gcs.filter((g) => g.kind === "s").length),
          markCompactsPer10k: per10k(gcs.filter((g) => g.kind === "mc" || g.kind === "mmc").length),
          gcPauseMsPer10k: per10k(gcs.reduce((a, g) => a + g.pauseMs, 0)),
          allocatedKBPerReq: gcs.reduce((a, g) => a + g.allocated, 0) / 1024 / r.requests,
          promotedKBPerReq: gcs.reduce((a, g) => a + g.promoted, 0) / 1024 / r.requests,
          maxPauseMs: Math.max(0, ...gcs.map((g) => g.pauseMs)),
        };
        if (!results.has(variant)) results.set(variant, []);
        results.get(variant)!.push(row);
        console.error(
          `[gc] round ${round + 1} ${variant}: ${Object.entries(row)
            .map(([k, v]) => `${k} ${+v.toFixed(2)}`)
            .join(", ")}`,
        );
        if (profDir) {
          await server.stop();
          const file = (await readdir(profDir)).find((f) => f.endsWith(".cpuprofile"));
          if (file) printInclusive(JSON.parse(await readFile(path.join(profDir, file), "utf8")), window, r.requests, variant);
          await rm(profDir, { recursive: true, force: true });
        }
        if (heapDir) {
          await server.stop();
          const file = (await readdir(heapDir)).find((f) => f.endsWith(".heapprofile"));
          if (file) printRetained(JSON.parse(await readFile(path.join(heapDir, file), "utf8")), variant);
          await rm(heapDir, { recursive: true, force: true });
        }
      } finally {
        await server.stop();
      }
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  console.log(`W1, ${connections} connections, ${rounds} rounds × ${durationS} s per variant; medians over rounds`);
  const keys = Object.keys([...results.values()][0]![0]!);
  console.log(["variant".padEnd(14), ...keys.map((k) => k.padStart(18))].join(" "));
  for (const [variant, rows] of results) {
    console.log(
      [
        variant.padEnd(14),
        ...keys.map((k) =>
          median(rows.map((r) => r[k]!))
            .toFixed(2)
            .padStart(18),
        ),
      ].join(" "),
    );
  }
} finally {
  await bench.stop();
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}
/**
 * Inclusive sampled time per function (µs per request) inside the measured
 * window, for the functions this work is about (SQL building and hashing in
 * @dataplan/pg and pg-sql2, grafast's abort) and the largest others.
 */
function printInclusive(profile: CpuProfile, [from, to]: readonly [number, number], requests: number, variant: string): void {
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (id: number) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const file = url.replace(/^.*node_modules\//, "").replace(/^.*\/(server|bench)\//, "$1/");
    return `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`;
  };
  const inclusive = new Map<string, number>();
  let t = profile.startTime;
  let busy = 0;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i]!;
    if (t < from || t > to) return;
    const d = profile.timeDeltas[i]!;
    if (byId.get(id)!.callFrame.functionName !== "(idle)") busy += d;
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) seen.add(label(n));
    for (const l of seen) inclusive.set(l, (inclusive.get(l) ?? 0) + d);
  });
  const per = (us: number) => (us / requests).toFixed(1).padStart(8);
  console.log(`\n${variant}: sampled busy µs per request ${per(busy)}; inclusive µs per request:`);
  const interesting =
    /buildTheQuery|makeValues|compile |hash |createHash|abort |DOMException|execute .*pgSelect|executeWithCache|withPgClient|runtimeScopedSQL|(garbage collector)/;
  const rows = [...inclusive].sort((a, b) => b[1] - a[1]);
  for (const [l, us] of rows.filter(([l]) => interesting.test(l)).slice(0, 30)) console.log(`${per(us)}  ${l}`);
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}
/** The allocation sites (with their callers) holding the most live memory at exit (--heap-prof). */
function printRetained(profile: { head: HeapNode }, variant: string): void {
  const rows: Array<[string, number]> = [];
  const walk = (n: HeapNode, stack: string[]) => {
    const { functionName, url, lineNumber } = n.callFrame;
    const here = `${functionName || "(anonymous)"} ${url.replace(/^.*node_modules\//, "").replace(/^.*\/(server|bench)\//, "$1/")}:${lineNumber + 1}`;
    const s = [...stack, here];
    if (n.selfSize) rows.push([s.slice(-4).reverse().join(" <- "), n.selfSize]);
    for (const c of n.children) walk(c, s);
  };
  walk(profile.head, []);
  rows.sort((a, b) => b[1] - a[1]);
  console.log(`\n${variant}: live at exit by allocation site (KB):`);
  for (const [site, bytes] of rows.slice(0, 25)) console.log(`${(bytes / 1024).toFixed(0).padStart(8)}  ${site}`);
}
