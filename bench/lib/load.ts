/**
 * runLoad: one fixed-duration, fixed-concurrency load run against one URL
 * (or several, connections spread round-robin), in a separate Node process (bench/lib/load-worker.ts: autocannon, or the
 * built-in generator when autocannon is not installed or a rate is fixed).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface LoadSpec {
  url: string;
  /** Several instances behind no load balancer: connection i goes to urls[i % n] (url is then the first). */
  urls?: string[];
  method: "POST" | "GET";
  headers: Record<string, string>;
  body?: string;
  connections: number;
  durationS: number;
  /** A response whose body differs from this is counted as an error (GraphQL errors come with HTTP 200). */
  expectBody?: string;
  timeoutS?: number;
  /** Open loop: this many requests per second over all connections, evenly paced (built-in generator); unset = closed loop. */
  overallRate?: number;
}

export interface LoadResult {
  generator: "autocannon" | "builtin" | "pgbench";
  /** Responses completed within the window. */
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors + timeouts + non-2xx + body mismatches. */
  errors: number;
  non2xx: number;
  mismatches: number;
  timeouts: number;
  /** CPU seconds the load generator's process used during the run (user + system). */
  loadgenCpuS?: number;
}

const WORKER = fileURLToPath(new URL("./load-worker.ts", import.meta.url));

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const killer = setTimeout(() => child.kill("SIGKILL"), (spec.durationS + 60) * 1000);
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", (e) => {
      clearTimeout(killer);
      reject(e);
    });
    child.on("exit", (code, signal) => {
      clearTimeout(killer);
      const line = out.trim().split("\n").at(-1);
      if (code !== 0 || !line) {
        reject(new Error(`load generator exited with ${signal ?? code}: ${err.trim().slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(line) as LoadResult);
    });
    child.stdin.end(JSON.stringify(spec));
  });
}

/** Whether runLoad will use autocannon (resolvable from the repository). */
export function loadGenerator(): "autocannon" | "builtin" {
  if (process.env.BENCH_LOADGEN === "builtin") return "builtin";
  try {
    import.meta.resolve("autocannon");
    return "autocannon";
  } catch {
    return "builtin";
  }
}
