/**
 * Peer L of `npm run bench`: the physical limit. pgbench (PostgreSQL's own
 * load generator, C, no HTTP, no GraphQL, no JSON) runs the transaction the
 * server runs for W1 as the same login role, in prepared mode (every
 * statement parsed once per connection), with the same client count and
 * duration as the HTTP peers:
 *
 *   BEGIN;
 *   select set_config(:k1, :v1, true), set_config(:k2, :v2, true), …;
 *   <the statement PostGraphile generated, its $n replaced by :pN>;
 *   COMMIT;
 *
 * The statement and its parameter values are captured from the server itself
 * (bench/run.ts); they and the settings are passed with -D (pgbench sends
 * them as bind parameters in prepared mode). Latency percentiles come from
 * pgbench's per-transaction log (-l), CPU from bash's `times` (pgbench is
 * bash's child), so the numbers have the same meaning as autocannon's.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { LoadResult } from "../lib/load.ts";

/** pgbench's path: BENCH_PGBENCH, else PATH, else Debian's folders; null when absent. */
export function findPgbench(): string | null {
  if (process.env.BENCH_PGBENCH) return existsSync(process.env.BENCH_PGBENCH) ? process.env.BENCH_PGBENCH : null;
  try {
    const p = execFileSync("sh", ["-c", "command -v pgbench"], { encoding: "utf8" }).trim();
    if (p) return p;
  } catch {
    // not on PATH
  }
  try {
    const versions = readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const p = `/usr/lib/postgresql/${v}/bin/pgbench`;
      if (existsSync(p)) return p;
    }
  } catch {
    // no Debian PostgreSQL
  }
  return null;
}

export interface CapturedStatement {
  text: string;
  values: unknown[];
}

/**
 * The pgbench script for one captured transaction, and its -D variables.
 * Null parameters are inlined as NULL (pgbench variables cannot be NULL);
 * everything else is a variable, so it stays a bind parameter.
 */
export function pgbenchScript(
  settings: Array<[string, string]>,
  statement: CapturedStatement,
): { script: string; defines: Record<string, string> } {
  const defines: Record<string, string> = {};
  settings.forEach(([k, v], i) => {
    defines[`k${i + 1}`] = k;
    defines[`v${i + 1}`] = v;
  });
  // pgbench turns every `:name` into a variable, even inside a string literal
  // (PostGraphile's to_char format 'YYYY-MM-DD"T"HH24:MI:SS…' has three): such
  // a literal becomes a variable holding its text, so the server still gets
  // the same value (as a bind parameter, with the literal's own cast after it).
  let literals = 0;
  const sql = statement.text
    .replace(/'(?:[^']|'')*'/g, (lit) => {
      if (!lit.includes(":")) return lit;
      const name = `lit${++literals}`;
      defines[name] = lit.slice(1, -1).replace(/''/g, "'");
      return `:${name}`;
    })
    .replace(/\$(\d+)/g, (_, n: string) => {
      const v = statement.values[Number(n) - 1];
      if (v === null || v === undefined) return "NULL";
      defines[`p${n}`] = typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v);
      return `:p${n}`;
    });
  if (/;\s*\S/.test(sql.trim().replace(/;\s*$/, ""))) throw new Error("the captured statement contains a ';': not a single statement");
  const script = [
    "BEGIN;",
    `select ${settings.map((_, i) => `set_config(:k${i + 1}, :v${i + 1}, true)`).join(", ")};`,
    `${sql.trim().replace(/;\s*$/, "")};`,
    "COMMIT;",
    "",
  ].join("\n");
  return { script, defines };
}

export interface PgbenchSpec {
  pgbench: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  script: string;
  defines: Record<string, string>;
  clients: number;
  durationS: number;
}

export interface PgbenchResult extends LoadResult {
  output: string;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export async function runPgbench(spec: PgbenchSpec): Promise<PgbenchResult> {
  const dir = await mkdtemp(path.join(tmpdir(), "bench-pgbench-"));
  try {
    const scriptFile = path.join(dir, "w1.sql");
    await writeFile(scriptFile, spec.script);
    const args = [
      "-n", // no vacuum of pgbench's own tables
      "-M",
      "prepared",
      "-c",
      String(spec.clients),
      "-j",
      "1", // one thread, like the single-process HTTP load generator
      "-T",
      String(spec.durationS),
      "-f",
      scriptFile,
      "-l",
      `--log-prefix=${path.join(dir, "pgb")}`,
      ...Object.entries(spec.defines).flatMap(([k, v]) => ["-D", `${k}=${v}`]),
      "-h",
      spec.host,
      "-p",
      String(spec.port),
      "-U",
      spec.user,
      spec.database,
    ];
    // bash's `times` prints the CPU of its waited-for children: pgbench's own.
    const { code, out, err } = await new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash script, not a template
      const child = spawn("bash", ["-c", 'cd "$0" && "$1" "${@:2}"; rc=$?; times; exit $rc', dir, spec.pgbench, ...args], {
        env: { ...process.env, PGPASSWORD: spec.password, PGAPPNAME: "bench-peer-L" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      const killer = setTimeout(() => child.kill("SIGKILL"), (spec.durationS + 60) * 1000);
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (err += d));
      child.on("error", reject);
      child.on("exit", (code) => {
        clearTimeout(killer);
        resolve({ code, out, err });
      });
    });
    const num = (re: RegExp) => {
      const m = re.exec(out);
      return m ? Number(m[1]) : NaN;
    };
    const processed = num(/number of transactions actually processed: (\d+)/);
    const failed = num(/number of failed transactions: (\d+)/);
    const tps = num(/tps = ([\d.]+)/);
    const times = [...out.matchAll(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s/g)].at(-1);
    const loadgenCpuS = times ? Number(times[1]) * 60 + Number(times[2]) + Number(times[3]) * 60 + Number(times[4]) : NaN;

    const latencies: number[] = [];
    for (const f of readdirSync(dir).filter((f) => f.startsWith("pgb."))) {
      for (const line of (await readFile(path.join(dir, f), "utf8")).split("\n")) {
        const cols = line.split(" ");
        if (cols.length >= 3) latencies.push(Number(cols[2]) / 1000);
      }
    }
    const sorted = Float64Array.from(latencies).sort();
    const errors = (Number.isFinite(failed) ? failed : 0) + (code === 0 ? 0 : 1);
    if (!Number.isFinite(processed)) throw new Error(`pgbench failed (exit ${code}): ${err.trim().slice(-1500)}`);
    return {
      generator: "pgbench",
      requests: processed,
      durationS: spec.durationS,
      rps: Number.isFinite(tps) ? tps : processed / spec.durationS,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      errors,
      non2xx: 0,
      mismatches: 0,
      timeouts: 0,
      loadgenCpuS,
      output: (out + (code === 0 ? "" : `\n${err}`)).trim().slice(-3000),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
