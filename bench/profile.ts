/**
 * `npm run bench:profile [-- --workload W1 --duration 8]`: where P's time
 * goes per request, next to C's (bare PostGraphile, no security), from V8
 * CPU profiles of both servers under the same load.
 *
 * Runs bench/run.ts for P and C on one workload with NODE_OPTIONS=--cpu-prof
 * (every Node process of the run writes a profile), then reads the profiles
 * of P's process (the bench's own: P runs in it) and of C's, keeps the
 * longest stretch where each was saturated (100 ms bins under 15 % idle and
 * under 10 % in graphile-build or pg-introspection: the measured run, not
 * start-up or schema builds), and prints, per package (or
 * file of this repository), the microseconds per request (the stretch's
 * samples ÷ the run's req/s × its length), P and C side by side, largest
 * difference first.
 *
 * Read it knowing what a sampling profiler counts: wall time of the main
 * thread. On a 2-core machine a syscall such as writev also carries the time
 * the thread was descheduled while Postgres and the load generator ran; the
 * cores each process used (from /proc, the bench's own lines, printed
 * first) are the ground truth for how much CPU a request costs.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    workload: { type: "string", default: "W1" },
    duration: { type: "string", default: "8" },
    top: { type: "string", default: "25" },
  },
});
if (!/^W[1-4]$/.test(args.workload!)) throw new Error("--workload: one of W1, W2, W3, W4");

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The package (node_modules/<pkg>), repository file, node: module, or V8 pseudo-frame of a frame. */
function ownerOf(url: string, functionName: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const repo = url.indexOf("/bench/") >= 0 || url.indexOf("/server/") >= 0 ? url.replace(/^.*?\/((?:bench|server)\/)/, "$1") : undefined;
  if (repo) return repo;
  return url || functionName || "(anonymous)";
}

/** Self time per owner (µs) over the longest saturated stretch, and its length (s). */
function saturatedSelfTime(profile: CpuProfile): { byOwner: Map<string, number>; seconds: number } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const bins = new Map<number, Array<[number, number]>>();
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i]!;
    const bin = Math.floor(t / 100_000);
    if (!bins.has(bin)) bins.set(bin, []);
    bins.get(bin)!.push([id, profile.timeDeltas[i]!]);
  });
  // A schema build (start-up, or a role's first request) also saturates the thread: not the measured run.
  const building = (id: number) => /node_modules\/(graphile-build|graphile-build-pg|pg-introspection)\//.test(nodes.get(id)!.callFrame.url);
  const saturated = (bin: number) => {
    const s = bins.get(bin);
    if (!s) return false;
    const total = s.reduce((a, [, d]) => a + d, 0);
    const idle = s.reduce((a, [id, d]) => a + (nodes.get(id)!.callFrame.functionName === "(idle)" ? d : 0), 0);
    const build = s.reduce((a, [id, d]) => a + (building(id) ? d : 0), 0);
    return total > 0 && idle / total < 0.15 && build / total < 0.1;
  };
  let best: number[] = [];
  let run: number[] = [];
  for (const bin of [...bins.keys()].sort((a, b) => a - b)) {
    run = saturated(bin) ? [...run, bin] : [];
    if (run.length > best.length) best = run;
  }
  const byOwner = new Map<string, number>();
  let micros = 0;
  for (const bin of best) {
    for (const [id, d] of bins.get(bin)!) {
      const { url, functionName } = nodes.get(id)!.callFrame;
      const owner = ownerOf(url, functionName);
      byOwner.set(owner, (byOwner.get(owner) ?? 0) + d);
      micros += d;
    }
  }
  return { byOwner, seconds: micros / 1e6 };
}

const dir = await mkdtemp(path.join(tmpdir(), "hasura-auth-pg-profile-"));
try {
  const runTs = fileURLToPath(new URL("./run.ts", import.meta.url));
  const benchArgs = [
    "--quick",
    "--peers",
    "P,C",
    "--workloads",
    args.workload!,
    "--no-schemas",
    "--rounds",
    "1",
    "--duration",
    args.duration!,
  ];
  console.error(`[profile] node ${path.relative(process.cwd(), runTs)} ${benchArgs.join(" ")} (every process profiled)`);
  const log = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [runTs, ...benchArgs], {
      env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --cpu-prof --cpu-prof-dir=${dir}`.trim() },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`bench/run.ts exited with ${code}:\n${out.slice(-3000)}`))));
  });
  const pids = /P http\S+ \(pid (\d+)\).*C http\S+ \(pid (\d+)\)/.exec(log);
  const rps = (peer: string) => Number(new RegExp(`^${args.workload}\\s+\\d+\\s+${peer}\\s+(\\d+)`, "m").exec(log)?.[1]);
  const cpu = (peer: string) => new RegExp(`round 1/1 ${args.workload} c=\\d+ ${peer}: .*`, "m").exec(log)?.[0] ?? "";
  if (!pids || !rps("P") || !rps("C")) throw new Error(`could not read the pids and req/s from bench/run.ts:\n${log.slice(-3000)}`);
  const files = await readdir(dir);
  const profileOf = async (pid: string) => {
    const f = files.find((n) => n.includes(`.${pid}.`));
    if (!f) throw new Error(`no profile for pid ${pid}`);
    return JSON.parse(await readFile(path.join(dir, f), "utf8")) as CpuProfile;
  };
  const p = saturatedSelfTime(await profileOf(pids[1]!));
  const c = saturatedSelfTime(await profileOf(pids[2]!));
  const perRequest = (m: Map<string, number>, seconds: number, r: number) => (k: string) => (m.get(k) ?? 0) / (r * seconds);
  const pOf = perRequest(p.byOwner, p.seconds, rps("P"));
  const cOf = perRequest(c.byOwner, c.seconds, rps("C"));
  const owners = [...new Set([...p.byOwner.keys(), ...c.byOwner.keys()])].sort((a, b) => pOf(b) - cOf(b) - (pOf(a) - cOf(a)));
  const total = (f: (k: string) => number) => owners.reduce((a, k) => a + (k === "(idle)" ? 0 : f(k)), 0);
  console.log(`${cpu("P")}\n${cpu("C")}`);
  console.log(
    `\n${args.workload}: P ${rps("P")} req/s (profiled ${p.seconds.toFixed(1)} s saturated), C ${rps("C")} req/s (${c.seconds.toFixed(1)} s)`,
  );
  console.log(
    `busy main-thread µs per request (sampled wall time, idle excluded): P ${total(pOf).toFixed(0)}, C ${total(cOf).toFixed(0)}\n`,
  );
  console.log(`${"P µs".padStart(8)} ${"C µs".padStart(8)} ${"P−C".padStart(8)}  owner (package, file, or V8 frame)`);
  const row = (k: string) =>
    console.log(`${pOf(k).toFixed(1).padStart(8)} ${cOf(k).toFixed(1).padStart(8)} ${(pOf(k) - cOf(k)).toFixed(1).padStart(8)}  ${k}`);
  const top = Number(args.top);
  owners
    .filter((k) => k !== "(idle)")
    .slice(0, top)
    .forEach(row);
  console.log("…");
  owners
    .filter((k) => k !== "(idle)")
    .slice(-5)
    .forEach(row);
} finally {
  await rm(dir, { recursive: true, force: true });
}
