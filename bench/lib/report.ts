/**
 * Aggregation and output shared by the benchmarks: medians over rounds, a
 * plain-text table, ratio lines, and the JSON results file.
 */
import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import path from "node:path";
import { REPO_ROOT } from "../../server/config.ts";
import type { LoadResult } from "./load.ts";

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One cell of a benchmark: a peer (e.g. a dialect or a server), a workload, a concurrency. */
export interface Cell {
  peer: string;
  workload: string;
  connections: number;
  rounds: LoadResult[];
}

export interface Summary {
  peer: string;
  workload: string;
  connections: number;
  rounds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Total over the rounds (not a median: any error matters). */
  errors: number;
  requests: number;
  /** Spread of throughput over rounds, (max - min) / median. */
  rpsSpread: number;
}

export function summarize(cell: Cell): Summary {
  const rps = cell.rounds.map((r) => r.rps);
  const med = median(rps);
  return {
    peer: cell.peer,
    workload: cell.workload,
    connections: cell.connections,
    rounds: cell.rounds.length,
    rps: med,
    p50Ms: median(cell.rounds.map((r) => r.p50Ms)),
    p99Ms: median(cell.rounds.map((r) => r.p99Ms)),
    errors: cell.rounds.reduce((n, r) => n + r.errors, 0),
    requests: cell.rounds.reduce((n, r) => n + r.requests, 0),
    rpsSpread: rps.length ? (Math.max(...rps) - Math.min(...rps)) / med : NaN,
  };
}

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a");

export function table(rows: Summary[]): string {
  const head = ["workload", "conns", "peer", "req/s", "p50 ms", "p99 ms", "errors", "requests", "spread"];
  const body = rows.map((r) => [
    r.workload,
    String(r.connections),
    r.peer,
    fmt(r.rps, 0),
    fmt(r.p50Ms, 2),
    fmt(r.p99Ms, 2),
    String(r.errors),
    String(r.requests),
    `${fmt(r.rpsSpread * 100, 0)}%`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/**
 * Throughput of `peer` over `base` for a workload: the ratio of the two
 * medians at each concurrency, then the median of those ratios (NaN when
 * either side errored in every round).
 */
export function ratio(rows: Summary[], workload: string, peer: string, base: string): number {
  const per = [...new Set(rows.filter((r) => r.workload === workload).map((r) => r.connections))].map((c) => {
    const a = rows.find((r) => r.workload === workload && r.connections === c && r.peer === peer);
    const b = rows.find((r) => r.workload === workload && r.connections === c && r.peer === base);
    return a && b && b.rps > 0 && !(a.errors >= a.requests && a.requests > 0) ? a.rps / b.rps : NaN;
  });
  return median(per);
}

export function environment() {
  let commit: string | undefined;
  let dirty: boolean | undefined;
  try {
    commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
    dirty = execFileSync("git", ["status", "--porcelain"], { cwd: REPO_ROOT, encoding: "utf8" }).trim() !== "";
  } catch {
    // not a git checkout
  }
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGB: +(totalmem() / 2 ** 30).toFixed(1),
    commit,
    dirty,
  };
}

/** Writes bench/results/<name>-<YYYY-MM-DD>.json (overwriting that day's); returns the path. */
export async function writeResults(name: string, data: unknown): Promise<string> {
  const dir = path.join(REPO_ROOT, "bench", "results");
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}-${new Date().toISOString().slice(0, 10)}.json`);
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

/**
 * Throughput of `peer` over `base` for a workload, paired by round: in each
 * round (where both ran, interleaved) the ratio of the two runs, then the
 * median over rounds, then the median over concurrencies. NaN when a side
 * has no run without errors-only results.
 */
export function pairedRatio(cells: Cell[], workload: string, peer: string, base: string): number {
  const concurrencies = [...new Set(cells.filter((c) => c.workload === workload).map((c) => c.connections))];
  const per = concurrencies.map((conns) => {
    const a = cells.find((c) => c.workload === workload && c.connections === conns && c.peer === peer);
    const b = cells.find((c) => c.workload === workload && c.connections === conns && c.peer === base);
    if (!a || !b) return NaN;
    const n = Math.min(a.rounds.length, b.rounds.length);
    const rs: number[] = [];
    for (let i = 0; i < n; i++) {
      const x = a.rounds[i]!;
      const y = b.rounds[i]!;
      if (y.rps > 0 && !(x.requests > 0 && x.errors >= x.requests)) rs.push(x.rps / y.rps);
    }
    return median(rs);
  });
  return median(per);
}
