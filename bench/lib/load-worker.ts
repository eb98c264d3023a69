/**
 * The load generator, run in its own process (bench/lib/load.ts) so it does
 * not share an event loop or a CPU core's scheduling with the server under
 * test. Reads a LoadSpec as JSON on stdin, prints one LoadResult JSON line.
 *
 * Closed loop (N connections, each sending its next request when the
 * previous answer is read): autocannon (npm) when it is installed, otherwise
 * a built-in generator on node:http keep-alive sockets with the same
 * semantics. Fixed rate (overallRate): always the built-in generator, evenly
 * paced, latencies in microseconds. A response is an error unless 2xx and,
 * with expectBody, byte-identical to it. The result names which one ran.
 */
import http from "node:http";
import { performance } from "node:perf_hooks";
import type { LoadResult, LoadSpec } from "./load.ts";

async function readStdin(): Promise<string> {
  let s = "";
  for await (const chunk of process.stdin) s += chunk;
  return s;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

type Autocannon = (opts: Record<string, unknown>) => Promise<any>;

async function loadAutocannon(): Promise<Autocannon | null> {
  if (process.env.BENCH_LOADGEN === "builtin") return null;
  try {
    const mod = (await import("autocannon" as string)) as { default: Autocannon };
    return mod.default;
  } catch {
    if (process.env.BENCH_LOADGEN === "autocannon") throw new Error("BENCH_LOADGEN=autocannon but autocannon is not installed");
    return null;
  }
}

async function viaAutocannon(autocannon: Autocannon, spec: LoadSpec): Promise<LoadResult> {
  const r = await autocannon({
    // autocannon spreads its connections over several URLs round-robin.
    url: spec.urls?.length ? spec.urls : spec.url,
    method: spec.method,
    headers: spec.headers,
    body: spec.body,
    connections: spec.connections,
    duration: spec.durationS,
    timeout: spec.timeoutS ?? 10,
    ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
    ...(spec.expectBody !== undefined ? { expectBody: spec.expectBody } : {}),
  });
  const requests = Number(r.requests?.total ?? 0);
  const durationS = Number(r.duration ?? spec.durationS);
  const non2xx = Number(r.non2xx ?? 0);
  const mismatches = Number(r.mismatches ?? 0);
  const timeouts = Number(r.timeouts ?? 0);
  const socketErrors = Number(r.errors ?? 0);
  return {
    generator: "autocannon",
    requests,
    durationS,
    rps: requests / durationS,
    p50Ms: Number(r.latency?.p50),
    p99Ms: Number(r.latency?.p99),
    // autocannon's `errors` are socket errors and timeouts; with expectBody a
    // non-2xx answer is also a mismatch (its body differs), so not added twice.
    errors: socketErrors + (spec.expectBody !== undefined ? Math.max(mismatches, non2xx) : non2xx),
    non2xx,
    mismatches,
    timeouts,
  };
}

async function viaBuiltin(spec: LoadSpec): Promise<LoadResult> {
  // Several URLs: one keep-alive agent each, requests spread round-robin (connections split evenly).
  const targets = (spec.urls?.length ? spec.urls : [spec.url]).map((u) => ({
    url: new URL(u),
    agent: new http.Agent({ keepAlive: true, maxSockets: Math.ceil(spec.connections / (spec.urls?.length || 1)) }),
  }));
  let nextTarget = 0;
  const body = Buffer.from(spec.body ?? "");
  const headers = { ...spec.headers, "content-length": String(body.length) };
  let latencies = new Float64Array(1 << 16);
  let n = 0;
  let non2xx = 0;
  let mismatches = 0;
  let socketErrors = 0;
  let timeouts = 0;
  const timeoutMs = (spec.timeoutS ?? 10) * 1000;

  const once = () =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const { url, agent } = targets[nextTarget++ % targets.length]!;
      const req = http.request(
        { host: url.hostname, port: url.port, path: url.pathname + url.search, method: spec.method, headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
      req.on("error", reject);
      req.end(body);
    });

  if (spec.overallRate) {
    // Open every connection first (not measured), as autocannon does before
    // its clock starts: a socket opened mid-run would add its handshake and
    // the server's per-connection set-up to some request's latency.
    await Promise.all(Array.from({ length: spec.connections }, () => once().catch(() => {})));
  }
  const started = performance.now();
  const deadline = started + spec.durationS * 1000;
  const record = (status: number, text: string, latencyMs: number) => {
    if (n === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[n++] = latencyMs;
    if (status < 200 || status >= 300) non2xx++;
    else if (spec.expectBody !== undefined && text !== spec.expectBody) mismatches++;
  };
  const failed = (e: unknown) => {
    if ((e as { code?: string }).code === "TIMEOUT") timeouts++;
    else socketErrors++;
  };
  if (spec.overallRate) {
    // Open loop, evenly paced: request k is due at started + k / rate whatever
    // the server does; it waits for a free connection (the agent's queue) if
    // all are busy, and its latency counts from when it was due, so a slow
    // answer cannot hide the ones it delayed (coordinated omission).
    const interval = 1000 / spec.overallRate;
    const inflight = new Set<Promise<void>>();
    for (let k = 0; ; k++) {
      const due = started + k * interval;
      if (due >= deadline) break;
      const wait = due - performance.now();
      if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
      const p: Promise<void> = once().then(({ status, text }) => {
        const t1 = performance.now();
        if (t1 <= deadline) record(status, text, t1 - due);
      }, failed);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
    await Promise.all(inflight);
  } else {
    // Closed loop: each connection sends its next request when the previous answer is read.
    const loop = async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          const { status, text } = await once();
          const t1 = performance.now();
          if (t1 > deadline) break; // finished after the window: not counted (as autocannon)
          record(status, text, t1 - t0);
        } catch (e) {
          failed(e);
        }
      }
    };
    await Promise.all(Array.from({ length: spec.connections }, loop));
  }
  const durationS = (performance.now() - started) / 1000;
  for (const t of targets) t.agent.destroy();
  const sorted = latencies.slice(0, n).sort();
  return {
    generator: "builtin",
    requests: n,
    durationS,
    rps: n / spec.durationS,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    errors: socketErrors + timeouts + non2xx + mismatches,
    non2xx,
    mismatches,
    timeouts,
  };
}

const spec = JSON.parse(await readStdin()) as LoadSpec;
// A fixed rate always runs on the built-in generator: autocannon's rate limit
// lets each connection send its whole per-second quota back to back at the
// start of every second, so "half the peak" would be full-speed bursts, and
// its latency histogram keeps whole milliseconds only.
const autocannon = spec.overallRate ? null : await loadAutocannon();
const cpu0 = process.cpuUsage();
const result = autocannon ? await viaAutocannon(autocannon, spec) : await viaBuiltin(spec);
const cpu = process.cpuUsage(cpu0);
result.loadgenCpuS = +((cpu.user + cpu.system) / 1e6).toFixed(3);
process.stdout.write(`${JSON.stringify(result)}\n`);
